"""The bucket ladder and per-file keys (jaxspec.corpus)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxspec
from jaxspec import SpectrogramConfig, corpus, packing
from jaxspec.augmentation.random import fold_in_words
from jaxspec.corpus import (
    LADDER_GRANULE,
    bucket_batch_size,
    bucket_length,
    encode_waves,
    file_key,
    file_keys,
    name_hash,
    plan_batches,
)


@given(st.integers(0, 10_000_000))
def test_bucket_holds_the_length_with_bounded_padding(n):
    b = bucket_length(n)
    assert b >= n and b % LADDER_GRANULE == 0
    assert b <= max(1024, 1.5 * n)
    assert bucket_length(b) == b  # rungs are fixed points


def test_sixty_lengths_from_half_a_second_to_eight_fall_in_few_buckets():
    lengths = np.unique(np.geomspace(8000, 128000, 60).astype(int))
    assert len(lengths) == 60
    assert len({bucket_length(n) for n in lengths}) <= 12


def test_batch_rows_are_sized_by_frames_not_only_samples():
    # a hop of 1 sample: a 60 000-sample item's bucket held 16 rows of 61 M frame values (2.4 GB)
    small_hop = SpectrogramConfig(window_size=1024, offset=1)
    bucket = bucket_length(60000)
    rows = bucket_batch_size(bucket, small_hop)
    assert rows == 1 and bucket_batch_size(bucket) == 16
    assert all(len(idx) == 1 for _, idx in plan_batches([60000] * 3, small_hop))
    # the default config's batches are those of the samples rule on every rung to 8 s
    rungs = sorted({bucket_length(n) for n in range(1000, 128001, 500)})
    assert all(bucket_batch_size(b, SpectrogramConfig()) == bucket_batch_size(b) for b in rungs)
    for b in rungs:  # within the budget, or one row (an item is never split)
        rows = bucket_batch_size(b, small_hop)
        assert rows == 1 or rows * small_hop.num_frames(b) * 1024 <= corpus.BATCH_VALUES
    assert [bucket_batch_size(b, small_hop) for b in rungs[:3]] == [64, 42, 32]


@given(st.lists(st.integers(0, 400_000), max_size=80))
def test_plan_batches_covers_every_item_once_within_batch_sizes(lengths):
    batches = plan_batches(lengths)
    seen = sorted(i for _, idx in batches for i in idx)
    assert seen == list(range(len(lengths)))
    for bucket, idx in batches:
        assert 1 <= len(idx) <= bucket_batch_size(bucket)
        assert all(bucket_length(lengths[i]) == bucket for i in idx)


def test_file_keys_depend_only_on_seed_and_name():
    a = jax.random.key_data(file_key(3, "dir/clip"))
    assert np.array_equal(a, jax.random.key_data(file_key(3, "dir/clip")))
    assert not np.array_equal(a, jax.random.key_data(file_key(4, "dir/clip")))
    assert not np.array_equal(a, jax.random.key_data(file_key(3, "dir/clip2")))
    h = name_hash("dir/clip")
    manual = jax.random.fold_in(jax.random.fold_in(jax.random.key(3), h >> 32), h & 0xFFFFFFFF)
    assert np.array_equal(a, jax.random.key_data(manual))


def test_name_hashes_of_many_names_do_not_collide():
    names = [f"speaker{i % 997}/utt{i}" for i in range(200_000)]
    assert len({name_hash(n) for n in names}) == len(names)
    assert isinstance(name_hash("caf\udce9"), int)  # undecodable bytes of a file name


@settings(deadline=None, max_examples=30)  # a device call per value for the reference
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20))
def test_host_fold_in_is_jax_fold_in(seed, data):
    key = jax.random.key(seed)
    words = np.asarray(jax.random.key_data(key))
    expected = np.stack([np.asarray(jax.random.key_data(jax.random.fold_in(key, np.uint32(d)))) for d in data])
    np.testing.assert_array_equal(fold_in_words(words, np.array(data, np.uint32)), expected)
    # and row by row for a batch of keys folding one value
    batch = jax.random.split(key, len(data))
    expected = np.asarray(jax.vmap(lambda k: jax.random.key_data(jax.random.fold_in(k, 7)))(batch))
    np.testing.assert_array_equal(fold_in_words(np.asarray(jax.random.key_data(batch)), 7), expected)


def test_file_keys_rows_are_the_file_keys():
    names = ["a", "dir/clip", "caf\udce9", ""]
    rows = file_keys(5, names)
    assert rows.shape == (4, 2) and rows.dtype == np.uint32
    for name, row in zip(names, rows, strict=True):
        np.testing.assert_array_equal(row, jax.random.key_data(file_key(5, name)))


def test_encode_waves_takes_keys_as_a_list_a_typed_array_or_raw_words():
    import jaxspec

    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01))
    rng = np.random.default_rng(0)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (900, 5000, 1200, 5100)]
    typed = jax.random.split(jax.random.key(3), len(waves))
    as_list = encode_waves(config, waves, [typed[i] for i in range(len(waves))], host=True)
    for keys in (typed, np.asarray(jax.random.key_data(typed)), jax.random.key_data(typed)):
        for a, b in zip(as_list, encode_waves(config, waves, keys, host=True), strict=True):
            np.testing.assert_array_equal(a, b)
    for i, wave in enumerate(waves):  # and each equals the wave alone with its key
        alone = np.asarray(jaxspec.spectrogram(config, wave, typed[i]))
        np.testing.assert_allclose(as_list[i], alone, rtol=1e-5, atol=1e-6 * np.abs(alone).max())


def test_encode_batch_takes_one_key_per_item():
    import jaxspec

    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01))
    clips = [np.random.default_rng(i).standard_normal(n).astype(np.float32) for i, n in enumerate((3000, 5000, 700))]
    keys = jax.numpy.stack([jax.random.key(seed) for seed in (10, 20, 30)])  # not a split of one key
    batch = jaxspec.encode_batch(config, clips, sample_rate=16000, key=keys)
    folded = jaxspec.encode_batch(config, clips, sample_rate=16000, key=jax.random.key(4))
    for i, clip in enumerate(clips):
        alone = np.asarray(jaxspec.encode(config, clip, sample_rate=16000, key=keys[i]))
        np.testing.assert_allclose(np.asarray(batch[i]), alone, rtol=1e-5, atol=1e-6 * np.abs(alone).max())
        assert not np.allclose(np.asarray(folded[i]), alone)  # the keys were used, not folded from one


# ---------------------------------------------------------------- packing (keyless, framewise configs)
_KEYED_LENGTHS = (
    0,
    1,
    130,
    399,
    400,
    401,
    1500,
    4000,
    8191,
    9000,
    12000,
    20000,
    30000,
)  # few: alone compiles per length


def _packable_configs():
    import jaxspec

    return {
        "seed": jaxspec.SpectrogramConfig(),
        "seed-mel-log": jaxspec.SpectrogramConfig(
            window_size=512, offset=160, features=(jaxspec.MelFilterbank(n_mels=40), jaxspec.Log())
        ),
        "kaldi-fbank": jaxspec.presets.kaldi_fbank(),
        "kaldi-mfcc": jaxspec.presets.kaldi_mfcc(use_energy=False),
    }


def _assert_each_alone(config, waves, outs):
    import jaxspec

    assert len(outs) == len(waves)
    for wave, out in zip(waves, outs, strict=True):
        alone = np.asarray(jaxspec.spectrogram(config, wave))
        assert out.shape == alone.shape and out.dtype == np.float32
        if alone.size:
            np.testing.assert_allclose(np.asarray(out), alone, rtol=1e-5, atol=1e-5 * np.abs(alone).max())


def test_which_configs_are_packable():
    import jaxspec
    from jaxspec.packing import packable

    assert all(packable(c) for c in _packable_configs().values())
    not_packable = [
        jaxspec.SpectrogramConfig(normalization=("rms", 0.1)),  # a statistic of the whole example
        jaxspec.SpectrogramConfig(target_length="1s"),
        jaxspec.presets.whisper(),  # centred framing, and a per-example maximum
        jaxspec.presets.kaldi_fbank(snip_edges=False),  # mirrored edges
        jaxspec.SpectrogramConfig(power=None),
    ]
    assert not any(packable(c) for c in not_packable)


@pytest.mark.parametrize("name", list(_packable_configs()))
@pytest.mark.parametrize("chunk_frames", [64, 2048])
@settings(deadline=None, max_examples=8)
@given(lengths=st.lists(st.sampled_from(_KEYED_LENGTHS + (40_000,)), min_size=1, max_size=12))
def test_packed_items_equal_each_alone(name, chunk_frames, lengths):
    """Items of any length (empty, shorter than a window, straddling chunks) against
    spectrogram of each alone; 64-frame chunks make items span several."""
    config = _packable_configs()[name]
    rng = np.random.default_rng(len(lengths))
    waves = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in lengths]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(packing, "PACK_FRAME_SAMPLES", chunk_frames * config.fft_samples)
        assert packing.pack_frames(config) == chunk_frames
        outs = encode_waves(config, waves, host=True)
    _assert_each_alone(config, waves, outs)


_COMPILE = "/jax/core/compile/backend_compile_duration"


@pytest.mark.parametrize("keyed", [False, True])
def test_packed_buffers_need_no_zeros_to_start_with(keyed):
    """The workers' chunk buffers and the outputs of items that cross chunk edges start
    uninitialized: every sample and row is written (here they start as NaN)."""
    import jaxspec

    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01))
    rng = np.random.default_rng(12)
    waves = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (0, 300, 5000, 20_000, 7000, 60_000, 401)]
    keys = jax.random.split(jax.random.key(9), len(waves)) if keyed else None
    empty = packing._aligned_empty

    def nan_filled(shape):
        out = empty(shape)
        out.fill(np.nan)
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(packing, "PACK_FRAME_SAMPLES", 64 * config.frame_samples)  # items cross chunk edges
        patch.setattr(packing, "_aligned_empty", nan_filled)
        outs = encode_waves(config, waves, keys, host=True, checked=True)  # NaN samples would reach the outputs
    for i, (wave, out) in enumerate(zip(waves, outs, strict=True)):
        alone = np.asarray(jaxspec.spectrogram(config, wave, None if keys is None else keys[i]))
        np.testing.assert_allclose(out, alone, rtol=1e-5, atol=1e-5 * max(1e-30, float(np.abs(alone).max(initial=0))))


def test_packed_corpus_compiles_one_program_and_its_results_stay_valid(trace_events):
    import jaxspec

    config = jaxspec.SpectrogramConfig(window_size=480, offset=160)  # a config no other test compiles
    rng = np.random.default_rng(7)
    lengths = np.unique(np.geomspace(8000, 128000, 60).astype(int))
    waves = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in lengths]
    trace_events.clear()
    outs = jaxspec.encode_batch(config, waves, sample_rate=16000)
    assert trace_events.count(_COMPILE) == 1, trace_events  # one chunk program for 60 lengths
    assert all(isinstance(o, jax.Array) for o in outs)
    kept = [np.array(o) for o in outs]  # copies
    # more work reuses freed buffers: results that alias chunk outputs must not change
    for _ in range(2):
        jaxspec.encode_batch(config, [w[::-1].copy() for w in waves], sample_rate=16000)
    for out, copy in zip(outs, kept, strict=True):
        np.testing.assert_array_equal(np.asarray(out), copy)
    _assert_each_alone(config, waves[::7], outs[::7])


_DEVICE_SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np, jaxspec
    rng = np.random.default_rng(3)
    waves = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (0, 5000, 40000, 300000)]
    augmentation = jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01)
    packed = jaxspec.SpectrogramConfig(augmentation=augmentation)
    ladder = jaxspec.SpectrogramConfig(normalization=("rms", 0.1), augmentation=augmentation)  # not packable
    second = jax.devices()[1]
    for config, key in [(c, k) for c in (packed, ladder) for k in (None, jax.random.key(2))]:
        alone = jaxspec.encode_batch(config, waves, sample_rate=16000, key=key)
        with jax.default_device(second):  # thread-local: chunks and batches run in worker threads
            outs = jaxspec.encode_batch(config, waves, sample_rate=16000, key=key)
        for out, ref in zip(outs, alone, strict=True):
            assert out.devices() == {second} and not out.committed, (out.devices(), out.committed)
            np.testing.assert_array_equal(np.asarray(out), np.asarray(ref))
    print("DEVICE-OK")
    """
)


