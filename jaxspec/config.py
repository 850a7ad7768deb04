"""``SpectrogramConfig``: every hyperparameter of the encoder, as a frozen pytree.

Hyperparameters are static fields (hashable, part of the treedef, so part of
``jax.jit``'s cache key); the recordings that augmentation uses are array leaves
inside ``augmentation`` (a new recording does not retrace).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _serialize, limits
from . import features as _features
from . import framing as _framing
from ._pytree import pytree_dataclass
from .augmentation import Augmentation, resolve
from .augmentation.feature_stages import check_config as check_feature_augmentation
from .durations import parse_duration, seconds_to_samples
from .errors import ConfigError, check_rate, check_sample_count, length_list, warn, warn_low_rate
from .windows import check_window_function, shown_window, window_values

_NORMALIZATIONS = ("max", "rms")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def to_samples(value: Any, sample_rate: int, name: str, cap: int | None = None) -> int:
    """An int (samples), float (seconds) or duration string as a positive sample count (at most ``cap``)."""
    if _is_int(value):
        count = samples = int(value)
    else:
        seconds = parse_duration(value, name, "frames" if name == "target_length" else "samples")
        count = seconds * sample_rate  # checked before int(): +-1e300 s would overflow it
        if cap is not None and count > cap:
            seconds_hint = f" (a float is seconds: {value!r} s; an int is samples)" if isinstance(value, float) else ""
            raise ConfigError(
                f"{name}={value!r} is {count:.6g} samples at {sample_rate} Hz{seconds_hint}; the cap "
                f"is {cap} samples (jaxspec.limits)"
            )
        samples = seconds_to_samples(seconds, sample_rate) if count >= 0.5 else 0
    if samples <= 0:
        rule = "a positive number of samples or a duration like '10ms'"
        raise ConfigError(f"{name}={value!r} is {count:.6g} samples at {sample_rate} Hz; it must be {rule}")
    if cap is not None and samples > cap:
        raise ConfigError(f"{name}={value!r} is {samples} samples; the cap is {cap} samples (jaxspec.limits)")
    return samples


def _normalization(value: Any) -> tuple[str, float] | None:
    if value is None:
        return None
    if isinstance(value, str):
        kind, level = value, 1.0
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        kind, level = value
    else:
        kind, level = None, None
    if not isinstance(kind, str) or kind.lower() not in _NORMALIZATIONS:
        raise ConfigError(f"normalization={value!r} is not valid; use None, 'max', 'rms', ('max', v) or ('rms', v)")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not (0 < level < math.inf):
        raise ConfigError(f"normalization={value!r}: the level must be a positive number")
    if level > limits.MAX_LEVEL:
        raise ConfigError(f"normalization={value!r}: the level {level!r} is above the cap {limits.MAX_LEVEL:g}")
    return kind.lower(), float(level)


@pytree_dataclass(data_fields=("augmentation",))
class SpectrogramConfig:
    """Settings of the audio spectrogram encoder (the seed's ``AudioSpectrogram``).

    Args:
      sample_rate: target rate in Hz; inputs are resampled to it ("SampleRate").
      window_size: frame length: int samples, float seconds or ``"25ms"``; ``None``
        = ``ceil(0.025 * sample_rate)`` (400 at 16 kHz) ("WindowSize").
      offset: hop between frames, same forms; ``None`` =
        ``max(1, floor(window_size / 3 + 0.5))`` (133 at 16 kHz) ("Offset").
      window_function: ``"hann"`` (periodic), another name from
        ``jaxspec.windows.WINDOW_NAMES``, ``None`` / ``"rectangular"`` (no window), a
        callable ``n -> array[n]``, or ``window_size`` numbers ("WindowFunction").
      normalization: ``None``, ``"max"`` (level 1), ``"rms"`` (level 1), ``("max", v)`` or
        ``("rms", v)``; names in any case ("Normalization").
      target_length: ``None`` (all), int = exactly that many frames, float / str =
        a duration: the signal is zero-padded or trimmed at the end ("TargetLength").
      augmentation: ``None`` or ``Augmentation(...)``; applied only when a key is
        passed ("Augmentation").
      power: exponent of ``|X|``: 2 = power spectrum, 1 = magnitude; ``None`` = the complex STFT.
      fft_size: FFT length ``>= window_size`` (frames are zero-padded); ``None`` =
        ``window_size``.
      framing: ``None`` (the seed's: ``ceil(L / offset)`` frames), ``Centered(pad_mode)``
        (librosa / torch.stft) or ``Kaldi(snip_edges)``; see ``jaxspec.framing``.
      preprocess: frame preprocessing before the window, in order: ``Dither(amount)``,
        ``RemoveDC()``, ``LogEnergy(floor)`` (Kaldi's frame energy, with ``UseEnergy``),
        ``PreEmphasis(coefficient)`` (``jaxspec.framing``).
      features: stages after the spectrum, in order: ``MelFilterbank``, ``Log``, ``Decibels``,
        ``WhisperLog``, ``DCT``, ``Deltas``, ``SubtractMean``, ``UseEnergy`` (``jaxspec.features``).
        With ``power=None`` the output is the complex STFT (complex64) and no stage may follow.

    Output of ``spectrogram``: float32 ``[n_frames, num_features]`` (``num_features =
    fft_size // 2 + 1`` without feature stages) with ``n_frames = num_frames(L)`` for
    ``L`` samples at ``sample_rate`` (``ceil(L / offset)`` with the seed's framing).

    >>> from jaxspec import SpectrogramConfig
    >>> config = SpectrogramConfig()
    >>> config.window_samples, config.offset_samples, config.num_bins
    (400, 133, 201)
    >>> config.num_frames(16000)
    121
    """

    sample_rate: int = 16000
    window_size: int | float | str | None = None
    offset: int | float | str | None = None
    window_function: Any = "hann"
    normalization: Any = None
    target_length: int | float | str | None = None
    augmentation: Augmentation | None = None
    power: float | None = 2.0
    fft_size: int | None = None
    framing: Any = None
    preprocess: Sequence[Any] = ()  # a list is taken and kept as a tuple
    features: Sequence[Any] = ()

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)
        given = self.sample_rate  # as written: 1e300 as an int was a 301-digit message
        set_("sample_rate", warn_low_rate("sample_rate", check_rate("sample_rate", given)))
        if self.sample_rate > limits.MAX_SAMPLE_RATE:
            raise ConfigError(f"sample_rate={given!r} is above the cap {limits.MAX_SAMPLE_RATE} Hz")
        set_("window_function", check_window_function(self.window_function))
        set_("normalization", _normalization(self.normalization))
        if isinstance(self.target_length, str) and self.target_length.lower() == "all":
            set_("target_length", None)
        power = self.power
        if power is not None and (
            isinstance(power, bool) or not isinstance(power, numbers.Real) or not (0 < power < math.inf)
        ):
            raise ConfigError(
                f"power={power!r} must be a positive number (2 = power spectrum, 1 = magnitude) "
                "or None (the complex STFT)"
            )
        if power is not None and power > limits.MAX_POWER:
            raise ConfigError(f"power={power!r} is above the cap {limits.MAX_POWER:g}")
        set_("power", None if power is None else float(power))
        # Resolving each derived number once validates it (the properties raise).
        ws = self.window_samples
        _ = self.offset_samples, self.target_frames, self.target_samples
        for name in ("window_size", "offset"):  # window_size=25.0 meant for 25 ms: one 25 s frame per clip
            value = getattr(self, name)
            if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and value > 1.0:
                seconds = f"{float(value):g}"  # (a Fraction has no :g before Python 3.12)
                fix = f"'{seconds}ms' for milliseconds, '{seconds}s' for seconds without this warning"
                warn(f"{name}={value!r} is {seconds} s (a float is seconds): {fix}")
        if self.fft_size is not None:
            if not _is_int(self.fft_size) or self.fft_size < ws:
                raise ConfigError(
                    f"fft_size={self.fft_size!r} must be an integer >= window_size ({ws} samples); "
                    "frames are zero-padded to it"
                )
            if self.fft_size > limits.MAX_FFT_SIZE:
                raise ConfigError(f"fft_size={self.fft_size!r} is above the cap {limits.MAX_FFT_SIZE}")
            set_("fft_size", int(self.fft_size))
        _ = self.window
        set_("framing", _framing.check_framing(self.framing))
        set_("preprocess", _framing.check_preprocess(self.preprocess))
        set_("features", _features.check_features(self.features))
        if power is None and self.features:
            raise ConfigError(
                f"power=None gives the complex STFT; features={self.features!r} cannot follow it. "
                "Use power=2.0 (power) or 1.0 (magnitude) before feature stages"
            )
        energy = _framing.energy_stage(self.preprocess) is not None
        if energy != any(isinstance(s, _features.UseEnergy) for s in self.features):
            raise ConfigError(
                f"preprocess={self.preprocess!r} and features={self.features!r}: LogEnergy() (measures the "
                "energy) and UseEnergy() (puts it in the output) go together"
            )
        _ = self.num_features  # the chain's caps first: check_bands builds the filterbanks
        _features.check_bands(self.features, self.sample_rate, self.fft_samples)
        frames = self.target_frames
        too_many = frames is not None and frames * self.num_bins > limits.MAX_OUTPUT_VALUES
        if too_many or (frames is not None and frames * self.offset_samples > limits.MAX_SIGNAL_SAMPLES):
            raise ConfigError(
                f"target_length={frames} frames of {self.num_bins} bins at offset {self.offset_samples} is above "
                f"the caps: frames x bins <= {limits.MAX_OUTPUT_VALUES}, frames x offset <= "
                f"{limits.MAX_SIGNAL_SAMPLES}"
            )
        largest = float(np.max(np.abs(self.window), initial=0.0))
        if largest > limits.MAX_WINDOW_VALUE:
            raise ConfigError(
                f"window_function={shown_window(self.window_function)} has a value of magnitude {largest:.6g}; "
                f"the cap is {limits.MAX_WINDOW_VALUE:g}"
            )
        augmentation = self.augmentation
        if augmentation is not None and not isinstance(augmentation, Augmentation):
            raise ConfigError(f"augmentation={augmentation!r} must be None or Augmentation(...)")
        set_("augmentation", resolve(augmentation, self.sample_rate))
        check_feature_augmentation(augmentation, self.features, self.power)
        bound, step = limits.worst_case(self, 1.0, limits.MAX_SIGNAL_SAMPLES)
        if not bound <= limits.FLOAT32_BUDGET:
            raise ConfigError(
                f"this config can overflow float32: {step} can reach {bound:.3g} for a full-scale input "
                f"(the cap is {limits.FLOAT32_BUDGET:g}; see jaxspec.limits); lower what drives it (a gain or "
                "level, the normalization, a preprocess stage's amount or coefficient, or the power)"
            )

    # ----------------------------------------------------------- resolved numbers
    @property
    def window_samples(self) -> int:
        """Window (frame) length in samples."""
        if self.window_size is None:
            return -(-self.sample_rate * 25 // 1000)  # ceil(0.025 * rate), exactly
        return to_samples(self.window_size, self.sample_rate, "window_size", limits.MAX_WINDOW_SAMPLES)

    @property
    def offset_samples(self) -> int:
        """Hop between frame starts in samples."""
        if self.offset is None:
            return max(1, (2 * self.window_samples + 3) // 6)  # floor(ws / 3 + 0.5), exactly
        return to_samples(self.offset, self.sample_rate, "offset", limits.MAX_OFFSET_SAMPLES)

    @property
    def fft_samples(self) -> int:
        """FFT length in samples (``fft_size`` or ``window_samples``)."""
        return self.window_samples if self.fft_size is None else self.fft_size

    @property
    def num_bins(self) -> int:
        """Frequency bins per frame: ``fft_samples // 2 + 1``."""
        return self.fft_samples // 2 + 1

    @property
    def num_features(self) -> int:
        """Features per output frame: ``num_bins`` without feature stages, else what the
        last stage gives (``n_mels`` of a mel filterbank, ``n`` of a DCT, ...)."""
        return _features.chain_size(self.features, self.num_bins, self.sample_rate, self.fft_samples)

    @property
    def frame_samples(self) -> int:
        """Samples per frame before the FFT: ``fft_samples`` when centred, else ``window_samples``."""
        return _framing.frame_length(self.framing, self.window_samples, self.fft_samples)

    @property
    def target_frames(self) -> int | None:
        """``target_length`` in frames when it is given as an int, else ``None``."""
        if not _is_int(self.target_length):
            return None
        if self.target_length <= 0:
            raise ConfigError(f"target_length={self.target_length!r} frames must be positive")
        return int(self.target_length)

    @property
    def target_samples(self) -> int | None:
        """``target_length`` in samples when it is a duration, else ``None``."""
        if self.target_length is None or _is_int(self.target_length):
            return None
        return to_samples(self.target_length, self.sample_rate, "target_length", limits.MAX_TARGET_SAMPLES)

    @cached_property
    def window(self) -> np.ndarray:
        """The window values, float64 ``[shape=(window_samples,)]``, read-only (the config is frozen)."""
        values = np.array(window_values(self.window_function, self.window_samples))  # not a callable's own array
        values.setflags(write=False)  # written into, it changed nothing (each program computes its own)
        return values

    def frequencies(self) -> np.ndarray:
        """Centre frequency of each spectrum bin in Hz, ``[shape=(num_bins,)]`` (the output's
        features when ``features`` is empty)."""
        return np.arange(self.num_bins) * self.sample_rate / self.fft_samples

    def num_frames(self, length: Any) -> Any:
        """Frames of the output for ``length`` samples at ``sample_rate`` (an int, an integer
        NumPy array elementwise, or a JAX integer array, traced too: build masks of ragged
        batches with it).

        ``L`` is ``length`` after ``target_length`` (or the ``target_length`` frames
        themselves); seed framing ``ceil(L / offset)``, centred ``1 + L // offset`` (even
        ``fft_size``), Kaldi ``1 + (L - window) // offset`` or ``(L + offset // 2) // offset``
        (``jaxspec.framing``).
        """
        if isinstance(length, (list, tuple)):  # as lengths= takes them
            length = length_list("length", length)
        traced = isinstance(length, jax.Array)  # a JAX array, e.g. a traced row length
        check_sample_count("length", length)
        if isinstance(length, jax.core.Tracer):  # no value to check: clipped at 0, as spectrogram's lengths
            length = jnp.maximum(length, 0)
        full = (
            (lambda v: jnp.full(jnp.shape(length), v, jnp.int32))
            if traced
            else (lambda v: np.full(np.shape(length), v))
        )
        if self.target_frames is not None:
            return self.target_frames if np.ndim(length) == 0 and not traced else full(self.target_frames)
        if self.target_samples is not None:
            length = self.target_samples if np.ndim(length) == 0 and not traced else full(self.target_samples)
        if np.ndim(length) == 0 and not traced:
            length = int(length)
        return _framing.num_frames(self.framing, length, self.window_samples, self.offset_samples, self.fft_samples)

    def output_shape(self, length: int) -> tuple[int, int]:
        """``(num_frames(length), num_features)`` for one input of ``length`` samples."""
        return self.num_frames(length), self.num_features

    def describe(self) -> str:
        """A few human-readable lines: the settings in effect, in samples and ms."""
        ms = lambda n: f"{1000 * n / self.sample_rate:.4g} ms"
        window = (
            self.window_function
            if not callable(self.window_function)
            else getattr(self.window_function, "__name__", "callable")
        )
        if isinstance(window, tuple):
            window = f"{len(window)} given values"
        lines = [
            f"sample_rate     {self.sample_rate} Hz",
            f"window_size     {self.window_samples} samples ({ms(self.window_samples)})",
            f"offset          {self.offset_samples} samples ({ms(self.offset_samples)})",
            f"window_function {window}",
            f"fft_size        {self.fft_samples} samples -> {self.num_bins} bins "
            f"of {self.sample_rate / self.fft_samples:.4g} Hz",
            f"power           {'None (complex STFT)' if self.power is None else format(self.power, 'g')}",
            f"normalization   {self.normalization}",
            f"target_length   {self.target_length if self.target_length is not None else 'all'}",
            f"augmentation    {self.augmentation}",
            f"framing         {self.framing if self.framing is not None else 'seed: ceil(L / offset) frames'}",
            f"preprocess      {', '.join(map(repr, self.preprocess)) or 'none'}",
            f"features        {', '.join(map(repr, self.features)) or 'none'} -> {self.num_features} per frame",
        ]
        return "\n".join(lines)

    # ----------------------------------------------------------- config files
    def to_dict(self, *, signals: dict[str, str] | None = None) -> dict[str, Any]:
        """Every field as JSON values (recordings by path); forms in ``jaxspec._serialize``.

        Args:
          signals: optional paths of the recordings, ``{"noise": path, "convolution":
            path}``; they take precedence over the stages' ``source`` paths.

        >>> from jaxspec import SpectrogramConfig
        >>> SpectrogramConfig(offset=160).to_dict()["offset"]
        160
        """
        return _serialize.to_dict(self, signals=signals)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, base: str | None = None) -> SpectrogramConfig:
        """The config ``to_dict`` wrote: ``SpectrogramConfig.from_dict(c.to_dict()) == c``.

        Args:
          d: ``{field: value}``; missing keys take their defaults.
          base: the folder that relative recording paths are relative to.

        >>> from jaxspec import SpectrogramConfig
        >>> SpectrogramConfig.from_dict({"window_size": "32ms", "normalization": ["rms", 0.1]}).window_samples
        512
        """
        return _serialize.from_dict(cls, d, base=base)

    def to_json(self, *, signals: dict[str, str] | None = None) -> str:
        """``to_dict`` as indented JSON text."""
        return _serialize.to_json(self, signals=signals)

    def save(self, path: str | os.PathLike, *, signals: dict[str, str] | None = None) -> Path:
        """Writes the config as JSON (recording paths relative to the file's real folder); returns the path.
        ``InputError`` if ``path`` is one of its recordings, or any existing file that is not JSON (``a.wav``).

        >>> import jaxspec, tempfile, os
        >>> file = jaxspec.SpectrogramConfig(offset=160).save(os.path.join(tempfile.mkdtemp(), "cfg.json"))
        >>> jaxspec.SpectrogramConfig.load(file).offset_samples
        160
        """
        return _serialize.save(self, path, signals=signals)

    @classmethod
    def load(cls, path: str | os.PathLike) -> SpectrogramConfig:
        """Reads a JSON config written by ``save`` (or by ``jaxspec config -o``, or by hand)."""
        return _serialize.load(cls, path)

    def __repr__(self) -> str:
        named = ((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))
        shown = (f"{n}={shown_window(v) if n == 'window_function' else repr(v)}" for n, v in named)
        return f"SpectrogramConfig({', '.join(shown)})"
