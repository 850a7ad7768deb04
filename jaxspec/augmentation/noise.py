"""White Gaussian noise from a key, fixed by a written-out rule (Threefry-2x32 + inverse erf).

The samples depend only on the key's data and the sample index: not on the jax
version, ``jax_enable_x64`` or ``jax_threefry_partitionable``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .. import _xla

_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_THREEFRY_PARITY = 0x1BD11BDA


def threefry_pairs(key: jax.Array, x0: jax.Array, x1: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The Threefry-2x32 hash (20 rounds; Salmon et al. 2011) of the word pairs ``(x0, x1)``
    under ``key`` (uint32 ``[shape=(2,)]``, or a pair of word arrays that broadcast with
    ``x0``: a key per pair); returns the two output words."""
    ks = (key[0], key[1], key[0] ^ key[1] ^ np.uint32(_THREEFRY_PARITY))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for block in range(5):
        for r in _THREEFRY_ROTATIONS[block % 2]:
            x0 = x0 + x1
            x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
        x0 = x0 + ks[(block + 1) % 3]
        x1 = x1 + ks[(block + 2) % 3] + np.uint32(block + 1)
    return x0, x1


def threefry_2x32(key: jax.Array, count: jax.Array) -> jax.Array:
    """The Threefry-2x32 hash of ``count`` under ``key``, in jax's original layout.

    Args:
      key: uint32 ``[shape=(2,)]``, the key words.
      count: uint32 ``[shape=(n,)]``.

    Returns:
      uint32 ``[shape=(n,)]``: the counts, zero-padded to even length, are split into
      halves ``x0, x1`` that are hashed as pairs; the result is ``concat(y0, y1)[:n]``.
      This is the layout of ``jax.extend.random.threefry_2x32`` (and so of
      ``jax.random.bits`` with ``jax_threefry_partitionable`` off), written out here so
      that the words are fixed by this definition whatever jax version or flag is used.
    """
    n = count.shape[0]
    if n % 2:
        count = jnp.concatenate([count, jnp.zeros((1,), jnp.uint32)])
    x0, x1 = jnp.split(count, 2)
    y0, y1 = threefry_pairs(key, x0, x1)
    return jnp.concatenate([y0, y1])[:n]


def white_bits(key: jax.Array, length: int) -> jax.Array:
    """``length`` random uint32 words: ``threefry_2x32(noise_words(key), [0, 1, ..., length - 1])``.

    One hash per two words, like jax's original random-bits scheme; the partitionable
    scheme that ``jax.random.bits`` uses by default spends a hash per word (measured 2x
    slower), and a config flag would change the samples.
    """
    return threefry_2x32(noise_words(key), lax.iota(jnp.uint32, length))


def noise_words(key: jax.Array) -> jax.Array:
    """The two uint32 words every draw hashes with: a Threefry key's own words; for a key of
    another implementation (``rbg``: 4 words) its first pair, hashed with each further pair
    as the key (``threefry_2x32(w, pair)``), so that its noise and draws follow the same
    rule (a batch or ragged row draws what the row alone draws; ``jax.random.bits`` on
    ``rbg`` keys changes under ``vmap``). ``rbg`` keys hold a Threefry key twice, so an
    XOR of the halves would be 0 for every key."""
    words = key_words(key)
    if words is not None:
        return words
    data = jax.random.key_data(key).reshape(-1).astype(jnp.uint32)
    words = data[:2]
    for start in range(2, data.shape[0] - 1, 2):
        words = threefry_2x32(words, data[start : start + 2])
    return words


def key_words(key: jax.Array) -> jax.Array | None:
    """The two uint32 words of a Threefry key (typed or raw), or ``None`` for another kind."""
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    if typed and str(jax.random.key_impl(key)) != "threefry2x32":
        return None
    data = jax.random.key_data(key) if typed else key
    return data if data.shape == (2,) and data.dtype == jnp.uint32 else None


def white_bits_ragged(key: jax.Array, size: int, length: jax.Array) -> jax.Array:
    """``white_bits(key, length)`` for a traced ``length``, zero-padded to ``size`` words.

    Word ``j`` of ``threefry_2x32(key, iota(length))`` is half ``j >= h`` of the hash of
    the pair ``(j mod h, j mod h + h)`` with ``h = ceil(length / 2)`` (the second word 0
    where it would be ``length``: the pad of an odd length): computed here for
    every ``j < size`` (one hash per word, twice ``white_bits``' work), so a padded row
    draws exactly what the row alone draws.
    """
    data = noise_words(key)
    return white_bits_at(data[0], data[1], lax.iota(jnp.uint32, size), length)


def white_bits_at(word0: jax.Array, word1: jax.Array, index: jax.Array, length: jax.Array) -> jax.Array:
    """Word ``index`` of ``white_bits`` for a signal of ``length`` samples, elementwise.

    ``word0, word1``: the key's two uint32 words (``noise_words``), scalars or one per
    word ``[shape=(n,)]`` (two arrays: measured 4x faster than an ``[n, 2]`` array);
    ``index``: uint32 ``[shape=(n,)]``; ``length``: int, scalar or ``[shape=(n,)]``.
    Words at ``index >= length`` are 0. The rule of ``white_bits_ragged``, for samples
    of many signals laid end to end (packed corpora).
    """
    length = jnp.asarray(length).astype(jnp.uint32)
    half = (length + 1) // 2
    second = index >= half
    first_word = jnp.where(second, index - half, index)
    partner = first_word + half
    partner = jnp.where(partner >= length, np.uint32(0), partner)  # odd length: the zero pad
    y0, y1 = threefry_pairs((word0, word1), first_word, partner)
    return jnp.where(index < length, jnp.where(second, y1, y0), np.uint32(0))


def white_noise(key: jax.Array, length: int, valid: jax.Array | None = None) -> jax.Array:
    """Standard normal samples ``[shape=(length,)]``: ``sqrt(2) * erfinv(u)``.

    ``u`` is uniform in ``(-1, 1)``, made from the words ``b = threefry_2x32(noise_words(key),
    [0, ..., length - 1])`` (see ``white_bits``): ``f = float32 bits (b >> 9) | 0x3F800000,
    minus 1`` (in ``[0, 1)``), then ``u = max(lo, f * (1 - lo) + lo)`` with
    ``lo = nextafter(-1, 0)``: the transform of ``jax.random.normal``, written out so the
    samples stay fixed by this rule whatever a later jax does.

    The transform is computed unfused (``_xla.unfused``): its consumer, the time shift,
    reads each sample through a gather, and a fused inverse erf there runs unvectorized.

    ``valid`` (a traced int, ragged batches): the samples a row of ``valid`` samples
    draws alone, zero-padded to ``length`` (``white_bits_ragged``).
    """
    bits = white_bits(key, length) if valid is None else white_bits_ragged(key, length, valid)
    return _xla.unfused(bits_to_normal, bits, jnp.float32)


def bits_to_normal(bits: jax.Array) -> jax.Array:
    """Standard normal samples from uint32 words: ``white_noise``'s transform, elementwise."""
    low = np.nextafter(np.float32(-1.0), np.float32(0.0))
    f = lax.bitcast_convert_type((bits >> 9) | np.uint32(0x3F800000), jnp.float32) - 1.0
    u = jnp.maximum(low, f * (np.float32(1.0) - low) + low)
    return np.float32(np.sqrt(2.0)) * lax.erf_inv(u)
