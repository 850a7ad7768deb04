"""Durations: seconds from numbers and strings like ``"25ms"``, and the one rounding rule.

Every seconds -> samples conversion of jaxspec (window size, offset, target length, time
shift, ``Scaled``) is ``floor(seconds * sample_rate + 0.5)`` at the target rate.
"""

from __future__ import annotations

import decimal
import math
import numbers
import re
from typing import Any

from .errors import ConfigError, warn

UNITS = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "min": 60.0}
"""The units a duration string may use, in seconds, in any case (``"25MS"``); microseconds also with
the micro sign or the Greek mu (NFKC makes one the other)."""
# One way to match each number (the digits before the point, or after it, not both
# ways): "[0-9]*\.?[0-9]+" backtracked quadratically, 98 s on a 40 000-digit string.
_DURATION = re.compile(r"^\s*([-+]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*([a-z\u00b5\u03bc]+)\s*$")
_MAX_DURATION_TEXT = 64
"""Characters of a duration string, at most (longer text is no duration: refused at once)."""
# Decimal arithmetic wide enough for any 64-character number, with no trap: an exponent past
# the context's range is an infinity or a zero, as float() gives.
_EXACT = decimal.Context(prec=100, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[])


def seconds_to_samples(seconds: float, sample_rate: int) -> int:
    """``floor(seconds * sample_rate + 0.5)``: the one conversion rule of jaxspec.

    >>> from jaxspec.durations import seconds_to_samples
    >>> seconds_to_samples(0.025, 16000), seconds_to_samples(0.01, 22050)
    (400, 221)
    """
    return int(math.floor(seconds * sample_rate + 0.5))


def is_duration_string(value: Any) -> bool:
    """True for a string like ``"25ms"`` or ``"-0.1s"``."""
    if not isinstance(value, str) or len(value) > _MAX_DURATION_TEXT:
        return False
    match = _DURATION.match(value.lower())
    return bool(match) and match.group(2) in UNITS


def parse_duration(value: Any, name: str, ints: str | None = "samples") -> float:
    """Seconds from a float (seconds) or a string like ``"25ms"``, ``"-100ms"``, ``"0.5s"``, ``"1min"``.

    ``ints``: what an int means where ``value`` comes from (samples; frames for a target length;
    ``None``: seconds, as for a time shift), for the messages.

    >>> from jaxspec.durations import parse_duration
    >>> parse_duration("25ms", "window_size"), parse_duration("-0.1s", "time_shift")
    (0.025, -0.1)
    """
    if isinstance(value, str):
        if not is_duration_string(value):
            numbers_too = f"an int number of {ints}, or a float number of seconds" if ints else "a number of seconds"
            shown = repr(value) if len(value) <= _MAX_DURATION_TEXT else f"<a string of {len(value)} characters>"
            raise ConfigError(
                f"{name}={shown} is not a duration; write it like '25ms', '0.5s' or '1min' (or pass {numbers_too})"
            )
        match = _DURATION.match(value.lower())
        # The decimal value scaled exactly, then rounded once: "350ms" is the float 0.35, as
        # "0.35s" and 0.35 are (350 * 1e-3 is 0.35000000000000003, one sample more at 22050 Hz).
        number, unit = _EXACT.create_decimal(match.group(1)), _EXACT.create_decimal(repr(UNITS[match.group(2)]))
        return float(_EXACT.multiply(number, unit))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # Fraction(10**400, 3): "integer division result too large for a float"
            seconds = math.inf
        if math.isfinite(seconds):
            return seconds
        raise ConfigError(f"{name}={value!r} is not a finite number of seconds")
    kinds = f"an int ({ints}), a float (seconds)" if ints else "a number of seconds"
    raise ConfigError(f"{name}={value!r} must be {kinds} or a string like '25ms'")


LONG_SECONDS = 10.0
"""A shift in seconds from which ``warn_long_seconds`` warns."""


def warn_long_seconds(value: Any, name: str, written: tuple = ()) -> None:
    """Warns when ``value`` (seconds: a number, or the ``(lo, hi)`` bounds of a range) reaches
    ``LONG_SECONDS``: most often milliseconds written bare (``time_shift=100`` shifted every
    clip of under 100 s out of its frames, an all-zero spectrogram without a word). ``written``:
    what the user gave; durations there (``"1min"``) get no hint about milliseconds."""
    values = value if isinstance(value, tuple) else (value,)
    if all(isinstance(v, numbers.Real) for v in values) and max(abs(float(v)) for v in values) >= LONG_SECONDS:
        shown = values if len(values) > 1 else values[0]
        fix = "clips shorter than the shift come out all zeros"
        if len(written) == len(values):  # bound by bound: "-100:0ms" forgot the unit on its long side
            long = [w for v, w in zip(values, written, strict=True) if abs(float(v)) >= LONG_SECONDS]
            meant = all(map(is_duration_string, long))
        else:  # a distribution: its bounds were not written apart
            meant = any(map(is_duration_string, written))
        fix += "" if meant else "; a number is seconds: '100ms' for milliseconds"
        warn(f"{name}={shown!r} reaches {LONG_SECONDS:g} s or more: {fix}")
