"""Checks of the presets' keyword arguments, in the source libraries' names, and their
translation into config fields (``stft_fields``): each bad value is a ``ConfigError``
naming the preset, the keyword and the value (``jaxspec.presets``)."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from . import limits
from .errors import ConfigError, did_you_mean, is_finite
from .framing import Centered, Kaldi
from .windows import WINDOW_NAMES, Window, window_values


@dataclasses.dataclass(frozen=True)
class Caller:
    """The preset a user called, for the checks of the keywords it passes on to another's:
    ``librosa_mfcc`` gives ``librosa_melspectrogram``'s ``norm`` as ``mel_norm``, and
    ``torchaudio_mfcc`` its ``melkwargs``, so an error names what the user wrote."""

    preset: str
    renamed: tuple[tuple[str, str], ...] = ()  # (keyword of the inner preset, the user's name)
    nested: str = ""  # the dict keyword the others came in (``melkwargs``)

    def __str__(self) -> str:
        return self.preset


def label(preset: str | Caller, name: str) -> str:
    """How the user wrote keyword ``name`` of ``preset``: ``mel_norm``, ``melkwargs['n_fft']``."""
    if not isinstance(preset, Caller):
        return name
    renamed = dict(preset.renamed)
    if name in renamed:
        return renamed[name]
    return f"{preset.nested}[{name!r}]" if preset.nested else name


def at(preset: str | Caller, name: str, value: Any) -> str:
    """``preset(keyword=value)`` as the user wrote it (a long array shown as its length)."""
    long = isinstance(value, (list, np.ndarray)) and np.size(value) > 8
    shown = f"<{np.size(value)} values>" if long else repr(value)
    return f"{preset}({label(preset, name)}={shown})"


@functools.cache
def keywords(fn: Callable[..., Any]) -> tuple[str, ...]:
    """The keyword names a preset function takes (not its ``**unsupported``); read once
    (``librosa_mfcc`` asks on every call)."""
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return tuple(p.name for p in inspect.signature(fn).parameters.values() if p.kind in kinds and p.name != "name")


def takes_keywords_of(
    source: Callable[..., Any], hidden: tuple[str, ...] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator giving a ``**kwargs`` preset the signature of the keywords it passes on to
    ``source`` (after its own, less ``hidden``: those the preset fixes): ``help(kaldi_fbank)``
    and IDEs listed none of Kaldi's 24."""

    def decorate(preset: Callable[..., Any]) -> Callable[..., Any]:
        signature, passed = inspect.signature(preset), inspect.signature(source).parameters
        own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        names = [n for n in keywords(source) if n not in signature.parameters and n not in hidden]
        shown = own + [passed[n].replace(kind=inspect.Parameter.KEYWORD_ONLY) for n in names]
        preset.__signature__ = signature.replace(parameters=shown)
        return preset

    return decorate


# One idea under each library's name: a keyword of one library given to another's preset
# (librosa's sr to torchaudio's sample_rate) is pointed to the name that preset takes.
_SAME_KEYWORDS = (
    ("sr", "sample_rate", "sample_frequency"),
    ("n_mels", "num_mel_bins"),
    ("n_mfcc", "num_ceps"),
    ("n_fft", "fft_size"),
    ("hop_length", "offset"),  # not Kaldi's frame_shift or frame_length: those are in ms
    ("win_length", "window_size"),
    ("window", "window_fn", "window_type", "window_function"),
    ("fmin", "f_min", "low_freq"),
    ("fmax", "f_max", "high_freq"),
)


def _synonyms(name: str, accepted: list[str]) -> dict[str, str]:
    """``{name: the keyword of ``accepted`` that means the same}`` (empty when none does)."""
    group = next((g for g in _SAME_KEYWORDS if name in g), ())
    other = next((o for o in group if o in accepted), None)
    return {} if other is None else {name: other}


