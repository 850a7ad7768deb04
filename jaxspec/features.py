"""Feature stages after the spectrum: mel filterbanks, log scales, DCT (MFCC), deltas.

``SpectrogramConfig(features=(...))``: a chain applied in order to one example's spectrum ``[shape=(frames, bins)]``
(optax's ``chain``: a preset is just a config). Stages: frozen dataclasses of static settings; matrices (filterbanks,
DCT) are built once per (stage, sizes) on the host in float64 (``_melscale``), applied at ``precision=HIGHEST`` (TF32 /
bfloat16 break the tolerances). ``Decibels``' ``top_db``, ``WhisperLog``'s floor and ``SubtractMean`` are per example.
Each stage's docstring shows it in a config.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _deltas, _fields, _melscale, _products, limits
from .errors import ConfigError

KALDI_EPSILON = 1.1920929e-07  # float32 epsilon: Kaldi's log floor


def _set(obj: Any, **values: Any) -> None:
    for name, value in values.items():
        object.__setattr__(obj, name, value)


@dataclasses.dataclass(frozen=True)
class MelFilterbank:
    """Triangular mel filters: ``[frames, fft_size // 2 + 1]`` -> ``[frames, n_mels]``.

    Args:
      n_mels: number of filters (the seed's "NumberOfFilters", 40).
      fmin: lowest edge in Hz ("MinimumFrequency").
      fmax: highest edge in Hz ("MaximumFrequency"); ``None`` = Nyquist; ``<= 0`` = Nyquist + fmax (Kaldi's
        ``high_freq``); above Nyquist: the config warns once, when made (its top bands are empty).
      scale: ``"slaney"`` (librosa), ``"htk"`` (torchaudio, librosa ``htk=True``) or ``"kaldi"`` (triangles in mel).
      norm: ``"slaney"`` (area normalization, librosa) or ``None``.
      frequencies: ``"rfft"`` (librosa: bin k at ``k * sr / fft_size``) or ``"linspace"`` (torchaudio's
        ``melscale_fbanks``: bins at ``linspace(0, sr // 2, bins)``, built in float32 with torchaudio's rounding).

    >>> import jaxspec
    >>> jaxspec.SpectrogramConfig(features=(jaxspec.MelFilterbank(n_mels=80),)).output_shape(16000)  # [frames, n_mels]
    (121, 80)
    """

    n_mels: int = 40
    fmin: float = 0.0
    fmax: float | None = None
    scale: str = "slaney"
    norm: str | None = "slaney"
    frequencies: str = "rfft"

    def __post_init__(self):
        _set(self, n_mels=_fields.integer("MelFilterbank", "n_mels", self.n_mels, 1))
        if self.n_mels > limits.MAX_MEL_BANDS:  # its filterbank is [bins, n_mels] float32
            raise ConfigError(f"MelFilterbank(n_mels={self.n_mels}) is above the cap {limits.MAX_MEL_BANDS}")
        _set(self, fmin=_fields.number("MelFilterbank", "fmin", self.fmin, 0.0, high=limits.MAX_FREQUENCY))
        if self.fmax is not None:
            fmax = _fields.number("MelFilterbank", "fmax", self.fmax, -limits.MAX_FREQUENCY, high=limits.MAX_FREQUENCY)
            _set(self, fmax=fmax)
        _fields.choice("MelFilterbank", "scale", self.scale, _melscale.SCALES)
        _fields.choice("MelFilterbank", "norm", self.norm, ("slaney", None))
        _fields.choice("MelFilterbank", "frequencies", self.frequencies, ("rfft", "linspace"))

    def edges(self, sample_rate: int) -> tuple[float, float]:
        """``(fmin, fmax)`` in Hz at ``sample_rate``, checked: ``0 <= fmin < fmax``."""
        nyquist = sample_rate / 2.0
        fmax = nyquist if self.fmax is None else (self.fmax if self.fmax > 0 else nyquist + self.fmax)
        if not self.fmin < fmax:
            at = f"(= {fmax:g} Hz at sample_rate={sample_rate})"
            raise ConfigError(f"MelFilterbank(fmin={self.fmin!r}, fmax={self.fmax!r}) needs fmin < fmax {at}")
        return self.fmin, fmax

    def matrix(self, sample_rate: int, fft_size: int) -> np.ndarray:
        """The filters, float64 ``[shape=(fft_size // 2 + 1, n_mels)]`` (cached)."""
        fmin, fmax = self.edges(sample_rate)
        args = (self.n_mels, fmin, fmax, self.scale, self.norm, sample_rate, fft_size, self.frequencies)
        return _melscale.mel_filterbank(*args)

    def size(self, n_in: int, sample_rate: int, fft_size: int) -> int:
        if n_in != fft_size // 2 + 1:
            raise ConfigError(f"{self!r} needs the {fft_size // 2 + 1} spectrum bins as input, got {n_in} features")
        return self.n_mels

    def apply(self, y: jax.Array, sample_rate: int, fft_size: int) -> jax.Array:
        return _products.banded(y, self.matrix(sample_rate, fft_size))


@dataclasses.dataclass(frozen=True)
class Log:
    """Natural log ``log(max(x, floor) + offset)``: Kaldi ``Log()``, torchaudio ``log_mels`` ``Log(0.0, 1e-6)``.

    ``max(floor, offset)`` must be at least float32's smallest normal number (1.18e-38): silence's log is finite.

    >>> import jaxspec, numpy as np  # silence: log(float32 epsilon)
    >>> round(float(jaxspec.spectrogram(jaxspec.SpectrogramConfig(features=(jaxspec.Log(),)), np.zeros(1600)).max()), 3)
    -15.942
    """

    floor: float = KALDI_EPSILON
    offset: float = 0.0

    def __post_init__(self):
        _set(self, floor=_fields.number("Log", "floor", self.floor, 0.0, high=limits.MAX_FEATURE_CONSTANT))
        _set(self, offset=_fields.number("Log", "offset", self.offset, 0.0, high=limits.MAX_FEATURE_CONSTANT))
        tiny = float(np.finfo(np.float32).tiny)
        if max(self.floor, self.offset) < tiny:  # silence is log(max(0, floor) + offset)
            raise ConfigError(
                f"Log(floor={self.floor!r}, offset={self.offset!r}) would give -inf for silence: make floor or offset "
                f"at least float32's smallest normal number {tiny:.6g} (smaller values are flushed to 0)"
            )

    def size(self, n_in: int, sample_rate: int, fft_size: int) -> int:
        return n_in

    def apply(self, y: jax.Array, sample_rate: int, fft_size: int) -> jax.Array:
        arg = jnp.maximum(y, self.floor) + self.offset
        positive = arg > 0  # guard before log: finite values and gradients everywhere
        return jnp.where(positive, jnp.log(jnp.where(positive, arg, 1.0)), jnp.log(jnp.float32(KALDI_EPSILON)))


@dataclasses.dataclass(frozen=True)
class Decibels:
    """``multiplier * log10(max(x, amin) / max(amin, ref))``, floored at the example's max - ``top_db`` (``None``:
    no floor; librosa ``power_to_db``, torchaudio ``AmplitudeToDB``; magnitudes: ``multiplier=20``, ``amin``, ``ref``).

    >>> import jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(features=(jaxspec.Decibels(top_db=80.0),))
    >>> round(float(np.ptp(jaxspec.spectrogram(config, np.sin(np.arange(1600) / 2.0)))), 3)  # a tone: max - min
    80.0
    """

    ref: float = 1.0
    amin: float = 1e-10
    top_db: float | None = 80.0
    multiplier: float = 10.0

    def __post_init__(self):
        cap = limits.MAX_FEATURE_CONSTANT  # an amin past float32's max was inf everywhere
        _set(self, ref=_fields.number("Decibels", "ref", self.ref, 0.0, True, cap))
        _set(self, amin=_fields.number("Decibels", "amin", self.amin, 0.0, True, cap))
        _fields.normal_floor("Decibels", "amin", self.amin)
        _set(self, multiplier=_fields.number("Decibels", "multiplier", self.multiplier, 0.0, True, cap))
        if self.top_db is not None:
            _set(self, top_db=_fields.number("Decibels", "top_db", self.top_db, 0.0))

    def size(self, n_in: int, sample_rate: int, fft_size: int) -> int:
        return n_in

    def apply(self, y: jax.Array, sample_rate: int, fft_size: int, valid: Any = None) -> jax.Array:
        db = self.multiplier * jnp.log10(jnp.maximum(y, self.amin))
        db = db - self.multiplier * math.log10(max(self.amin, self.ref))
        if self.top_db is None or db.size == 0:
            return db
        return jnp.maximum(db, valid_max(db, valid) - self.top_db)


@dataclasses.dataclass(frozen=True)
class WhisperLog:
    """Whisper's log-mel scaling: ``log10(max(x, 1e-10))``, floored at the example's max minus 8, then ``(x + 4) / 4``.

    >>> import jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(features=(jaxspec.MelFilterbank(40), jaxspec.WhisperLog()))
    >>> round(float(np.ptp(jaxspec.spectrogram(config, np.sin(np.arange(1600) / 2.0)))), 3)  # a tone: 8 / 4
    2.0
    """

    def size(self, n_in: int, sample_rate: int, fft_size: int) -> int:
        return n_in

    def apply(self, y: jax.Array, sample_rate: int, fft_size: int, valid: Any = None) -> jax.Array:
        log = jnp.log10(jnp.maximum(y, 1e-10))
        if log.size:
            log = jnp.maximum(log, valid_max(log, valid) - 8.0)
        return (log + 4.0) / 4.0


@dataclasses.dataclass(frozen=True)
class DCT:
    """DCT-II over the features, the first ``n`` coefficients (MFCC; the seed's "NumberOfCoefficients", 13), liftered.

    Args:
      n: coefficients kept.
      norm: ``"ortho"``, ``None`` or ``"forward"`` (``scipy.fft.dct``'s conventions).
      lifter: lifter length ``L``; 0 = none; negative only for ``"kaldi"`` (as Kaldi; librosa refuses it).
      lifter_kind: ``"librosa"`` (``1 + (L/2) sin(pi (i+1) / L)``) or ``"kaldi"`` (``1 + (L/2) sin(pi i / L)``).

    >>> from jaxspec import DCT, Log, MelFilterbank, SpectrogramConfig
    >>> SpectrogramConfig(features=(MelFilterbank(40), Log(), DCT(13, lifter=22))).output_shape(16000)  # MFCC
    (121, 13)
    """

    n: int = 13
    norm: str | None = "ortho"
    lifter: float = 0.0
    lifter_kind: str = "librosa"

    def __post_init__(self):
        _fields.choice("DCT", "lifter_kind", self.lifter_kind, ("librosa", "kaldi"))
        low = -limits.MAX_FEATURE_CONSTANT if self.lifter_kind == "kaldi" else 0.0
        lifter = _fields.number("DCT", "lifter", self.lifter, low, high=limits.MAX_FEATURE_CONSTANT)
        _set(self, n=_fields.integer("DCT", "n", self.n, 1), lifter=lifter)
        _fields.choice("DCT", "norm", self.norm, ("ortho", None, "forward"))

    def size(self, n_in: int, sample_rate: int, fft_size: int) -> int:
        if self.n > n_in:
            raise ConfigError(f"DCT(n={self.n}) keeps more coefficients than its {n_in} input features")
        return self.n

    def apply(self, y: jax.Array, sample_rate: int, fft_size: int) -> jax.Array:
        weights = _melscale.lifter(self.n, self.lifter, self.lifter_kind)
        return _products.right(y, _melscale.dct_matrix(y.shape[-1], self.n, self.norm) * weights[None, :])


@dataclasses.dataclass(frozen=True)
class Deltas:
    """Time derivatives along the frames.

    Args:
      order: 1 (delta) or 2 (delta-delta).
      width: frames in the filter (>= 3; odd for ``"interp"``, any for ``"replicate"``).
      mode: ``"interp"``: librosa ``feature.delta`` (Savitzky-Golay of degree ``order``, polynomial fits at the
        edges); ``"replicate"``: torchaudio ``ComputeDeltas`` (regression over ``width`` frames, edges repeated; twice).
      stack: ``False``: the derivative only (librosa, torchaudio); ``True``: the input, each order (``[x, d1, d2]``).

    >>> from jaxspec import Deltas, Log, MelFilterbank, SpectrogramConfig
    >>> SpectrogramConfig(features=(MelFilterbank(40), Log(), Deltas(order=2, stack=True))).output_shape(16000)
    (121, 120)
    """

    order: int = 1
    width: int = 9
    mode: str = "interp"
    stack: bool = False

    def __post_init__(self):
        _set(
            self,
            order=_fields.integer("Deltas", "order", self.order, 1),
            width=_fields.integer("Deltas", "width", self.width, 3, limits.MAX_DELTA_WIDTH),
        )
        _fields.choice("Deltas", "mode", self.mode, ("interp", "replicate"))
        if self.order > 2:
            raise ConfigError(f"Deltas(order={self.order}) must be 1 or 2")
        if self.mode == "interp" and self.width % 2 == 0:
            raise ConfigError(f"Deltas(width={self.width}) must be odd in mode='interp' (librosa's rule)")
        _set(self, stack=_fields.flag("Deltas", "stack", self.stack))

    def size(self, n_in: int, sample_rate: int, fft_size: int) -> int:
        return n_in * (1 + self.order) if self.stack else n_in

    def apply(self, y: jax.Array, sample_rate: int, fft_size: int, valid: Any = None) -> jax.Array:
        orders = range(1, self.order + 1) if self.stack else (self.order,)
        out = [y] if self.stack else []
        ragged = valid is not None and y.shape[0]  # a padded row: its own last frame is the edge
        edge = jnp.minimum(jnp.arange(y.shape[0]), jnp.maximum(valid, 1) - 1) if ragged else None
        y = y if edge is None else y[edge]
        for order in orders:
            if self.mode == "interp":
                smooth = _deltas.savgol if valid is None else partial(_deltas.savgol_ragged, valid=valid)
                out.append(smooth(y, self.width, order))
            else:
                out.append(_deltas.repeated_regression(y, self.width, order, edge))
        return jnp.concatenate(out, axis=-1) if len(out) > 1 else out[0]


def valid_max(y: jax.Array, valid: Any) -> jax.Array:
    """``max(y)`` over the first ``valid`` rows (all if None; the rest count as finfo.min: -inf trips debug_infs)."""
    if valid is None:
        return jnp.max(y)
    rows = jnp.arange(y.shape[0]).reshape((-1,) + (1,) * (y.ndim - 1))
    return jnp.max(jnp.where(rows < valid, y, jnp.finfo(y.dtype).min))


@dataclasses.dataclass(frozen=True)
class SubtractMean:
    """Subtracts each feature's mean over the example's frames (Kaldi's ``subtract_mean``).

    >>> import jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(features=(jaxspec.MelFilterbank(40), jaxspec.Log(), jaxspec.SubtractMean()))
    >>> bool(abs(jaxspec.spectrogram(config, np.sin(np.arange(1600) / 2.0)).mean(axis=0)).max() < 1e-4)
    True
    """

    def size(self, n_in: int, sample_rate: int, fft_size: int) -> int:
        return n_in

    def apply(self, y: jax.Array, sample_rate: int, fft_size: int, valid: Any = None) -> jax.Array:
        if not y.shape[0]:
            return y
        if valid is None:
            return y - jnp.mean(y, axis=0, keepdims=True)
        rows = jnp.arange(y.shape[0])[:, None] < valid
        total = jnp.sum(jnp.where(rows, y, 0.0), axis=0, keepdims=True)
        return y - total / jnp.maximum(valid, 1).astype(y.dtype)


@dataclasses.dataclass(frozen=True)
class UseEnergy:
    """Puts the log energy of the preprocess stage ``LogEnergy`` in the output: ``"first"`` (new column 0: Kaldi
    fbank), ``"last"`` (new last column: fbank, ``htk_compat``) or ``"c0"`` (replaces coefficient 0: Kaldi MFCC).

    >>> from jaxspec import LogEnergy, MelFilterbank, SpectrogramConfig, UseEnergy
    >>> SpectrogramConfig(preprocess=(LogEnergy(),), features=(MelFilterbank(23), UseEnergy())).output_shape(16000)
    (121, 24)
    """

    place: str = "first"

    def __post_init__(self):
        _fields.choice("UseEnergy", "place", self.place, ("first", "last", "c0"))

    def size(self, n_in: int, sample_rate: int, fft_size: int) -> int:
        return n_in if self.place == "c0" else n_in + 1

    def apply(self, y: jax.Array, sample_rate: int, fft_size: int, energy: jax.Array | None = None) -> jax.Array:
        if energy is None:
            raise ConfigError("UseEnergy() needs LogEnergy() in the config's preprocess chain")
        column = energy[:, None].astype(y.dtype)
        if self.place == "c0":
            return jnp.concatenate([column, y[:, 1:]], axis=-1)
        return jnp.concatenate([column, y] if self.place == "first" else [y, column], axis=-1)


_PER_EXAMPLE = (Decibels, WhisperLog, Deltas, SubtractMean)  # stages whose rows depend on the example's frames
_MATRIX = (MelFilterbank, DCT)  # stages that build an [inputs, outputs] matrix on the host

FEATURES: dict[str, type] = {
    "mel_filterbank": MelFilterbank,
    "log": Log,
    "decibels": Decibels,
    "whisper_log": WhisperLog,
    "dct": DCT,
    "deltas": Deltas,
    "subtract_mean": SubtractMean,
    "use_energy": UseEnergy,
}
"""JSON name -> feature stage class (``jaxspec.serialize`` iterates over it)."""


def check_features(value: Any) -> tuple:
    """``value`` as a tuple of feature stages, or ``ConfigError``."""
    stages = tuple(value) if isinstance(value, (list, tuple)) else None
    if stages is None or not all(isinstance(s, tuple(FEATURES.values())) for s in stages):
        raise ConfigError(
            f"features={value!r} must be a tuple of stages: {', '.join(c.__name__ for c in FEATURES.values())}"
        )
    return stages


def chain_size(stages: tuple, num_bins: int, sample_rate: int, fft_size: int) -> int:
    """Features per frame after ``stages`` from ``num_bins`` bins (each stage and ``limits.check_chain``)."""
    size, matrices = num_bins, 0
    for count, stage in enumerate(stages, 1):  # each stage checks its own settings against its input
        out = stage.size(size, sample_rate, fft_size)
        matrices += math.prod(matrix := (size, out) if isinstance(stage, _MATRIX) else (0, 0))
        size = limits.check_chain(stage, count, matrix, matrices, out)
    return size


def check_bands(stages: tuple, rate: int, fft_size: int) -> None:
    """Checks mel edges at ``rate`` (``fmin < fmax``); warns once of empty bands, as librosa and torchaudio do."""
    _melscale.check_bands([s for s in stages if isinstance(s, MelFilterbank)], rate, fft_size)


def is_framewise(stage: Any) -> bool:
    """True when the stage maps each frame on its own (no per-example statistic, no neighbours)."""
    return isinstance(stage, (MelFilterbank, Log, DCT)) or (isinstance(stage, Decibels) and stage.top_db is None)


def framewise_prefix(stages: tuple) -> int:
    """How many leading stages are framewise (they may run block by block on long inputs)."""
    return next((i for i, stage in enumerate(stages) if not is_framewise(stage)), len(stages))


def apply_chain(
    stages: tuple,
    y: jax.Array,
    sample_rate: int,
    fft_size: int,
    energy: jax.Array | None = None,
    valid: jax.Array | None = None,
) -> jax.Array:
    """Applies ``stages`` in order to one example ``y [shape=(frames, features)]``; ``energy [shape=(frames,)]``: the
    log energies for ``UseEnergy``; ``valid``: traced count of the example's frames in a padded row (its statistics)."""
    for stage in stages:
        if isinstance(stage, UseEnergy):
            y = stage.apply(y, sample_rate, fft_size, energy)
        elif energy is not None and hasattr(stage, "apply_with_energy"):  # warps and masks move it too
            y, energy = stage.apply_with_energy(y, energy)
        elif isinstance(stage, _PER_EXAMPLE):
            y = stage.apply(y, sample_rate, fft_size, valid=valid)
        else:
            y = stage.apply(y, sample_rate, fft_size)
    return y