def test_corpus_results_land_on_the_callers_default_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    command = [sys.executable, "-c", _DEVICE_SCRIPT]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "DEVICE-OK" in result.stdout


_COMPILES_SCRIPT = textwrap.dedent(
    """
    import jax, jax.monitoring, numpy as np, jaxspec
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda name, *a, **k: compiles.append(name) if name.endswith("backend_compile_duration") else None
    )
    lengths = np.unique(np.geomspace(8000, 128000, 60).astype(int))
    waves = [np.random.default_rng(int(n)).standard_normal(n).astype(np.float32) * 0.1 for n in lengths]
    config = jaxspec.SpectrogramConfig(normalization=("rms", 0.1))  # not packable: the bucket ladder
    key = jax.random.key(0)
    for keys in (key, None, key):
        before = len(compiles)
        jaxspec.encode_batch(config, waves, sample_rate=16000, key=keys)
        print("COMPILES", len(compiles) - before)
    typed = jax.random.split(jax.random.key(1), len(waves))  # typed keys, one per wave
    before = len(compiles)
    jaxspec.encode_batch(config, waves, sample_rate=16000, key=typed)  # (its few items per bucket: alone)
    print("COMPILES", len(compiles) - before)
    """
)


def test_sixty_lengths_compile_at_most_a_dozen_programs_in_a_fresh_process():
    """Every backend compile counts (not only the spectrogram's): the keys of a batch are
    gathered on the host and passed as raw words, so no program per batch size copies them."""
    command = [sys.executable, "-c", _COMPILES_SCRIPT]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-3000:]
    counts = [int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("COMPILES")]
    keyed, keyless, again, typed = counts
    assert keyed <= 12 and keyless <= 12, counts
    assert again == 0 and typed == 0, counts  # another corpus, or typed keys, reuse every program