def refuse(
    preset: str,
    unsupported: dict[str, Any],
    *takes: Callable[..., Any],
    extra: tuple[str, ...] = (),
    nested: tuple[str, Callable[..., Any]] | None = None,
) -> None:
    """A ``ConfigError`` for keywords that none of the functions ``takes`` (nor ``extra``)
    takes; a typo gets the closest name; a keyword of ``nested = (field, fn)``, the function
    whose keywords go in the dict ``field``, says to pass it there."""
    if unsupported:
        inner = sorted(set(unsupported) & set(keywords(nested[1])) - set(extra)) if nested else []
        if inner:  # torchaudio_mfcc(n_mels=40) was "did you mean log_mels?"
            rule = f"a keyword of {nested[0]}: pass {nested[0]}={{{inner[0]!r}: ...}}, as the source takes it"
            require(preset, inner[0], unsupported[inner[0]], False, rule)
        audio = sorted(set(unsupported) & {"y", "waveform", "x", "audio"})
        if audio:  # librosa.feature.melspectrogram(y=...) / MFCC()(waveform) called as a preset
            raise ConfigError(
                f"{preset}({audio[0]}=...): a preset builds a config and takes no audio; pass the audio to "
                f"jaxspec.spectrogram(config, {audio[0]}) (or jaxspec.encode for files and other rates)"
            )
        accepted = sorted({name for fn in takes for name in keywords(fn)} | set(extra))
        parts = []
        for name, value in unsupported.items():
            parts.append(f"{label(preset, name)}={value!r}{did_you_mean(name, accepted, _synonyms(name, accepted))}")
        raise ConfigError(
            f"{preset}: {', '.join(parts)}: not a keyword jaxspec takes for it (a typo, or a keyword of the "
            f"source that jaxspec does not reproduce); it takes {', '.join(accepted)}"
        )


def require(preset: str | Caller, name: str, value: Any, ok: bool, rule: str) -> None:
    """``ConfigError`` ``preset(name=value): rule`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{at(preset, name, value)}: {rule}")


def real(value: Any) -> bool:
    """A finite real number, not a bool (``True`` is an int to Python)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and is_finite(value)


def integer(preset: str | Caller, name: str, value: Any, low: int = 1, high: int | None = None, why: str = "") -> int:
    """``value`` as an int in ``[low, high]`` (``high``: a cap of ``jaxspec.limits``): not a
    bool, nor a float (the sources fail on ``n_fft=2048.0``)."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low
    require(preset, name, value, ok, f"must be an integer >= {low}{why}")
    require(preset, name, value, high is None or value <= high, f"is above the cap {high} (jaxspec.limits)")
    return int(value)


def mel_power(preset: str | Caller, value: Any) -> float:
    """The exponent of a mel spectrogram's spectrum: a real one (``None``, the complex STFT,
    cannot feed the filters)."""
    require(preset, "power", value, value is not None, "a mel spectrogram needs a real power (1.0 or 2.0)")
    ok = real(value) and 0 < value <= limits.MAX_POWER
    require(preset, "power", value, ok, f"must be a number in (0, {limits.MAX_POWER:g}]: 2.0 = power, 1.0 = magnitude")
    return float(value)


def mel_band(
    preset: str | Caller, names: tuple[str, str, str], n_mels: Any, fmin: Any, fmax: Any, nyquist: float, why: str
) -> tuple[int, float, float | None]:
    """``(n_mels, fmin, fmax)`` of a librosa or torchaudio filterbank, checked under the preset's
    ``names`` for them: ``fmin < fmax`` (``None``: ``nyquist``). A top edge ``<= 0`` is refused
    (``why``): ``MelFilterbank`` reads it as Nyquist + fmax (Kaldi's ``high_freq``)."""
    n_name, low_name, high_name = names
    n_mels = integer(preset, n_name, n_mels, 1, limits.MAX_MEL_BANDS)
    cap = f"<= {limits.MAX_FREQUENCY:g} (jaxspec.limits)"
    ok = real(fmin) and 0 <= fmin <= limits.MAX_FREQUENCY
    require(preset, low_name, fmin, ok, f"must be a number of Hz >= 0 and {cap}")
    ok = fmax is None or (real(fmax) and 0 < fmax <= limits.MAX_FREQUENCY)
    require(preset, high_name, fmax, ok, f"must be a number of Hz > 0 and {cap}, or None for {nyquist:g} ({why})")
    top = nyquist if fmax is None else fmax
    rule = f"must be below {label(preset, high_name)}={top:g} Hz" + (" (the Nyquist frequency)" if fmax is None else "")
    require(preset, low_name, fmin, fmin < top, rule)
    return n_mels, float(fmin), None if fmax is None else float(fmax)


TORCH_WINDOWS = {"hann_window": "hann", "hamming_window": "hamming", "blackman_window": "blackman"}  # periodic


def torch_window(preset: str, window_fn: Any) -> str:
    """jaxspec's window name for torchaudio's ``window_fn`` (``None``: its default, ``torch.hann_window``),
    recognized by name, without importing torch."""
    if window_fn is None:
        return "hann"
    name = getattr(window_fn, "__name__", None)
    known = getattr(window_fn, "__module__", None) == "torch" and name in TORCH_WINDOWS
    rule = "must be None or " + ", ".join(f"torch.{w}" for w in TORCH_WINDOWS) + " (periodic, wkwargs=None)"
    require(preset, "window_fn", window_fn, known, rule)
    return TORCH_WINDOWS[name]


def finite_numbers(preset: str, **values: Any) -> None:
    """``ConfigError`` for a keyword that is not a finite real number (``'25'``, ``None``)."""
    for name, value in values.items():
        require(preset, name, value, real(value), "must be a finite number")


def booleans(preset: str, **values: Any) -> None:
    """``ConfigError`` for a flag that is not a bool, 0 or 1 (``use_energy="False"`` turned energy on)."""
    for name, value in values.items():
        ok = isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value in (0, 1))
        require(preset, name, value, ok, "must be True or False")


