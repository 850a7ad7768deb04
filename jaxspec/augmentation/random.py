"""Scalar draws on explicit uint32 words: independent of ``jax_enable_x64`` and
``jax_threefry_partitionable``.

Each draw hashes the key's two words with the written-out Threefry-2x32
(``noise.threefry_2x32``) and turns the bits into a value with float32 / uint32
arithmetic only. The rules reproduce what ``jax.random.uniform(key, ())``,
``jax.random.normal(key, ())`` and ``jax.random.randint(key, (), 0, high)`` give under
JAX's defaults (x64 off, ``jax_threefry_partitionable`` on), so drawn values from before
this module are unchanged, but no flag can change them:

- ``bits(key)``: ``y0 ^ y1`` where ``(y0, y1) = threefry_2x32(key, (0, 0))``;
- ``uniform(key)``: ``float32 bits (bits >> 9) | 0x3F800000, minus 1``, in ``[0, 1)``;
- ``normal(key)``: ``sqrt(2) * erfinv(max(lo, f * (1 - lo) + lo))``, ``lo = nextafter(-1, 0)``;
- ``randint(key, high)``: with the keys ``k_j = threefry_2x32(key, (0, j))`` (j = 0, 1),
  ``((bits(k_0) % span) * m + bits(k_1) % span) % span`` in uint32, ``span = high``,
  ``m = (2**16 % span)**2 % span`` (wrapping like JAX's uint32 arithmetic);
- ``fold_in(key, i)``: ``threefry_2x32(key, (0, i))`` (``jax.random.fold_in``, which no
  flag changes; it is also ``jax.random.split(key, n)[i]`` under the default flag).

Keys of other implementations (``rbg``: four words) are first reduced to two words
(``noise.noise_words``) and then hashed the same way, so that their draws too are the
same under ``vmap`` as in a loop (``jax.random.bits`` on ``rbg`` keys is not).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..errors import ConfigError
from .noise import noise_words, threefry_2x32, threefry_pairs

_LOW = np.nextafter(np.float32(-1.0), np.float32(0.0))
_SQRT2 = np.float32(np.sqrt(2.0))


def _hash_pair(words: jax.Array, high: int | jax.Array, low: int | jax.Array) -> jax.Array:
    count = jnp.stack([jnp.asarray(high, jnp.uint32), jnp.asarray(low, jnp.uint32)])
    return threefry_2x32(words, count)


def bits(key: jax.Array) -> jax.Array:
    """One uint32 word drawn with ``key``."""
    y = _hash_pair(noise_words(key), 0, 0)
    return y[0] ^ y[1]


def _unit(word: jax.Array) -> jax.Array:
    """float32 in ``[0, 1)`` from the top 23 bits of ``word``."""
    return lax.bitcast_convert_type((word >> np.uint32(9)) | np.uint32(0x3F800000), jnp.float32) - np.float32(1.0)


def uniform(key: jax.Array) -> jax.Array:
    """A float32 scalar uniform in ``[0, 1)``."""
    return _unit(bits(key))


def normal(key: jax.Array) -> jax.Array:
    """A float32 standard normal scalar (``|value| <= 5.42``)."""
    f = _unit(bits(key))
    u = jnp.maximum(_LOW, f * (np.float32(1.0) - _LOW) + _LOW)
    return _SQRT2 * lax.erf_inv(u)


def split_pair(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``jax.random.split(key)`` under the default flag, whatever the flag: ``fold_in(key, 0), fold_in(key, 1)``."""
    return fold_in(key, 0), fold_in(key, 1)


def threefry_words(words: Any) -> Any:
    """Raw uint32 ``[..., 2]`` key words as Threefry's, whatever ``jax_default_prng_impl``:
    the words themselves under the Threefry default (no wrap, no program), else wrapped as
    Threefry keys (JAX reads raw words as its default's: rbg's ``[4]`` refused them)."""
    if jax.config.jax_default_prng_impl == "threefry2x32":
        return words
    return jax.random.wrap_key_data(words, impl="threefry2x32")