def _keyed_configs():
    import jaxspec
    from jaxspec import Augmentation, Convolution, Noise, Scaled, TimeShift, Uniform

    rng = np.random.default_rng(11)
    response = (rng.standard_normal(700) * np.exp(-np.arange(700) / 150)).astype(np.float32)
    recording = (0.05 * rng.standard_normal(5000)).astype(np.float32)
    return {
        "volume": jaxspec.SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 1.5))),
        "white-noise": jaxspec.SpectrogramConfig(augmentation=Augmentation(noise=Uniform(0.0, 0.02))),
        "recording-noise": jaxspec.SpectrogramConfig(augmentation=Augmentation(noise=Noise((0.5, 1.0), recording))),
        "scaled-shift": jaxspec.SpectrogramConfig(augmentation=Augmentation(time_shift=Scaled((-0.3, 0.3)))),
        "convolution": jaxspec.SpectrogramConfig(augmentation=Augmentation(convolution=Convolution(response, (0, 1)))),
        "all-four-kaldi": jaxspec.presets.kaldi_fbank(
            augmentation=Augmentation(
                volume=(0.5, 1.5), noise=0.01, time_shift=TimeShift(("-20ms", "20ms")), convolution=response
            )
        ),
    }


@pytest.mark.parametrize("name", list(_keyed_configs()))
@pytest.mark.parametrize("chunk_frames", [64, 2048])
@settings(deadline=None, max_examples=5)
@given(lengths=st.lists(st.sampled_from(_KEYED_LENGTHS), min_size=1, max_size=10), seed=st.integers(0, 2**31 - 1))
def test_keyed_packed_items_equal_each_alone(name, chunk_frames, lengths, seed):
    """Each item augmented in a packed chunk draws and computes what it would alone;
    with 64-frame chunks the longer items go through the bucket ladder instead."""
    import jaxspec

    config = _keyed_configs()[name]
    assert packing.packable(config, keyed=True)
    rng = np.random.default_rng(seed)
    waves = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in lengths]
    keys = jax.random.split(jax.random.key(seed), len(waves))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(packing, "PACK_FRAME_SAMPLES", chunk_frames * config.fft_samples)
        outs = encode_waves(config, waves, keys, host=True)
    for i, (wave, out) in enumerate(zip(waves, outs, strict=True)):
        alone = np.asarray(jaxspec.spectrogram(config, wave, keys[i]))
        assert out.shape == alone.shape
        if alone.size:
            np.testing.assert_allclose(out, alone, rtol=1e-5, atol=1e-5 * np.abs(alone).max())