def kaldi_samples(name: str, keyword: str, ms: float, rate: int, low: int, cap: int) -> int:
    """``ms`` milliseconds at ``rate`` as torchaudio's ``compliance.kaldi`` counts them,
    ``int(rate * ms * 0.001)`` in double precision (it truncates, as Kaldi: 10 ms at 22.05 kHz is
    220 samples; kaldi-native-fbank's float32 product is one more at 406 odd rates of 84101 Hz and
    up with half-ms lengths: README), at least ``low`` and at most jaxspec's ``cap``."""
    samples = rate * ms * 0.001
    ok = low <= samples < cap + 1  # before int(): 1e308 ms overflowed
    shown = f"{samples:.6g}" if samples < cap + 1 else f"more than {cap}"
    unit = f"; {keyword} is in ms (Kaldi's unit)" if samples < low else ""
    require(name, keyword, ms, ok, f"is {shown} samples at {rate} Hz (Kaldi needs {low}; the cap is {cap}){unit}")
    return int(samples)


KALDI_WINDOWS = {"povey": "povey", "hanning": "hann", "hamming": "hamming", "blackman": "blackman"}


def kaldi_window(name: str, window_type: Any, blackman_coeff: Any, size: int) -> Any:
    """The config's ``window_function`` for Kaldi's ``window_type`` of ``size`` samples: ``None``
    (rectangular), ``"povey"``, a symmetric ``Window``, or the values of a Blackman window whose
    ``blackman_coeff`` is not 0.42 (Kaldi's generalized form)."""
    kind = KALDI_WINDOWS.get(window_type) if isinstance(window_type, str) else None  # a list: unhashable
    if window_type == "rectangular":
        return None
    if kind == "blackman" and blackman_coeff != 0.42:
        k = 2.0 * math.pi * np.arange(size) / (size - 1)
        values = tuple(blackman_coeff - 0.5 * np.cos(k) + (0.5 - blackman_coeff) * np.cos(2 * k))
        ok, rule = np.max(np.abs(values)) <= limits.MAX_WINDOW_VALUE, "gives window values above the cap"
        require(name, "blackman_coeff", blackman_coeff, ok, f"{rule} {limits.MAX_WINDOW_VALUE:g} (jaxspec.limits)")
        return values
    rule = f"must be one of {list(KALDI_WINDOWS) + ['rectangular']}"
    require(name, "window_type", window_type, kind is not None, rule)
    return "povey" if kind == "povey" else Window(kind, symmetric=True)  # (povey is symmetric)


