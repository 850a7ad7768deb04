"""Host-side checks of the PRNG keys the traced core receives: typed or raw, one or one per row.

Everything here runs before tracing (or passes tracers through unchecked) and raises
``InputError`` naming the key's dtype and shape.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .augmentation.random import row_keys as fold_in_rows
from .augmentation.random import threefry_words
from .errors import InputError


def is_typed_key(key: jax.Array) -> bool:
    """True for a new-style key array (``jax.random.key``), False for raw uint32 keys."""
    return jnp.issubdtype(key.dtype, jax.dtypes.prng_key)


def is_single_key(key: jax.Array) -> bool:
    """Whether a checked ``key`` (``check_key``) is one key: typed ``[]`` or raw uint32 ``[2]``."""
    return key.ndim == (0 if is_typed_key(key) else 1)


def is_key_batch(key: jax.Array, batch: int) -> bool:
    """True if ``key`` holds ``batch`` keys (one per row), typed or raw."""
    return key.ndim == (1 if is_typed_key(key) else 2) and key.shape[0] == batch


@functools.cache
def _key_words_of(impl: str) -> int:
    """The number of uint32 words of one raw key of the PRNG implementation ``impl``."""
    return jax.eval_shape(lambda: jax.random.key_data(jax.random.key(0, impl=impl))).shape[-1]


def _default_key_words() -> int:
    """``_key_words_of`` the current ``jax_default_prng_impl`` (2 for Threefry, 4 for rbg)."""
    return _key_words_of(str(jax.config.jax_default_prng_impl))


def check_key(key: Any) -> jax.Array:
    """``key`` as a JAX array if it is a PRNG key (typed, or raw uint32 ``[..., 2]``: Threefry's
    words, wrapped as Threefry keys when ``jax_default_prng_impl`` is another implementation;
    or raw words of that other implementation, ``jax.random.PRNGKey(seed)``'s, wrapped as its keys)."""
    if isinstance(key, (int, float)) and not isinstance(key, bool):  # a sample rate where the key goes
        raise InputError(
            f"key={key!r} is not a PRNG key; use jax.random.key(seed). If it is a sample rate: samples go in "
            "at config.sample_rate; jaxspec.encode(config, x, sample_rate=...) resamples"
        )
    given = getattr(key, "dtype", None)  # (device_put reads int64 as int32 without x64: say what was given)
    if isinstance(key, np.ndarray):
        key = jax.device_put(key)  # jnp.asarray would compile a copy per shape (a corpus's batch sizes)
    elif not isinstance(key, jax.Array):
        try:
            key = jnp.asarray(key)
        except (TypeError, ValueError) as error:
            raise InputError(
                f"key={key!r} is not a PRNG key; use jax.random.key(seed) or jax.random.PRNGKey(seed)"
            ) from error
    words32 = key.dtype == jnp.uint32 and given in (None, np.uint32)  # not uint64 words narrowed without x64
    if not is_typed_key(key) and words32 and key.shape[-1:] == (_default_key_words(),) != (2,):
        # jax.random.PRNGKey(seed) under jax_default_prng_impl="rbg" (or "unsafe_rbg"): [4] words,
        # which JAX itself reads as that implementation's; they draw what jax.random.key(seed) draws
        return jax.random.wrap_key_data(key)
    if not is_typed_key(key) and (not words32 or key.shape[-1:] != (2,)):
        other = words32 and key.ndim > 0  # raw words of another implementation (rbg: [4])
        words = _default_key_words()  # under the Threefry default, its words are Threefry's: said once
        default = f" or as the [{words}] words of jax_default_prng_impl={jax.config.jax_default_prng_impl!r}"
        raise InputError(
            f"key of dtype {given or key.dtype} and shape {key.shape} is not a PRNG key; use jax.random.key(seed)"
            + (
                f" (raw uint32 keys are read as Threefry's [2] words{default if words != 2 else ''}; for another "
                "implementation's words pass its typed key, jax.random.wrap_key_data(key, impl=...))"
                if other
                else " or jax.random.PRNGKey(seed)"
            )
        )
    return key if is_typed_key(key) else threefry_words(key)


def check_item_keys(key: Any, count: int, what: str) -> jax.Array:
    """``check_key``, then one key, or ``count`` of them (one per item of ``what``)."""
    key = check_key(key)
    if not is_single_key(key) and not is_key_batch(key, count):
        raise InputError(f"key of shape {key.shape} does not fit {count} {what}: pass one key or {count} keys")
    return key


def row_keys(key: jax.Array, batch: int) -> jax.Array:
    """One key per row: ``key`` itself if it is a batch of keys, else ``fold_in(key, i)`` for row i.

    ``fold_in(key, i)`` equals ``jax.random.split(key, batch)[i]`` under JAX's default
    ``jax_threefry_partitionable=True``, and no flag changes it (SPEC section 4).
    """
    return key if is_key_batch(key, batch) else fold_in_rows(key, batch)
