"""Key-free operations of the feature-level stages (SpecAugment, VTLP): dm_pix's twins.

Each takes the values a stage drew (``jaxspec.draw``) and is testable on its own:

- ``mask(y, starts, widths, axis)``: bands ``[start, start + width)`` set to a fill value;
- ``example_mean(y, valid_frames)``: the mean a ``fill="mean"`` mask fills with;
- ``time_warp(y, centre, shift)``: frames warped piecewise-linearly (gather + lerp);
- ``vtlp_frequencies(hz, factor, f_hi, nyquist)``: Jaitly & Hinton's frequency warp;
- ``warped_mel_filterbank(stage, factor, f_hi, rate, fft)``: a ``MelFilterbank``'s matrix
  built in the graph at the warped bin frequencies.

All shapes are static: a traced number of valid frames (``valid_frames``, for padded
rows) only changes index comparisons, never a shape.

>>> import jax.numpy as jnp
>>> from jaxspec.augmentation.feature_ops import mask
>>> mask(jnp.ones((2, 4)), jnp.array([1]), jnp.array([2]), axis=1).tolist()
[[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .. import _melscale
from ..features import MelFilterbank


def mask(y: jax.Array, starts: jax.Array, widths: jax.Array, axis: int, fill: Any = 0.0) -> jax.Array:
    """``y`` with the bands ``[starts[j], starts[j] + widths[j])`` along ``axis`` set to ``fill``.

    Args:
      y: float ``[shape=(frames, features)]``.
      starts: int ``[shape=(M,)]`` first index of each band.
      widths: int ``[shape=(M,)]`` band widths; 0 masks nothing (how a drawn count below
        the static maximum ``M`` turns masks off).
      axis: 0 = time masks (frames), 1 = frequency masks (features).
      fill: a scalar (0 by default, or the example's mean).

    Returns:
      ``y``'s shape and dtype; masked entries equal ``fill``.
    """
    index = lax.iota(jnp.int32, y.shape[axis])[:, None]
    starts, widths = jnp.asarray(starts, jnp.int32), jnp.asarray(widths, jnp.int32)
    hit = jnp.any((index >= starts[None, :]) & (index < starts[None, :] + widths[None, :]), axis=1)
    hit = hit[:, None] if axis == 0 else hit[None, :]
    return jnp.where(hit, jnp.asarray(fill, y.dtype), y)


def example_mean(y: jax.Array, valid_frames: Any = None) -> jax.Array:
    """Mean of ``y [shape=(frames, features)]`` over its valid frames."""
    if valid_frames is None:
        return jnp.mean(y) if y.size else jnp.zeros((), y.dtype)
    rows = jax.lax.iota(jnp.int32, y.shape[0]) < valid_frames
    total = jnp.sum(jnp.where(rows[:, None], y, 0))
    return total / jnp.maximum(jnp.asarray(valid_frames, y.dtype) * y.shape[1], 1)


def warp_sources(
    frames: int, centre: jax.Array, shift: jax.Array, valid_frames: Any = None
) -> tuple[jax.Array, jax.Array]:
    """Where output frame ``t`` reads from, as ``(index, fraction)``: int32 and float32
    ``[shape=(frames,)]``, the source position ``s(t) = index + fraction`` (``0 <= fraction < 1``).

    With ``v`` valid frames, the point ``centre`` moves to ``d = centre + shift`` and the
    ends ``0`` and ``v - 1`` stay: ``s(t) = t * centre / d`` for ``t <= d``, else
    ``centre + (t - d) * (v - 1 - centre) / (v - 1 - d)`` (Park et al.'s warp, piecewise
    linear). Frames 0 and ``v - 1`` and on read themselves (also when ``d`` is an end).

    Each ratio is an integer quotient and remainder (``_divmod_product``), so the index is exact
    and the fraction is the remainder over the divisor rounded once: a float32 ``t * c / d`` was
    off by up to half a float32 step of ``t`` (2.4e-4 of a frame at frame 4800; an audit measured
    1.9e-4 relative error on 4813 frames, 2.4e-4 absolute on Whisper's features; 0.03 of a frame,
    0.37 nats of Kaldi fbank, on 1 h). Exact up to ``_EXACT_WARP_FRAMES`` valid frames (186 h at a
    10 ms hop); longer inputs take float32 ratios, chosen by the valid frames (a padded row
    computes as it would alone). ``shift = 0`` reads each frame itself exactly.
    """
    if frames > _EXACT_WARP_FRAMES and valid_frames is None:
        return _float_warp_sources(frames, centre, shift, valid_frames)
    t = lax.iota(jnp.int32, frames)
    last = (frames if valid_frames is None else jnp.asarray(valid_frames, jnp.int32)) - 1
    c = jnp.asarray(centre, jnp.int32)
    d = c + jnp.asarray(shift, jnp.int32)
    left = t <= d
    divisor = jnp.where(left, jnp.maximum(d, 1), jnp.maximum(last - d, 1))
    quotient, remainder = _divmod_product(jnp.where(left, t, t - d), jnp.where(left, c, last - c), divisor)
    index = jnp.where(left, 0, c) + quotient
    fraction = remainder.astype(jnp.float32) / divisor.astype(jnp.float32)
    itself = (t >= last) | (d == c)  # past the last valid frame the factors may be negative: not read
    exact = jnp.where(itself, t, index), jnp.where(itself, 0.0, fraction)
    if frames <= _EXACT_WARP_FRAMES:
        return exact
    rough = _float_warp_sources(frames, centre, shift, valid_frames)
    return tuple(jnp.where(last < _EXACT_WARP_FRAMES, a, b) for a, b in zip(exact, rough, strict=True))


_EXACT_WARP_FRAMES = 1 << 26  # the float32 guess of a quotient below F is within 5 * F / 2**24 + 1 of it:
# its remainder, at most 22 divisors of under 2**26, fits int32 (``_divmod_product``)


def _divmod_product(a: jax.Array, b: jax.Array, divisor: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``divmod(a * b, divisor)``, exact, for int32 ``0 <= a, b < 2**26`` and ``0 < divisor < 2**26``
    with a quotient below ``2**26`` (the warp's: below its frame count), whose product ``a * b`` is
    past int32 (without x64 there is no int64): a float32 guess of the
    quotient, the remainder left by it computed modulo ``2**32`` (exact: it is below ``2**31`` in
    magnitude), and the guess corrected by that remainder's own quotient."""
    guess = jnp.floor(a.astype(jnp.float32) * b.astype(jnp.float32) / divisor.astype(jnp.float32))
    guess = guess.astype(jnp.int32)
    u32 = lambda v: v.astype(jnp.uint32)  # uint32 products wrap modulo 2**32 by definition
    rest = lax.bitcast_convert_type(u32(a) * u32(b) - u32(guess) * u32(divisor), jnp.int32)
    return guess + rest // divisor, rest % divisor


def _float_warp_sources(
    frames: int, centre: jax.Array, shift: jax.Array, valid_frames: Any
) -> tuple[jax.Array, jax.Array]:
    """``warp_sources`` with float32 ratios (inputs too long for exact int32 products)."""
    t = lax.iota(jnp.int32, frames).astype(jnp.float32)
    v = jnp.float32(frames) if valid_frames is None else jnp.asarray(valid_frames, jnp.float32)
    c = jnp.asarray(centre, jnp.float32)
    d = c + jnp.asarray(shift, jnp.float32)
    last = v - 1.0
    left = t * c / jnp.maximum(d, 1.0)
    right = c + (t - d) * (last - c) / jnp.maximum(last - d, 1.0)
    source = jnp.where((t >= last) | (d == c), t, jnp.where(t <= d, left, right))
    index = jnp.floor(source)
    return index.astype(jnp.int32), source - index


def time_warp(y: jax.Array, centre: jax.Array, shift: jax.Array, valid_frames: Any = None) -> jax.Array:
    """``y [shape=(frames, features)]`` warped along time by linear interpolation.

    Output frame ``t`` is ``(1 - a) * y[i] + a * y[i + 1]`` with ``(i, a)`` from
    ``warp_sources`` (``i + 1`` clipped to the last valid frame, so a padded row never
    reads its padding).
    """
    frames = y.shape[0]
    if frames == 0:
        return y
    index, fraction = warp_sources(frames, centre, shift, valid_frames)
    last = frames - 1 if valid_frames is None else jnp.maximum(jnp.asarray(valid_frames, jnp.int32) - 1, 0)
    below = jnp.clip(index, 0, frames - 1)
    above = jnp.where(below < last, below + 1, below)
    weight = fraction[:, None].astype(y.dtype)
    return y[below] * (1 - weight) + y[above] * weight


def vtlp_shift(hz: Any, factor: jax.Array, f_hi: float, nyquist: float) -> jax.Array:
    """``vtlp_frequencies(hz) - hz``, computed so that it is exactly 0 for ``factor = 1``:
    ``(factor - 1) * hz`` below ``b = f_hi * min(factor, 1) / factor``, else
    ``(factor - 1) * b * (nyquist - hz) / (nyquist - b)``."""
    hz = jnp.asarray(hz, jnp.float32)
    factor = jnp.asarray(factor, jnp.float32)
    boundary = jnp.float32(f_hi) * jnp.minimum(factor, 1.0) / factor
    nyquist = jnp.float32(nyquist)
    upper = (factor - 1.0) * boundary * (nyquist - hz) / jnp.maximum(nyquist - boundary, 1e-3)
    return jnp.where(hz <= boundary, (factor - 1.0) * hz, upper)


def vtlp_frequencies(hz: Any, factor: jax.Array, f_hi: float, nyquist: float) -> jax.Array:
    """VTLP's warp of frequencies ``hz`` (Jaitly & Hinton 2013), float32.

    Below ``b = f_hi * min(factor, 1) / factor``: ``factor * hz``; above it, the line from
    ``(b, factor * b)`` to ``(nyquist, nyquist)`` (the Nyquist frequency maps to itself).
    """
    return jnp.asarray(hz, jnp.float32) + vtlp_shift(hz, factor, f_hi, nyquist)


def _ramps(stage: Any, sample_rate: int, fft_size: int) -> tuple[np.ndarray, ...]:
    """Host float64 parts of the triangles: ``(rising, falling, slope_rising, slope_falling)``,
    each ``[bins, n_mels]`` with the normalization folded in, and the bin frequencies."""
    fmin, fmax = stage.edges(sample_rate)
    scale = stage.scale
    points = _melscale.filter_points(stage.n_mels, fmin, fmax, scale, sample_rate, fft_size, stage.frequencies)
    freqs, edges_mel, edges_hz = (np.asarray(p, np.float64) for p in points)
    norm = np.ones(stage.n_mels)
    if stage.norm == "slaney":
        with np.errstate(divide="ignore"):  # coinciding edges: an empty filter (its sides are 0 below)
            norm = 2.0 / (edges_hz[2:] - edges_hz[:-2])
    if scale == "kaldi":
        position = _melscale.hz_to_mel(freqs, scale)[:, None]
        edges = edges_mel
    else:
        position = freqs[:, None]
        edges = edges_hz
    rise, fall = edges[1:-1] - edges[:-2], edges[2:] - edges[1:-1]
    with np.errstate(divide="ignore", invalid="ignore"):  # coinciding edges: a side that does not move
        up, down = (np.where(np.isfinite(v), v, 0.0) for v in (norm / rise, norm / fall))
        if _melscale.torchaudio_built(stage.frequencies, scale):  # its own float32 sides: factor 1 is its matrix
            args = (stage.n_mels, fmin, fmax, scale, stage.norm, sample_rate, fft_size)
            return (*_melscale.torchaudio_ramps(*args), up, down, freqs)
        sides = (position - edges[:-2]) / rise * norm, (edges[2:] - position) / fall * norm
    return (*_melscale.empty_sides(*sides), up, down, freqs)


def warped_mel_filterbank(stage: Any, factor: jax.Array, f_hi: float, sample_rate: int, fft_size: int) -> jax.Array:
    """The matrix of ``stage`` (a ``MelFilterbank``) with its bins at VTLP-warped frequencies.

    Filter ``m`` weighs bin ``k`` by its triangle at ``vtlp_frequencies(f_k)`` instead of
    ``f_k``: the construction of ``jaxspec._melscale.mel_filterbank`` (triangles in Hz for
    the Slaney and HTK scales, in mel for Kaldi's, Kaldi's Nyquist bin at 0, Slaney area
    normalization from the unwarped edges). The unwarped ramps are float64 host constants
    and only the move of each bin is traced (``vtlp_shift``; in mel for Kaldi,
    ``1127 log1p(shift / (700 + f))``), so ``factor = 1`` gives the host matrix rounded
    to float32, exactly.

    Returns:
      float32 ``[shape=(fft_size // 2 + 1, n_mels)]``.
    """
    rising, falling, up, down, freqs = _ramps(stage, sample_rate, fft_size)
    move = vtlp_shift(freqs, factor, f_hi, sample_rate / 2.0)
    if stage.scale == "kaldi":
        move = 1127.0 * jnp.log1p(move / jnp.asarray(700.0 + freqs, jnp.float32))
    move = move[:, None]
    f32 = lambda a: jnp.asarray(a, jnp.float32)
    weights = jnp.maximum(0.0, jnp.minimum(f32(rising) + move * f32(up), f32(falling) - move * f32(down)))
    if stage.scale == "kaldi":
        weights = weights.at[fft_size // 2 :].set(0.0)
    return weights


@dataclasses.dataclass(frozen=True, eq=False)
class WarpedMelFilterbank(MelFilterbank):
    """A ``MelFilterbank`` whose matrix is built per example from a drawn VTLP factor."""

    factor: Any = None
    f_hi: float = 4800.0

    def apply(self, y: jax.Array, sample_rate: int, fft_size: int) -> jax.Array:
        matrix = warped_mel_filterbank(self, self.factor, self.f_hi, sample_rate, fft_size)
        return jnp.matmul(y, matrix, precision=jax.lax.Precision.HIGHEST)


def warp_mel(stage: Any, setting: Any, values: dict) -> Any:
    """``stage`` as a ``WarpedMelFilterbank`` with the drawn factor (other stages unchanged)."""
    if not isinstance(stage, MelFilterbank):
        return stage
    fields = {f.name: getattr(stage, f.name) for f in dataclasses.fields(MelFilterbank)}
    return WarpedMelFilterbank(**fields, factor=values["vtlp_factor"], f_hi=setting.f_hi)
