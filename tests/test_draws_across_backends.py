"""Uniform draws are rounded once, whatever the compiler fuses (SPEC section 4: any backend).

XLA:CPU contracts ``low + (high - low) * u`` into one FMA; XLA:GPU rounds the product and the sum
apart (25-31 % of such draws were one ulp off CPU's on an H200). ``rounding.unit_affine`` computes
the once-rounded value with exact integer products and error-free sums. Op by op (``disable_jit``),
every operation rounds on its own as on the GPU: the jitted and op-by-op draws must agree.
"""

from __future__ import annotations

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspec
from jaxspec import Augmentation, LogUniform, Noise, SpectrogramConfig, Uniform, Volume
from jaxspec.augmentation import rounding

RANGES = [
    (0.001, 0.05),
    (0.3, 1.7),
    (-3.7, 0.2),
    (-5e-7, 3e-6),
    (1000.0, 1000.01),
    (-1e6, 1e6),
    (7.0, 7.000001),
    (1e-20, 1e-19),
    (0.0, 1e-30),  # scaled by a power of two: unscaled, its last term was subnormal (flushed)
    (-1e-25, 1e-25),
    (5e-31, 0.3),
    (0.5, 0.5),
]


def once_rounded(value: Fraction) -> np.float32:
    """The float32 nearest to ``value`` (ties to the even significand), from exact rationals."""
    near = np.float32(float(value))
    candidates = [np.nextafter(near, np.float32(-np.inf)), near, np.nextafter(near, np.float32(np.inf))]
    return min(candidates, key=lambda v: (abs(Fraction(float(v)) - value), int(v.view(np.uint32)) & 1))


def _words(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = np.concatenate([[0, 1, 2, 2**22, 2**23 - 1], rng.integers(0, 2**23, 1500)]).astype(np.uint32)
    return (k << np.uint32(9)) | rng.integers(0, 512, k.size).astype(np.uint32)  # low bits: unused


@pytest.mark.parametrize(("low", "high"), RANGES)
def test_unit_affine_is_the_once_rounded_value(low, high):
    words = _words(int(abs(low) * 1000) % 97)
    got = np.asarray(jax.jit(lambda w: rounding.unit_affine(low, high - low, w))(words))
    a, c = Fraction(float(np.float32(high - low))), Fraction(float(np.float32(low)))
    expected = [once_rounded(c + a * Fraction(int(w >> 9), 2**23)) for w in words]
    np.testing.assert_array_equal(got, np.asarray(expected, np.float32))


@pytest.mark.parametrize(("offset", "scale", "k"), [(1.0, 1e-7, 5_000_000)])
def test_unit_affine_rounds_a_near_tie_once(offset, scale, k):
    """A sum whose two error terms decide the rounding: without rounding to odd it rounds twice."""
    got = jax.jit(lambda w: rounding.unit_affine(offset, scale, w))(jnp.uint32(k << 9))
    exact = Fraction(float(np.float32(offset))) + Fraction(float(np.float32(scale))) * Fraction(k, 2**23)
    assert np.float32(got) == once_rounded(exact)


@pytest.mark.parametrize(("low", "high"), [(1e-33, 5e-33), (-1e-37, 1e-37), (2e-32, 9e-32)])
def test_ranges_narrower_than_2_to_the_minus_100_are_not_all_their_low_end_under_jit(low, high):
    """XLA folded c + a * (k * 2**-23) into c + k * (a * 2**-23), a subnormal constant flushed to 0:
    every jitted draw was ``low`` (eager ones were spread). Such a range rounds as each backend
    rounds it (README), within an ulp of the exact value."""
    words = _words(3)
    got = np.asarray(jax.jit(lambda w: rounding.unit_affine(low, high - low, w))(words), np.float64)
    a, c = float(np.float32(high - low)), float(np.float32(low))
    exact = c + a * (words >> 9).astype(np.float64) / 2**23
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    tiny = float(np.finfo(np.float32).tiny)  # values below the smallest normal float32 flush to 0 on CPU
    assert np.all(np.abs(got - exact) <= np.maximum(ulp, tiny)), np.abs(got - exact).max()
    assert len(np.unique(got)) > len(words) // 2
    subnormal = np.asarray(jax.jit(lambda w: rounding.unit_affine(2e-38, 1e-40, w))(words))
    np.testing.assert_array_equal(subnormal, np.float32(2e-38))  # a flushed width: lo, never 0


def test_unit_affine_op_by_op_equals_jitted_and_vmapped():
    words = jnp.asarray(_words(5))
    jitted = np.asarray(jax.jit(lambda w: rounding.unit_affine(0.2, 0.7, w))(words))
    vmapped = np.asarray(jax.jit(jax.vmap(lambda w: rounding.unit_affine(0.2, 0.7, w)))(words))
    with jax.disable_jit():
        op_by_op = np.asarray(rounding.unit_affine(0.2, 0.7, words))
    np.testing.assert_array_equal(jitted, op_by_op)
    np.testing.assert_array_equal(vmapped, op_by_op)


@pytest.mark.parametrize(
    "augmentation",
    [
        Augmentation(volume=(0.3, 1.7), noise=Uniform(0.001, 0.05)),
        Augmentation(volume=Volume(LogUniform(0.25, 4.0)), noise=Noise((0.01, 0.3))),
    ],
    ids=["uniform", "loguniform"],
)
def test_draws_op_by_op_equal_the_jitted_draws(augmentation):
    """A GPU's rounding (each operation apart) simulated on CPU: the same draws bit for bit."""
    config = SpectrogramConfig(augmentation=augmentation)
    keys = jax.random.split(jax.random.key(11), 64)
    jitted = jax.jit(jax.vmap(lambda k: jaxspec.draw(config, k, 16000)))(keys)
    with jax.disable_jit():
        for i in range(0, 64, 7):
            alone = jaxspec.draw(config, keys[i], 16000)
            for field, value in alone.items():
                np.testing.assert_array_equal(np.asarray(value), np.asarray(jitted[field][i]), err_msg=field)
