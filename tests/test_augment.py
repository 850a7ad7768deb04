"""Augmentation (SPEC section 4) against float64 NumPy references built from the drawn values.

Every test draws the random values with ``jaxspec.draw`` (the public view of what was drawn),
rebuilds the augmented waveform in NumPy from them, and compares it with ``jaxspec.augment``.
Distributions are checked with Kolmogorov-Smirnov tests over 2000 keys.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
import soundfile

import jaxspec
from jaxspec import Audio, Augmentation, Convolution, LogUniform, Noise, Normal, Scaled, TimeShift, Uniform, Volume
from jaxspec.augmentation import noise, ops

SR = 16_000
KS_KEYS = 2000
KS_SEED = 1234
KS_MIN_P = 0.01


# ------------------------------------------------------------------ helpers
def _signal(length: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(length).astype(np.float32)


def _config(sample_rate: int = SR, **augmentation) -> jaxspec.SpectrogramConfig:
    return jaxspec.SpectrogramConfig(sample_rate=sample_rate, augmentation=Augmentation(**augmentation))


def _draws(config: jaxspec.SpectrogramConfig, key: jax.Array, length: int) -> dict[str, np.ndarray]:
    values = jaxspec.draw(config, key, length)
    return {name: np.asarray(value) for name, value in values.items()}


def _augmented(config: jaxspec.SpectrogramConfig, x: np.ndarray, key: jax.Array) -> np.ndarray:
    return np.asarray(jaxspec.augment(config, x, key), np.float64)


def _many_draws(augmentation: Augmentation, name: str, length: int = 1000, sample_rate: int = SR) -> np.ndarray:
    """``name`` drawn with each of ``split(key(KS_SEED), KS_KEYS)``, as float64."""
    keys = jax.random.split(jax.random.key(KS_SEED), KS_KEYS)
    values = jax.vmap(lambda k: jaxspec.draw(augmentation, k, length, sample_rate=sample_rate)[name])(keys)
    return np.asarray(values, np.float64)


def _np_shift(x: np.ndarray, samples: int) -> np.ndarray:
    """Delay by ``samples`` (negative = earlier) with zeros entering: a roll with zero fill."""
    length = len(x)
    y = np.zeros(length)
    if samples >= 0:
        y[samples:] = x[: max(length - samples, 0)]
    else:
        y[: max(length + samples, 0)] = x[-samples:]
    return y


def _np_convolution(x: np.ndarray, h: np.ndarray, mix: float) -> np.ndarray:
    x, h = np.asarray(x, np.float64), np.asarray(h, np.float64)
    return (1.0 - mix) * x + mix * np.convolve(x, h)[: len(x)]


def _assert_close(actual: np.ndarray, reference: np.ndarray, rel: float = 1e-5) -> None:
    error = np.linalg.norm(actual - reference) / max(np.linalg.norm(reference), 1e-30)
    assert error < rel, f"relative error {error:.3g} >= {rel}"


def _stage_key(key: jax.Array, stage: int, param: int) -> jax.Array:
    # The documented key rule: fold_in(fold_in(key, stage id), parameter id).
    return jax.random.fold_in(jax.random.fold_in(key, stage), param)


# ------------------------------------------------------------------ volume
def test_volume_is_gain_times_input():
    x, key = _signal(1200), jax.random.key(3)
    config = _config(volume=(0.5, 1.5))
    gain = float(_draws(config, key, len(x))["volume_gain"])
    assert 0.5 <= gain <= 1.5
    _assert_close(_augmented(config, x, key), gain * x.astype(np.float64), rel=1e-6)


def test_fixed_volume_draws_exactly_that_gain():
    x = _signal(500)
    config = _config(volume=0.25)
    for seed in range(3):
        assert _draws(config, jax.random.key(seed), len(x))["volume_gain"] == np.float32(0.25)
    np.testing.assert_array_equal(_augmented(config, x, jax.random.key(0)), 0.25 * x.astype(np.float64))


# ------------------------------------------------------------------ time shift
@pytest.mark.parametrize("t", [(0.005, 0.02), (-0.02, -0.005)])
def test_time_shift_in_seconds_is_roll_with_zero_fill(t):
    x, key = _signal(1000), jax.random.key(7)
    config = _config(time_shift=t)
    samples = int(_draws(config, key, len(x))["time_shift_samples"])
    lo, hi = t
    assert math.floor(lo * SR + 0.5) <= samples <= math.floor(hi * SR + 0.5)
    assert samples != 0 and np.sign(samples) == np.sign(lo)
    np.testing.assert_array_equal(_augmented(config, x, key), _np_shift(x.astype(np.float64), samples))


@pytest.mark.parametrize("s", [(0.1, 0.3), (-0.3, -0.1)])
def test_time_shift_scaled_is_a_fraction_of_the_input(s):
    x, key = _signal(1002), jax.random.key(11)
    config = _config(time_shift=TimeShift(Scaled(s)))
    samples = int(_draws(config, key, len(x))["time_shift_samples"])
    lo, hi = s
    # t = s * L / sr, samples = floor(t * sr + 0.5) = floor(s * L + 0.5)
    assert math.floor(lo * len(x) + 0.5) <= samples <= math.floor(hi * len(x) + 0.5)
    np.testing.assert_array_equal(_augmented(config, x, key), _np_shift(x.astype(np.float64), samples))


@pytest.mark.parametrize(
    "sample_rate, t, length, expected",
    [
        # ties at exactly representable values: floor(v + 0.5) rounds +2.5 up and -2.5 towards zero
        (8192, 2.5 / 8192, 100, 3),
        (8192, -2.5 / 8192, 100, -2),
        (8192, Scaled(0.25), 1002, 251),  # 250.5 -> 251
        (8192, Scaled(-0.25), 1002, -250),  # -250.5 -> -250
        (16_000, 0.0123, 1000, 197),  # 196.8 -> 197
        # a fixed t at a half sample in float64 but not in float32 (0.00784375 * 16000 = 125.5): exact
        (16_000, 0.00784375, 1000, 126),
        (16_000, -0.00784375, 1000, -125),
        (16_000, "7.84375ms", 1000, 126),
        (16_000, Scaled(2.0), 1000, 1000),  # more than the input: everything shifted out
        (16_000, Scaled(-2.0), 1000, -1000),
    ],
)
def test_time_shift_samples_follow_the_rounding_rule(sample_rate, t, length, expected):
    config = _config(sample_rate=sample_rate, time_shift=TimeShift(t))
    assert int(_draws(config, jax.random.key(0), length)["time_shift_samples"]) == expected


@pytest.mark.parametrize("s", [2.0, -2.0])
def test_time_shift_longer_than_the_input_gives_zeros(s):
    config = _config(time_shift=Scaled(s))
    np.testing.assert_array_equal(_augmented(config, _signal(500), jax.random.key(0)), np.zeros(500))


def test_random_time_shift_matches_the_drawn_seconds():
    # With the documented key rule the drawn t is known, so the seconds -> samples rule is checked per key.
    length, t = 1000, Uniform(-0.03, 0.03)
    config = _config(time_shift=TimeShift(t))
    for seed in range(40):
        key = jax.random.key(seed)
        seconds = float(t.sample(_stage_key(key, 2, 0)))
        expected = math.floor(np.float32(seconds) * np.float32(SR) + 0.5)
        assert abs(int(_draws(config, key, length)["time_shift_samples"]) - expected) <= 0, (seed, seconds)


# ------------------------------------------------------------------ convolution
@pytest.mark.parametrize("ir_length, mix", [(37, 0.4), (37, (0.3, 0.9)), (1500, (0.3, 0.9)), (600, 1.0)])
def test_convolution_matches_numpy_convolve(ir_length, mix):
    length = 600
    x, h, key = _signal(length, 1), _signal(ir_length, 2) * np.exp(-np.arange(ir_length) / 50.0), jax.random.key(5)
    config = _config(convolution=Convolution(h.astype(np.float32), mix=mix))
    drawn = float(_draws(config, key, length)["convolution_mix"])
    if isinstance(mix, tuple):
        assert mix[0] <= drawn <= mix[1]
    else:
        assert drawn == np.float32(mix)
    _assert_close(_augmented(config, x, key), _np_convolution(x, h.astype(np.float32), drawn))


def test_unit_impulse_response_is_the_identity():
    x = _signal(777)
    for h in (np.ones(1, np.float32), np.r_[1.0, np.zeros(2000)].astype(np.float32)):
        config = _config(convolution=Convolution(h, mix=(0.0, 1.0)))
        np.testing.assert_allclose(_augmented(config, x, jax.random.key(1)), x, rtol=0, atol=1e-6)


def test_mix_zero_leaves_the_input_unchanged():
    x = _signal(500)
    config = _config(convolution=Convolution(_signal(50, 9), mix=0.0))
    np.testing.assert_array_equal(_augmented(config, x, jax.random.key(2)), x)


def test_long_convolution_matches_direct_convolution():
    # A 1 s impulse response on a 10 s input (FFT-based; speed is measured in benchmarks/, not here).
    x, h = _signal(10 * SR), _signal(SR, 4) * np.exp(-np.arange(SR) / 2000.0).astype(np.float32)
    config = _config(convolution=Convolution(h))
    y = jax.jit(jaxspec.augment)(config, x, jax.random.key(1))
    assert y.shape == x.shape
    head = 3000  # the reference on a prefix: (x * h)[:n] only depends on x[:n]
    _assert_close(np.asarray(y[:head], np.float64), _np_convolution(x[:head], h, 1.0))


@pytest.mark.parametrize("length", [5 * 16384, 100_003])
def test_convolution_in_overlap_save_blocks_matches_float64_fft(length):
    # Rows much longer than the response go through overlap-save blocks (ops.convolve):
    # every block boundary, and the end, against one float64 FFT of the whole signal.
    x, h = _signal(length, 6), _signal(4800, 7) * np.exp(-np.arange(4800) / 800.0).astype(np.float32)
    n = 1 << (length + h.size).bit_length()
    ref = np.fft.irfft(np.fft.rfft(x.astype(np.float64), n) * np.fft.rfft(h.astype(np.float64), n), n)[:length]
    batch = np.stack([x, x[::-1]])
    y = np.asarray(jax.jit(jax.vmap(ops.convolve, (0, None)))(batch, h))
    assert y.shape == batch.shape
    np.testing.assert_allclose(y[0], ref, rtol=0, atol=2e-5 * np.abs(ref).max())
    np.testing.assert_allclose(
        np.asarray(ops.convolve(jnp.asarray(x), jnp.asarray(h))), y[0], rtol=0, atol=1e-6 * np.abs(ref).max()
    )


# ------------------------------------------------------------------ noise
def test_noise_recording_segment_when_longer_than_input():
    length, recording = 1000, _signal(3000, 3)
    x = _signal(length)
    config = _config(noise=Noise(0.5, recording))
    for seed in range(5):
        key = jax.random.key(seed)
        v = _draws(config, key, length)
        start = int(v["noise_start"])
        assert 0 <= start <= len(recording) - length and v["noise_amplitude"] == np.float32(0.5)
        added = _augmented(config, x, key) - x
        np.testing.assert_allclose(added, 0.5 * recording[start : start + length], rtol=0, atol=1e-6)


def test_noise_recording_wraps_when_shorter_than_input():
    length, recording = 1000, _signal(300, 3)
    x = _signal(length)
    config = _config(noise=Noise((0.2, 0.8), recording))
    for seed in range(5):
        key = jax.random.key(seed)
        v = _draws(config, key, length)
        start, amplitude = int(v["noise_start"]), float(v["noise_amplitude"])
        assert 0 <= start < len(recording) and 0.2 <= amplitude <= 0.8
        segment = recording[(start + np.arange(length)) % len(recording)]
        np.testing.assert_allclose(_augmented(config, x, key) - x, amplitude * segment, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "recording_length, length, starts", [(1003, 1000, range(4)), (7, 50, range(7)), (1000, 1000, [0])]
)
def test_noise_start_covers_exactly_its_range(recording_length, length, starts):
    config = _config(noise=Noise(1.0, _signal(recording_length)))
    drawn = _many_draws(config.augmentation, "noise_start", length=length)
    assert set(drawn.astype(int)) == set(starts)


def test_noise_signal_alone_defaults_to_amplitude_one():
    length, recording = 400, _signal(900, 8)
    config = _config(noise=recording)  # shorthand: a signal
    key = jax.random.key(4)
    v = _draws(config, key, length)
    assert v["noise_amplitude"] == 1.0
    start = int(v["noise_start"])
    x = _signal(length)
    np.testing.assert_allclose(_augmented(config, x, key) - x, recording[start : start + length], rtol=0, atol=1e-6)


def test_white_noise_has_the_drawn_standard_deviation():
    length = 20_000
    config = _config(noise=0.05)
    for seed in range(3):
        added = _augmented(config, np.zeros(length, np.float32), jax.random.key(seed))
        assert abs(added.std() / 0.05 - 1) < 0.03  # the sample std has a relative spread of 1/sqrt(2n) = 0.5%
        assert abs(added.mean()) < 4 * 0.05 / math.sqrt(length)
        assert scipy.stats.kstest(added / 0.05, "norm").pvalue > KS_MIN_P


def test_white_noise_with_a_random_amplitude():
    length = 20_000
    config = _config(noise=LogUniform(0.01, 0.1))
    stds = []
    for seed in range(4):
        key = jax.random.key(seed)
        amplitude = float(_draws(config, key, length)["noise_amplitude"])
        added = _augmented(config, np.zeros(length, np.float32), key)
        assert 0.01 <= amplitude <= 0.1
        assert abs(added.std() / amplitude - 1) < 0.03
        stds.append(added.std())
    assert len(set(np.round(stds, 6))) == 4  # a fresh amplitude per key


def test_white_noise_differs_per_key_and_repeats_per_key():
    config, x = _config(noise=0.1), np.zeros(256, np.float32)
    a, b = _augmented(config, x, jax.random.key(0)), _augmented(config, x, jax.random.key(1))
    assert np.abs(a - b).max() > 0.01
    np.testing.assert_array_equal(a, _augmented(config, x, jax.random.key(0)))


# ------------------------------------------------------------------ the documented key rule
def test_draws_follow_the_documented_key_rule():
    # convolution 0, noise 1, time shift 2, volume 3; params: mix 0; amplitude 0, start 1, white 2; shift 0; gain 0
    mix, amplitude, gain, s = Uniform(0.2, 0.8), Normal(0.1, 0.01), LogUniform(0.5, 2.0), Uniform(-0.1, 0.1)
    config = _config(
        convolution=Convolution(_signal(20), mix=mix), noise=Noise(amplitude), time_shift=Scaled(s), volume=Volume(gain)
    )
    key, length = jax.random.key(42), 1000
    v = _draws(config, key, length)
    # same keys, so the same values up to float32 rounding (eager and compiled arithmetic may differ by an ulp)
    same = dict(rtol=1e-6, atol=0)
    np.testing.assert_allclose(v["convolution_mix"], mix.sample(_stage_key(key, 0, 0)), **same)
    np.testing.assert_allclose(v["noise_amplitude"], amplitude.sample(_stage_key(key, 1, 0)), **same)
    shift_samples = math.floor(np.float32(s.sample(_stage_key(key, 2, 0))) * np.float32(length) + 0.5)
    assert v["time_shift_samples"] == shift_samples
    np.testing.assert_allclose(v["volume_gain"], gain.sample(_stage_key(key, 3, 0)), **same)
    # white noise: sqrt(2) erfinv(u), u in (-1, 1) from the Threefry-2x32 hash of 0..L-1 under
    # fold_in(fold_in(key, 1), 2), times the amplitude
    white, u = _reference_white_noise(_stage_key(key, 1, 2), length)
    only_noise = _config(noise=Noise(amplitude))
    added = _augmented(only_noise, np.zeros(length, np.float32), key)
    # In the tails erfinv magnifies the float32 rounding of u (one ulp of u near 1 moves the
    # sample by ~1e-4 relative): compare values away from them, and u itself everywhere.
    central = np.abs(u) < 0.999
    np.testing.assert_allclose(added[central], float(v["noise_amplitude"]) * white[central], rtol=1e-5, atol=1e-8)
    u_actual = scipy.special.erf(added / float(np.float32(v["noise_amplitude"])) / np.sqrt(2.0))
    np.testing.assert_allclose(u_actual, u, rtol=0, atol=3e-7)
    # the documented rule is jax.random.normal's, with jax's original (non-partitionable) bits
    if hasattr(jax, "threefry_partitionable"):
        with jax.threefry_partitionable(False):
            normal = np.asarray(jax.random.normal(_stage_key(key, 1, 2), (length,)), np.float64)
        np.testing.assert_allclose(white[central], normal[central], rtol=1e-5, atol=1e-6)


def _partitionable(flag: bool):
    """``jax.threefry_partitionable(flag)``; skips where this jax has no such flag (nothing to depend on)."""
    if not hasattr(jax, "threefry_partitionable"):
        pytest.skip("this jax has no jax_threefry_partitionable flag")
    return jax.threefry_partitionable(flag)


def test_white_noise_does_not_depend_on_the_threefry_partitionable_flag():
    config, x, key = _config(noise=0.1), np.zeros(1001, np.float32), jax.random.key(7)
    added = {}
    for flag in (False, True):
        with _partitionable(flag):
            added[flag] = np.asarray(jax.jit(jaxspec.augment)(config, x, key))
    np.testing.assert_array_equal(added[False], added[True])
    assert added[True].std() > 0.05


def test_white_noise_with_an_rbg_key():
    config, length = _config(noise=0.1), 4000
    added = _augmented(config, np.zeros(length, np.float32), jax.random.key(3, impl="rbg"))
    assert abs(added.std() / 0.1 - 1) < 0.1
    assert scipy.stats.kstest(added / 0.1, "norm").pvalue > KS_MIN_P


def test_rbg_keys_in_ragged_batches_draw_what_each_row_draws_alone():
    # An rbg key's noise hashes its first word pair hashed with its second (noise.noise_words), so
    # a padded row of a ragged batch (traced length) draws exactly what the row alone does.
    config = jaxspec.SpectrogramConfig(
        augmentation=Augmentation(volume=(0.5, 1.5), noise=0.05, time_shift=(-0.01, 0.01))
    )
    key = jax.random.key(11, impl="rbg")
    clips = [_signal(n, seed) for seed, n in enumerate((3000, 9000, 4001))]
    batch = jaxspec.encode_batch(config, clips, sample_rate=SR, key=key)
    for i, clip in enumerate(clips):
        alone = np.asarray(jaxspec.spectrogram(config, clip, jax.random.fold_in(key, i)))
        np.testing.assert_allclose(np.asarray(batch[i]), alone, rtol=1e-5, atol=1e-6 * np.abs(alone).max())
    data = np.asarray(jax.random.key_data(key))
    words = np.asarray(noise.noise_words(key))
    np.testing.assert_array_equal(words, _threefry_2x32(data[:2], data[2:]))
    # rbg keys hold a Threefry key twice: the words (and so the noise) differ from key to key
    assert len({tuple(np.asarray(noise.noise_words(jax.random.key(s, impl="rbg")))) for s in range(20)}) == 20


def test_rbg_key_batches_and_vmap_draw_what_each_row_draws_alone():
    # Scalar draws (gain, shift, mix) hash the key's words like the white noise does: with
    # jax.random.bits an rbg key drew other values under vmap than alone (rows differed by 3x).
    config = _config(volume=(0.5, 1.5), time_shift=(-0.05, 0.05), convolution=Convolution(_signal(64), mix=(0.2, 0.9)))
    key = jax.random.key(3, impl="rbg")
    x = np.stack([_signal(5000, seed) for seed in range(3)])
    batch = np.asarray(jaxspec.spectrogram(config, x, key))
    keys = [jax.random.fold_in(key, i) for i in range(3)]
    mapped = jax.vmap(lambda k: jaxspec.draw(config, k, 5000))(
        jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(3))
    )
    for i, k in enumerate(keys):
        # the draws are exact; the output within SPEC 4's float32 rounding (jax 0.12's XLA rounds
        # a batch's convolution and a row's alone apart, ~1e-6; a wrong gain or shift is 1e-2 off)
        alone = np.asarray(jaxspec.spectrogram(config, x[i], k))
        np.testing.assert_allclose(batch[i], alone, rtol=1e-5, atol=1e-6 * np.abs(alone).max())
        for name, value in jaxspec.draw(config, k, 5000).items():
            assert np.asarray(mapped[name])[i] == np.asarray(value), name
    gains = [float(jaxspec.draw(config, jax.random.key(s, impl="rbg"), 100)["volume_gain"]) for s in range(200)]
    assert 0.5 <= min(gains) < 0.6 and 1.4 < max(gains) <= 1.5  # still spread over the range


@pytest.mark.parametrize("features", [False, True])
def test_draw_for_new_lengths_compiles_nothing_and_equals_the_traced_draw(features):
    """With feature stages (masks, warp, VTLP) an eager draw compiled per new length, 0.3 s each
    (an audit): their frame count is data too now."""
    recording = _signal(20000)
    config = _config(volume=(0.5, 1.5), noise=Noise((0.0, 0.1), recording), time_shift=Scaled((-0.3, 0.3)))
    if features:
        stages = dict(time_mask=jaxspec.TimeMask(2, (0, 10)), frequency_mask=jaxspec.FrequencyMask(1, (0, 5)))
        stages |= dict(time_warp=jaxspec.TimeWarp(3), vtlp=jaxspec.VTLP((0.9, 1.1)), volume=(0.5, 1.5))
        config = jaxspec.presets.kaldi_fbank(augmentation=Augmentation(**stages))
    jaxspec.draw(config, jax.random.key(0), 1000)
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, duration, **kw: compiles.append(event) if "backend_compile" in event else None
    )
    traced = jax.jit(lambda k, n: jaxspec.draw(config, k, n))
    for length in (3000, 3001, 19999, 20000, 20001):  # a recording longer, as long, shorter
        key = jax.random.key(length)
        before = len(compiles)
        values = jaxspec.draw(config, key, length)
        assert len(compiles) == before  # was one program per new length (logging a corpus compiled per clip)
        for name, value in traced(key, jnp.int32(length)).items():
            np.testing.assert_array_equal(np.asarray(values[name]), np.asarray(value), err_msg=name)


@pytest.mark.parametrize("length", [2**31, -1, True, 40.0])
def test_draw_refuses_a_length_that_is_not_a_sample_count(length):
    with pytest.raises(jaxspec.InputError, match="length="):
        jaxspec.draw(_config(volume=(0.5, 1.5)), jax.random.key(0), length)


def test_dither_is_white_noise_whatever_the_threefry_partitionable_flag():
    config, key = jaxspec.presets.kaldi_fbank(dither=1.0), jax.random.key(4)
    frames = jaxspec.SpectrogramConfig(
        window_size=400, offset=160, window_function=None, framing=jaxspec.Kaldi(), preprocess=(jaxspec.Dither(1.0),)
    )
    out = {}
    for flag in (False, True):
        with _partitionable(flag):
            out[flag] = np.asarray(jaxspec.spectrogram(config, np.zeros(4000, np.float32), key))
    np.testing.assert_array_equal(out[False], out[True])
    # frame i's dither is white noise (the documented rule) drawn with fold_in(fold_in(key, 8), i):
    # with no window, power 2, the frame's DFT at bin 0 is the sum of its dither samples
    spec = np.asarray(jaxspec.spectrogram(frames, np.zeros(4000, np.float32), key))
    for i in (0, 5):
        white, _ = _reference_white_noise(jax.random.fold_in(jax.random.fold_in(key, 8), i), 400)
        np.testing.assert_allclose(spec[i, 0], white.sum() ** 2, rtol=1e-4)


def _threefry_2x32(key: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Threefry-2x32, 20 rounds (Salmon et al. 2011), in NumPy: the words hashed from ``count``.

    As jax lays it out: the counts (zero-padded to even length) are split into halves
    ``x0, x1``; the output is ``concat(hash0, hash1)`` cut to ``len(count)``.
    """
    n = count.shape[0]
    c = np.concatenate([count, np.zeros(n % 2, np.uint32)]).astype(np.uint64)
    x = [c[: len(c) // 2].copy(), c[len(c) // 2 :].copy()]
    mask = np.uint64(0xFFFFFFFF)
    ks = [np.uint64(key[0]), np.uint64(key[1])]
    ks.append(ks[0] ^ ks[1] ^ np.uint64(0x1BD11BDA))
    rotations = [(13, 15, 26, 6), (17, 29, 16, 24)]

    def rotl(v, r):
        return ((v << np.uint64(r)) | (v >> np.uint64(32 - r))) & mask

    x = [(x[0] + ks[0]) & mask, (x[1] + ks[1]) & mask]
    for block in range(5):
        for r in rotations[block % 2]:
            x[0] = (x[0] + x[1]) & mask
            x[1] = rotl(x[1], r) ^ x[0]
        x[0] = (x[0] + ks[(block + 1) % 3]) & mask
        x[1] = (x[1] + ks[(block + 2) % 3] + np.uint64(block + 1)) & mask
    return np.concatenate(x)[:n].astype(np.uint32)


@pytest.mark.parametrize("length", [1, 2, 7, 1000])
def test_threefry_matches_the_numpy_reference_and_jax(length):
    from jaxspec.augmentation import threefry_2x32 as jaxspec_threefry

    key, count = np.array([123, 4567], np.uint32), np.arange(length, dtype=np.uint32)
    ours = np.asarray(jax.jit(jaxspec_threefry)(key, count))
    np.testing.assert_array_equal(ours, _threefry_2x32(key, count))
    extend = pytest.importorskip("jax.extend.random", reason="this jax has no public threefry_2x32 to compare with")
    np.testing.assert_array_equal(ours, np.asarray(extend.threefry_2x32(key, count)))


def _reference_white_noise(key: jax.Array, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The documented white-noise rule in float64 NumPy / SciPy from the key's raw bits: ``(samples, u)``."""
    bits = _threefry_2x32(np.asarray(jax.random.key_data(key)), np.arange(length, dtype=np.uint32)).astype(np.uint64)
    f = ((bits >> 9) | 0x3F800000).astype(np.uint32).view(np.float32).astype(np.float64) - 1.0
    low = float(np.nextafter(np.float32(-1.0), np.float32(0.0)))
    u = np.maximum(low, f * (1.0 - low) + low)
    return np.sqrt(2.0) * scipy.special.erfinv(u), u


# ------------------------------------------------------------------ the pipeline
def _full_config(recording: np.ndarray, h: np.ndarray) -> jaxspec.SpectrogramConfig:
    return _config(
        convolution=Convolution(h, mix=(0.3, 0.9)),
        noise=Noise((0.05, 0.2), recording),
        time_shift=(-0.01, 0.01),
        volume=(0.5, 1.5),
    )


def test_pipeline_order_is_convolution_noise_shift_volume():
    length = 1600
    x, recording, h = _signal(length, 1), _signal(4000, 2), _signal(40, 3) * 0.3
    config = _full_config(recording, h)
    for seed in range(4):
        key = jax.random.key(seed)
        v = _draws(config, key, length)
        mix, amplitude, start = float(v["convolution_mix"]), float(v["noise_amplitude"]), int(v["noise_start"])
        samples, gain = int(v["time_shift_samples"]), float(v["volume_gain"])
        noise = amplitude * recording[start : start + length].astype(np.float64)
        reference = gain * _np_shift(_np_convolution(x, h, mix) + noise, samples)
        actual = _augmented(config, x, key)
        _assert_close(actual, reference)
        # the test tells orders apart: noise after the shift, or convolution after the noise, differ
        noise_after_shift = gain * (_np_shift(_np_convolution(x, h, mix), samples) + noise)
        convolution_after_noise = gain * _np_shift(_np_convolution(x + noise, h, mix), samples)
        for wrong in (noise_after_shift, convolution_after_noise):
            assert np.linalg.norm(actual - wrong) / np.linalg.norm(wrong) > 1e-2


def test_pipeline_applies_to_each_row_of_a_batch():
    length, batch = 800, 3
    x, recording, h = np.stack([_signal(length, i) for i in range(batch)]), _signal(2000, 9), _signal(30, 8) * 0.3
    config, key = _full_config(recording, h), jax.random.key(17)
    actual = _augmented(config, x, key)
    for i, k in enumerate(jax.random.split(key, batch)):
        v = _draws(config, k, length)
        start = int(v["noise_start"])
        noise = float(v["noise_amplitude"]) * recording[start : start + length].astype(np.float64)
        convolved = _np_convolution(x[i], h, float(v["convolution_mix"]))
        reference = float(v["volume_gain"]) * _np_shift(convolved + noise, int(v["time_shift_samples"]))
        _assert_close(actual[i], reference)


# ------------------------------------------------------------------ spectrogram consistency, key=None
@pytest.mark.parametrize("normalization, batch", [(None, False), (("rms", 0.1), True)])
def test_spectrogram_with_key_is_spectrogram_of_augment(normalization, batch):
    length = 1600
    x, recording, h = _signal(length, 1), _signal(4000, 2), _signal(40, 3) * 0.3
    signal, key = (np.stack([x, x[::-1].copy()]), jax.random.PRNGKey(5)) if batch else (x, jax.random.key(0))
    config = dataclasses.replace(_full_config(recording, h), normalization=normalization)
    plain = dataclasses.replace(config, augmentation=None, normalization=None)
    expected = np.asarray(jaxspec.spectrogram(plain, jaxspec.augment(config, signal, key)), np.float64)
    _assert_close(np.asarray(jaxspec.spectrogram(config, signal, key), np.float64), expected)


def test_no_key_means_no_augmentation():
    length = 1600
    x = _signal(length, 1)
    config = _full_config(_signal(4000, 2), _signal(40, 3))
    plain = dataclasses.replace(config, augmentation=None)
    np.testing.assert_array_equal(np.asarray(jaxspec.augment(config, x)), x)
    np.testing.assert_array_equal(np.asarray(jaxspec.augment(config, x, None)), x)
    np.testing.assert_array_equal(np.asarray(jaxspec.spectrogram(config, x)), np.asarray(jaxspec.spectrogram(plain, x)))
    assert not np.allclose(jaxspec.spectrogram(config, x, jax.random.key(0)), jaxspec.spectrogram(plain, x))


def test_zero_length_input_is_left_alone():
    config = _full_config(_signal(100), _signal(10))
    assert jaxspec.augment(config, np.zeros(0, np.float32), jax.random.key(0)).shape == (0,)


# ------------------------------------------------------------------ recordings: array, Audio, path
def _sine(rate: int, seconds: float, frequency: float = 440.0, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.sin(2 * np.pi * frequency * t + phase)


@pytest.mark.parametrize("rate", [8000, 22050, 44100])
def test_recording_given_as_audio_is_resampled_when_the_config_is_built(rate):
    samples = _sine(rate, 0.25).astype(np.float32)
    config = _config(noise=Noise(0.5, Audio(samples, rate)), convolution=Convolution(Audio(samples[:50], rate)))
    noise = np.asarray(config.augmentation.noise.signal)
    assert noise.dtype == np.float32
    assert noise.shape == (math.ceil(len(samples) * SR / rate),)
    assert config.augmentation.convolution.signal.shape == (math.ceil(50 * SR / rate),)
    # band-limited: the sine evaluated at the new sample times, away from the edges
    inner = slice(800, len(noise) - 800)
    np.testing.assert_allclose(noise[inner], _sine(SR, len(noise) / SR)[: len(noise)][inner], atol=1e-3)


def test_recording_at_the_config_rate_is_used_as_is():
    samples = _signal(700)
    for recording in (samples, Audio(samples, SR), jnp.asarray(samples), samples.tolist()):
        config = _config(noise=Noise(1.0, recording))
        np.testing.assert_array_equal(np.asarray(config.augmentation.noise.signal), samples)


def test_stereo_recording_is_averaged_to_mono():
    left, right = _signal(500, 1), _signal(500, 2)
    config = _config(noise=Noise(1.0, Audio(np.stack([left, right], axis=1), SR)))
    np.testing.assert_allclose(np.asarray(config.augmentation.noise.signal), (left + right) / 2, atol=1e-7)


def test_signal_rate_is_the_third_positional_argument():
    # README: Noise(amplitude, signal=None, signal_rate=None), Convolution(signal, mix=1.0, signal_rate=None);
    # the config's own source field sat third and silently swallowed a positional rate
    h = _signal(400, 1)
    assert Convolution(h, 0.5, 8000).signal_rate == 8000
    assert Noise(0.1, h, 8000).signal_rate == 8000
    assert Convolution(h, 0.5, 8000) == Convolution(h, 0.5, signal_rate=8000)


def test_a_recording_follows_the_config_to_another_rate(tmp_path):
    # dataclasses.replace(config, sample_rate=8000) kept the 16 kHz samples (noise at half speed)
    rate = 8000
    samples = (0.5 * _sine(SR, 0.2, 300.0)).astype(np.float32)
    path = tmp_path / "noise.wav"
    soundfile.write(path, samples, SR, subtype="FLOAT")
    at16 = _config(noise=Noise(0.3, path), convolution=Convolution(samples[:400]))
    at8 = dataclasses.replace(at16, sample_rate=rate)
    fresh = _config(rate, noise=Noise(0.3, path))
    # the file is read again at 8 kHz: the fresh config's samples, and a save / load round trip is equal
    np.testing.assert_array_equal(np.asarray(at8.augmentation.noise.signal), fresh.augmentation.noise.signal)
    assert at8.augmentation.noise.signal_rate is None  # loaded: the config's rate
    assert jaxspec.SpectrogramConfig.from_dict(at8.to_dict()) == at8  # the response inline, the noise by path
    # an array is resampled from the rate it was held at (the config's: 16 kHz)
    expected = np.asarray(jaxspec.resample(samples[:400], SR, rate))
    np.testing.assert_array_equal(np.asarray(at8.augmentation.convolution.signal), expected)
    reused = jaxspec.SpectrogramConfig(sample_rate=rate, augmentation=at16.augmentation)
    assert reused.augmentation.convolution == at8.augmentation.convolution
    # an array at its own rate, and a rate that does not belong to a path
    given = _config(convolution=Convolution(samples[:400], signal_rate=rate))
    np.testing.assert_array_equal(
        np.asarray(given.augmentation.convolution.signal), np.asarray(jaxspec.resample(samples[:400], rate, SR))
    )
    with pytest.raises(jaxspec.ConfigError, match="signal_rate=8000 is for an array signal"):
        Noise(0.3, path, signal_rate=rate)
    # a recording put in a loaded setting is the user's: a path loads, an array is at the config's rate
    loaded = at16.augmentation.noise
    other = tmp_path / "other.wav"
    soundfile.write(other, np.full(800, 0.25, np.float32), rate, subtype="FLOAT")
    swapped = _config(noise=dataclasses.replace(loaded, signal=other, source=None))
    assert swapped.augmentation.noise.signal.shape == (1600,)  # 800 at 8 kHz, resampled
    new = np.full(2000, 0.25, np.float32)
    replaced = _config(rate, noise=dataclasses.replace(loaded, signal=new))
    np.testing.assert_array_equal(np.asarray(replaced.augmentation.noise.signal), new)  # not the old file again
    plain = Augmentation(convolution=Convolution(samples[:400]))
    built = jaxspec.SpectrogramConfig(augmentation=plain).augmentation.convolution
    np.testing.assert_array_equal(np.asarray(built.signal), samples[:400])  # as given: at the config's rate
    assert built.source_rate == SR and plain.convolution.source_rate is None  # the config's, kept when rebuilt


def test_a_new_array_in_a_loaded_setting_is_not_saved_as_the_old_file(tmp_path):
    # dataclasses.replace(setting, signal=x) kept source: the config convolved with x and
    # wrote the old file's path, so the config loaded back was another one
    path = tmp_path / "ir.wav"
    soundfile.write(path, np.array([1.0, 0.5, 0.25], np.float32), SR, subtype="FLOAT")
    config = _config(convolution=Convolution(path))
    loaded = config.augmentation.convolution
    assert loaded.source == str(path)
    new = np.array([1.0, -1.0], np.float32)
    replaced = _config(convolution=dataclasses.replace(loaded, signal=new))
    assert replaced.augmentation.convolution.source is None
    assert replaced.to_dict()["augmentation"]["convolution"]["signal"] == {"samples": [1.0, -1.0]}
    assert jaxspec.SpectrogramConfig.from_dict(replaced.to_dict()) == replaced
    # the loaded array itself keeps its file, in a config rebuilt or unpickled and then rebuilt
    for kept in (config, pickle.loads(pickle.dumps(config)), copy.deepcopy(config)):
        assert kept == config
        for other in (dataclasses.replace(kept, window_size=256), dataclasses.replace(kept, sample_rate=8000)):
            assert other.augmentation.convolution.source == str(path)
            assert other.to_dict()["augmentation"]["convolution"]["signal"] == str(path)
    # a config JAX rebuilt (new arrays, no constructor: a jit output) keeps its file, and its
    # samples, whose rate nothing remembers, are read again from it at another rate
    moved = jax.jit(lambda c: c)(config)
    assert dataclasses.replace(moved, window_size=256).augmentation.convolution.source == str(path)
    fresh = _config(8000, convolution=Convolution(path))
    at8 = dataclasses.replace(moved, sample_rate=8000).augmentation.convolution
    np.testing.assert_array_equal(np.asarray(at8.signal), np.asarray(fresh.augmentation.convolution.signal))
    # an unpickled config's arrays are at its rate: at 8 kHz the file is read again, not taken as 8 kHz
    at8 = dataclasses.replace(pickle.loads(pickle.dumps(config)), sample_rate=8000)
    fresh = _config(8000, convolution=Convolution(path))
    expected = fresh.augmentation.convolution.signal
    np.testing.assert_array_equal(np.asarray(at8.augmentation.convolution.signal), expected)


def test_a_config_whose_recording_a_tree_map_changed_is_written_with_its_samples(tmp_path):
    # a config JAX rebuilt keeps its recording's file (a jit output: the same samples); one whose
    # samples a tree map changed kept it too, and save wrote the file's path: the config read
    # back held the file's samples, not the ones it had computed with
    path = tmp_path / "ir.wav"
    soundfile.write(path, np.array([1.0, 0.5, -0.25], np.float32), SR, subtype="FLOAT")
    config = _config(convolution=Convolution(path))
    assert jax.jit(lambda c: c)(config).to_dict() == config.to_dict()  # equal samples: the path
    assert jax.tree.map(lambda a: np.asarray(a, np.float64), config).to_dict() == config.to_dict()  # read alike
    halved = jax.tree.map(lambda a: a * 0.5, config)
    written = halved.to_dict()["augmentation"]["convolution"]["signal"]
    assert written == {"samples": [0.5, 0.25, -0.125]}
    back = jaxspec.SpectrogramConfig.from_dict(halved.to_dict())
    np.testing.assert_array_equal(np.asarray(back.augmentation.convolution.signal), [0.5, 0.25, -0.125])
    long = tmp_path / "long.wav"  # too long to be written inline: refused, naming what happened
    soundfile.write(long, np.full(jaxspec._serialize.INLINE_LIMIT, 0.5, np.float32), SR, subtype="FLOAT")
    with pytest.raises(jaxspec.ConfigError, match="samples unlike its file .a tree map changed them."):
        jax.tree.map(lambda a: a * 0.5, _config(noise=Noise(0.1, long))).to_dict()
    path.unlink()  # a file gone: its path is all there is, written as before
    assert jax.jit(lambda c: c)(config).to_dict() == config.to_dict()


@pytest.mark.parametrize("copy_of", [copy.deepcopy, lambda value: pickle.loads(pickle.dumps(value))])
def test_a_copied_augmentation_follows_a_config_to_another_rate(tmp_path, copy_of):
    # only a whole config remembered its recordings' rate: an Augmentation (or a setting)
    # copied or sent to a worker on its own and put in an 8 kHz config was taken as the
    # user's 8 kHz arrays (not resampled, its file dropped from the config)
    samples = (0.5 * _sine(SR, 0.2, 300.0)).astype(np.float32)
    path = tmp_path / "noise.wav"
    soundfile.write(path, samples, SR, subtype="FLOAT")
    at16 = _config(noise=Noise(0.3, path), convolution=Convolution(samples[:400]))
    expected = dataclasses.replace(at16, sample_rate=8000)
    assert copy_of(at16.augmentation) == at16.augmentation
    assert jaxspec.SpectrogramConfig(sample_rate=8000, augmentation=copy_of(at16.augmentation)) == expected
    noise = copy_of(at16.augmentation.noise)
    assert _config(8000, noise=noise).augmentation.noise == expected.augmentation.noise
    assert _config(8000, noise=noise).augmentation.noise.source == str(path)


@pytest.mark.parametrize("shape", [(2, 16000), (1, 4000)])
def test_a_channels_first_recording_is_refused(shape):
    # it was averaged over its 16000 "channels": a 1- or 2-sample recording
    with pytest.raises(jaxspec.ConfigError, match=r"channels? first \(\[channels, n\]\).*pass the transpose"):
        _config(noise=Noise(1.0, np.zeros(shape, np.float32)))
    with pytest.raises(jaxspec.ConfigError, match="channels? first"):
        _config(convolution=np.zeros(shape, np.float32))


def test_recording_given_as_a_path(tmp_path):
    rate = 8000
    samples = (0.5 * _sine(rate, 0.2, 300.0)).astype(np.float32)
    path = tmp_path / "noise.wav"
    soundfile.write(path, samples, rate, subtype="FLOAT")
    for recording in (path, str(path)):
        config = _config(noise=Noise(0.3, recording), convolution=Convolution(recording, mix=0.2))
        noise = np.asarray(config.augmentation.noise.signal)
        assert noise.shape == (math.ceil(len(samples) * SR / rate),)
        expected = np.asarray(jaxspec.resample(samples, rate, SR))
        np.testing.assert_array_equal(noise, expected)
        np.testing.assert_array_equal(np.asarray(config.augmentation.convolution.signal), expected)
    # and it is what augment adds
    length, key = 1000, jax.random.key(0)
    x = _signal(length)
    v = _draws(config, key, length)
    start = int(v["noise_start"])
    reference = _np_convolution(x, noise, 0.2) + 0.3 * noise[start : start + length]
    _assert_close(_augmented(config, x, key), reference)


def test_a_missing_recording_file_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        _config(noise=Noise(0.1, tmp_path / "missing.wav"))


# ------------------------------------------------------------------ random values
class _Choice:
    """A user distribution: any object with ``sample(key)``."""

    def sample(self, key):
        return jnp.where(jax.random.bernoulli(key), 0.5, 2.0)


def _quarter_steps(key):
    """A user callable ``key -> scalar``."""
    return jax.random.randint(key, (), 0, 4) * 0.25


@pytest.mark.parametrize(
    "gain, support",
    [
        (0.75, {0.75}),
        (_Choice(), {0.5, 2.0}),
        (_quarter_steps, {0.0, 0.25, 0.5, 0.75}),
    ],
)
def test_discrete_parameter_forms_draw_their_values(gain, support):
    drawn = _many_draws(Augmentation(volume=Volume(gain)), "volume_gain")
    assert set(drawn) == support


def test_each_form_is_accepted_by_each_parameter():
    h, recording = _signal(10), _signal(3000)
    for value in (
        0.5,
        (0.2, 0.6),
        Uniform(0.2, 0.6),
        Normal(0.5, 0.1),
        LogUniform(0.2, 0.6),
        _Choice(),
        _quarter_steps,
    ):
        config = _config(
            volume=Volume(value),
            noise=Noise(value, recording),
            time_shift=TimeShift(value),
            convolution=Convolution(h, mix=value),
        )
        values = _draws(config, jax.random.key(0), 1000)
        assert set(values) == {"volume_gain", "noise_amplitude", "noise_start", "time_shift_samples", "convolution_mix"}
        assert all(np.isfinite(v) for v in values.values())
        assert 0.0 <= values["convolution_mix"] <= 1.0  # a mix drawn outside [0, 1] is clipped


def test_a_nan_drawn_for_a_bounded_parameter_leaves_the_signal_as_it_is():
    """A callable's NaN for a mix or a VTLP factor: the dry signal, no warp (jnp.clip let
    NaN through to every output value; gains and shifts already drew NaN as 0)."""
    x = np.random.default_rng(0).standard_normal(1600).astype(np.float32)
    nan = lambda key: jax.random.uniform(key) * jnp.nan  # noqa: E731  (drawn from the key)
    key = jax.random.key(0)
    convolved = _config(convolution=Convolution(np.array([1.0, 0.5], np.float32), mix=nan))
    assert _draws(convolved, key, 1600)["convolution_mix"] == 0.0
    np.testing.assert_array_equal(_augmented(convolved, x, key), x.astype(np.float64))
    mel = (jaxspec.MelFilterbank(40),)
    warped = jaxspec.SpectrogramConfig(features=mel, augmentation=Augmentation(vtlp=jaxspec.VTLP(nan)))
    assert _draws(warped, key, 1600)["vtlp_factor"] == 1.0
    plain = jaxspec.spectrogram(jaxspec.SpectrogramConfig(features=mel), x)
    np.testing.assert_allclose(np.asarray(jaxspec.spectrogram(warped, x, key)), np.asarray(plain), rtol=1e-5)


def test_a_fresh_value_per_key():
    for param in ((0.5, 1.5), Uniform(-1, 1), Normal(0, 1), LogUniform(1e-3, 1)):
        drawn = _many_draws(Augmentation(volume=Volume(param)), "volume_gain")
        assert len(np.unique(drawn)) > 0.99 * KS_KEYS, param


def test_scaled_range_draws_fractions_of_the_input():
    length = 1000
    drawn = _many_draws(Augmentation(time_shift=Scaled((-0.2, 0.2))), "time_shift_samples", length=length)
    assert drawn.min() >= -200 and drawn.max() <= 200
    assert drawn.min() < -190 and drawn.max() > 190  # spreads over the whole range
    # samples = floor(s * L + 0.5) with s uniform: 401 values, fine-grained enough for a KS test
    result = scipy.stats.kstest(drawn / length, scipy.stats.uniform(-0.2, 0.4).cdf)
    print(f"KS Scaled((-0.2, 0.2)) samples/L vs U(-0.2, 0.2): D={result.statistic:.4f} p={result.pvalue:.3f}")
    assert result.pvalue > KS_MIN_P


@pytest.mark.parametrize(
    "name, param, reference",
    [
        ("range (0.5, 1.5)", (0.5, 1.5), scipy.stats.uniform(0.5, 1.0)),
        ("Uniform(-2, 3)", Uniform(-2.0, 3.0), scipy.stats.uniform(-2.0, 5.0)),
        ("Normal(1, 0.5)", Normal(1.0, 0.5), scipy.stats.norm(1.0, 0.5)),
        ("LogUniform(1e-3, 3e-2)", LogUniform(1e-3, 3e-2), scipy.stats.loguniform(1e-3, 3e-2)),
    ],
)
def test_distribution_passes_kolmogorov_smirnov(name, param, reference):
    # All four transform the same 2000 uniform variates monotonically (normal = sqrt(2) erfinv(2u - 1)),
    # so their KS statistics coincide: this checks each transform, the range check the underlying draws.
    drawn = _many_draws(Augmentation(volume=Volume(param)), "volume_gain")
    result = scipy.stats.kstest(drawn, reference.cdf)
    print(f"KS {name} over {KS_KEYS} keys (seed {KS_SEED}): D={result.statistic:.4f} p={result.pvalue:.3f}")
    assert result.pvalue > KS_MIN_P


@pytest.mark.parametrize("field", ["noise_amplitude", "convolution_mix"])
def test_other_parameters_draw_the_same_distribution(field):
    param = Uniform(0.2, 0.7)
    augmentation = Augmentation(noise=Noise(param), convolution=Convolution(_signal(5), mix=param))
    result = scipy.stats.kstest(_many_draws(augmentation, field), scipy.stats.uniform(0.2, 0.5).cdf)
    print(f"KS {field} Uniform(0.2, 0.7): D={result.statistic:.4f} p={result.pvalue:.3f}")
    assert result.pvalue > KS_MIN_P


def test_kolmogorov_smirnov_rejects_a_wrong_distribution():
    # The statistical checks can fail: Uniform(0, 1) draws are not Uniform(0, 2).
    drawn = _many_draws(Augmentation(volume=Volume(Uniform(0.0, 1.0))), "volume_gain")
    result = scipy.stats.kstest(drawn, scipy.stats.uniform(0.0, 2.0).cdf)
    print(f"KS Uniform(0, 1) draws vs U(0, 2): D={result.statistic:.4f} p={result.pvalue:.3g} (must reject)")
    assert result.pvalue < 1e-6


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: Volume((1.5, 0.5)), ["Volume gain", "1.5", "0.5"]),
        (lambda: Augmentation(volume=(1.5, 0.5)), ["Volume gain", "1.5", "0.5"]),
        (lambda: Noise((0.3, 0.1)), ["Noise amplitude", "0.3", "0.1"]),
        (lambda: TimeShift((0.2, -0.2)), ["TimeShift t", "0.2", "-0.2"]),
        (lambda: Scaled((0.2, -0.2)), ["Scaled s", "0.2", "-0.2"]),
        (lambda: Uniform(2.0, 1.0), ["Uniform", "low=2.0", "high=1.0"]),
        (lambda: Convolution(np.ones(3), mix=1.5), ["Convolution mix", "1.5", "[0.0, 1.0]"]),
        (lambda: Convolution(np.ones(3), mix=-0.1), ["Convolution mix", "-0.1"]),
        (lambda: Convolution(np.ones(3), mix=(0.5, 1.2)), ["Convolution mix", "1.2"]),
        (lambda: Convolution(np.ones(3), mix=(-0.5, 0.5)), ["Convolution mix", "-0.5"]),
        (lambda: Convolution(np.ones(3), mix=(0.9, 0.1)), ["Convolution mix", "0.9", "0.1"]),
        # a Normal centred outside the range drew (almost) only the clipped bound, silently
        (lambda: Convolution(np.ones(3), mix=Normal(5.0, 0.0)), ["Convolution mix", "mean=5.0", "[0.0, 1.0]"]),
        (lambda: Noise(Normal(-5.0, 0.1)), ["Noise amplitude", "mean=-5.0"]),
        (lambda: Noise(0.1, np.zeros(0, np.float32)), ["Noise signal", "empty"]),
        (lambda: Convolution(np.zeros(0, np.float32)), ["Convolution signal", "empty"]),
        (lambda: _config(noise=Noise(0.1, Audio(np.zeros(0, np.float32), 8000))), ["Noise signal", "empty"]),
        (lambda: _config(convolution=Audio(np.zeros(0, np.float32), SR)), ["Convolution signal", "empty"]),
        (lambda: Noise(), ["Noise", "amplitude", "signal"]),
        (lambda: LogUniform(0.0, 1.0), ["LogUniform", "low=0.0"]),
        (lambda: LogUniform(-1.0, 1.0), ["LogUniform", "low=-1.0"]),
        (lambda: LogUniform(1e-45, 1e-44), ["LogUniform", "low=1e-45", "1.18e-38 <= low"]),  # it drew 0
        (lambda: Normal(0.0, -1.0), ["Normal", "std=-1.0"]),
        (lambda: Volume("loud"), ["Volume gain", "loud"]),
        (lambda: Volume((0.5, float("nan"))), ["Volume gain", "nan"]),
    ],
)
def test_bad_settings_raise_a_clear_error(make, words):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_errors_are_config_errors():
    with pytest.raises(jaxspec.ConfigError):
        LogUniform(0.0, 1.0)
    with pytest.raises(jaxspec.ConfigError):
        Convolution(np.ones(3), mix=2.0)


# ------------------------------------------------------------------ found by the statistical audit of 2026-12-02
@pytest.mark.parametrize("value", [0.001, 0.3, 7.0, 123.456])
def test_a_degenerate_log_uniform_draws_its_value(value):
    """exp(log(v)) is not v in float32: LogUniform(7, 7) drew 6.9999995."""
    drawn = _many_draws(Augmentation(volume=Volume(LogUniform(value, value))), "volume_gain")
    assert np.all(drawn == np.float32(value))


@pytest.mark.parametrize("u", [0.0, float(np.nextafter(np.float32(1.0), np.float32(0.0)))])
def test_the_extreme_draws_stay_inside_the_range(u, monkeypatch):
    """The lowest and highest unit variates fell an ulp outside [float32(low), float32(high)] for
    about one range in ten (``low + (high - low) * u`` and ``exp`` round)."""
    from jaxspec.augmentation import distributions

    monkeypatch.setattr(distributions.random, "uniform", lambda key: jnp.float32(u))
    rng = np.random.default_rng(3)
    for low, high in np.sort(rng.uniform(1e-3, 50.0, size=(300, 2)), axis=1):
        for distribution in (Uniform(float(low), float(high)), LogUniform(float(low), float(high))):
            drawn = np.float32(distribution.sample(jax.random.key(0)))
            assert np.float32(low) <= drawn <= np.float32(high), (distribution, drawn)


def test_a_callable_that_ignores_its_key_or_draws_no_number_is_a_config_error():
    # NumPy's own random state was read once, when the program was traced: every example and call
    # got that value (and which program traced first decided it); bad draws gave raw errors
    x = np.zeros(1000, np.float32)
    key = jax.random.key(0)
    cases = [
        (lambda key: np.random.uniform(0.5, 1.5), "without using its key, and another value when called again"),
        (lambda key: "loud", "drew 'loud', which is not a real number"),
        (lambda key: np.asarray(key).sum(), "cannot read its key with NumPy"),
        (lambda key: jax.random.uniform(key, (2,)), "drew a value of shape (2,)"),
        (lambda key: jnp.complex64(1 + 1j), "drew a complex value"),  # its real part was taken, silently
        (lambda key: 1 + 0.5j, "drew a complex value"),
    ]
    for volume, message in cases:
        config = _config(volume=volume)
        with pytest.raises(jaxspec.ConfigError, match=re.escape(message)):
            jaxspec.draw(config, key, 1000)
        with pytest.raises(jaxspec.ConfigError, match=re.escape(message)):
            jaxspec.spectrogram(config, x, key)
    constant = _config(volume=lambda key: 0.8)  # a constant is a fixed value, as the number is
    assert float(jaxspec.draw(constant, key, 1000)["volume_gain"]) == np.float32(0.8)
    good = _config(volume=lambda key: jax.random.uniform(key, minval=0.5, maxval=1.5))
    gains = [float(jaxspec.draw(good, jax.random.key(i), 1000)["volume_gain"]) for i in range(4)]
    assert len(set(gains)) == 4 and all(0.5 <= g <= 1.5 for g in gains)


@pytest.mark.parametrize("default", ["rbg", "unsafe_rbg"])
def test_threefry_and_raw_keys_draw_the_same_under_another_default_implementation(default):
    # under jax_default_prng_impl="rbg", encode_batch with a Threefry key and every call with raw
    # uint32[2] words failed inside the trace: JAX read the raw words as the default's [4]
    config = _config(volume=(0.5, 1.5), noise=0.01)
    x = np.random.default_rng(0).standard_normal(3000).astype(np.float32)
    key = jax.random.key(0, impl="threefry2x32")
    expected = np.asarray(jaxspec.spectrogram(config, x, key))
    items = [
        np.asarray(jaxspec.encode(config, x[:n], sample_rate=SR, key=jax.random.fold_in(key, i)))
        for i, n in enumerate((3000, 2000))
    ]
    previous = jax.config.jax_default_prng_impl
    jax.config.update("jax_default_prng_impl", default)
    try:
        np.testing.assert_array_equal(np.asarray(jaxspec.spectrogram(config, x, key)), expected)
        np.testing.assert_array_equal(np.asarray(jaxspec.spectrogram(config, x, jax.random.key_data(key))), expected)
        batch = jaxspec.encode_batch(config, [x, x[:2000]], sample_rate=SR, key=key)
        for got, want in zip(batch, items, strict=True):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6 * float(want.max()))
        assert float(jaxspec.draw(config, jax.random.key_data(key), 3000)["volume_gain"]) == float(
            jaxspec.draw(config, key, 3000)["volume_gain"]
        )
        own = jax.random.key(5)  # the default's own keys, in a batch too (unsafe_rbg: not the loop's, README)
        batch = jaxspec.encode_batch(config, [x, x[:2000]], sample_rate=SR, key=own)
        if default == "rbg":
            alone = np.asarray(jaxspec.encode(config, x[:2000], sample_rate=SR, key=jax.random.fold_in(own, 1)))
            np.testing.assert_allclose(np.asarray(batch[1]), alone, rtol=1e-5, atol=1e-6 * float(alone.max()))
    finally:
        jax.config.update("jax_default_prng_impl", previous)


