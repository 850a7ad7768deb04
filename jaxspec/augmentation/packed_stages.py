"""The waveform stages on a packed stream (``jaxspec.packing``: items laid end to end in one
signal): each item gets what it would alone (``waveform_stages``' draws and applications).
``stages.STAGES`` points its rows' ``packed`` at the functions here."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import _xla
from . import ops
from .noise import bits_to_normal, noise_words, white_bits_at
from .waveform_stages import Convolution, Noise, TimeShift, Volume, param_key, recording_samples


class Stream(NamedTuple):
    """Items laid end to end in one signal (packed corpora), seen as ``[rows, granule]``: no item starts inside a row,
    so each row belongs to one item. ``item`` ``[rows, 1]`` (int32, an index into the items' drawn values), ``position``
    ``[rows, granule]`` (each sample's index in the stream), ``index`` ``[rows, granule]`` (its index in its item),
    ``length`` ``[rows, 1]`` (its item's length): samples outside every item have ``index < 0`` or ``>= length``.
    ``zero``: a traced int32 0 that XLA cannot fold (``_xla.held``).

    Per-item values reach the samples by broadcasting rows, not by a gather per sample: a gather fused into a stage
    makes XLA:CPU compile its loop unvectorized (white noise's hashes measured 4x slower).
    """

    item: jax.Array
    position: jax.Array
    index: jax.Array
    length: jax.Array
    zero: jax.Array

    def spread(self, values: jax.Array) -> jax.Array:
        """Per-item ``values [K]`` as ``[rows, 1]``, computed once per item (not per sample)."""
        return _xla.held(values, self.zero)[self.item]


def packed_volume(setting: Volume, x: jax.Array, values: dict, keys: jax.Array, s: Stream) -> jax.Array:
    return s.spread(values["volume_gain"]) * x


def packed_noise(setting: Noise, x: jax.Array, values: dict, keys: jax.Array, s: Stream) -> jax.Array:
    """``apply_noise`` on every item of a stream: the white samples an item draws alone
    (``white_bits_at`` with its own key words and length), or its recording segment."""
    index = jnp.maximum(s.index, 0)
    if setting.signal is None:
        words = jax.vmap(lambda k: noise_words(param_key(k, 2)))(keys)
        bits = white_bits_at(s.spread(words[:, 0]), s.spread(words[:, 1]), index.astype(jnp.uint32), s.length)
        # In a buffer of its own, as white_noise's samples are: fused into the sum below,
        # the last bits differ (XLA contracts its multiply with the add).
        noise = _xla.held(bits_to_normal(bits), s.zero)
    else:
        signal = recording_samples(setting)
        noise = signal[(s.spread(values["noise_start"]) + index) % signal.shape[0]]
    return x + s.spread(values["noise_amplitude"]) * noise


def packed_time_shift(setting: TimeShift, x: jax.Array, values: dict, keys: jax.Array, s: Stream) -> jax.Array:
    shift = s.spread(values["time_shift_samples"])
    source = s.index - shift  # inside the item, or a zero entering
    inside = (source >= 0) & (source < s.length)
    flat = x.reshape(-1)
    return jnp.where(inside, flat[jnp.clip(s.position - shift, 0, flat.shape[0] - 1)], 0.0)


def packed_convolution(setting: Convolution, x: jax.Array, values: dict, keys: jax.Array, s: Stream) -> jax.Array:
    """``apply_convolution`` on a stream whose items are each preceded by at least
    ``R - 1`` zeros (the response's reach): no item hears another.

    The FFT's rounding does reach across items (about 1e-7 of a segment's largest samples): each item is first scaled by
    a power of two to a peak in [0.5, 1) and scaled back after (exact), so that a quiet item next to a loud one keeps
    its own relative error (a -60 dB item measured 1.5e-5 unscaled).
    """
    mix = s.spread(values["convolution_mix"])
    items = values["convolution_mix"].shape[0]
    peaks = jax.ops.segment_max(jnp.max(jnp.abs(x), axis=1), s.item[:, 0], num_segments=items)
    exponent = jnp.clip(jnp.frexp(jnp.maximum(peaks, 0.0))[1], -126, 126)  # powers of two float32 holds
    one = jnp.ones_like(peaks)
    # A silent item hears nothing, not its neighbours' rounding: its spectrogram stays exactly 0.
    down, up = s.spread(jnp.ldexp(one, -exponent)), s.spread(jnp.where(peaks > 0, jnp.ldexp(one, exponent), 0.0))
    wet = ops.convolve((x * down).reshape(-1), recording_samples(setting)).reshape(x.shape) * up
    return (1.0 - mix) * x + mix * wet
