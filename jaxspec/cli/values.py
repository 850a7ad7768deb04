"""Flag values: the text of one command-line flag -> the value of ``jaxspec._serialize``'s
config dict (argparse ``type=`` callables; their errors are argparse's usage errors)."""

from __future__ import annotations

import argparse
import contextlib
import re
from typing import Any

from .. import limits
from ..durations import is_duration_string, parse_duration
from ..errors import ConfigError
from ..windows import WINDOW_NAMES

PARAM_HELP = "a number, LO:HI (uniform), normal:MEAN,STD, uniform:LO,HI or loguniform:LO,HI"


# ------------------------------------------------------------------ flag values
def duration_value(text: str) -> int | float | str | None:
    """``400`` -> 400 samples, ``0.025`` -> seconds, ``25ms`` kept, ``auto`` -> None."""
    text = text.strip()  # float() skips spaces and "_" where the int test did not: '98 ' was 98 s, not frames
    if text.lower() in ("auto", "none", "default"):
        return None
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", text, re.IGNORECASE):
        return float(text)
    return text  # a duration string ('9_8' too); the config validates it


def target_value(text: str) -> int | float | str | None:
    return None if text.strip().lower() in ("all", "none") else duration_value(text)


def window_value(text: str) -> str | list[float] | None:
    """A window name, ``none``, or comma-separated values."""
    if text.lower() in ("none", "rectangular"):
        return None
    if "," in text:
        try:
            return [float(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: window values must be comma-separated numbers") from None
    if text.lower() not in WINDOW_NAMES:  # the config's error spoke of callables and sequences
        names = ", ".join(WINDOW_NAMES)
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a window: write one of {names}, none, or comma-separated values"
        )
    return text


def normalization_value(text: str) -> list[Any] | None:
    """``none``, ``max``, ``max:V``, ``rms`` or ``rms:V`` (a bare kind is level 1, as in the config)."""
    if text.lower() == "none":
        return None
    kind, colon, level = text.partition(":")
    if kind.lower() not in ("max", "rms"):  # the config's error spoke of tuples
        raise argparse.ArgumentTypeError(f"{text!r}: write none, max, max:LEVEL, rms or rms:LEVEL (e.g. rms:0.1)")
    if not colon:  # ("rms:" with no level is refused below: it was read as level 1)
        return [kind, 1.0]
    with contextlib.suppress(ValueError):  # a bad level: the config's error spoke of tuples, ('max', inf)
        if 0 < float(level) <= limits.MAX_LEVEL:
            return [kind, float(level)]
    raise argparse.ArgumentTypeError(f"{text!r}: write max, max:LEVEL or rms:LEVEL, LEVEL in (0, {limits.MAX_LEVEL:g}]")


def power_value(text: str) -> float | None:
    """A number, or ``none`` (``power=None``: the complex STFT)."""
    if text.lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write a number (2 = power, 1 = magnitude) or none") from None


def _param_value(text: str, allow_scaled: bool = False) -> Any:
    """A numeric augmentation parameter in the JSON form of ``jaxspec.serialize``."""
    kind, _, rest = text.partition(":")
    if kind.lower() == "scaled" and allow_scaled:
        return {"scaled": _param_value(rest)}
    try:
        if kind.lower() in ("uniform", "normal", "loguniform"):
            numbers = [float(v) for v in re.split(r"[,:]", rest)]
            if len(numbers) != 2:
                raise ValueError
            return {kind.lower(): numbers}
        if rest:
            return {"uniform": [float(kind), float(rest)]}
        return float(text)
    except ValueError:
        scaled = ", or scaled:PARAM (a fraction of the duration)" if allow_scaled else ""
        raise argparse.ArgumentTypeError(f"{text!r} is not a parameter; use {PARAM_HELP}{scaled}") from None


def _checked_duration(text: str) -> str:
    parse_duration(text, "--time-shift", None)  # "1e999s" is refused here, as argparse's error
    return text


def _shift_value(text: str) -> Any:
    """A time shift: a parameter in seconds, durations (``100ms``, ``-100ms:100ms``), or ``scaled:PARAM``."""
    parts = text.split(":")
    if len(parts) <= 2 and parts[0].lower() != "scaled" and any(map(is_duration_string, parts)):  # -100ms:0.1 too
        # Durations go on as written (TimeShift reads them), so its warning about a long shift
        # knows "20s" was meant: no hint that a bare number is seconds.
        try:
            shift = [_checked_duration(p) if is_duration_string(p) else float(p) for p in parts]
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        except ValueError:
            return _param_value(text, allow_scaled=True)  # its error names the forms taken
        return shift[0] if len(shift) == 1 else shift
    return _param_value(text, allow_scaled=True)


def _int_value(text: str) -> int | list[int]:
    """An integer parameter: ``N`` or an inclusive ``LO:HI`` range."""
    lo, sep, hi = text.partition(":")
    try:
        return [int(lo), int(hi)] if sep else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be an integer (or LO:HI where a range is taken)") from None


def _plain_value(text: str) -> float | str:
    """A fixed value: a number, else the text (a name such as ``mean``)."""
    try:
        return float(text)
    except ValueError:
        return text


KIND_VALUE = {"number": _param_value, "shift": _shift_value, "integer": _int_value, "value": _plain_value}


def stage_value(parse: Any) -> Any:
    def value(text: str) -> dict[str, Any]:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return value
