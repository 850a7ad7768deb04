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


# The feature-level draws for key(0) and key(1), pinned (the mutation audit: renumbering the warp's
# or VTLP's ids 0 and 1, which README's "Keys" says are never renumbered, left every test green).
FEATURE_DRAWS = {
    0: {
        "frequency_mask_count": 7,
        "frequency_mask_starts": [13, 32, 34, 22, 15, 17, 23, 8],
        "frequency_mask_widths": [2, 2, 2, 2, 2, 2, 2, 0],
        "time_mask_count": 5,
        "time_mask_starts": [106, 51, 80, 109, 53, 83, 74, 117, 116, 32],
        "time_mask_widths": [2, 2, 2, 2, 2, 0, 0, 0, 0, 0],
        "time_warp_centre": 21,
        "time_warp_shift": -1,
        "vtlp_factor": 0.9555619359016418,
    },
    1: {
        "frequency_mask_count": 7,
        "frequency_mask_starts": [31, 20, 26, 4, 33, 26, 27, 36],
        "frequency_mask_widths": [2, 2, 2, 2, 2, 2, 2, 0],
        "time_mask_count": 2,
        "time_mask_starts": [54, 27, 30, 28, 104, 66, 94, 23, 26, 113],
        "time_mask_widths": [2, 2, 0, 0, 0, 0, 0, 0, 0, 0],
        "time_warp_centre": 39,
        "time_warp_shift": 4,
        "vtlp_factor": 0.9816670417785645,
    },
}


@pytest.mark.parametrize("seed", sorted(FEATURE_DRAWS))
def test_feature_level_draws_are_pinned(seed):
    augmentation = jaxspec.Augmentation(
        time_warp=jaxspec.TimeWarp(5),
        vtlp=(0.9, 1.1),
        frequency_mask=jaxspec.FrequencyMask((0, 8), 2),
        time_mask=jaxspec.TimeMask((0, 10), 2),
    )
    config = jaxspec.SpectrogramConfig(features=(jaxspec.MelFilterbank(40), jaxspec.Log()), augmentation=augmentation)
    drawn = jaxspec.draw(config, jax.random.key(seed), 16000)
    assert {name: np.asarray(value).tolist() for name, value in drawn.items()} == FEATURE_DRAWS[seed]


def test_a_negative_noise_amplitude_draw_is_no_noise():
    """README: a drawn amplitude below 0 is 0 (no noise for that example), not its magnitude."""
    noise = jaxspec.Noise(jaxspec.Normal(0.0, 0.01))
    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(noise=noise))
    amplitudes = np.array([float(jaxspec.draw(config, jax.random.key(i), 1600)["noise_amplitude"]) for i in range(200)])
    assert (amplitudes >= 0).all() and 0.4 < np.mean(amplitudes == 0) < 0.6, np.mean(amplitudes == 0)
