"""Checks of the presets' keyword arguments, in the source libraries' names: each bad value is
a ``ConfigError`` naming the preset, the keyword and the value (``jaxspec.presets``)."""

from __future__ import annotations

import math
import numbers
from typing import Any

from .errors import ConfigError


def refuse(preset: str, unsupported: dict[str, Any]) -> None:
    if unsupported:
        names = ", ".join(f"{k}={v!r}" for k, v in unsupported.items())
        raise ConfigError(f"{preset}: {names} not supported by jaxspec (the other keywords of the source are)")


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


def whole_rate(preset: str, name: str, value: Any) -> int:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer() and value > 0
    require(preset, name, value, ok, "must be a positive whole number of Hz")
    return int(value)


def positive_int(preset: str, name: str, value: Any, default: int) -> int:
    value = default if value is None else value
    require(preset, name, value, isinstance(value, numbers.Integral) and value > 0, "must be a positive integer")
    return int(value)