@pytest.mark.parametrize("default", ["rbg", "unsafe_rbg"])
def test_legacy_keys_of_another_default_implementation_draw_what_its_typed_keys_draw(default):
    # jax.random.PRNGKey(seed) under jax_default_prng_impl="rbg" is raw uint32[4]: it was refused
    # ("not a PRNG key") though JAX reads it as an rbg key and jax.random.key(seed) worked
    config = _config(volume=(0.5, 1.5), noise=0.01)
    x = np.random.default_rng(0).standard_normal((2, 3000)).astype(np.float32)
    previous = jax.config.jax_default_prng_impl
    jax.config.update("jax_default_prng_impl", default)
    try:
        typed, legacy = jax.random.key(3), jax.random.PRNGKey(3)
        assert legacy.dtype == jnp.uint32 and legacy.shape == (4,)
        np.testing.assert_array_equal(jaxspec.spectrogram(config, x, legacy), jaxspec.spectrogram(config, x, typed))
        assert jaxspec.draw(config, legacy, 3000) == jaxspec.draw(config, typed, 3000)
        legacy_rows = jax.random.split(legacy, 2)  # a batch of raw keys, one per row
        np.testing.assert_array_equal(
            jaxspec.spectrogram(config, x, legacy_rows), jaxspec.spectrogram(config, x, jax.random.split(typed, 2))
        )
        got = jaxspec.encode_batch(config, list(x), sample_rate=SR, key=legacy)
        for a, b in zip(got, jaxspec.encode_batch(config, list(x), sample_rate=SR, key=typed), strict=True):
            np.testing.assert_array_equal(a, b)
        with pytest.raises(jaxspec.InputError, match=r"shape \(3,\).*\[4\] words.*wrap_key_data"):
            jaxspec.spectrogram(config, x[0], jnp.zeros(3, jnp.uint32))
    finally:
        jax.config.update("jax_default_prng_impl", previous)