def fold_in(key: jax.Array, data: int | jax.Array) -> jax.Array:
    """``jax.random.fold_in(key, data)`` (uint32 ``data``); keeps the key's kind."""
    return jax.random.fold_in(key, jnp.asarray(data, jnp.uint32))


def randint(key: jax.Array, high: Any) -> jax.Array:
    """An int32 scalar in ``[0, high)`` (``high >= 1``: an int, or a traced int of ragged batches)."""
    k1, k2 = split_pair(key)
    higher, lower = bits(k1), bits(k2)
    if isinstance(high, (int, np.integer)):
        span = np.uint32(max(int(high), 1))
        multiplier = np.uint32(2**16) % span
    else:  # the same uint32 arithmetic, in the graph
        span = jnp.maximum(high, 1).astype(jnp.uint32)
        multiplier = jnp.uint32(2**16) % span
    multiplier = jnp.uint32(multiplier) * jnp.uint32(multiplier) % span  # wraps in uint32, like JAX
    offset = (higher % span) * multiplier + lower % span
    return (offset % span).astype(jnp.int32)


def fold_in_words(words: np.ndarray, data: Any) -> np.ndarray:
    """``fold_in`` on the host: the words of ``fold_in(key, d)`` for Threefry key words
    ``words`` (uint32 ``[shape=(2,)]`` or ``[shape=(n, 2)]``) and uint32 ``data``
    (``[shape=()]`` or ``[shape=(n,)]``, broadcast). Returns uint32 ``[shape=(n, 2)]``.

    The same written-out Threefry as on the device, in NumPy's wrapping uint32
    arithmetic: corpora derive a thousand keys in microseconds and compile nothing.

    >>> import jax, numpy as np
    >>> from jaxspec.augmentation.random import fold_in, fold_in_words
    >>> k = jax.random.key(0)
    >>> bool((fold_in_words(np.asarray(jax.random.key_data(k)), 5) == jax.random.key_data(fold_in(k, 5))).all())
    True
    """
    words = np.atleast_2d(np.asarray(words, np.uint32))
    data = np.atleast_1d(np.asarray(data).astype(np.uint32))
    first, second, data = np.broadcast_arrays(words[:, 0], words[:, 1], data)
    with np.errstate(over="ignore"):
        y0, y1 = threefry_pairs((first, second), np.zeros_like(data), data)
    return np.stack([y0, y1], axis=-1)


def check_seed(seed: Any, *, optional: bool = False) -> None:
    """``ConfigError`` unless ``seed`` is an int in ``[-2**63, 2**63)`` (the seeds ``jax.random.key``
    takes with x64: 2**64 aliased 0, 1.7 drew 1), or ``None`` (no augmentation) where ``optional``."""
    if optional and seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not -(2**63) <= seed < 2**63:
        either = " or None (no augmentation)" if optional else ""
        raise ConfigError(f"seed={seed!r} must be an int in [-2**63, 2**63){either}")


def seed_words(seed: int) -> np.ndarray:
    """The Threefry words of ``jax.random.key(seed)`` as JAX makes them with x64, uint32
    ``[shape=(2,)]``: the high and low words of the seed's 64-bit two's complement, for an int
    seed in ``[-2**63, 2**63)`` (else a ``ConfigError``). Without x64 JAX keeps only the seed's
    low 32 bits (2**32 drew what 0 draws, -1 drew otherwise than with x64), so the command line,
    Grain and plots derive their keys here, on the host."""
    check_seed(seed)
    value = int(seed) % 2**64
    return np.array([value >> 32, value & 0xFFFFFFFF], np.uint32)


def seed_key(seed: int) -> jax.Array:
    """``jax.random.key(seed, impl="threefry2x32")`` with x64 on, whatever the flags (``seed_words``)."""
    return jax.random.wrap_key_data(seed_words(seed), impl="threefry2x32")


def row_keys(key: jax.Array, batch: int) -> jax.Array:
    """``fold_in(key, i)`` for ``i < batch``: the batch key rule (SPEC section 4)."""
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(batch, dtype=jnp.uint32))
