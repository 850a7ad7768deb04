"""Checks of the presets' keyword arguments, in the source libraries' names, and their
translation into config fields (``stft_fields``): each bad value is a ``ConfigError``
naming the preset, the keyword and the value (``jaxspec.presets``)."""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _fields, limits
from .errors import ConfigError, did_you_mean
from .framing import Centered, Kaldi
from .windows import WINDOW_NAMES, window_values


@functools.cache
def defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    """The default of each keyword ``fn`` takes (``librosa_mfcc`` fills librosa's mel keywords)."""
    return {name: inspect.signature(fn).parameters[name].default for name in keywords(fn)}


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


def refuse(preset: str, unsupported: dict[str, Any], *takes: Callable[..., Any], extra: tuple[str, ...] = ()) -> None:
    """A ``ConfigError`` for keywords that none of the functions ``takes`` (nor ``extra``)
    takes; a typo gets the closest name."""
    if unsupported:
        accepted = sorted({name for fn in takes for name in keywords(fn)} | set(extra))
        parts = []
        for name, value in unsupported.items():
            parts.append(f"{name}={value!r}{did_you_mean(name, accepted)}")
        raise ConfigError(
            f"{preset}: {', '.join(parts)}: not a keyword jaxspec takes for it (a typo, or a keyword of the "
            f"source that jaxspec does not reproduce); it takes {', '.join(accepted)}"
        )


def require(preset: str, name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok:
        raise ConfigError(f"{preset}({name}={value!r}): {rule}")


def positive_fmax(preset: str, name: str, fmax: Any, why: str) -> None:
    """A mel top edge ``<= 0`` is refused: ``MelFilterbank`` reads it as Nyquist + fmax
    (Kaldi's ``high_freq``), which neither librosa nor torchaudio means."""
    ok = fmax is None or not isinstance(fmax, numbers.Real) or fmax > 0
    require(preset, name, fmax, ok, f"must be positive, or None for sr / 2 ({why})")


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
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        require(preset, name, value, ok, "must be a finite number")


def booleans(preset: str, **values: Any) -> None:
    """``ConfigError`` for a flag that is not a bool, 0 or 1 (``use_energy="False"`` turned energy on)."""
    for name, value in values.items():
        ok = isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value in (0, 1))
        require(preset, name, value, ok, "must be True or False")


def keyword_dict(preset: str, name: str, value: Any) -> dict[str, Any]:
    """``value`` (``None``, a Mapping such as omegaconf's DictConfig, or pairs) as a dict of keywords."""
    try:
        return dict(value or {})
    except (TypeError, ValueError):
        raise ConfigError(f"{preset}({name}={value!r}): must be None or a dict of keywords") from None


def whole(value: Any, low: int) -> bool:
    """True for an integer ``>= low`` that is not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low


def whole_rate(preset: str, name: str, value: Any) -> int:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer() and value > 0
    require(preset, name, value, ok, "must be a positive whole number of Hz")
    return int(value)


def positive_int(preset: str, name: str, value: Any, default: int) -> int:
    """``value`` (``default`` for None) as an int ``> 0``; the error shows the value passed, not the default."""
    number = default if value is None else value
    hint = f" (None means {default})" if value is None and default else ""
    require(preset, name, value, whole(number, 1), "must be a positive integer" + hint)
    return int(number)


def mel_band(preset: str, rate: int, n_mels: Any, fmin: Any, fmax: Any, names: tuple[str, str, str]) -> None:
    """The mel keywords ``names = (n_mels, fmin, fmax)`` in the preset's own names, checked before
    ``MelFilterbank`` (whose errors named its fields: ``MelFilterbank(fmin=...)`` for ``f_min``);
    ``fmax=None`` is ``rate / 2``."""
    count = _fields.integer(preset, names[0], n_mels, 1)
    require(preset, names[0], n_mels, count <= limits.MAX_MEL_BANDS, f"is above the cap {limits.MAX_MEL_BANDS}")
    low = _fields.number(preset, names[1], fmin, 0.0, high=limits.MAX_FREQUENCY)
    high = rate / 2 if fmax is None else _fields.number(preset, names[2], fmax, 0.0, True, limits.MAX_FREQUENCY)
    top = f"{names[2]}={high:g} Hz" + (f" (None: sample rate {rate} / 2)" if fmax is None else "")
    require(preset, names[1], fmin, low < high, f"must be below {top}")


def stft_fields(
    preset: str,
    n_fft: int,
    win_length: Any,
    hop_length: Any,
    window: Any,
    center: bool,
    pad_mode: str,
    hop_divisor: int,
) -> dict[str, Any]:
    """The config fields of a librosa / torch ``stft`` call (window centred in ``n_fft``)."""
    n_fft = positive_int(preset, "n_fft", n_fft, 0)
    win = positive_int(preset, "win_length", win_length, n_fft)
    require(preset, "win_length", win, win <= n_fft, f"must be <= n_fft={n_fft}")
    if hop_length is None:  # the source's default, win_length // divisor: 0 for a tiny window, which it refuses
        ok = win // hop_divisor >= 1
        rule = f"takes win_length // {hop_divisor} = 0 samples for win_length={win}; give hop_length"
        require(preset, "hop_length", hop_length, ok, rule)
    hop = positive_int(preset, "hop_length", hop_length, win // hop_divisor)
    window = _window(preset, window, win)
    booleans(preset, center=center)
    if center:  # the sources read pad_mode only when they centre
        require(preset, "pad_mode", pad_mode, pad_mode in ("constant", "reflect"), "must be 'constant' or 'reflect'")
        return dict(window_size=win, offset=hop, fft_size=n_fft, window_function=window, framing=Centered(pad_mode))
    # Not centred: whole frames of n_fft samples, the window centred in them.
    values = window_values(window, win)
    left = (n_fft - win) // 2
    padded = np.pad(values, (left, n_fft - win - left))
    window = window if win == n_fft else tuple(padded)
    return dict(window_size=n_fft, offset=hop, fft_size=n_fft, window_function=window, framing=Kaldi(snip_edges=True))


def _window(preset: str, window: Any, size: int) -> Any:
    """A window jaxspec names itself, or its values from ``scipy.signal.get_window`` (as
    librosa's ``filters.get_window`` does for e.g. ``("kaiser", 8.0)``)."""
    if callable(window) or (isinstance(window, str) and window.lower() in WINDOW_NAMES and window != "povey"):
        return window
    if isinstance(window, (list, np.ndarray)):
        return tuple(np.asarray(window, np.float64).reshape(-1))
    try:
        import scipy.signal
    except ImportError as error:
        raise ConfigError(f"{preset}(window={window!r}) needs scipy (pip install scipy) or a jaxspec name") from error
    try:
        return tuple(scipy.signal.get_window(window, size, fftbins=True))
    except (ValueError, TypeError, IndexError) as error:  # window=(): an IndexError
        raise ConfigError(f"{preset}(window={window!r}): {error}") from error