# ------------------------------------------------------------------ rounding products as float64 does
@pytest.mark.parametrize("s", [0.65, -0.3, 0.35, -0.07, 0.1, 1 / 3, -0.999, 0.0625, 0.123])
def test_a_fixed_scaled_shift_rounds_as_float64_does(s):
    # s * L was rounded in float32: Scaled(0.65) of 90 samples shifted 58, where SPEC 2's
    # floor(s * L + 0.5) (float64) is 59, at 51 of the lengths 1-3000 (-0.3: 129)
    lengths = np.arange(3001)
    config = jaxspec.SpectrogramConfig(augmentation=Augmentation(time_shift=Scaled(s)))
    drawn = jax.jit(jax.vmap(lambda n: jaxspec.draw(config, jax.random.key(0), n)["time_shift_samples"]))(lengths)
    np.testing.assert_array_equal(np.asarray(drawn), np.floor(s * lengths + 0.5).astype(np.int64))
    for n in (90, 25, 10):  # a static length gives the same as a traced one
        assert int(jaxspec.draw(config, jax.random.key(0), n)["time_shift_samples"]) == math.floor(s * n + 0.5)


def test_drawn_shifts_round_the_drawn_value_as_float64_does():
    from jaxspec.augmentation.rounding import floor_product

    rng = np.random.default_rng(0)
    s = rng.uniform(-1, 1, 20000).astype(np.float32)
    s[:2000] = (rng.integers(-1024, 1024, 2000) / 2048).astype(np.float32)  # products on exact halves
    n = rng.integers(0, 2**31 - 1, 20000)
    n = np.minimum(n, (2**31 - 2) / np.maximum(np.abs(s.astype(np.float64)), 1e-12)).astype(np.int32)
    n[:2000] = rng.integers(0, 10**6, 2000)
    got = jax.jit(jax.vmap(lambda a, m: floor_product(a, m, 0.5)))(s, n)
    np.testing.assert_array_equal(np.asarray(got), np.floor(s.astype(np.float64) * n + 0.5).astype(np.int64))
    down = jax.jit(jax.vmap(lambda m: floor_product(0.0015, m, 0.0)))(n[:2000])
    np.testing.assert_array_equal(np.asarray(down), np.floor(0.0015 * n[:2000].astype(np.float64)).astype(np.int64))