def keyword_dict(preset: str, name: str, value: Any) -> dict[str, Any]:
    """``value`` (``None``, a Mapping such as omegaconf's DictConfig, or pairs) as a dict of keywords."""
    try:
        return {} if value is None else dict(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{preset}({name}={value!r}): must be None or a dict of keywords") from None


def whole_rate(preset: str | Caller, name: str, value: Any) -> int:
    ok = real(value) and float(value).is_integer() and 0 < value <= limits.MAX_SAMPLE_RATE
    require(preset, name, value, ok, f"must be a whole number of Hz in [1, {limits.MAX_SAMPLE_RATE}]")
    return int(value)


def stft_fields(
    preset: str | Caller,
    n_fft: Any,
    win_length: Any,
    hop_length: Any,
    window: Any,
    center: Any,
    pad_mode: Any,
    hop_divisor: int,
) -> dict[str, Any]:
    """The config fields of a librosa / torch ``stft`` call (window centred in ``n_fft``)."""
    n_fft = integer(preset, "n_fft", n_fft, 1, limits.MAX_FFT_SIZE)
    win = n_fft if win_length is None else integer(preset, "win_length", win_length)
    require(preset, "win_length", win_length, win <= n_fft, f"must be <= n_fft={n_fft}")
    if hop_length is None:  # the source's default, win_length // divisor: 0 for a tiny window, which it refuses
        ok = win // hop_divisor >= 1
        rule = f"takes win_length // {hop_divisor} = 0 samples for win_length={win}; give hop_length"
        require(preset, "hop_length", hop_length, ok, rule)
    hop = win // hop_divisor if hop_length is None else integer(preset, "hop_length", hop_length)
    require(
        preset,
        "hop_length",
        hop_length,
        hop <= limits.MAX_OFFSET_SAMPLES,
        f"is above the cap {limits.MAX_OFFSET_SAMPLES} (jaxspec.limits)",
    )
    window, values = _window(preset, window, win)
    booleans(preset, center=center)
    if center:  # the sources read pad_mode only when they centre
        require(preset, "pad_mode", pad_mode, pad_mode in ("constant", "reflect"), "must be 'constant' or 'reflect'")
        return dict(window_size=win, offset=hop, fft_size=n_fft, window_function=window, framing=Centered(pad_mode))
    # Not centred: whole frames of n_fft samples, the window centred in them.
    left = (n_fft - win) // 2
    padded = np.pad(values, (left, n_fft - win - left))
    window = window if win == n_fft else tuple(padded)
    return dict(window_size=n_fft, offset=hop, fft_size=n_fft, window_function=window, framing=Kaldi(snip_edges=True))


def _window(preset: str | Caller, window: Any, size: int) -> tuple[Any, np.ndarray]:
    """A window jaxspec names itself, or its values from ``scipy.signal.get_window`` (as
    librosa's ``filters.get_window`` does for e.g. ``("kaiser", 8.0)``), and its ``size``
    values, checked."""
    named = callable(window) or (isinstance(window, str) and window.lower() in WINDOW_NAMES and window != "povey")
    if named:
        try:
            values = window_values(window, size)
        except ConfigError as error:  # a callable that fails or gives a wrong shape
            raise ConfigError(f"{at(preset, 'window', window)}: {error}") from None
    elif isinstance(window, (list, np.ndarray)):  # librosa: "Window size mismatch" unless win_length values
        require(preset, "window", window, np.size(window) == size, f"must have win_length={size} values")
        ok = np.asarray(window).dtype.kind in "biuf"
        require(preset, "window", window, ok, "must be numbers")
        values = np.asarray(window, np.float64).reshape(-1)
    else:
        try:
            import scipy.signal
        except ImportError as error:
            raise ConfigError(
                f"{at(preset, 'window', window)} needs scipy (pip install scipy) or a jaxspec name"
            ) from error
        try:
            values = scipy.signal.get_window(window, size, fftbins=True)
        except (ValueError, TypeError, IndexError) as error:  # window=(): an IndexError
            raise ConfigError(f"{at(preset, 'window', window)}: {error}") from error
    largest = np.max(np.abs(values))
    rule = f"gives a value of {largest:.6g}: window values must be finite and <= {limits.MAX_WINDOW_VALUE:g}"
    require(preset, "window", window, bool(largest <= limits.MAX_WINDOW_VALUE), rule)  # NaN is not <=
    return (window if named else tuple(values)), values  # scipy's "triang" too: values, not a name jaxspec lacks
