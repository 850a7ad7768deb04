"""Checks of the settings of frozen stages (feature stages, framing, frame preprocessing).

Each returns the value normalized (``float`` / ``int``) or raises ``ConfigError`` naming
the stage, the field and the value.

>>> from jaxspec._fields import number
>>> number("Log", "floor", 1, 0.0)
1.0
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .errors import ConfigError, is_finite


def number(
    owner: str, name: str, value: Any, low: float = -math.inf, strict: bool = False, high: float = math.inf
) -> float:
    """``value`` as a float: a finite real ``>= low`` (``> low`` with ``strict``) and ``<= high``, not a bool."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and is_finite(value)
    if not ok or value < low or (strict and value == low) or value > high:
        rules = [f"> {low:g}" if strict else f">= {low:g}"] if low > -math.inf else []
        rules += [f"<= {high:g} (jaxspec.limits)"] if high < math.inf else []
        rule = " and ".join(rules)
        raise ConfigError(f"{owner}({name}={value!r}) must be a finite number{' ' + rule if rule else ''}")
    return float(value)


def flag(owner: str, name: str, value: Any) -> bool:
    """``value`` if it is a bool (``True`` / ``False``): ``bool("no")`` would be ``True``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{owner}({name}={value!r}) must be True or False")
    return bool(value)


def integer(owner: str, name: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` as an int: an integral ``>= low`` (and ``<= high``), not a bool."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ConfigError(f"{owner}({name}={value!r}) must be an integer >= {low}")
    if high is not None and value > high:
        raise ConfigError(f"{owner}({name}={value!r}) must be an integer <= {high} (jaxspec.limits)")
    return int(value)


def choice(owner: str, name: str, value: Any, valid: tuple) -> Any:
    """``value`` if it is one of ``valid`` (names, or ``None``): an array holding a name is
    not one (``np.array(["htk"]) in valid`` compares elementwise, and the config then
    failed to hash)."""
    if not (value is None or isinstance(value, str)) or value not in valid:
        raise ConfigError(f"{owner}({name}={value!r}) must be one of {list(valid)}")
    return value


def normal_floor(owner: str, name: str, value: float) -> None:
    """``ConfigError`` for a positive floor below float32's smallest normal number: CPUs and
    GPUs flush such values to 0, so silence would give -inf (librosa, in float64, does not)."""
    tiny = float(np.finfo(np.float32).tiny)
    if 0.0 < value < tiny:
        raise ConfigError(
            f"{owner}({name}={value!r}) is below float32's smallest normal number {tiny:.6g}, which "
            f"computations flush to 0 (silence would give -inf); use a value >= {tiny:.6g}"
        )
