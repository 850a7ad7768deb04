"""Integer parameters of feature-level stages (counts, widths, shifts) and their draws.

A width or count is an int (fixed) or ``(lo, hi)`` (uniform over the inclusive integers);
draws come from random bits (a multiply-shift of one uint32 word), never from ``floor`` of
a float, so they cannot flip between compiled programs (SPEC section 4).
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from .random import bits as random_word  # one uint32 word: y0 ^ y1 of threefry_2x32(key, (0, 0))


# ------------------------------------------------------------------- integer parameters
def check_int(value: Any, name: str, low: int, high: int) -> int:
    """``value`` as an int if it is an integer in ``[low, high]`` (``ConfigError`` else)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise ConfigError(f"{name}={value!r} must be an integer in [{low}, {high}]")
    return int(value)


def int_param(value: Any, name: str, low: int, high: int) -> int | tuple[int, int]:
    """An integer parameter: an int (fixed) or ``(lo, hi)`` (uniform over the integers
    ``lo..hi`` inclusive), each within ``[low, high]``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConfigError(f"{name}={value!r}: a range must be (lo, hi)")
        lo, hi = (check_int(v, name, low, high) for v in value)
        if lo > hi:
            raise ConfigError(f"{name}={tuple(value)!r}: lo={lo} > hi={hi}; a range is (lo, hi) with lo <= hi")
        return (lo, hi) if lo < hi else lo
    return check_int(value, name, low, high)


def int_bounds(param: int | tuple[int, int]) -> tuple[int, int]:
    """``(lo, hi)`` of an integer parameter (``(v, v)`` when fixed)."""
    return param if isinstance(param, tuple) else (param, param)


# ------------------------------------------------------------------- random integers
def _mulhi(a: jax.Array, b: jax.Array) -> jax.Array:
    """``floor(a * b / 2**32)`` for uint32 ``a``, ``b`` in uint32 arithmetic (16-bit halves)."""
    low16 = np.uint32(0xFFFF)
    a0, a1, b0, b1 = a & low16, a >> 16, b & low16, b >> 16
    t = a1 * b0 + ((a0 * b0) >> 16)
    w = (t & low16) + a0 * b1
    return a1 * b1 + (t >> 16) + (w >> 16)


def random_index(key: jax.Array, span: Any) -> jax.Array:
    """An int32 uniform on ``0..span-1`` (``span >= 1``, static or traced):
    ``floor(word * span / 2**32)`` of one random word (bias below ``span / 2**32``)."""
    span = jnp.maximum(jnp.asarray(span, jnp.int32), 1).astype(jnp.uint32)
    return _mulhi(random_word(key), span).astype(jnp.int32)


def random_int(key: jax.Array, param: int | tuple[int, int]) -> jax.Array:
    """An int32 drawn from an integer parameter (a fixed int uses no key)."""
    lo, hi = int_bounds(param)
    if lo == hi:
        return jnp.int32(lo)
    return jnp.int32(lo) + random_index(key, hi - lo + 1)