def test_keyed_packing_is_refused_where_an_item_is_not_alone():
    import jaxspec
    from jaxspec import Augmentation, FrequencyMask

    assert not packing.packable(
        jaxspec.SpectrogramConfig(augmentation=Augmentation(frequency_mask=FrequencyMask(1, 5))), True
    )
    assert not packing.packable(jaxspec.presets.kaldi_fbank(dither=1.0), True)  # dither draws per frame of its example
    assert packing.packable(jaxspec.presets.kaldi_fbank(dither=1.0))  # ... and nothing without a key


def test_keyed_packed_corpus_compiles_one_program_and_matches_the_ladder(trace_events):
    import jaxspec
    from jaxspec import Augmentation

    config = jaxspec.SpectrogramConfig(window_size=464, augmentation=Augmentation(volume=(0.5, 1.5), noise=0.01))
    rng = np.random.default_rng(8)
    waves = [
        (0.1 * rng.standard_normal(n)).astype(np.float32) for n in np.unique(np.geomspace(8000, 96000, 60).astype(int))
    ]
    key = jax.random.key(5)
    trace_events.clear()
    packed = jaxspec.encode_batch(config, waves, sample_rate=16000, key=key)
    assert trace_events.count(_COMPILE) == 1, trace_events
    with pytest.MonkeyPatch.context() as patch:  # the same items on the bucket ladder: the same draws
        patch.setattr(corpus, "packable", lambda config, keyed=False: False)
        ladder = jaxspec.encode_batch(config, waves, sample_rate=16000, key=key)
    for a, b in zip(packed, ladder, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5 * float(np.abs(b).max()))


