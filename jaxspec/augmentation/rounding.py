"""Rounding that every backend does alike: ``floor(a * n + offset)`` as float64 arithmetic
gives it, without float64; and ``offset + scale * u`` rounded once, as an FMA gives it.

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

    >>> from jaxspec.augmentation.rounding import floor_product
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


_EXACT_AFFINE_RANGE = 100  # |scale| and |offset / scale| within 2**+-100: every term stays normal


def _round_to_odd_sum(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a + b`` rounded to odd: exact, or the neighbour whose last significand bit is 1."""
    s, error = _two_sum(a, b)
    bits = jax.lax.bitcast_convert_type(s, jnp.int32)
    inexact_even = (error != 0) & ((bits & 1) == 0)
    toward = jnp.where((error > 0) == (s > 0), 1, -1)  # one ulp away from zero, or towards it
    return jax.lax.bitcast_convert_type(bits + jnp.where(inexact_even, toward, 0), jnp.float32)


def unit_affine(offset: float, scale: float, word: jax.Array) -> jax.Array:
    """float32 ``offset + scale * u`` for ``u = (word >> 9) * 2**-23`` (``random.uniform``'s
    value of the uint32 ``word``), rounded once: what XLA:CPU computes from the plain
    expression, which it contracts into one FMA. XLA:GPU rounds the product and the sum apart
    (measured on an H200: 25-31 % of uniform draws one ulp off CPU's), so the draws of
    ``Uniform`` would depend on the backend (SPEC section 4: the same on any backend).

    Integer arithmetic gives ``scale * u`` exactly as two float32 (``A * k = high * 2**24 +
    low`` for ``scale = A * 2**e``); the sum of the three is rounded once by Boldo and
    Melquiond's algorithm with rounding to odd ("Emulation of FMA and correctly rounded sums",
    IEEE Trans. Computers 57(4), 2008): only additions and exact products, so no contraction
    can change it. The terms are scaled by a power of two so that ``scale`` is in ``[0.5, 1)``
    (the last term of a span of 1e-30 was subnormal, which XLA:CPU flushes to 0), and the
    result scaled back. ``offset`` and ``scale`` are host floats, rounded to float32 first;
    a nonzero ``offset`` below ``2**-100 * scale`` takes the plain expression, and ``scale`` below
    ``2**-100`` in magnitude the sum in units of its power of two, scaled back (each rounded as each
    backend rounds it).
    """
    a, c = np.float32(scale), np.float32(offset)
    if abs(c) < np.finfo(np.float32).tiny:
        c = np.float32(0.0)  # a subnormal offset: XLA:CPU flushes it to 0 (the old draws' value)
    if a == 0:
        return jnp.full(jnp.shape(word), c)
    k = word >> np.uint32(9)  # < 2**23: u = k * 2**-23
    mantissa, exponent = np.frexp(np.float64(a))  # a = mantissa * 2**exponent, mantissa in [0.5, 1)
    scaled = np.ldexp(np.float64(c), -int(exponent))  # exact: a power of two
    # a * u below 2**-100 of offset rounds away; a subnormal width XLA:CPU flushes (and a * u) to 0
    if abs(scaled) > 2.0**_EXACT_AFFINE_RANGE or abs(a) < np.finfo(np.float32).tiny:
        return jnp.full(jnp.shape(word), c)
    if abs(a) < 2.0**-_EXACT_AFFINE_RANGE:
        # in units of 2**exponent, scaled back last: XLA folds c + a * (k * 2**-23) into
        # c + k * (a * 2**-23), a subnormal constant it flushes to 0 (every draw of
        # Uniform(1e-33, 5e-33) was 1e-33 under jit, an audit)
        u = k.astype(jnp.float32) * np.float32(mantissa * 2.0**-23)
        return (np.float32(scaled) + u) * np.float32(2.0 ** int(exponent))
    if c != 0 and abs(scaled) < 2.0**-_EXACT_AFFINE_RANGE:
        return c + a * (k.astype(jnp.float32) * np.float32(2.0**-23))
    big = np.uint32(int(mantissa * 2**24))  # A, with a = A * 2**(exponent - 24)
    a1, a0, k1, k0 = big >> 12, big & np.uint32(0xFFF), k >> 12, k & np.uint32(0xFFF)
    middle = a1 * k0 + a0 * k1  # < 2**25: every uint32 product here is below 2**24
    low = a0 * k0 + ((middle & np.uint32(0xFFF)) << 12)
    high = a1 * k1 + (middle >> 12) + (low >> 24)  # A * k = high * 2**24 + low, high < 2**23
    low = low & np.uint32(0xFFFFFF)
    # a * u / 2**exponent = (high * 2**24 + low) * 2**-47: two exact float32 (powers of two)
    upper, lower = _two_sum(
        high.astype(jnp.float32) * np.float32(2.0**-23), low.astype(jnp.float32) * np.float32(2.0**-47)
    )
    # offset as a value the compiler cannot see: XLA's simplifier folds (c + x) - c to x for a
    # constant c, which made TwoSum inexact (6 % of its errors wrong); bit 1 of a square is 0
    bits = np.float32(scaled).view(np.uint32)
    hidden = jax.lax.bitcast_convert_type(bits | ((word * word) & np.uint32(2)), jnp.float32)
    total, error = _two_sum(hidden, upper)
    return (total + _round_to_odd_sum(error, lower)) * np.float32(2.0 ** int(exponent))  # exact unless subnormal