@pytest.mark.parametrize("fraction, frames", [(0.0001, 20000), (0.0015, 2000), (0.3, 10), (0.05, 999)])
def test_time_mask_widths_clip_to_floor_of_max_fraction_times_frames(fraction, frames):
    # max_fraction was replaced by its nearest fraction of denominator <= 1000: 0.0001 gave a cap
    # of 0 (the mask disabled), 0.0015 of 2 frames where floor(0.0015 * 2000) = 3
    config = jaxspec.SpectrogramConfig(
        window_size=2, offset=1, augmentation=Augmentation(time_mask=jaxspec.TimeMask(1, 10**5, max_fraction=fraction))
    )
    assert int(jaxspec.draw(config, jax.random.key(0), frames)["time_mask_widths"][0]) == math.floor(fraction * frames)


@pytest.mark.parametrize(
    "value", [100, (-100, 100), (0.0, 10.0), np.float32(30.0), np.array(30.0), "20s", jaxspec.Uniform(-1.0, 12.0)]
)
def test_a_shift_of_ten_seconds_or_more_warns_once(value):
    # time_shift=100 (meant as ms) moved every shorter clip out of its frames: all zeros, silently
    # (found by a new-user audit); the CLI's -100:100 is a Uniform
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jaxspec.Augmentation(time_shift=value)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "reaches 10 s or more: clips shorter than the shift" in messages[0], messages
    assert ("'100ms' for milliseconds" in messages[0]) != isinstance(value, str)  # a duration is no bare ms (an audit)


def test_a_bad_shift_is_refused_without_the_long_shift_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for bad in (float("inf"), (0, 100, 200), (100, 50)):
            with pytest.raises(jaxspec.ConfigError):
                jaxspec.TimeShift(bad)


@pytest.mark.parametrize("value", [0.1, (-9.9, 9.9), "9s", ("-100ms", "100ms"), jaxspec.Scaled(0.5)])
def test_short_or_unit_given_shifts_do_not_warn(value):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxspec.Augmentation(time_shift=value)
        jaxspec.TimeShift(value)