def test_encode_waves_wants_one_key_per_wave():
    import jaxspec

    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5)))
    waves = [np.zeros(900, np.float32), np.zeros(1200, np.float32)]
    with pytest.raises(jaxspec.InputError, match="1 keys for 2 waves"):
        encode_waves(config, waves, jax.random.split(jax.random.key(0), 1))
    assert encode_waves(config, [], []) == [] and encode_waves(config, [], None) == []


@pytest.mark.parametrize("keyed", [False, True])
def test_packed_corpora_refuse_nan_and_huge_samples(keyed):
    import jaxspec

    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5)))
    keys = jax.random.split(jax.random.key(0), 2) if keyed else None
    bad = np.zeros(3000, np.float32)
    bad[1234] = np.nan
    with pytest.raises(jaxspec.InputError, match="NaN"):
        encode_waves(config, [np.zeros(900, np.float32), bad], keys)
    with pytest.raises(jaxspec.InputError, match="too large"):
        encode_waves(config, [np.zeros(900, np.float32), np.full(3000, 1e30, np.float32)], keys)


@pytest.mark.parametrize("keyed", [False, True])
def test_packed_corpora_check_the_samples_no_frame_reads_and_name_the_first_bad_wave(keyed):
    """Kaldi's framing leaves a wave's last samples (and all of a wave shorter than a
    window) out of every frame: they are checked all the same, and the error is the
    first bad wave's, as ``spectrogram`` words it."""
    import jaxspec

    config = jaxspec.presets.kaldi_fbank(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5)), dither=0.0)
    keys = jax.random.split(jax.random.key(0), 4) if keyed else None
    waves = [np.zeros(n, np.float32) for n in (900, 16000 + 7, 300, 2000)]
    assert config.num_frames(16007) == config.num_frames(16000) and config.num_frames(300) == 0
    tail, short, loud = (w.copy() for w in waves[1:])
    tail[-1], short[5], loud[:] = np.inf, np.nan, 1e30
    for bad, index, at in ((tail, 1, 16006), (short, 2, 5)):
        with pytest.raises(
            jaxspec.InputError, match=rf"^wave {index} has NaN or infinite samples \(first at sample {at}\)$"
        ):
            encode_waves(config, [*waves[:index], bad, *waves[index + 1 :]], keys)
    with pytest.raises(jaxspec.InputError, match=r"^wave 2 has samples up to 1e\+30"):
        encode_waves(config, [waves[0], tail[:-1], np.full(300, 1e30, np.float32), loud], keys)


