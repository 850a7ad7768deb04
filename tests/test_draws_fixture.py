"""Drawn values and augmented spectrograms against the fixture made before the refactor.

``tests/fixtures/draws.npz`` was written by ``tests/make_draws_fixture.py`` at the
commit before issue 10's refactor. Draws must be bit-identical (they are the
reproducibility contract); spectrograms bit-identical where the compiled program
is unchanged and within relative 1e-6 otherwise.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from make_draws_fixture import FIXTURE, LENGTH, SEEDS, configs

import jaxspec

CONFIGS = configs()
# Stored on CPU. A draw through exp (LogUniform) takes each backend's exp, which may differ in the
# last bits; every other drawn value is the same on any backend (uniform ones: rounding.unit_affine).
THROUGH_EXP = {"volume_loguniform"}


@pytest.fixture(scope="module")
def stored():
    with np.load(FIXTURE) as data:
        return dict(data)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_draws_are_bit_identical(stored, name):
    config = CONFIGS[name]
    for seed in SEEDS:
        drawn = jaxspec.draw(config, jax.random.key(seed), LENGTH)
        prefix = f"{name}/{seed}/draw/"
        expected = {k[len(prefix) :]: v for k, v in stored.items() if k.startswith(prefix)}
        assert set(drawn) == set(expected)
        for field, value in drawn.items():
            value, message = np.asarray(value), f"{name} seed {seed} {field}"
            if jax.default_backend() != "cpu" and name in THROUGH_EXP:  # README "Draws across backends"
                np.testing.assert_array_max_ulp(value, expected[field], maxulp=4)  # H200: <= 2 ulps
            else:
                np.testing.assert_array_equal(value, expected[field], err_msg=message)


def _relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-30))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_spectrograms_match(stored, name):
    config, x = CONFIGS[name], stored["signal"]
    for seed in SEEDS:
        out = np.asarray(jaxspec.spectrogram(config, x, jax.random.key(seed)))
        ref = stored[f"{name}/{seed}/spectrogram"]
        assert out.shape == ref.shape
        assert _relative_error(out, ref) < 1e-6, (name, seed)
    batch = np.stack([x, x[::-1].copy(), 0.5 * x])
    out = np.asarray(jaxspec.spectrogram(config, batch, jax.random.key(99)))
    assert _relative_error(out, stored[f"{name}/batch/spectrogram"]) < 1e-6
