"""Checks of the presets' keyword arguments, in the source libraries' names: each bad value is
a ``ConfigError`` naming the preset, the keyword and the value (``jaxspec.presets``)."""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

from .errors import ConfigError


def keywords(fn: Callable[..., Any]) -> list[str]:
    """The keyword names a preset function takes (not its ``**unsupported``)."""
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in inspect.signature(fn).parameters.values() if p.kind in kinds and p.name != "name"]


def refuse(preset: str, unsupported: dict[str, Any], *takes: Callable[..., Any], extra: tuple[str, ...] = ()) -> None:
    """A ``ConfigError`` for keywords that none of the functions ``takes`` (nor ``extra``)
    takes; a typo gets the closest name."""
    if unsupported:
        accepted = sorted({name for fn in takes for name in keywords(fn)} | set(extra))
        parts = []
        for name, value in unsupported.items():
            close = difflib.get_close_matches(name, accepted, n=1)
            parts.append(f"{name}={value!r}" + (f" (did you mean {close[0]}?)" if close else ""))
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


def whole_rate(preset: str, name: str, value: Any) -> int:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer() and value > 0
    require(preset, name, value, ok, "must be a positive whole number of Hz")
    return int(value)


def positive_int(preset: str, name: str, value: Any, default: int) -> int:
    value = default if value is None else value
    require(preset, name, value, isinstance(value, numbers.Integral) and value > 0, "must be a positive integer")
    return int(value)