def test_ladder_batches_name_the_first_bad_wave():
    """A config that is not packed (an RMS normalization) checks whole batches; the error
    still names the first bad wave, as ``spectrogram`` words it for that wave alone."""
    import jaxspec

    config = jaxspec.SpectrogramConfig(normalization=("rms", 0.1))
    waves = [np.full(n, 0.1, np.float32) for n in (900, 5000, 3000, 20000)]
    waves[2][7], waves[3][0] = np.nan, np.inf
    for keys in (None, jax.random.split(jax.random.key(0), 4)):
        with pytest.raises(jaxspec.InputError, match=r"^wave 2 has NaN or infinite samples \(first at sample 7\)$"):
            encode_waves(config, waves, keys)


def test_a_chunk_held_to_its_longest_waves_bound_does_not_fail_waves_that_pass_alone(monkeypatch):
    """A chunk is checked as its corpus's longest wave would be (a stricter bound); when
    every wave passes alone, the corpus is computed all the same."""
    import jaxspec
    from jaxspec import _inputs

    check = _inputs.check_samples

    def strict(config, x, name="x", length=None):
        if name == "a chunk":
            raise jaxspec.InputError("a chunk is too large for the longest wave's bound")
        check(config, x, name, length)

    monkeypatch.setattr(packing, "check_samples", strict)
    config = jaxspec.SpectrogramConfig()
    waves = [(0.1 * np.random.default_rng(i).standard_normal(n)).astype(np.float32) for i, n in enumerate((900, 5000))]
    for wave, out in zip(waves, encode_waves(config, waves, host=True), strict=True):
        np.testing.assert_array_equal(out, np.asarray(jaxspec.spectrogram(config, wave)))


def test_packed_convolution_keeps_a_quiet_items_relative_error_beside_loud_ones():
    """Items share a chunk's FFT convolution; its rounding (about 1e-7 of the loudest
    samples) must not swamp a -80 dB neighbour: each item is scaled to a peak near 1 first."""
    import jaxspec

    rng = np.random.default_rng(1)
    response = (rng.standard_normal(301) * np.exp(-np.arange(301) / 50) * 0.2).astype(np.float32)
    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(convolution=response))
    key = jax.random.key(5)
    waves = [(rng.standard_normal(16000) * level).astype(np.float32) for level in (0.5, 1e-4, 0.5, 0.0)]
    outs = jaxspec.encode_batch(config, waves, sample_rate=16000, key=key)
    for i, (wave, out) in enumerate(zip(waves, outs, strict=True)):
        alone = np.asarray(jaxspec.spectrogram(config, wave, jax.random.fold_in(key, i)))
        error = np.linalg.norm(np.asarray(out) - alone) / max(np.linalg.norm(alone), 1e-30)
        assert error < 2e-6, (i, error)  # 1.6e-4 for the quiet item before the scaling
    assert not np.asarray(outs[3]).any()


