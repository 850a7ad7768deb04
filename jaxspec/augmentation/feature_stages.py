"""Feature-level augmentation: SpecAugment's masks and time warp, and VTLP (SPEC section 7).

Settings classes (``FrequencyMask``, ``TimeMask``, ``TimeWarp``, ``VTLP``), their draws, applications and plot texts;
the stage table (``stages.STAGES``) declares them with the waveform stages. Where they run (the table's ``level``):

- ``"mel"`` (VTLP): each ``MelFilterbank`` of the config's features is replaced, for this example, by
  ``WarpedMelFilterbank``, whose matrix is built in the graph from the drawn factor
  (``feature_ops.WarpedMelFilterbank``).
- ``"features"`` (time warp, frequency masks, time masks, in this order): one block spliced into the feature chain at
  ``insertion_point(features)``: after the leading spectral stages (``MelFilterbank``, ``Log``, ``Decibels``,
  ``WhisperLog``: so that ``top_db`` and Whisper's max are taken before masking), before ``DCT``, ``Deltas``,
  ``SubtractMean`` and ``UseEnergy``; right after the spectrum when there are none.

Draws (key rule, ``keys`` module): stage ids frequency_mask 4, time_mask 5, time_warp 6, vtlp 7 (dither is 8); inside a
stage, ``fold_in(stage_key, id)`` with ids: masks: count 0, widths 1, starts 2, and mask ``j`` folds ``j`` into the
widths / starts key; time warp: centre 0, shift 1; VTLP: factor 0. Integer values (counts, widths, starts, the warp's
centre and shift) come from one random uint32 word each, mapped to ``[0, span)`` by the multiply-shift
``floor(word * span / 2**32)`` (exact, in uint32 arithmetic), never from the floor of a float. A drawn value depends
only on the example's valid frames (and features), so a padded row draws what the row alone would.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _xla, limits
from .. import features as _features
from .._pytree import pytree_dataclass
from ..errors import ConfigError, warn
from . import feature_ops
from .distributions import as_param, sample_param
from .integers import check_int, int_bounds, int_param, random_index, random_int, random_word  # noqa: F401
from .rounding import floor_product

MAX_MASKS = 64
"""Most masks of one kind per example (the static loop bound of a count range)."""
MAX_WIDTH = 1 << 20
"""Largest mask width or warp shift, in frames or features."""
VTLP_BOUNDS = (0.5, 2.0)
"""VTLP factors: fixed values and ranges must lie here; other draws are clipped to it."""
FILLS = ("mean",)


def _fill(value: Any, name: str) -> float | str:
    if isinstance(value, str) and value in FILLS:
        return value
    cap = limits.MAX_FEATURE_CONSTANT
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not abs(value) <= cap:  # NaN too
        raise ConfigError(f"{name}={value!r} must be a number in [-{cap:g}, {cap:g}] (0.0 by default) or 'mean'")
    return float(value)


# ------------------------------------------------------------------- settings
@pytree_dataclass()
class FrequencyMask:
    """SpecAugment's frequency masks: ``count`` bands of ``width`` features set to ``fill``.

    Args:
      count: masks per example: an int, or ``(lo, hi)`` uniform over ``lo..hi`` (at most
        ``MAX_MASKS``).
      width: features per band: an int, or ``(lo, hi)`` uniform over ``lo..hi`` (Park et
        al.'s LB policy: ``FrequencyMask(1, (0, 27))``). Clipped to the feature count.
      fill: the masked value: a number (0 by default) or ``"mean"`` (the example's mean).

    Each band starts at an integer uniform over ``[0, features - width]``; bands may overlap.

    >>> import jax, jaxspec, numpy as np
    >>> config = jaxspec.presets.kaldi_fbank(num_mel_bins=40, augmentation=jaxspec.Augmentation(frequency_mask=(1, 10)))
    >>> int((jaxspec.spectrogram(config, np.ones(1600), jax.random.key(0)) == 0).all(axis=0).sum())  # bands set to 0
    10
    """

    count: Any = 1
    width: Any = (0, 27)
    fill: Any = 0.0

    def __post_init__(self):
        object.__setattr__(self, "count", int_param(self.count, "FrequencyMask count", 0, MAX_MASKS))
        object.__setattr__(self, "width", int_param(self.width, "FrequencyMask width", 0, MAX_WIDTH))
        object.__setattr__(self, "fill", _fill(self.fill, "FrequencyMask fill"))


@pytree_dataclass()
class TimeMask:
    """SpecAugment's time masks: ``count`` bands of ``width`` frames set to ``fill``.

    Args:
      count: masks per example: an int or ``(lo, hi)`` (at most ``MAX_MASKS``).
      width: frames per band: an int or ``(lo, hi)`` (LB policy: ``TimeMask(1, (0, 100))``).
      max_fraction: widths are clipped to ``floor(max_fraction * frames)`` of the example's
        valid frames (Park et al. 2020's adaptive masks; the product as float64 gives it).
      fill: a number (0 by default) or ``"mean"``.

    Each band starts at an integer uniform over ``[0, frames - width]``.

    >>> import jax, jaxspec, numpy as np
    >>> config = jaxspec.presets.kaldi_fbank(augmentation=jaxspec.Augmentation(time_mask=jaxspec.TimeMask(1, 50, 0.1)))
    >>> int((jaxspec.spectrogram(config, np.ones(16000), jax.random.key(0)) == 0).all(axis=1).sum())  # 0.1 * 98 frames
    9
    """

    count: Any = 1
    width: Any = (0, 100)
    max_fraction: float = 1.0
    fill: Any = 0.0

    def __post_init__(self):
        object.__setattr__(self, "count", int_param(self.count, "TimeMask count", 0, MAX_MASKS))
        object.__setattr__(self, "width", int_param(self.width, "TimeMask width", 0, MAX_WIDTH))
        p = self.max_fraction
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ConfigError(f"TimeMask max_fraction={p!r} must be a number in [0, 1]")
        object.__setattr__(self, "max_fraction", float(p))
        object.__setattr__(self, "fill", _fill(self.fill, "TimeMask fill"))


@pytree_dataclass()
class TimeWarp:
    """SpecAugment's time warp: the frame at an integer centre uniform in ``[W, n - W)`` moves
    by an integer shift uniform in ``[-W, W]``, the time axis warped piecewise-linearly
    around it (linear interpolation; ``W = max_shift`` frames, Park et al.'s LB policy
    ``W = 80``). The identity when ``n <= 2 W``.

    >>> import jax, jaxspec
    >>> config = jaxspec.presets.kaldi_fbank(augmentation=jaxspec.Augmentation(time_warp=jaxspec.TimeWarp(5)))
    >>> {name: int(v) for name, v in jaxspec.draw(config, jax.random.key(0), 16000).items()}  # centre in [5, 98 - 5)
    {'time_warp_centre': 18, 'time_warp_shift': -1}
    """

    max_shift: int = 80

    def __post_init__(self):
        object.__setattr__(self, "max_shift", check_int(self.max_shift, "TimeWarp max_shift", 0, MAX_WIDTH))


@pytree_dataclass()
class VTLP:
    """Vocal tract length perturbation (Jaitly & Hinton 2013) of the mel filterbank.

    Args:
      alpha: the warp factor, a numeric parameter (typically ``(0.9, 1.1)``, uniform),
        within ``VTLP_BOUNDS``.
      f_hi: Hz; frequencies below ``f_hi * min(alpha, 1) / alpha`` scale by ``alpha``,
        those above follow a line to the Nyquist frequency (which stays).

    Each ``MelFilterbank`` of the config weighs bin ``k`` by its filters at the warped
    frequency of ``k``; the config needs a ``MelFilterbank`` feature stage.

    >>> import jax, jaxspec
    >>> config = jaxspec.presets.kaldi_fbank(augmentation=jaxspec.Augmentation(vtlp=jaxspec.VTLP((0.9, 1.1))))
    >>> 0.9 <= float(jaxspec.draw(config, jax.random.key(0), 16000)["vtlp_factor"]) <= 1.1
    True
    """

    alpha: Any = (0.9, 1.1)
    f_hi: float = 4800.0

    def __post_init__(self):
        object.__setattr__(self, "alpha", as_param(self.alpha, "VTLP alpha", bounds=VTLP_BOUNDS))
        f_hi = self.f_hi
        if isinstance(f_hi, bool) or not isinstance(f_hi, numbers.Real) or not 0 < f_hi <= limits.MAX_FREQUENCY:
            raise ConfigError(f"VTLP f_hi={f_hi!r} must be a frequency in Hz in (0, {limits.MAX_FREQUENCY:g}]")
        object.__setattr__(self, "f_hi", float(f_hi))


def _count_shorthand(cls: type) -> Any:
    def coerce(value: Any, field: str) -> Any:
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return cls(*value)  # (count, width)
        raise ConfigError(f"{field}={value!r}: use {cls.__name__}(count, width, ...) or (count, width)")

    return coerce


def time_warp_shorthand(value: Any, field: str) -> TimeWarp:
    return TimeWarp(value)


def vtlp_shorthand(value: Any, field: str) -> VTLP:
    return VTLP(value)


frequency_mask_shorthand = _count_shorthand(FrequencyMask)
time_mask_shorthand = _count_shorthand(TimeMask)


# ------------------------------------------------------------------- where they run
class FeatureGrid(NamedTuple):
    """What a feature-level draw needs: the example's frames (static), the features where
    masks apply (static), and its valid frames (``None`` = all; traced for padded rows)."""

    frames: int
    features: int
    valid_frames: Any = None

    def valid(self) -> Any:
        return self.frames if self.valid_frames is None else jnp.asarray(self.valid_frames, jnp.int32)


_SPECTRAL = (_features.MelFilterbank, _features.Log, _features.Decibels, _features.WhisperLog)


def insertion_point(features: tuple) -> int:
    """Where masks and warp go in a feature chain: after its leading spectral stages."""
    k = 0
    while k < len(features) and isinstance(features[k], _SPECTRAL):
        k += 1
    return k


def check_config(augmentation: Any, features: tuple, power: Any) -> None:
    """``ConfigError`` when the config cannot take its feature-level stages."""
    if augmentation is None:
        return
    mel = [stage.name for stage, _ in augmentation.active("mel")]
    on = mel + [stage.name for stage, _ in augmentation.active("features")]
    if on and power is None:
        raise ConfigError(
            f"augmentation {', '.join(on)} needs a real spectrogram; power=None gives the complex STFT "
            "(use power=2.0 or 1.0)"
        )
    if mel and not any(isinstance(s, _features.MelFilterbank) for s in features):
        raise ConfigError(
            f"augmentation.{mel[0]} warps the mel filterbank, but features has no MelFilterbank stage; add one "
            "(e.g. features=(MelFilterbank(n_mels=40), Log())) or use a mel preset such as "
            "jaxspec.presets.kaldi_fbank() (--preset kaldi_fbank on the command line)"
        )
    bands = [s.n_mels for s in features[: insertion_point(features)] if isinstance(s, _features.MelFilterbank)]
    mask = augmentation.frequency_mask  # drawn at least once (a count of 0 draws none)
    widest = int_bounds(mask.width)[1] if mask is not None and int_bounds(mask.count)[1] else 0
    if bands and widest >= bands[-1] > 0:  # SpecAugment's LB 0:27 (for 80 bands) on Kaldi's 23
        warn(f"frequency_mask width up to {widest} reaches all {bands[-1]} mel bands: such draws mask whole examples")


@dataclasses.dataclass(frozen=True, eq=False)
class AugmentFeatures:
    """The feature-level stages of one example as one stage of the feature chain."""

    stages: tuple  # ((Stage, setting), ...) in pipeline order
    values: dict
    valid_frames: Any = None

    def size(self, n_in: int, sample_rate: int, fft_size: int) -> int:
        return n_in

    def apply(self, y: jax.Array, sample_rate: int, fft_size: int) -> jax.Array:
        return self.apply_with_energy(y, None)[0]

    def apply_with_energy(self, y: jax.Array, energy: jax.Array | None) -> tuple[jax.Array, jax.Array | None]:
        """``(y, energy)`` augmented: ``energy [shape=(frames,)]`` (Kaldi's log energy, which
        ``UseEnergy`` places later) follows the stages ``along_time`` (time warp, time masks;
        ``fill="mean"``: its own mean), so that the output's columns stay aligned."""
        mean = energy_mean = None
        if any(getattr(setting, "fill", None) == "mean" for _, setting in self.stages):
            mean = feature_ops.example_mean(y, self.valid_frames)
            energy_mean = None if energy is None else feature_ops.example_mean(energy[:, None], self.valid_frames)
        # The drawn values are computed once, apart: XLA fused their threefry hashes into every
        # element of the masked features and of each Deltas slice, and the CPU fusion emitter
        # then compiled Decibels + Deltas(stack=True) + a mask for minutes (measured: 0.4 s now)
        values = jax.lax.optimization_barrier(self.values)
        for stage, setting in self.stages:
            y = stage.apply(setting, y, values, FeatureInput(self.valid_frames, mean))
            if energy is not None and stage.along_time:
                column = stage.apply(setting, energy[:, None], values, FeatureInput(self.valid_frames, energy_mean))
                energy = column[:, 0]
        return y, energy


class FeatureInput(NamedTuple):
    """What a feature-level apply needs besides ``y``: valid frames and the example's mean."""

    valid_frames: Any = None
    mean: Any = None


# ------------------------------------------------------------------- draws
def _draw_masks(prefix: str, setting: Any, key: jax.Array, size: Any, max_width: Any) -> dict[str, jax.Array]:
    lo, hi = int_bounds(setting.count)
    count = random_int(jax.random.fold_in(key, 0), setting.count)
    k_width, k_start = jax.random.fold_in(key, 1), jax.random.fold_in(key, 2)

    def one(j: jax.Array) -> tuple[jax.Array, jax.Array]:  # mask j: off past the drawn count
        width = jnp.minimum(random_int(jax.random.fold_in(k_width, j), setting.width), max_width)
        width = jnp.where((j >= lo) & (j >= count), 0, width)
        return width, random_index(jax.random.fold_in(k_start, j), size - width + 1)

    # A loop over the masks, not written out: the same draws, a program that does not grow with the count
    # ((0, 64) masks of both kinds compiled in 35 s written out, 0.65 s so; 64 x 1 s ran alike), kept apart
    # by the loop (vmapped, XLA fused them into Decibels + stacked Deltas again: minutes to compile)
    widths, starts = jax.lax.map(one, jnp.arange(hi, dtype=jnp.int32)) if hi else (jnp.zeros((0,), jnp.int32),) * 2
    return {
        f"{prefix}_count": count,
        f"{prefix}_starts": jnp.asarray(starts, jnp.int32),
        f"{prefix}_widths": jnp.asarray(widths, jnp.int32),
    }


def draw_frequency_mask(setting: FrequencyMask, key: jax.Array, grid: FeatureGrid) -> dict[str, jax.Array]:
    return _draw_masks("frequency_mask", setting, key, grid.features, grid.features)


def draw_time_mask(setting: TimeMask, key: jax.Array, grid: FeatureGrid) -> dict[str, jax.Array]:
    valid = grid.valid()  # floor(max_fraction * frames) as float64 gives it (1/1000ths before: 0.0001 gave 0)
    return _draw_masks("time_mask", setting, key, valid, floor_product(setting.max_fraction, valid, 0.0))


def draw_time_warp(setting: TimeWarp, key: jax.Array, grid: FeatureGrid) -> dict[str, jax.Array]:
    w = setting.max_shift
    valid = grid.valid()
    centre = w + random_index(jax.random.fold_in(key, 0), valid - 2 * w)
    shift = random_index(jax.random.fold_in(key, 1), 2 * w + 1) - w
    on = valid > 2 * w
    # Held in a buffer: fused into the warp's gather, both hashes ran per value (3 rows + DCT: a 15-min compile)
    drawn = _xla.held(jnp.stack([jnp.where(on, centre, 0), jnp.where(on, shift, 0)]), _xla.runtime_zero(key))
    return {"time_warp_centre": drawn[0], "time_warp_shift": drawn[1]}


def draw_vtlp(setting: VTLP, key: jax.Array, grid: FeatureGrid) -> dict[str, jax.Array]:
    factor = sample_param(setting.alpha, jax.random.fold_in(key, 0), name="VTLP alpha", bounds=(*VTLP_BOUNDS, 1.0))
    return {"vtlp_factor": factor}


# ------------------------------------------------------------------- applications
def _fill_value(setting: Any, given: FeatureInput) -> Any:
    return given.mean if setting.fill == "mean" else setting.fill


def apply_frequency_mask(setting: FrequencyMask, y: jax.Array, values: dict, given: FeatureInput) -> jax.Array:
    starts, widths = values["frequency_mask_starts"], values["frequency_mask_widths"]
    return feature_ops.mask(y, starts, widths, axis=1, fill=_fill_value(setting, given))


def apply_time_mask(setting: TimeMask, y: jax.Array, values: dict, given: FeatureInput) -> jax.Array:
    starts, widths = values["time_mask_starts"], values["time_mask_widths"]
    return feature_ops.mask(y, starts, widths, axis=0, fill=_fill_value(setting, given))


def apply_time_warp(setting: TimeWarp, y: jax.Array, values: dict, given: FeatureInput) -> jax.Array:
    if setting.max_shift == 0:
        return y
    return feature_ops.time_warp(y, values["time_warp_centre"], values["time_warp_shift"], given.valid_frames)


# ------------------------------------------------------------------- plot texts
def _bands(values: dict, prefix: str) -> str:
    starts, widths = np.asarray(values[f"{prefix}_starts"]), np.asarray(values[f"{prefix}_widths"])
    bands = [f"{s}-{s + w}" for s, w in zip(starts.tolist(), widths.tolist(), strict=True) if w > 0]
    return ", ".join(bands) or "none"


def describe_frequency_mask(values: dict, rate: int) -> str:
    return f"freq masks [{_bands(values, 'frequency_mask')}]"


def describe_time_mask(values: dict, rate: int) -> str:
    return f"time masks [{_bands(values, 'time_mask')}] frames"


def describe_time_warp(values: dict, rate: int) -> str:
    return f"warp frame {int(values['time_warp_centre'])} by {int(values['time_warp_shift']):+d}"


def describe_vtlp(values: dict, rate: int) -> str:
    return f"VTLP {float(values['vtlp_factor']):.3f}"


# ------------------------------------------------------------------- command-line values
def _int_text(text: str) -> int | list[int]:
    lo, sep, hi = text.partition(":")
    return [int(lo), int(hi)] if sep else int(lo)


def parse_mask_flag(text: str) -> dict[str, Any]:
    """``COUNT,WIDTH[,max_fraction=P][,fill=mean|NUMBER]`` -> the stage's JSON object.

    ``COUNT`` and ``WIDTH`` are ints or ``LO:HI`` inclusive ranges: ``1,0:27`` is
    ``{"count": 1, "width": [0, 27]}`` (SpecAugment's LB frequency masks).
    """
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 2 or any("=" in p for p in parts[:2]):
        raise ValueError(f"{text!r}: write COUNT,WIDTH (or LO:HI), e.g. 1,0:27 (freq), 2,0:100,fill=mean (time)")
    try:
        out: dict[str, Any] = {"count": _int_text(parts[0]), "width": _int_text(parts[1])}
    except ValueError:
        raise ValueError(f"{text!r}: COUNT and WIDTH must be ints or LO:HI ranges of ints, e.g. 1,0:27") from None
    for part in parts[2:]:
        name, sep, value = part.partition("=")
        if not sep or name not in ("max_fraction", "fill"):
            raise ValueError(f"{text!r}: {part!r} must be max_fraction=P or fill=mean|NUMBER")
        try:
            out[name] = value if value == "mean" else float(value)
        except ValueError:
            raise ValueError(f"{text!r}: {part!r} needs a number (or fill=mean)") from None
    return out
