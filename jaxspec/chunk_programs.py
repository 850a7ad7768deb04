"""The compiled programs of a packed stream's chunks (``jaxspec.packing``).

A chunk is ``S`` stream samples seen as rows of ``granule(config)`` samples: items start
only on those rows (64-byte-aligned output rows, ``align_rows``), so each row belongs to
one item. ``keyless_chunk`` is the chunk's spectrogram; ``augmented_chunk`` first applies
every item's waveform stages with its own key (``packed_stages.Stream`` and each stage's
``packed`` form), then computes the spectrogram, in one program.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import _xla
from .augmentation.keys import stage_key, traced_draw_values
from .augmentation.packed_stages import Stream
from .augmentation.random import threefry_words
from .config import SpectrogramConfig
from .spectrum import spectrogram_one

MAX_PACK_ITEMS = 128
"""The most items of one chunk when augmenting (the size of its item table)."""
ALIGN_BYTES = 64
"""XLA:CPU's buffer alignment: ``device_put`` aliases host arrays aligned to it."""


def item_tables(config: SpectrogramConfig, x: np.ndarray, table: list) -> tuple[np.ndarray, np.ndarray]:
    """The item tables of a chunk ``x`` whose items are ``table`` rows ``(first sample,
    length, key word 0, key word 1)`` (in stream order): int32 ``[MAX_PACK_ITEMS, 4]``
    (padded with rows of length 0) and each granule's item (``augmented_chunk``)."""
    rows = np.zeros((MAX_PACK_ITEMS, 4), np.int32)
    rows[: len(table)] = table
    # Items start on granules of `size` samples, so each granule lies in one item's
    # span (its samples, then the zeros before the next): the sample -> item map is a
    # gather from this small table (a searchsorted over the chunk cost 1.1-1.5 ms of
    # a 17 s chunk's ~3 ms on 2 cores).
    size = granule(config)
    owners = np.zeros(x.shape[0] // size, np.int32)
    for i, row in enumerate(table):
        owners[row[0] // size :] = i
    return rows, owners


def align_rows(config: SpectrogramConfig) -> int:
    """Output rows between possible item starts: each item's rows begin ``ALIGN_BYTES``-aligned
    (16 rows of 201 float32 bins)."""
    return ALIGN_BYTES // math.gcd(ALIGN_BYTES, 4 * config.num_features)


def granule(config: SpectrogramConfig) -> int:
    """Samples between possible item starts of a packed stream: ``offset`` x ``align_rows``."""
    return config.offset_samples * align_rows(config)


def _augment_stream_fn(config: SpectrogramConfig, x: jax.Array, table: jax.Array, owners: jax.Array) -> jax.Array:
    """The waveform stages on every item of a chunk ``x [S]`` (traced): ``table [K, 4]``
    int32 rows (first sample, length, key words bitcast), ``owners`` the item of each
    granule of ``granule(config)`` samples; samples outside items are 0."""
    augmentation = config.augmentation
    starts, lengths = table[:, 0], table[:, 1]
    words = threefry_words(lax.bitcast_convert_type(table[:, 2:], jnp.uint32))  # raw Threefry keys [K, 2]
    size, rows = granule(config), owners.shape[0]
    x = x.reshape(rows, size)  # whole granules (packing._chunk_samples): no pad, no slice, which cost vectorization
    item = owners[:, None]
    positions = lax.broadcasted_iota(jnp.int32, x.shape, 0) * size + lax.broadcasted_iota(jnp.int32, x.shape, 1)
    stream = Stream(
        item, positions, positions - starts[item], lengths[item], owners[0]
    )  # granule 0: item 0's, a runtime 0
    valid = (stream.index >= 0) & (stream.index < stream.length)
    x = jnp.where(valid, x, 0.0)
    values = jax.vmap(lambda k, n: traced_draw_values(augmentation, k, n, config.sample_rate))(words, lengths)
    for stage, setting in augmentation.active("waveform"):
        keys = jax.vmap(lambda k, s=stage: stage_key(k, s.stage_id))(words)
        x = jnp.where(valid, stage.packed(setting, x, values, keys, stream), 0.0)  # cut at each item's end
        x = _xla.held(x, stream.zero)
    x = x.reshape(-1)
    return x


def _augmented_chunk_fn(config: SpectrogramConfig, x: jax.Array, table: jax.Array, owners: jax.Array) -> jax.Array:
    """The spectrogram ``[frames, features]`` of a chunk after ``augmented_chunk``: one
    program (two, augmentation then the keyless chunk program, measured 3 % slower, and 25 %
    with no chunk dispatched ahead)."""
    return spectrogram_one(config, _augment_stream_fn(config, x, table, owners), None, frames=whole_frames(config, x))


augmented_chunk: Callable[..., jax.Array] = _xla.compiled(_augmented_chunk_fn)


def _keyless_chunk_fn(config: SpectrogramConfig, x: jax.Array) -> jax.Array:
    """The spectrogram ``[frames, features]`` of a keyless chunk ``x [S]``: the first
    ``whole_frames`` frames of ``spectrogram(config, x)``."""
    return spectrogram_one(config, x, None, frames=whole_frames(config, x))


def whole_frames(config: SpectrogramConfig, x: jax.Array) -> int:
    """The frames that lie wholly inside a chunk ``x [S]``, the only ones packing keeps.

    The seed's framing counts ``ceil(S / offset)`` frames, whose last ``window / offset``
    read past the chunk's end into zeros and were computed for nothing: with a 4096-sample
    window and an offset of 4, 1216 frames a chunk for 192 kept, and an eager
    ``spectrogram`` of 5 s took 3.6 s against 0.27 s jitted (measured on 2 cores).
    """
    return (x.shape[0] - config.frame_samples) // config.offset_samples + 1


keyless_chunk: Callable[..., jax.Array] = _xla.compiled(_keyless_chunk_fn)
