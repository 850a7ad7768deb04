"""Distributions and numeric parameters of augmentation stages (host-side parsing, traced sampling).

A numeric parameter (a gain, an amplitude, a shift, a mix) is a number (fixed), a
``(lo, hi)`` range (uniform), a distribution (``Uniform``, ``Normal``, ``LogUniform``),
or any hashable object with ``sample(key)`` or callable ``key -> scalar``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import limits
from ..errors import ConfigError, is_finite
from . import random
from .rounding import unit_affine


def check_number(value: Any, name: str, cap: float = limits.MAX_DISTRIBUTION_VALUE) -> float:
    """``value`` as a float if it is a finite real number (not a bool) with ``|value| <= cap``
    (a concrete 0-d NumPy or JAX array counts as its number, as in ``as_param``)."""
    value = scalar_of(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not is_finite(value):
        raise ConfigError(f"{name}={value!r} must be a finite real number")
    if abs(value) > cap:
        raise ConfigError(f"{name}={value!r} is above the cap {cap:g} in magnitude (jaxspec.limits)")
    return float(value)


def _check_pair(distribution: Any, rule: Callable[[float, float], bool], requirement: str) -> None:
    """Validates and stores the two float fields of a distribution dataclass."""
    cls = type(distribution).__name__
    names = [f.name for f in dataclasses.fields(distribution)]
    a, b = (check_number(getattr(distribution, n), f"{cls} {n}") for n in names)
    if not rule(a, b):
        raise ConfigError(f"{cls}({names[0]}={a}, {names[1]}={b}): {requirement}")
    for name, value in zip(names, (a, b), strict=True):
        object.__setattr__(distribution, name, value)


def _affine(offset: float, scale: float, u: jax.Array) -> jax.Array:
    return jnp.float32(offset) + jnp.float32(scale) * u


def _within(value: jax.Array, low: float, high: float) -> jax.Array:
    return jnp.clip(value, jnp.float32(low), jnp.float32(high))


@dataclasses.dataclass(frozen=True)
class Uniform:
    """Uniform distribution on ``[low, high]`` (``low <= high``).

    >>> import jax, jaxspec
    >>> float(jaxspec.Uniform(0.5, 0.5).sample(jax.random.key(0)))
    0.5
    """

    low: float
    high: float

    def __post_init__(self):
        _check_pair(self, lambda low, high: low <= high, "low must be <= high")

    def sample(self, key: jax.Array) -> jax.Array:
        """A float32 scalar drawn with ``key``, within ``[float32(low), float32(high)]``
        (``low + (high - low) * u`` can round an ulp past ``high``). Rounded once on every
        backend (``rounding.unit_affine``): bit for bit the same draw on CPU and GPU."""
        return _within(unit_affine(self.low, self.high - self.low, random.bits(key)), self.low, self.high)


@dataclasses.dataclass(frozen=True)
class Normal:
    """Normal distribution with ``mean`` and standard deviation ``std >= 0``.

    >>> import jax, jaxspec
    >>> gains = jax.jit(jax.vmap(jaxspec.Normal(1.0, 0.1).sample))(jax.random.split(jax.random.key(0), 1000))
    >>> round(float(gains.mean()), 1), round(float(gains.std()), 2)  # as Augmentation(volume=Normal(1.0, 0.1)) draws
    (1.0, 0.1)
    """

    mean: float
    std: float

    def __post_init__(self):
        _check_pair(self, lambda mean, std: std >= 0, "std must be >= 0")

    def sample(self, key: jax.Array) -> jax.Array:
        return _affine(self.mean, self.std, random.normal(key))


@dataclasses.dataclass(frozen=True)
class LogUniform:
    """``exp(Uniform(log low, log high))``, for scale-like values; ``0 < low <= high``, and
    ``low`` at least float32's smallest normal number (1.2e-38: below it draws are 0).

    >>> import jax, jaxspec
    >>> drawn = jaxspec.draw(jaxspec.Augmentation(noise=jaxspec.LogUniform(1e-3, 1e-1)), jax.random.key(0), 16000)
    >>> 1e-3 <= float(drawn["noise_amplitude"]) <= 1e-1  # white noise of a std between -60 and -20 dB
    True
    """

    low: float
    high: float

    def __post_init__(self):
        tiny = float(np.finfo(np.float32).tiny)
        _check_pair(self, lambda low, high: tiny <= low <= high, f"need {tiny:.3g} <= low <= high (float32)")

    def sample(self, key: jax.Array) -> jax.Array:
        """Within ``[float32(low), float32(high)]``: ``exp(log(v))`` is not always ``v`` in
        float32 (``LogUniform(7, 7)`` drew 6.9999995)."""
        if self.low == self.high:
            return jnp.float32(self.low)
        log_low, log_high = math.log(self.low), math.log(self.high)
        # the exponent is the same on every backend; exp itself is each backend's (README)
        return _within(jnp.exp(unit_affine(log_low, log_high - log_low, random.bits(key))), self.low, self.high)


Distribution = Uniform | Normal | LogUniform
Param = float | tuple[float, float] | Distribution | Callable[[jax.Array], Any]


def scalar_of(value: Any) -> Any:
    """The Python number of a concrete 0-d NumPy or JAX array (``jnp.float32(0.3)`` is one:
    ``Volume`` refused it while it took ``np.float32(0.3)``); anything else as it is."""
    if isinstance(value, (np.ndarray, jax.Array)) and value.shape == () and not isinstance(value, jax.core.Tracer):
        return value.item()
    return value


def as_param(value: Any, name: str, bounds: tuple[float, float] | None = None, cap: float | None = None) -> Any:
    """Normalizes a numeric parameter: a number, ``(lo, hi)``, a distribution or callable.

    Returns a float (fixed), a ``Uniform`` for ``(lo, hi)``, or the distribution /
    callable itself (which must be hashable: it is part of the jit cache key).
    ``bounds`` checks fixed values and ranges; values drawn from other
    distributions are clipped to it when drawn. ``cap`` bounds the magnitude any
    draw can reach (``jaxspec.limits.param_reach``): numbers, ranges and the
    built-in distributions above it are a ``ConfigError``; draws of other
    distributions and callables are clipped to ``[-cap, cap]`` (``sample_param``).
    """
    given = value = scalar_of(value)
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConfigError(f"{name}={value!r}: a range must be (lo, hi)")
        lo, hi = (check_number(v, name, cap or limits.MAX_DISTRIBUTION_VALUE) for v in value)
        if lo > hi:
            raise ConfigError(f"{name}={tuple(value)!r}: lo={lo} > hi={hi}; a range is (lo, hi) with lo <= hi")
        value = Uniform(lo, hi)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = check_number(value, name, cap or limits.MAX_DISTRIBUTION_VALUE)
    elif isinstance(value, type):  # Uniform itself has .sample and is callable; it failed inside jit
        raise ConfigError(f"{name}={value.__name__}: pass an instance, e.g. {value.__name__}(...) with its bounds")
    elif not (hasattr(value, "sample") or callable(value)):
        raise ConfigError(
            f"{name}={value!r} must be a number, a (lo, hi) range, Uniform/Normal/LogUniform, "
            "an object with sample(key), or a callable key -> scalar"
        )
    try:
        hash(value)
    except TypeError as error:
        raise ConfigError(f"{name}={value!r} must be hashable (it is part of the jit cache key)") from error
    if bounds is not None:
        lo, hi = bounds
        low, high = (
            (value, value) if isinstance(value, float) else (getattr(value, "low", lo), getattr(value, "high", hi))
        )
        if not (lo <= low and high <= hi):  # ("in [0.0, inf]" read oddly beside a cap of 10000)
            raise ConfigError(
                f"{name}={given!r} must lie in [{lo}, {hi}]"
                if hi < math.inf
                else f"{name}={given!r} must be at least {lo:g}"
            )
        if isinstance(value, Normal) and not lo <= value.mean <= hi:  # most draws clipped to one bound
            raise ConfigError(f"{name}={given!r}: its mean must lie in [{lo}, {hi}] (draws are clipped to it)")
    if cap is not None:
        reach = limits.param_reach(value)
        if math.isfinite(reach) and reach > cap:
            raise ConfigError(
                f"{name}={given!r} can draw values up to {reach:.6g} in magnitude; the cap is {cap:g} (jaxspec.limits)"
            )
    return value


def sample_param(
    param: Any,
    key: jax.Array,
    cap: float | None = None,
    name: str = "a parameter",
    bounds: tuple[float, float, float] | None = None,
) -> jax.Array:
    """Draws a float32 scalar from a normalized parameter (a fixed float uses no key).

    Draws of distributions other than the built-in ones (and of callables) are clipped
    to ``[-cap, cap]`` when a cap is given (NaN becomes 0). ``bounds`` ``(low, high,
    neutral)``: every draw is clipped to ``[low, high]``, NaN becomes ``neutral`` (the
    value that leaves the signal as it is). ``name`` (e.g. ``"Volume gain"``) names the
    parameter in the error for a draw that is not a scalar, which a callable can only
    show when it is traced.
    """
    if isinstance(param, float):
        return jnp.float32(param)
    value = _drawn(param, key, name)
    if isinstance(key, jax.core.Tracer) and not isinstance(value, jax.core.Tracer) and _varies(param, key, value):
        # NumPy's own random state (or the clock), read once when the program is traced: every
        # example and call would get that one value (and which program traced first decided it)
        raise ConfigError(
            f"{name}={param!r} drew {value!r} without using its key, and another value when called again; draw "
            "with jax.random from the key it is given (e.g. lambda key: jax.random.uniform(key, minval=0.5, "
            "maxval=1.5))"
        )
    if _complex(value):  # the cast below dropped the imaginary part with only a ComplexWarning
        raise ConfigError(f"{name}={param!r} drew a complex value ({value!r}); it must draw a real scalar")
    try:
        value = jnp.asarray(value, jnp.float32)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{name}={param!r} drew {value!r}, which is not a real number: {error}") from None
    if value.shape != ():
        raise ConfigError(f"{name}={param!r} drew a value of shape {value.shape}; it must draw a scalar")
    if cap is not None and not math.isfinite(limits.param_reach(param)):
        value = jnp.nan_to_num(value, nan=0.0, posinf=cap, neginf=-cap)
        value = jnp.clip(value, jnp.float32(-cap), jnp.float32(cap))
    if bounds is not None:
        low, high, neutral = bounds
        value = jnp.clip(jnp.where(jnp.isnan(value), jnp.float32(neutral), value), jnp.float32(low), jnp.float32(high))
    return value


def _varies(param: Any, key: jax.Array, value: Any) -> bool:
    """Whether a draw that did not use its key gives another value from the same key (a
    constant does not: it is a fixed value, as a number is)."""
    again = param.sample(key) if hasattr(param, "sample") else param(key)
    try:
        return not np.array_equal(np.asarray(value), np.asarray(again), equal_nan=True)
    except TypeError:  # not numbers (a string): the conversion below says so
        return False


def _complex(value: Any) -> bool:
    """``jnp.iscomplexobj(value)``, False for a value that is no number at all (jax 0.7 raised
    a TypeError there, where newer releases say False; the cast after it names the value)."""
    try:
        return bool(jnp.iscomplexobj(value))
    except TypeError:
        return False


def _drawn(param: Any, key: jax.Array, name: str) -> Any:
    """``param``'s draw from ``key``: its ``sample(key)`` or its call; a draw that reads the
    traced key with NumPy is a ``ConfigError`` naming the parameter (not JAX's traceback)."""
    try:
        return param.sample(key) if hasattr(param, "sample") else param(key)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError) as error:
        raise ConfigError(
            f"{name}={param!r} cannot read its key with NumPy or Python (the key is traced: "
            f"{type(error).__name__}); draw with jax.random from the key"
        ) from None


@dataclasses.dataclass(frozen=True)
class Scaled:
    """A time shift given as a fraction ``s`` of the input duration (``t = s * L / sr``).

    ``s`` is any numeric parameter: ``Scaled(0.1)``, ``Scaled((-0.2, 0.2))``, ...

    >>> import jax, jaxspec
    >>> setting = jaxspec.Augmentation(time_shift=jaxspec.Scaled(0.1))  # a tenth of each input, later
    >>> [int(jaxspec.draw(setting, jax.random.key(0), n)["time_shift_samples"]) for n in (16000, 8000)]
    [1600, 800]
    """

    s: Any

    def __post_init__(self):
        object.__setattr__(self, "s", as_param(self.s, "Scaled s", cap=limits.MAX_SCALED_SHIFT))
