"""``floor(a * n + offset)`` in the graph as float64 arithmetic gives it, without float64.

Time shifts round ``s * L + 0.5`` (``Scaled(s)``, ``t * rate``) and time masks clip to
``floor(max_fraction * frames)``, with ``L`` / ``frames`` traced in ragged batches. In float32
the product rounds at 24 bits: ``Scaled(0.65)`` of 90 samples shifted 58 (float32(0.65) is
below 0.65) where SPEC section 2's ``floor(s * L + 0.5)`` is 59, at 51 of the lengths 1-3000.

Here ``a`` is cut into pieces of 12 significant bits (two for a float32 draw, five for a
float64 constant) and ``n`` into 12-bit digits, so each piece-by-digit product is exact in
float32; error-free sums (TwoSum) keep the total to about 2**-70. A total within half of
float64's ulp below an integer or half is taken as on it, as float64's own rounding of the
product takes it there (``0.35 * 10`` is 3.5 in float64, ``0.35 * 90`` is 31.499999999999996).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def _pieces(a: Any) -> list:
    """``a`` as float32 pieces of at most 12 significant bits each, summing to it."""
    if isinstance(a, (float, int)):  # a host constant: its float64 bits, 12 at a time
        pieces, rest = [], float(a)
        for _ in range(5):
            top = (np.array(rest, np.float32).view(np.uint32) & np.uint32(0xFFFFF000)).view(np.float32)
            pieces.append(np.float32(top))
            rest -= float(top)
        return pieces
    a = jnp.asarray(a, jnp.float32)
    top = jax.lax.bitcast_convert_type(jax.lax.bitcast_convert_type(a, jnp.uint32) & np.uint32(0xFFFFF000), jnp.float32)
    return [top, a - top]  # exact: the low 12 bits


def _two_sum(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


def floor_product(a: Any, n: Any, offset: float) -> jax.Array:
    """int32 ``floor(a * n + offset)`` for ``offset`` 0 or 0.5, ``n`` an int in ``[0, 2**31)``
    (static or traced), ``|a * n| < 2**31``; ``a`` a Python float or a traced float32.

    >>> int(floor_product(0.65, 90, 0.5)), int(floor_product(-0.3, 25, 0.5)), int(floor_product(0.0015, 2000, 0.0))
    (59, -7, 3)
    """
    n = jnp.asarray(n, jnp.int32)
    digits = [((n >> shift) & 0xFFF).astype(jnp.float32) * np.float32(2.0**shift) for shift in (0, 12, 24)]
    high, low, lower = jnp.float32(0.0), jnp.float32(0.0), jnp.float32(0.0)
    for piece in _pieces(a):
        for digit in digits:
            high, error = _two_sum(high, piece * digit)  # each product exact: 12 x 12 bits
            low, error = _two_sum(low, error)
            lower = lower + error  # the total to about 2**-70 of itself
    whole, rest = jnp.floor(high), jnp.round(low)  # exact splits: high = whole + part, low = rest + ...
    part, tail = high - whole, low - rest
    count = jnp.int32(0)
    # floor(x + offset) for x = part + tail in [-0.5, 1.5): -1 + #{k in 0..2 : x + offset >= k}; a
    # total within half of float64's ulp below a threshold counts as on it (float64 rounds it there)
    for k in range(3):
        threshold = np.float32(k - offset)
        ulp_half = jnp.ldexp(jnp.float32(1.0), jnp.frexp(whole + rest + threshold)[1] - 54)
        # (part - threshold) + tail is exact where it nearly cancels; lower then decides a near-tie
        count = count + (((part - threshold) + tail) + lower >= -ulp_half).astype(jnp.int32)
    # whole may be 2**31 (rounded up) where the result is 2**31 - 1: converted in 16-bit halves,
    # int32 arithmetic wraps and the sum comes out right
    top = jnp.floor(whole * np.float32(2.0**-16))
    whole = top.astype(jnp.int32) * 65536 + (whole - top * np.float32(65536.0)).astype(jnp.int32)
    return whole + rest.astype(jnp.int32) + count - 1
