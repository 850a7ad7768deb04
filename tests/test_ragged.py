"""Ragged batches (SPEC section 8): ``spectrogram(config, x, key, lengths=...)`` and the ladder.

Row i must equal ``spectrogram(config, x[i, :lengths[i]], fold_in(key, i))`` on its own
frames (relative 1e-5, identical draws), with zeros past them; new lengths never
recompile.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspec
from jaxspec import Augmentation, Convolution, Noise, Scaled, SpectrogramConfig, presets
from jaxspec import features as F
from jaxspec.framing import Centered, Kaldi

RNG = np.random.default_rng(0)
IR = (RNG.standard_normal(300) * np.exp(-np.arange(300) / 50)).astype(np.float32) * 0.2
ALL_STAGES = Augmentation(
    volume=(0.5, 1.5), noise=(0.01, 0.05), time_shift=Scaled((-0.3, 0.3)), convolution=Convolution(IR, mix=(0.2, 0.8))
)
LENGTHS = [6000, 4321, 1600, 401, 133, 1, 0]


def ragged_batch(lengths, width=None, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((len(lengths), width or max(lengths)), np.float32)
    for i, n in enumerate(lengths):
        x[i, :n] = rng.standard_normal(n) * 0.3
    return x


def assert_rows_equal_alone(config, lengths, key=None, width=None, tol=1e-5, atol=0.0):
    x = ragged_batch(lengths, width)
    out = np.asarray(jaxspec.spectrogram(config, x, key, lengths=np.asarray(lengths)))
    assert out.shape[:2] == (len(lengths), config.num_frames(x.shape[1]))
    frames = config.num_frames(np.asarray(lengths))
    for i, n in enumerate(lengths):
        row_key = None if key is None else jax.random.fold_in(key, i)
        alone = np.asarray(jaxspec.spectrogram(config, x[i, :n], row_key))
        assert alone.shape[0] == frames[i]
        np.testing.assert_array_equal(out[i, alone.shape[0] :], 0)
        if alone.size:
            scale = max(np.linalg.norm(alone), 1e-3 * alone.size)
            error = np.linalg.norm(out[i, : alone.shape[0]] - alone)
            assert error <= tol * scale + atol * np.sqrt(alone.size), (i, n, error)


CONFIGS = {
    "seed": SpectrogramConfig(),
    "rms_all_stages": SpectrogramConfig(normalization=("rms", 0.1), augmentation=ALL_STAGES),
    "max_fft512": SpectrogramConfig(normalization="max", fft_size=512, offset=160, augmentation=ALL_STAGES),
    "noise_recording_short": SpectrogramConfig(
        augmentation=Augmentation(noise=Noise(0.5, RNG.standard_normal(2500).astype(np.float32)))
    ),
    "noise_recording_long": SpectrogramConfig(
        augmentation=Augmentation(noise=Noise((0.1, 0.9), RNG.standard_normal(9000).astype(np.float32)))
    ),
    "target_frames": SpectrogramConfig(target_length=30, augmentation=ALL_STAGES),
    "target_seconds": SpectrogramConfig(target_length=0.2, augmentation=ALL_STAGES),
    "centered_reflect": SpectrogramConfig(framing=Centered("reflect"), offset=160),
    "centered_constant_complex": SpectrogramConfig(framing=Centered("constant"), power=None),
    "kaldi_snip": SpectrogramConfig(framing=Kaldi(True), offset=160),
    "kaldi_no_snip": SpectrogramConfig(framing=Kaldi(False), offset=160),
    # a frame-count target keeps every frame, mirrored at the row's own end
    "centered_reflect_target_frames": SpectrogramConfig(
        framing=Centered("reflect"), offset=160, target_length=30, augmentation=ALL_STAGES
    ),
    "kaldi_no_snip_target_frames": SpectrogramConfig(framing=Kaldi(False), offset=160, target_length=30),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_rows_equal_each_example_alone(name):
    config = CONFIGS[name]
    key = jax.random.key(7) if config.augmentation is not None else None
    assert_rows_equal_alone(config, LENGTHS, key)


PRESETS = {
    "whisper": (presets.whisper(), [16000, 3000, 0]),
    "librosa_mfcc_deltas": (
        (lambda c: dataclasses.replace(c, features=c.features + (F.Deltas(order=2, width=9, stack=True),)))(
            presets.librosa_mfcc(sr=16000, n_fft=512, hop_length=160)
        ),
        [6000, 1600, 900, 401, 0],
    ),
    "torchaudio_mfcc_replicate_deltas": (
        (lambda c: dataclasses.replace(c, features=c.features + (F.Deltas(width=5, mode="replicate"),)))(
            presets.torchaudio_mfcc()
        ),
        [6000, 1600, 401, 0],
    ),
    "torchaudio_melspectrogram": (presets.torchaudio_melspectrogram(), [6000, 1600, 401, 5, 0]),
    "kaldi_fbank_energy": (presets.kaldi_fbank(use_energy=True), [6000, 1600, 400, 399, 0]),
    "kaldi_mfcc_no_snip_mean": (presets.kaldi_mfcc(snip_edges=False, subtract_mean=True), [6000, 1600, 401, 0]),
    "torchaudio_melspectrogram_20_frames": (
        dataclasses.replace(presets.torchaudio_melspectrogram(), target_length=20),
        [3000, 600, 5, 0],
    ),
    "kaldi_fbank_no_snip_20_frames": (
        dataclasses.replace(presets.kaldi_fbank(snip_edges=False), target_length=20),
        [3000, 600, 0],
    ),
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_rows_equal_each_example_alone(name):
    config, lengths = PRESETS[name]
    # Deltas of silence (a constant of about -400) cancel to 0 alone and to ~1e-5 in a row.
    assert_rows_equal_alone(config, lengths, atol=1e-4)


def test_dither_draws_per_row_as_alone():
    assert_rows_equal_alone(presets.kaldi_fbank(dither=1.0), [6000, 1600, 401, 0], jax.random.key(3))


def test_new_lengths_never_recompile():
    config = SpectrogramConfig(augmentation=ALL_STAGES)
    step = jax.jit(lambda x, key, lengths: jaxspec.spectrogram(config, x, key, lengths=lengths))
    x = ragged_batch([4000] * 4)
    step(x, jax.random.key(0), np.array([4000, 10, 300, 0], np.int32))
    size = step._cache_size()
    for seed in range(3):
        lengths = np.random.default_rng(seed).integers(0, 4001, 4).astype(np.int32)
        step(x, jax.random.key(seed), lengths)
    assert step._cache_size() == size


def test_vmap_grad_and_traced_frame_counts():
    config = SpectrogramConfig(normalization=("rms", 0.1), augmentation=ALL_STAGES)
    x = jnp.asarray(ragged_batch([3000, 1000, 0]))
    lengths = jnp.array([3000, 1000, 0])

    def loss(x):
        return jnp.sum(jaxspec.spectrogram(config, x, jax.random.key(1), lengths=lengths))

    grad = jax.grad(loss)(x)
    assert np.isfinite(np.asarray(grad)).all()
    stacked = jax.vmap(lambda xs, ls: jaxspec.spectrogram(config, xs, jax.random.key(1), lengths=ls))(
        jnp.stack([x, x]), jnp.stack([lengths, lengths])
    )
    np.testing.assert_allclose(stacked[0], jaxspec.spectrogram(config, x, jax.random.key(1), lengths=lengths), 1e-5)
    frames = jax.jit(config.num_frames)(lengths)
    np.testing.assert_array_equal(frames, config.num_frames(np.asarray(lengths)))


def test_draw_takes_a_traced_length():
    config = SpectrogramConfig(augmentation=ALL_STAGES)
    key = jax.random.key(5)
    for n in (1, 400, 4321):
        eager = jaxspec.draw(config, key, n)
        traced = jax.jit(lambda length: jaxspec.draw(config, key, length))(jnp.int32(n))
        for name, value in eager.items():
            np.testing.assert_array_equal(np.asarray(traced[name]), np.asarray(value), err_msg=name)


def test_sharded_spectrogram_takes_lengths():
    config = SpectrogramConfig(augmentation=ALL_STAGES)
    devices = len(jax.devices())
    lengths = np.array(([3000, 17, 900, 0] * devices)[: 2 * devices])
    x = ragged_batch(lengths.tolist(), width=3000)
    key = jax.random.key(2)
    sharded = jaxspec.sharded_spectrogram(config, x, key, lengths=lengths)
    np.testing.assert_allclose(sharded, jaxspec.spectrogram(config, x, key, lengths=lengths), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "lengths, match",
    [
        ([1, 2], "one length per row"),
        ([1.0, 2.0, 3.0], "integers"),
        ([0, 5000, 3], r"\[0, 4000\]"),
        ([-1, 0, 0], "lie in"),
        ([True, 400, 3], "holds a bool"),  # np.asarray read True as the length 1
        ((np.True_, 400, 3), "holds a bool"),
    ],
)
def test_bad_lengths_are_input_errors(lengths, match):
    for given in (lengths, np.asarray(lengths)) if "bool" not in match else (lengths,):
        with pytest.raises(jaxspec.InputError, match=match):
            jaxspec.spectrogram(SpectrogramConfig(), np.zeros((3, 4000), np.float32), lengths=given)
    if "bool" in match:  # num_frames takes lists as lengths= does
        with pytest.raises(jaxspec.InputError, match=r"length=.* holds a bool"):
            SpectrogramConfig().num_frames(lengths)


def test_encode_batch_compiles_per_bucket_not_per_length():
    from jaxspec import spectrum

    config = SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 1.5), noise=0.01))
    lengths = np.unique(np.geomspace(8000, 128000, 60).astype(int))
    waves = [RNG.standard_normal(n).astype(np.float32) * 0.1 for n in lengths]
    for key in (None, jax.random.key(0)):
        before = spectrum._spectrogram_compiled._cache_size()
        outs = jaxspec.encode_batch(config, waves, sample_rate=16000, key=key)
        assert spectrum._spectrogram_compiled._cache_size() - before <= 12
        for i in (0, 31, 59):
            row_key = None if key is None else jax.random.fold_in(key, i)
            alone = jaxspec.encode(config, waves[i], sample_rate=16000, key=row_key)
            assert outs[i].shape == alone.shape
            np.testing.assert_allclose(outs[i], alone, rtol=1e-5, atol=1e-6 * float(jnp.max(alone)))


def test_encode_in_a_loop_compiles_per_rung_not_per_length():
    """A loop of ``encode`` over new lengths (the new user's first try) reuses its rung's program;
    each item still equals the pure core on its own (40 lengths compiled 40 programs)."""
    from jaxspec import spectrum

    config = SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 1.5), noise=0.01, time_shift=(-0.1, 0.1)))
    lengths = np.unique(np.geomspace(8000, 128000, 60).astype(int))
    waves = [RNG.standard_normal(n).astype(np.float32) * 0.1 for n in lengths]
    for key in (None, jax.random.key(3), jax.random.PRNGKey(3)):
        before = spectrum._spectrogram_compiled._cache_size()
        outs = [jaxspec.encode(config, wave, sample_rate=16000, key=key) for wave in waves]
        assert spectrum._spectrogram_compiled._cache_size() - before <= 12
        for i in (0, 17, 59):
            alone = jax.jit(jaxspec.spectrogram)(config, waves[i], key)
            assert outs[i].shape == alone.shape == (config.num_frames(lengths[i]), 201)
            assert outs[i].dtype == jnp.float32
            np.testing.assert_allclose(outs[i], alone, rtol=1e-5, atol=1e-6 * float(jnp.max(alone)))


def test_lengths_out_of_range_report_their_own_range():
    # the message said "got [0, 150]" for lengths [150, 120]: its minimum started at 0
    x = np.zeros((2, 100), np.float32)
    with pytest.raises(jaxspec.InputError, match="the shortest is 120, the longest 150"):
        jaxspec.spectrogram(jaxspec.SpectrogramConfig(), x, lengths=np.array([150, 120]))


# ------------------------------------------------------------------ found by the audit of 2026-12-02
def test_lengths_as_a_list_under_jit_and_an_empty_batch():
    config = SpectrogramConfig()
    rng = np.random.default_rng(4)
    x = (0.1 * rng.standard_normal((2, 1000))).astype(np.float32)
    key = jax.random.key(1)
    expected = jaxspec.spectrogram(config, x, key, lengths=np.array([400, 1000]))
    for lengths in ([400, 1000], (400, 1000)):  # traced scalars under jit: a TracerArrayConversionError
        np.testing.assert_array_equal(jax.jit(jaxspec.spectrogram)(config, x, key, lengths=lengths), expected)
    empty = jaxspec.spectrogram(config, np.zeros((0, 100), np.float32), lengths=[])  # [] is float64 for NumPy
    assert empty.shape == (0, config.num_frames(100), config.num_features)


def test_traced_lengths_are_clipped_in_their_own_type():
    """Traced lengths cannot be checked: clipped to [0, Lmax] before the cast to int32 (an
    int64 2**32 + 100 was wrapped to 100 first)."""
    config = SpectrogramConfig()
    x = np.ones((2, 1000), np.float32)
    f = jax.jit(jaxspec.spectrogram)
    full = f(config, x, lengths=jnp.array([1000, 0]))
    np.testing.assert_array_equal(f(config, x, lengths=jnp.array([5000, -5])), full)
    jax.config.update("jax_enable_x64", True)  # (jax.enable_x64 is not in jax 0.7)
    try:
        wide = f(config, x, lengths=jnp.array([2**32 + 100, -(2**40)], jnp.int64))
        unsigned = f(config, x, lengths=jnp.array([2**40, 0], jnp.uint64))
    finally:
        jax.config.update("jax_enable_x64", False)
    np.testing.assert_array_equal(wide, full)
    np.testing.assert_array_equal(unsigned, full)


@pytest.mark.parametrize("dtype, lmax", [(np.int8, 1000), (np.uint8, 300), (np.int16, 40000)])
def test_narrow_traced_lengths_below_a_longer_lmax_are_kept(dtype, lmax):
    """A length type narrower than Lmax holds valid lengths: Lmax is not cast into it (1000
    as an int8 wrapped to -24 and every row became zeros under jit)."""
    config = SpectrogramConfig(window_size=40, offset=20)
    x = np.random.default_rng(0).standard_normal((3, lmax)).astype(np.float32)
    lengths = np.array([100, 127, 31], dtype)
    jitted = np.asarray(jax.jit(jaxspec.spectrogram)(config, x, lengths=lengths))
    for i, n in enumerate(lengths.astype(int)):
        alone = np.asarray(jaxspec.spectrogram(config, x[i, :n]))
        np.testing.assert_allclose(jitted[i, : len(alone)], alone, rtol=1e-5, atol=1e-6 * alone.max())
        assert not jitted[i, len(alone) :].any()


# ------------------------------------------------------------------ found by the ragged fuzz audit
@pytest.mark.parametrize("stack", [False, True])
def test_second_order_replicate_deltas_pad_each_pass_at_the_rows_end(stack):
    """torchaudio's delta-delta pads the first pass with that pass's own last frame: a padded
    row's first pass was read past the row's end instead (relative errors of 0.05-2.5)."""
    deltas = F.Deltas(order=2, width=5, mode="replicate", stack=stack)
    config = SpectrogramConfig(offset=133, features=(F.Log(), deltas))
    assert_rows_equal_alone(config, [2999, 1000, 401, 133, 1, 0], atol=1e-4)


_MODES = ("interp", "replicate")
_DELTAS = [F.Deltas(order, 5, mode, stack) for order in (1, 2) for mode in _MODES for stack in (False, True)]
_FEATURE_CONFIGS = {
    **{f"deltas_{d.order}_{d.mode}_{d.stack}": (presets.librosa_mfcc(sr=16000), d) for d in _DELTAS},
    "torchaudio_mfcc": (presets.torchaudio_mfcc(sample_rate=16000), None),
    "kaldi_mfcc_mean": (presets.kaldi_mfcc(subtract_mean=True, dither=0.0), None),
    "kaldi_fbank_energy": (presets.kaldi_fbank(use_energy=True, dither=0.0, htk_compat=True), None),
    "decibels_top_db": (presets.librosa_melspectrogram(sr=16000), F.Decibels(top_db=40.0)),
    "whisper": (dataclasses.replace(presets.whisper(), target_length=None), None),
}


@pytest.mark.parametrize("name", sorted(_FEATURE_CONFIGS))
def test_every_feature_stage_through_encode_equals_the_clip_alone(name):
    # encode pads a clip to its ladder rung and passes lengths=: a stage that read past the
    # row's end (replicate delta-deltas' second pass) was wrong in plain encode, which the
    # parity tests, run through spectrogram on unpadded clips, never saw
    base, extra = _FEATURE_CONFIGS[name]
    config = base if extra is None else dataclasses.replace(base, features=base.features + (extra,))
    for n in (2500, 7001):
        x = (np.random.default_rng(n).standard_normal(n) * 0.3).astype(np.float32)
        alone = np.asarray(jaxspec.spectrogram(config, x))
        got = jaxspec.encode(config, x, sample_rate=16000)
        assert got.shape == alone.shape
        np.testing.assert_allclose(got, alone, rtol=1e-5, atol=1e-5 * float(np.abs(alone).max()))


@pytest.mark.parametrize(
    "config",
    [
        SpectrogramConfig(framing=Centered("reflect")),
        SpectrogramConfig(framing=Centered("reflect"), target_length=9),
        SpectrogramConfig(framing=Kaldi(False), offset=160, target_length=9),
    ],
)
def test_empty_padded_batch_with_mirrored_edges(config):
    # Lmax = 0: the mirrored framings gathered from an empty row (a TypeError)
    out = np.asarray(jaxspec.spectrogram(config, np.zeros((2, 0), np.float32), lengths=[0, 0]))
    alone = np.asarray(jaxspec.spectrogram(config, np.zeros(0, np.float32)))
    assert out.shape == (2, *alone.shape)
    np.testing.assert_array_equal(out[0], alone)


def test_one_padded_signal_takes_one_length_and_vmaps_over_rows():
    """``spectrogram(config, x [Lmax], key, lengths=n)``: one row of a ragged batch, as ``vmap``
    over rows hands it in (it was "lengths= needs a batch x [B, Lmax]"). It equals the batch's
    row, which equals ``x[:n]`` alone on its frames (``assert_rows_equal_alone``), zeros past."""
    config = CONFIGS["rms_all_stages"]
    lengths, key = np.array([6000, 1600, 133, 0]), jax.random.key(3)
    x = ragged_batch(lengths.tolist())
    batch = np.asarray(jaxspec.spectrogram(config, x, key, lengths=lengths))
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(len(lengths)))
    mapped = jax.vmap(lambda row, n, k: jaxspec.spectrogram(config, row, k, lengths=n))(x, lengths, keys)
    np.testing.assert_allclose(mapped, batch, rtol=1e-5, atol=1e-7)
    for i, n in enumerate(lengths):
        for given in (int(n), np.int64(n), jnp.int32(n)):
            one = jaxspec.spectrogram(config, x[i], keys[i], lengths=given)
            np.testing.assert_allclose(one, batch[i], rtol=1e-5, atol=1e-7)
        jitted = jax.jit(lambda row, n, k: jaxspec.spectrogram(config, row, k, lengths=n))(x[i], n, keys[i])
        np.testing.assert_allclose(jitted, batch[i], rtol=1e-5, atol=1e-7)
    for bad, match in (([1600], "pass one int"), (1.5, "pass one int"), (6001, r"\[0, 6000\]")):
        with pytest.raises(jaxspec.InputError, match=match):
            jaxspec.spectrogram(config, x[0], lengths=bad)


def test_device_int32_lengths_are_not_uploaded_again():
    # an eager call read device lengths on the host (their range check) and uploaded them again:
    # a round trip and a sync per call on an accelerator (the JAX transformations audit)
    config = SpectrogramConfig()
    x = jax.device_put(np.zeros((2, 2000), np.float32))
    lengths = jax.device_put(np.array([2000, 500], np.int32))
    expected = np.asarray(jaxspec.spectrogram(config, x, lengths=np.array([2000, 500])))
    with jax.transfer_guard("disallow_explicit"):
        out = jaxspec.spectrogram(config, x, lengths=lengths)
    np.testing.assert_array_equal(np.asarray(out), expected)


@pytest.mark.parametrize("floor", [F.Decibels(top_db=10.0), F.WhisperLog()])
def test_a_per_example_floor_ignores_the_padding_of_a_dithered_row(floor):
    # dither draws noise in padded frames too, so they are not silent: a top_db floor over the
    # whole padded row (padding included) was 3.3 dB off the row alone, with every test green
    # (the mutation audit; the padded frames tested before were silent)
    x = np.zeros((2, 16000), np.float32)
    x[1] = 0.01
    config = SpectrogramConfig(preprocess=(jaxspec.Dither(1.0),), features=(F.MelFilterbank(40), floor))
    key = jax.random.key(0)
    alone = np.asarray(jaxspec.spectrogram(config, x[0, :1600], jax.random.fold_in(key, 0)))
    row = np.asarray(jaxspec.spectrogram(config, x, key, lengths=np.array([1600, 16000])))[0]
    np.testing.assert_allclose(row[: alone.shape[0]], alone, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(row[alone.shape[0] :], 0.0)
