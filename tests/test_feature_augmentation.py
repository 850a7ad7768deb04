"""Feature-level augmentation (SPEC section 7): SpecAugment's masks and time warp, VTLP.

Float64 NumPy references of the masks, the warp and the warped filterbank given the drawn
values; the key rule (ids, independence, batches, eager / jit / vmap / loop / sharding);
statistics of the draws with fixed keys; identities; gradients; padded rows
(``valid_frames``); errors, JSON, flags and plot titles through the stage table.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxspec
from jaxspec import (
    VTLP,
    Augmentation,
    ConfigError,
    Decibels,
    FrequencyMask,
    MelFilterbank,
    SpectrogramConfig,
    TimeMask,
    TimeWarp,
    _melscale,
    presets,
)
from jaxspec.augmentation import STAGE_BY_NAME, draw_values, feature_ops, feature_stages
from jaxspec.augmentation.feature_stages import FeatureGrid, random_index
from jaxspec.augmentation.keys import traced_draw_values

RATE = 16000
LENGTH = 16000
FULL = Augmentation(
    frequency_mask=FrequencyMask((1, 2), (0, 8), fill="mean"),
    time_mask=TimeMask((1, 3), (0, 20), max_fraction=0.3),
    time_warp=TimeWarp(5),
    vtlp=VTLP((0.9, 1.1)),
)
LOG_MEL = presets.kaldi_fbank(num_mel_bins=40)  # Kaldi framing: 98 frames x 40 bands per second


def _with(config, augmentation):
    return dataclasses.replace(config, augmentation=augmentation)


@pytest.fixture(scope="module")
def speech():
    return jaxspec.load_audio(jaxspec.example_path()).samples[:LENGTH].astype(np.float32)


def _relative(out, ref):
    out, ref = np.asarray(out, np.float64), np.asarray(ref, np.float64)
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


# ------------------------------------------------------------------ float64 references
def mask_reference(y, starts, widths, axis, fill):
    out = np.array(y, np.float64)
    for start, width in zip(np.asarray(starts), np.asarray(widths), strict=True):
        index = [slice(None), slice(None)]
        index[axis] = slice(int(start), int(start) + int(width))
        out[tuple(index)] = fill
    return out


def warp_reference(y, centre, shift, valid=None):
    """Output frame t = y at s(t), s piecewise linear through (0, 0), (c + w, c), (v - 1, v - 1)."""
    y = np.asarray(y, np.float64)
    n = y.shape[0]
    v = n if valid is None else int(valid)
    out = y.copy()
    d = centre + shift
    source = [
        (t * centre / d if d > 0 else 0.0) if t <= d else centre + (t - d) * (v - 1 - centre) / (v - 1 - d)
        for t in range(v - 1)
    ] + [v - 1.0]  # the ends stay, also when the centre lands on one (d = 0 or v - 1)
    for i, s in enumerate(source):
        below = min(int(np.floor(s)), v - 1)
        above = min(below + 1, v - 1)
        a = s - below
        out[i] = (1 - a) * y[below] + a * y[above]
    return out


def vtlp_reference(hz, factor, f_hi, nyquist):
    hz = np.asarray(hz, np.float64)
    boundary = f_hi * min(factor, 1.0) / factor
    line = nyquist - (nyquist - factor * boundary) * (nyquist - hz) / (nyquist - boundary)
    return np.where(hz <= boundary, factor * hz, line)


def warped_filterbank_reference(stage, factor, f_hi, rate, fft):
    """``_melscale.mel_filterbank``'s construction in float64 at the warped bin frequencies."""
    fmin, fmax = stage.edges(rate)
    edges_mel = np.linspace(
        _melscale.hz_to_mel(fmin, stage.scale), _melscale.hz_to_mel(fmax, stage.scale), stage.n_mels + 2
    )
    freqs = vtlp_reference(_melscale.bin_frequencies(rate, fft, stage.frequencies), factor, f_hi, rate / 2)
    if stage.scale == "kaldi":
        mel = _melscale.hz_to_mel(freqs, "kaldi")[:, None]
        left, centre, right = edges_mel[:-2], edges_mel[1:-1], edges_mel[2:]
        weights = np.maximum(0.0, np.minimum((mel - left) / (centre - left), (right - mel) / (right - centre)))
        weights[fft // 2 :] = 0.0
    else:
        edges = _melscale.mel_to_hz(edges_mel, stage.scale)
        f = freqs[:, None]
        weights = np.maximum(
            0.0, np.minimum((f - edges[:-2]) / (edges[1:-1] - edges[:-2]), (edges[2:] - f) / (edges[2:] - edges[1:-1]))
        )
    if stage.norm == "slaney":
        hz = _melscale.mel_to_hz(edges_mel, stage.scale)
        weights = weights * (2.0 / (hz[2:] - hz[:-2]))[None, :]
    return weights


# ------------------------------------------------------------------ key-free operations
def test_mask_matches_the_reference_and_width_zero_is_off():
    y = np.random.default_rng(0).standard_normal((30, 12)).astype(np.float32)
    starts, widths = np.array([2, 9, 4]), np.array([3, 3, 0])
    for axis in (0, 1):
        out = feature_ops.mask(jnp.asarray(y), starts, widths, axis=axis, fill=-1.5)
        np.testing.assert_array_equal(np.asarray(out), mask_reference(y, starts, widths, axis, -1.5))
    np.testing.assert_array_equal(np.asarray(feature_ops.mask(y, np.array([5]), np.array([0]), axis=1)), y)


@pytest.mark.parametrize("centre, shift", [(10, 4), (10, -4), (5, -5), (20, 4), (12, 0)])
def test_time_warp_matches_the_reference(centre, shift):
    y = np.random.default_rng(1).standard_normal((25, 6)).astype(np.float32)
    out = feature_ops.time_warp(jnp.asarray(y), centre, shift)
    np.testing.assert_allclose(np.asarray(out), warp_reference(y, centre, shift), atol=1e-5)
    assert np.asarray(out)[0].tolist() == y[0].tolist()  # the ends stay
    np.testing.assert_allclose(np.asarray(out)[-1], y[-1], atol=1e-6)
    if shift and 0 < centre + shift < 24:
        np.testing.assert_allclose(np.asarray(out)[centre + shift], y[centre], atol=1e-5)  # the centre moved


@pytest.mark.parametrize("frames, centre, shift, valid", [(4813, 2400, 13, None), (3000, 1700, -80, 2911)])
def test_a_long_warp_is_as_exact_as_float64(frames, centre, shift, valid):
    """The source positions are integer ratios: float32 ``t * c / d`` put frame 4800 2.4e-4 of
    a frame off (1.9e-4 relative error on 4813 frames; an audit's finding)."""
    y = (np.random.default_rng(3).standard_normal((frames, 3)) * 20).astype(np.float32)
    v = frames if valid is None else valid
    out = np.asarray(feature_ops.time_warp(jnp.asarray(y), centre, shift, valid_frames=valid))
    ref = warp_reference(y, centre, shift, valid=v)
    assert np.linalg.norm(out[:v] - ref[:v]) / np.linalg.norm(ref[:v]) < 2e-7
    np.testing.assert_array_equal(out[v:], y[v:])


@pytest.mark.parametrize("frames, centre, shift, valid", [(360_000, 180_000, 80, None), (1_000_000, 3, 5, 999_000)])
def test_warp_sources_stay_exact_past_int32_products(frames, centre, shift, valid):
    # past 46341 frames (7.7 min at a 10 ms hop) the ratios were float32: 0.03 of a frame off on
    # 1 h, 0.37 nats of Kaldi fbank (the precision audit). Reference: NumPy int64 divmod
    index, fraction = jax.jit(feature_ops.warp_sources, static_argnums=0)(frames, centre, shift, valid)
    t, last, d = np.arange(frames, dtype=np.int64), (valid or frames) - 1, centre + shift
    left = t <= d
    numerator = np.where(left, t * centre, (t - d) * (last - centre))
    divisor = np.where(left, max(d, 1), max(last - d, 1))
    itself = t >= last
    expected_index = np.where(itself, t, np.where(left, 0, centre) + numerator // divisor)
    expected_fraction = np.where(itself, 0.0, (numerator % divisor) / divisor)
    np.testing.assert_array_equal(np.asarray(index), expected_index)
    np.testing.assert_allclose(np.asarray(fraction), expected_fraction, rtol=0, atol=6e-8)


def test_a_warp_past_the_exact_bound_still_warps(monkeypatch):
    # the bound (2**26 valid frames) lowered so the float32 path runs on a few thousand frames
    monkeypatch.setattr(feature_ops, "_EXACT_WARP_FRAMES", 4000)
    frames = 4010
    y = np.linspace(0.0, 1.0, frames, dtype=np.float32)[:, None]
    out = np.asarray(feature_ops.time_warp(jnp.asarray(y), frames // 2, 40))
    np.testing.assert_allclose(out, warp_reference(y, frames // 2, 40), atol=1e-6)
    # a shorter row padded past the bound computes as it would alone (a review saw 1.6e-4)
    v = 3000
    row = (np.random.default_rng(3).standard_normal((frames, 2)) * 20).astype(np.float32)
    padded = np.asarray(feature_ops.time_warp(jnp.asarray(row), 1500, 13, valid_frames=jnp.int32(v)))
    np.testing.assert_array_equal(padded[:v], np.asarray(feature_ops.time_warp(jnp.asarray(row[:v]), 1500, 13)))
    longer = np.asarray(feature_ops.time_warp(jnp.asarray(row), frames // 2, 40, valid_frames=jnp.int32(frames - 3)))
    alone = np.asarray(feature_ops.time_warp(jnp.asarray(row[: frames - 3]), frames // 2, 40))
    np.testing.assert_array_equal(longer[: frames - 3], alone)


def test_warp_and_masks_stay_inside_the_valid_frames():
    """A padded row [n_max] with v valid frames: rows < v equal the row alone, padding untouched."""
    y = np.random.default_rng(2).standard_normal((40, 8)).astype(np.float32)
    v = 27
    warped = np.asarray(feature_ops.time_warp(jnp.asarray(y), 13, 3, valid_frames=jnp.int32(v)))
    np.testing.assert_allclose(warped[:v], np.asarray(feature_ops.time_warp(jnp.asarray(y[:v]), 13, 3)), atol=1e-6)
    np.testing.assert_array_equal(warped[v:], y[v:])
    np.testing.assert_allclose(warped, warp_reference(y, 13, 3, valid=v), atol=1e-5)


@pytest.mark.parametrize(
    "stage",
    [
        MelFilterbank(40),
        MelFilterbank(64, 20.0, 7600.0, "htk", None, "linspace"),
        MelFilterbank(23, 20.0, 8000.0, "kaldi", None),
    ],
)
@pytest.mark.parametrize("factor", [0.9, 1.0, 1.13])
def test_warped_filterbank_matches_the_reference(stage, factor):
    out = np.asarray(feature_ops.warped_mel_filterbank(stage, jnp.float32(factor), 4800.0, RATE, 512))
    ref = warped_filterbank_reference(stage, factor, 4800.0, RATE, 512)
    assert out.shape == ref.shape == (257, stage.n_mels)
    np.testing.assert_allclose(out, ref, atol=2e-5 * np.abs(ref).max())
    if factor == 1.0:  # the unwarped host matrix, rounded to float32: exactly (torchaudio's float32 one too)
        np.testing.assert_array_equal(out, stage.matrix(RATE, 512).astype(np.float32))


def test_vtlp_frequencies_fix_nyquist_and_scale_below_the_boundary():
    hz = np.linspace(0, 8000, 101)
    for factor in (0.85, 1.0, 1.2):
        out = np.asarray(feature_ops.vtlp_frequencies(hz, jnp.float32(factor), 4800.0, 8000.0))
        np.testing.assert_allclose(out, vtlp_reference(hz, factor, 4800.0, 8000.0), rtol=1e-5, atol=1e-2)
        assert abs(out[-1] - 8000.0) < 1e-2 and np.all(np.diff(out) > 0)


# ------------------------------------------------------------------ integer draws
def test_random_index_is_a_multiply_shift_of_one_word():
    keys = jax.random.split(jax.random.key(3), 200)
    for span in (1, 7, 100, 70_000, 2**31 - 1):
        words = np.asarray(jax.vmap(feature_stages.random_word)(keys), np.uint64)
        expected = (words * np.uint64(span)) >> np.uint64(32)
        got = np.asarray(jax.vmap(lambda k, s=span: random_index(k, s))(keys))
        np.testing.assert_array_equal(got, expected.astype(np.int64))
    # the word is jax.random.bits under the default flags
    np.testing.assert_array_equal(
        np.asarray(jax.vmap(feature_stages.random_word)(keys)),
        np.asarray(jax.vmap(lambda k: jax.random.bits(k, (), jnp.uint32))(keys)),
    )


def _draw_many(augmentation, grid, n, seed=0):
    keys = jax.random.split(jax.random.key(seed), n)
    return jax.vmap(lambda k: draw_values(augmentation, k, LENGTH, RATE, grid))(keys)


def _chi2_uniform(values, low, high):
    counts = np.bincount(np.asarray(values).ravel() - low, minlength=high - low + 1)
    assert counts.size == high - low + 1, (counts.size, low, high)
    return stats.chisquare(counts).pvalue


P_VALUES: dict[str, float] = {}


def test_mask_widths_starts_and_counts_are_uniform():
    grid = FeatureGrid(frames=300, features=40)
    aug = Augmentation(frequency_mask=FrequencyMask((1, 3), (0, 27)), time_mask=TimeMask(1, 10))
    v = _draw_many(aug, grid, 8000)
    counts, widths = np.asarray(v["frequency_mask_count"]), np.asarray(v["frequency_mask_widths"])
    P_VALUES["frequency count 1..3"] = _chi2_uniform(counts, 1, 3)
    P_VALUES["frequency width 0..27"] = _chi2_uniform(widths[:, 0], 0, 27)
    assert np.all(widths[np.arange(3)[None, :] >= counts[:, None]] == 0)  # masks past the count are off
    starts = np.asarray(v["frequency_mask_starts"])[:, 0]
    for w in (0, 13, 27):  # given the width, the start is uniform over [0, 40 - w]
        P_VALUES[f"frequency start | width {w}"] = _chi2_uniform(starts[widths[:, 0] == w], 0, 40 - w)
    P_VALUES["time start, width 10 of 300"] = _chi2_uniform(np.asarray(v["time_mask_starts"])[:, 0], 0, 290)
    assert all(p > 1e-3 for p in P_VALUES.values()), P_VALUES


def test_time_mask_widths_are_clipped_to_max_fraction():
    grid = FeatureGrid(frames=100, features=40)
    v = _draw_many(Augmentation(time_mask=TimeMask(2, (0, 100), max_fraction=0.2)), grid, 2000)
    widths, starts = np.asarray(v["time_mask_widths"]), np.asarray(v["time_mask_starts"])
    assert widths.max() == 20 and widths.min() == 0
    assert np.all(starts + widths <= 100)
    assert np.mean(widths == 20) > 0.75  # every draw above 20 is clipped to 20


def test_time_warp_centre_and_shift_are_uniform_and_vtlp_factors_too():
    grid = FeatureGrid(frames=60, features=40)
    v = _draw_many(Augmentation(time_warp=TimeWarp(8), vtlp=VTLP((0.9, 1.1))), grid, 8000, seed=1)
    P_VALUES["warp centre 8..51"] = _chi2_uniform(v["time_warp_centre"], 8, 51)
    P_VALUES["warp shift -8..8"] = _chi2_uniform(v["time_warp_shift"], -8, 8)
    factors = np.asarray(v["vtlp_factor"], np.float64)
    P_VALUES["VTLP factor (KS)"] = stats.kstest(factors, stats.uniform(0.9, 0.2).cdf).pvalue
    assert factors.min() >= 0.9 and factors.max() <= 1.1
    assert all(p > 1e-3 for p in P_VALUES.values()), P_VALUES
    print("p-values:", {k: round(p, 3) for k, p in P_VALUES.items()})


def test_warp_is_the_identity_when_the_example_is_too_short():
    v = _draw_many(Augmentation(time_warp=TimeWarp(10)), FeatureGrid(frames=20, features=4), 50)
    assert np.all(np.asarray(v["time_warp_shift"]) == 0)


def test_a_warp_by_zero_frames_is_exactly_the_identity():
    """t * c / c is not t in float32: a shift of 0 (every draw of a too-short example) moved
    frames by up to 3.8e-6 of a frame (centres 0 and 60 of 98 frames)."""
    for centre in range(98):
        index, fraction = feature_ops.warp_sources(98, centre, 0)
        np.testing.assert_array_equal(index, np.arange(98))
        np.testing.assert_array_equal(fraction, np.zeros(98, np.float32))
    base = presets.kaldi_fbank(num_mel_bins=40)
    warped = dataclasses.replace(base, augmentation=Augmentation(time_warp=TimeWarp(49)))  # 98 frames <= 2 * 49
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    for seed in range(4):
        out = jaxspec.spectrogram(warped, x, jax.random.key(seed))
        np.testing.assert_array_equal(np.asarray(out), np.asarray(jaxspec.spectrogram(base, x)))


def test_draws_of_a_padded_row_are_those_of_the_row_alone():
    key = jax.random.key(11)
    for valid in (37, 60, 99):
        alone = draw_values(FULL, key, LENGTH, RATE, FeatureGrid(valid, 40))
        padded = jax.jit(lambda k, v: traced_draw_values(FULL, k, LENGTH, RATE, FeatureGrid(120, 40, v)))(key, valid)
        for name, value in alone.items():
            np.testing.assert_array_equal(np.asarray(padded[name]), np.asarray(value), err_msg=name)


# ------------------------------------------------------------------ the key rule
def test_stage_ids_are_fixed():
    ids = {name: STAGE_BY_NAME[name].stage_id for name in ("frequency_mask", "time_mask", "time_warp", "vtlp")}
    assert ids == {"frequency_mask": 4, "time_mask": 5, "time_warp": 6, "vtlp": 7}
    assert len({s.stage_id for s in jaxspec.augmentation.STAGES} | {8}) == len(jaxspec.augmentation.STAGES) + 1


def test_adding_feature_stages_leaves_the_other_draws_alone(speech):
    waveform = Augmentation(volume=(0.5, 1.5), noise=0.01, time_shift=(-0.1, 0.1))
    both = dataclasses.replace(waveform, frequency_mask=FULL.frequency_mask, time_mask=FULL.time_mask, vtlp=FULL.vtlp)
    key = jax.random.key(5)
    before = jaxspec.draw(_with(LOG_MEL, waveform), key, LENGTH)
    after = jaxspec.draw(_with(LOG_MEL, both), key, LENGTH)
    for name, value in before.items():
        np.testing.assert_array_equal(np.asarray(after[name]), np.asarray(value))
    # and one mask more leaves the first mask's draws alone
    one = jaxspec.draw(_with(LOG_MEL, Augmentation(time_mask=TimeMask(1, (0, 20)))), key, LENGTH)
    two = jaxspec.draw(_with(LOG_MEL, Augmentation(time_mask=TimeMask(2, (0, 20)))), key, LENGTH)
    assert int(one["time_mask_starts"][0]) == int(two["time_mask_starts"][0])
    assert int(one["time_mask_widths"][0]) == int(two["time_mask_widths"][0])
    # the waveform the spectrogram sees is unchanged by feature stages
    np.testing.assert_array_equal(
        np.asarray(jaxspec.augment(_with(LOG_MEL, waveform), speech, key)),
        np.asarray(jaxspec.augment(_with(LOG_MEL, both), speech, key)),
    )


@pytest.mark.parametrize("preset", [presets.kaldi_fbank, presets.kaldi_mfcc])
@pytest.mark.parametrize("fill", [0.0, "mean"])
def test_kaldi_energy_is_warped_and_masked_with_its_frame(speech, preset, fill):
    """``use_energy=True``: the energy column (c0 for MFCC) moves with the frames. It kept
    the unwarped time axis beside warped bands, and masked frames kept their energy (an
    audit's finding). Reference: the clean output warped as a whole in float64 (DCT is
    linear per frame), masked rows set to 0, or with ``fill="mean"`` to each column group's
    mean (the features' mean for the bands, the energy's own for the energy column; an MFCC's
    masked bands hold the log-mel mean, whose DCT is 0 past c0, which the energy replaces)."""
    base = preset(use_energy=True, **({"num_mel_bins": 23} if preset is presets.kaldi_fbank else {}))
    aug = Augmentation(time_warp=TimeWarp(10), time_mask=TimeMask(2, (5, 20), fill=fill))
    config = _with(base, aug)
    x = speech * 32768
    clean = np.asarray(jaxspec.spectrogram(base, x), np.float64)
    for seed in range(3):
        key = jax.random.key(seed)
        v = jaxspec.draw(config, key, x.shape[0])
        c, w = int(v["time_warp_centre"]), int(v["time_warp_shift"])
        ref = warp_reference(clean, c, w)
        starts, widths = np.asarray(v["time_mask_starts"]), np.asarray(v["time_mask_widths"])
        rows = mask_reference(np.zeros((len(ref), 1)), starts, widths, 0, 1.0)[:, 0] == 1.0
        if fill == "mean" and preset is presets.kaldi_fbank:
            ref[rows, 0] = clean[:, 0].mean()
            ref[rows, 1:] = clean[:, 1:].mean()
        elif fill == 0.0:
            ref[rows] = 0.0
        elif fill == "mean":  # MFCC: the bands' constant mean has a DCT of zeros past c0, the energy's
            ref[rows, 0] = clean[:, 0].mean()
            ref[rows, 1:] = 0.0
        out = np.asarray(jaxspec.spectrogram(config, x, key))
        assert rows.any() and w != 0
        assert _relative(out, ref) < 1e-5, (seed, c, w)


def test_draw_reports_what_the_spectrogram_applies(speech):
    """A float64 reference from the clean features and the drawn values equals the output."""
    config = _with(presets.librosa_melspectrogram(sr=RATE, n_fft=512, hop_length=160, n_mels=40), None)
    config = dataclasses.replace(config, features=config.features + (Decibels(top_db=60.0),))
    aug = Augmentation(
        time_warp=TimeWarp(6), frequency_mask=FrequencyMask(2, (0, 10)), time_mask=TimeMask(2, (0, 15), fill="mean")
    )
    key = jax.random.key(21)
    values = jaxspec.draw(_with(config, aug), key, LENGTH)
    clean = np.asarray(jaxspec.spectrogram(config, speech), np.float64)  # top_db taken before the masks
    ref = warp_reference(clean, int(values["time_warp_centre"]), int(values["time_warp_shift"]))
    mean = clean.mean()
    ref = mask_reference(ref, values["frequency_mask_starts"], values["frequency_mask_widths"], 1, 0.0)
    ref = mask_reference(ref, values["time_mask_starts"], values["time_mask_widths"], 0, mean)
    out = np.asarray(jaxspec.spectrogram(_with(config, aug), speech, key))
    np.testing.assert_allclose(out, ref, atol=2e-3)  # dB values up to ~60
    assert int(np.asarray(values["frequency_mask_widths"]).sum()) > 0


def test_vtlp_output_matches_the_warped_filterbank_reference(speech):
    config = _with(LOG_MEL, Augmentation(vtlp=VTLP((0.8, 1.2), f_hi=4000.0)))
    key = jax.random.key(2)
    factor = float(jaxspec.draw(config, key, LENGTH)["vtlp_factor"])
    assert factor != 1.0
    power = _with(dataclasses.replace(LOG_MEL, features=()), None)
    spectrum = np.asarray(jaxspec.spectrogram(power, speech), np.float64)
    fb = warped_filterbank_reference(LOG_MEL.features[0], factor, 4000.0, RATE, LOG_MEL.fft_samples)
    ref = np.log(np.maximum(spectrum @ fb, np.finfo(np.float32).eps))
    out = np.asarray(jaxspec.spectrogram(config, speech, key))
    assert _relative(out, ref) < 1e-5


def test_masks_go_before_dct(speech):
    """kaldi_mfcc = DCT of the masked log mel energies."""
    aug = Augmentation(frequency_mask=FrequencyMask(1, (3, 8)), time_mask=TimeMask(1, (5, 20)))
    mfcc, fbank = presets.kaldi_mfcc(), presets.kaldi_fbank()
    key = jax.random.key(4)
    values = jaxspec.draw(_with(mfcc, aug), key, LENGTH)
    assert set(values) == set(jaxspec.draw(_with(fbank, aug), key, LENGTH))
    masked = np.asarray(jaxspec.spectrogram(_with(fbank, aug), speech, key), np.float64)
    dct = mfcc.features[2]
    ref = masked @ (_melscale.dct_matrix(23, 13, "ortho") * _melscale.lifter(13, dct.lifter, dct.lifter_kind)[None, :])
    out = np.asarray(jaxspec.spectrogram(_with(mfcc, aug), speech, key))
    np.testing.assert_allclose(out, ref, atol=1e-4 * np.abs(ref).max())


def test_eager_jit_vmap_and_rows_alone(assert_eager_jit_vmap_equal, speech):
    config = _with(LOG_MEL, dataclasses.replace(FULL, volume=(0.5, 1.5)))
    assert_eager_jit_vmap_equal(jaxspec.spectrogram, config, speech[:8000], jax.random.key(9))
    batch = np.stack([speech, speech[::-1].copy(), 0.5 * speech])
    key = jax.random.key(10)
    out = np.asarray(jaxspec.spectrogram(config, batch, key))
    for i, k in enumerate(jax.random.split(key, 3)):
        np.testing.assert_allclose(out[i], np.asarray(jaxspec.spectrogram(config, batch[i], k)), rtol=1e-5, atol=1e-5)
        drawn = jaxspec.draw(config, k, LENGTH)  # loop == vmap of draws, bit for bit
        for name, value in jax.vmap(lambda kk: jaxspec.draw(config, kk, LENGTH))(jax.random.split(key, 3)).items():
            np.testing.assert_array_equal(np.asarray(value[i]), np.asarray(drawn[name]))


def test_sharded_spectrogram_masks_equal_one_device():
    script = textwrap.dedent(
        """
        import jax, numpy as np, dataclasses
        import jaxspec
        assert len(jax.devices()) == 4
        aug = jaxspec.Augmentation(frequency_mask=jaxspec.FrequencyMask(2, (0, 10)),
                                   time_mask=jaxspec.TimeMask(2, (0, 20)), time_warp=jaxspec.TimeWarp(4),
                                   vtlp=jaxspec.VTLP((0.9, 1.1)))
        config = dataclasses.replace(jaxspec.presets.kaldi_fbank(), augmentation=aug)
        x = np.random.default_rng(0).standard_normal((8, 8000)).astype(np.float32)
        key = jax.random.key(3)
        out = jaxspec.sharded_spectrogram(config, jax.device_put(x, jaxspec.batch_sharding()), key)
        single = jaxspec.spectrogram(config, x, key)
        np.testing.assert_allclose(np.asarray(out), np.asarray(single), rtol=1e-5, atol=1e-5)
        assert np.array_equal(np.asarray(out) == 0, np.asarray(single) == 0)
        print("ok")
        """
    )
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


def test_a_warped_batch_compiles_as_fast_as_one_example():
    """3 rows with TimeWarp then a DCT compiled for over 15 minutes (XLA fused the warp's two
    Threefry draws into the gather, recomputing them per value, and LLVM stalled on that
    kernel); one example took 1 s. Run in a subprocess so that a stall fails, not hangs."""
    script = textwrap.dedent(
        """
        import numpy as np, jax, jaxspec
        from jaxspec import Augmentation, SpectrogramConfig, TimeWarp
        from jaxspec.features import DCT, Log, MelFilterbank
        config = SpectrogramConfig(
            sample_rate=8000, window_size=64, offset=64, features=(MelFilterbank(10, 0.0, 4000.0), Log(), DCT(8)),
            augmentation=Augmentation(time_warp=TimeWarp(5)),
        )
        x = np.random.default_rng(0).standard_normal((6, 1280)).astype(np.float32)
        out = jaxspec.spectrogram(config, x, jax.random.key(5))
        alone = jaxspec.spectrogram(config, x[4], jax.random.fold_in(jax.random.key(5), 4))
        np.testing.assert_allclose(np.asarray(out[4]), np.asarray(alone), rtol=1e-5, atol=1e-5)
        print("ok")
        """
    )
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


@pytest.mark.parametrize("mask", ["TimeMask(1, (0, 10))", "FrequencyMask(1, (0, 10))", "TimeMask((0, 10), (0, 10))"])
def test_masked_decibels_with_stacked_deltas_compile_quickly(mask):
    """Decibels + Deltas(stack=True) + a mask compiled for minutes (XLA fused the masks' Threefry
    draws into every element of the concatenated features; the CPU fusion emitter stalled on
    that kernel); 0.4 s with the drawn values computed apart. A subprocess: a stall fails."""
    script = textwrap.dedent(
        f"""
        import numpy as np, jax, jaxspec
        from jaxspec import Augmentation, FrequencyMask, SpectrogramConfig, TimeMask
        from jaxspec.features import Decibels, Deltas, MelFilterbank
        config = SpectrogramConfig(
            features=(MelFilterbank(40), Decibels(), Deltas(1, width=3, stack=True)),
            augmentation=Augmentation({"time_mask" if mask.startswith("Time") else "frequency_mask"}={mask}),
        )
        x = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
        assert jaxspec.spectrogram(config, x, jax.random.key(0)).shape == (121, 80)
        print("ok")
        """
    )
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


def test_the_mask_draws_trace_does_not_grow_with_the_count():
    """The draws of each mask were written out one after the other: FrequencyMask((0, 64),
    (0, 27)) with TimeMask((0, 64), (0, 10)) took 35 s to compile (0.65 s in a loop over the
    masks, the same draws). Measured by the program's size, not in seconds."""

    def program(count):
        config = SpectrogramConfig(augmentation=Augmentation(frequency_mask=FrequencyMask((0, count), (0, 27))))
        return len(jax.jit(lambda k: jaxspec.draw(config, k, 16000)).lower(jax.random.key(0)).as_text())

    assert program(64) < 1.2 * program(2)  # written out: 64 times the draws of one mask
    draws = jaxspec.draw(
        SpectrogramConfig(augmentation=Augmentation(frequency_mask=FrequencyMask((2, 5), 4))), jax.random.key(3), 16000
    )
    count, widths = int(draws["frequency_mask_count"]), np.asarray(draws["frequency_mask_widths"])
    assert widths.shape == (5,) and (widths[:count] == 4).all() and (widths[count:] == 0).all() and 2 <= count <= 5


# ------------------------------------------------------------------ identities, gradients, no key
@pytest.mark.parametrize(
    "augmentation",
    [
        Augmentation(time_warp=TimeWarp(0)),
        Augmentation(vtlp=VTLP(1.0)),
        Augmentation(frequency_mask=FrequencyMask(3, 0), time_mask=TimeMask(2, 0)),
        Augmentation(time_mask=TimeMask(0, 10)),
    ],
    ids=["warp0", "vtlp1", "width0", "count0"],
)
def test_identities_equal_the_clean_output(augmentation, speech):
    for config in (LOG_MEL, presets.whisper(80), SpectrogramConfig(fft_size=512, features=(MelFilterbank(40),))):
        x = speech if config.target_samples is None else speech[:4000]
        clean = np.asarray(jaxspec.spectrogram(config, x))
        out = np.asarray(jaxspec.spectrogram(_with(config, augmentation), x, jax.random.key(1)))
        assert np.max(np.abs(out - clean)) <= 1e-6 * max(1.0, np.abs(clean).max()), type(config.features[-1])


def test_no_key_no_augmentation(speech):
    config = _with(LOG_MEL, FULL)
    np.testing.assert_array_equal(
        np.asarray(jaxspec.spectrogram(config, speech)), np.asarray(jaxspec.spectrogram(LOG_MEL, speech))
    )


def test_gradients_are_finite(speech):
    config = _with(LOG_MEL, FULL)
    grad = jax.grad(lambda x: jnp.sum(jaxspec.spectrogram(config, x, jax.random.key(0)) ** 2))(
        jnp.asarray(speech[:8000])
    )
    assert np.all(np.isfinite(np.asarray(grad))) and float(jnp.abs(grad).max()) > 0


def test_masks_on_a_plain_spectrogram_and_after_top_db(speech):
    """No feature stages: masks on the bins; with Decibels, masked values are the fill, not max - top_db."""
    aug = Augmentation(frequency_mask=FrequencyMask(1, 20))
    out = np.asarray(jaxspec.spectrogram(SpectrogramConfig(augmentation=aug), speech, jax.random.key(0)))
    assert out.shape == (121, 201) and np.sum(np.all(out == 0, axis=0)) >= 20
    db = SpectrogramConfig(features=(MelFilterbank(40), Decibels(top_db=30.0)), augmentation=aug)
    out = np.asarray(jaxspec.spectrogram(db, speech, jax.random.key(0)))
    clean = np.asarray(jaxspec.spectrogram(_with(db, None), speech))
    masked = np.all(out == 0, axis=0)
    assert masked.sum() == 20 and clean.min() < -1  # 0 dB would be floored by top_db if masks came first
    np.testing.assert_array_equal(out[:, ~masked], clean[:, ~masked])


# ------------------------------------------------------------------ errors, JSON, flags, plot
@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: SpectrogramConfig(augmentation=Augmentation(vtlp=VTLP(1.1))), "MelFilterbank"),
        (lambda: SpectrogramConfig(power=None, augmentation=Augmentation(time_mask=(1, 3))), "power=None"),
        (lambda: FrequencyMask(65, 3), "count"),
        (lambda: FrequencyMask(1, (5, 2)), "lo=5 > hi=2"),
        (lambda: FrequencyMask(1, 2.5), "width"),
        (lambda: FrequencyMask(True, 2), "count"),
        (lambda: TimeMask(1, 3, fill="median"), "mean"),
        (lambda: TimeMask(1, 3, max_fraction=1.5), "max_fraction"),
        (lambda: TimeWarp(-1), "max_shift"),
        (lambda: VTLP(0.0), "VTLP alpha"),
        (lambda: VTLP((0.9, 1.1), f_hi=0), "f_hi"),
        (lambda: jaxspec.draw(FULL, jax.random.key(0), LENGTH), "SpectrogramConfig"),
    ],
)
def test_bad_settings_are_config_errors(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


def test_json_round_trip_and_shorthands(tmp_path):
    aug = Augmentation(frequency_mask=(1, (0, 27)), time_mask=(1, (0, 100)), time_warp=80, vtlp=(0.9, 1.1))
    assert aug.frequency_mask == FrequencyMask(1, (0, 27)) and aug.time_warp == TimeWarp(80)
    assert aug.vtlp == VTLP((0.9, 1.1))
    config = _with(LOG_MEL, dataclasses.replace(aug, time_mask=TimeMask((1, 2), (0, 100), 0.2, "mean")))
    d = config.to_dict()
    assert d["augmentation"]["frequency_mask"] == {"count": 1, "width": [0, 27], "fill": 0.0}
    assert d["augmentation"]["time_mask"] == {"count": [1, 2], "width": [0, 100], "max_fraction": 0.2, "fill": "mean"}
    assert SpectrogramConfig.from_dict(d) == config
    assert SpectrogramConfig.load(config.save(tmp_path / "c.json")) == config
    with pytest.raises(ConfigError, match="needs 'count'|count"):
        SpectrogramConfig.from_dict({**d, "augmentation": {"time_mask": {"count": {"uniform": [1, 2]}}}})


def test_cli_flags_through_the_table(tmp_path, capsys):
    from jaxspec.cli import main

    cfg = LOG_MEL.save(tmp_path / "fbank.json")
    argv = [
        "config",
        "--config",
        str(cfg),
        "--freq-mask",
        "2,0:27",
        "--time-mask",
        "1,0:100,max_fraction=0.2,fill=mean",
    ]
    assert main(argv + ["--time-warp", "5", "--vtlp", "0.9:1.1", "--vtlp-f-hi", "4000"]) == 0
    import json

    d = json.loads(capsys.readouterr().out)
    config = SpectrogramConfig.from_dict(d)
    assert config.augmentation.frequency_mask == FrequencyMask(2, (0, 27))
    assert config.augmentation.time_mask == TimeMask(1, (0, 100), 0.2, "mean")
    assert config.augmentation.time_warp == TimeWarp(5) and config.augmentation.vtlp == VTLP((0.9, 1.1), 4000.0)
    with pytest.raises(SystemExit) as exit:  # argparse's own error
        main(["config", "--freq-mask", "2"])
    assert exit.value.code == 2 and "COUNT,WIDTH" in capsys.readouterr().err


def test_plot_titles_show_the_masks(speech):
    pytest.importorskip("matplotlib", reason="plots need the [cli] extra (matplotlib)")
    from jaxspec.plot import figure, panels_for

    config = _with(LOG_MEL, FULL)
    panels = panels_for(config, jnp.asarray(speech), augment_count=2, seed=0)
    assert "freq masks [" in panels[1].title and "time masks [" in panels[1].title and "VTLP" in panels[1].title
    assert panels[1].spectrogram.shape == (98, 40)
    assert np.any(panels[1].spectrogram != panels[0].spectrogram)
    figure(panels, config)


# ------------------------------------------------------------------ ragged batches (lengths=)
@pytest.mark.parametrize("name", ["log_mel", "db_mfcc_deltas"])
def test_ragged_rows_equal_the_rows_alone(name, speech):
    """With ``lengths=``, row i's masks, warp and VTLP factor are those of ``x[i, :L_i]`` alone."""
    if name == "log_mel":
        config = _with(LOG_MEL, FULL)
    else:
        base = presets.librosa_mfcc(sr=RATE, n_mfcc=13, n_mels=40, n_fft=512, hop_length=160)
        config = dataclasses.replace(base, features=base.features + (jaxspec.Deltas(),), augmentation=FULL)
    lengths = [16000, 9000, 4000, 1200]
    x = np.zeros((len(lengths), 16000), np.float32)
    for i, n in enumerate(lengths):
        x[i, :n] = speech[:n] * (1.0 - 0.2 * i)
    key = jax.random.key(8)
    out = np.asarray(jaxspec.spectrogram(config, x, key, lengths=np.asarray(lengths)))
    for i, n in enumerate(lengths):
        k = jax.random.fold_in(key, i)
        alone = np.asarray(jaxspec.spectrogram(config, x[i, :n], k))
        frames = alone.shape[0]
        np.testing.assert_allclose(out[i, :frames], alone, rtol=1e-4, atol=1e-4 * np.abs(alone).max())
        np.testing.assert_array_equal(out[i, frames:], 0)
        drawn = jaxspec.draw(config, k, n)
        traced = jax.jit(lambda kk, length: jaxspec.draw(config, kk, length))(k, jnp.int32(n))
        for field, value in drawn.items():
            np.testing.assert_array_equal(np.asarray(traced[field]), np.asarray(value), err_msg=field)
        starts, widths = np.asarray(drawn["time_mask_starts"]), np.asarray(drawn["time_mask_widths"])
        assert np.all(starts + widths <= frames)


def test_cli_plot_draws_the_masks(tmp_path, capsys, speech):
    pytest.importorskip("matplotlib", reason="plots need the [cli] extra (matplotlib)")
    import soundfile

    from jaxspec.cli import main

    wav = tmp_path / "speech.wav"
    soundfile.write(wav, speech, RATE)
    cfg = LOG_MEL.save(tmp_path / "fbank.json")
    out = tmp_path / "masks.png"
    argv = ["plot", str(wav), "-o", str(out), "--config", str(cfg), "--freq-mask", "2,0:10", "--time-mask", "1,5:30"]
    assert main(argv + ["--vtlp", "0.9:1.1", "--augment", "2", "--dpi", "40"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("norm", [None, "slaney"])
def test_vtlp_on_a_band_narrower_than_float32_resolves_stays_finite(norm):
    # torchaudio's float32 edges coincide here (1000 to 1000.01 Hz, 64 mels): 0 / 0 in the
    # warped filterbank's slopes gave NaN outputs
    config = presets.torchaudio_melspectrogram(
        f_min=1000.0, f_max=1000.01, n_mels=64, norm=norm, augmentation=Augmentation(vtlp=VTLP((0.9, 1.1)))
    )
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for key in (None, jax.random.key(0)):
            assert np.isfinite(np.asarray(jaxspec.spectrogram(config, x, key))).all()


def test_a_frequency_mask_as_wide_as_the_mel_bands_warns_once(tmp_path):
    # SpecAugment's LB policy (0:27, for 80 bands) on Kaldi's 23 bands masked whole examples
    # (39 of 200 keys) without a word (found by a new-user audit)
    lb = jaxspec.Augmentation(frequency_mask=(1, (0, 27)))
    with pytest.warns(UserWarning, match="width up to 27 reaches all 23 mel bands") as made:
        config = jaxspec.presets.kaldi_fbank(augmentation=lb)
    assert len(made) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxspec.presets.kaldi_fbank(num_mel_bins=80, augmentation=lb)
        none = jaxspec.Augmentation(frequency_mask=jaxspec.FrequencyMask(0, (0, 27)))  # draws no mask
        jaxspec.presets.kaldi_fbank(augmentation=none)
        jaxspec.encode(config, jaxspec.example_path(), key=jax.random.key(0))  # derived configs: no warning again