def test_batches_fill_per_bucket_or_one_packed_buffer():
    import jaxspec

    ladder = corpus.Batches(jaxspec.presets.whisper(), keyed=False)  # not packable
    size = corpus.bucket_batch_size(corpus.bucket_length(16000), jaxspec.presets.whisper())
    assert size == corpus.BATCH_VALUES // (3000 * 400)  # 30 s of output a row
    handed = [ladder.add(i, 16000) for i in range(size)] + [ladder.add("short", 3000)]
    assert handed[:-2] == [None] * (size - 1) and handed[-2] == list(range(size)) and handed[-1] is None
    assert ladder.rest() == [["short"]] and ladder.rest() == []
    packed = corpus.Batches(jaxspec.SpectrogramConfig(), keyed=False)
    n = corpus.PACK_BATCH_SAMPLES // 4
    assert [packed.add(i, length) for i, length in enumerate((n, 3000, n, n))] == [None] * 4
    assert packed.add("last", n) == [0, 1, 2, 3, "last"]  # every length in one buffer


def test_a_tiny_hop_under_a_huge_fft_is_not_padded_to_the_ladder():
    """1 sample was padded to 1024 (1024 frames of a 2**20-point FFT at a hop of 1: 8.6 GB) and a
    packed chunk held 4096 frames (the CLI was OOM-killed); the item is computed at its own
    length, in chunks sized by the FFT input, as spectrogram computes it."""
    config = SpectrogramConfig(window_size=2, offset=1, fft_size=1 << 17)
    assert corpus.plan_batches([1, 3], config) == [(1, [0]), (3, [1])]
    assert packing.pack_frames(config) == 64  # a packed chunk held 4096 frames of 2**17 samples (2 GB)
    x = np.asarray([0.5, -0.25, 0.125], np.float32)
    expected = np.asarray(jaxspec.spectrogram(config, x))
    np.testing.assert_allclose(jaxspec.encode(config, x, sample_rate=16000), expected, rtol=1e-5, atol=1e-7)
    batch = jaxspec.encode_batch(config, [x[:1], x], sample_rate=16000)
    np.testing.assert_allclose(batch[1], expected, rtol=1e-5, atol=1e-7)
    assert batch[0].shape == (1, (1 << 16) + 1)


def test_a_seed_gives_the_key_of_its_64_bit_words_with_or_without_x64():
    """The dtype audit: without x64, ``jax.random.key(seed)`` casts the seed to int32, so
    ``--key 4294967296`` drew what ``--key 0`` draws and ``--key -1`` drew other keys than with
    x64. Seeds give ``jax.random.key(seed)``'s keys with x64 on (computed by JAX in a process
    with ``JAX_ENABLE_X64=1``), in this process without it, for the CLI's, Grain's and plot's keys."""
    from jaxspec.augmentation.random import seed_key
    from jaxspec.grain import record_key

    seeds = [0, 5, 2**31 - 1, 2**31, 2**32, -1, -(2**63), 2**63 - 1, 1_700_000_000_000_000_000]
    code = f"import jax; print([jax.random.key_data(jax.random.key(s)).tolist() for s in {seeds}])"
    env = dict(os.environ, JAX_ENABLE_X64="1", JAX_PLATFORMS="cpu")
    made = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    with_x64 = eval(made.stdout)
    assert not jax.config.jax_enable_x64
    for seed, words in zip(seeds, with_x64, strict=True):
        np.testing.assert_array_equal(jax.random.key_data(seed_key(seed)), words, err_msg=str(seed))
        h = name_hash("a/b")
        expected = jax.random.fold_in(jax.random.fold_in(seed_key(seed), h >> 32), h & 0xFFFFFFFF)
        np.testing.assert_array_equal(file_keys(seed, ["a/b"])[0], jax.random.key_data(expected))
        np.testing.assert_array_equal(
            jax.random.key_data(record_key(seed, 3)), jax.random.key_data(jax.random.fold_in(seed_key(seed), 3))
        )
    assert not np.array_equal(file_keys(2**32, ["a"]), file_keys(0, ["a"]))
    for bad in (2**64, -(2**63) - 1, 1.7, True, "3"):  # 2**64 drew what 0 draws, 1.7 what 1 draws
        with pytest.raises(jaxspec.ConfigError, match=r"must be an int in \[-2\*\*63, 2\*\*63\)"):
            file_keys(bad, ["a"])
