"""The Grain transforms in tiny pipelines: per-record keys, reproducibility, records with labels."""

from __future__ import annotations

import pickle

import jax
import numpy as np
import pytest
import soundfile

import jaxspec
from jaxspec.grain import EncodeAudio, LoadAudio, record_key

grain = pytest.importorskip("grain", reason="grain is an optional extra (pip install grain)")

CONFIG = jaxspec.SpectrogramConfig(
    window_size=64, offset=32, augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01)
)
PLAIN = jaxspec.SpectrogramConfig(window_size=64, offset=32)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Four short int16 WAV files: three at 16 kHz (lengths 400, 400, 250), one at 8 kHz."""
    folder = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(0)
    paths = []
    for i, (n, rate) in enumerate([(400, 16000), (400, 16000), (250, 16000), (200, 8000)]):
        path = folder / f"clip{i}.wav"
        soundfile.write(path, (rng.normal(0, 0.2, n) * 2**15).clip(-(2**15), 2**15 - 1).astype(np.int16), rate)
        paths.append(str(path))
    return paths


def ref_spectrogram(x: np.ndarray, ws: int = 64, hop: int = 32) -> np.ndarray:
    """float64 reference: frames with zeros past the end, periodic Hann, |rfft|^2."""
    n = -(-len(x) // hop)
    padded = np.concatenate([np.asarray(x, np.float64), np.zeros(n * hop + ws)])
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(ws) / ws)
    return np.abs(np.fft.rfft(np.stack([padded[i * hop : i * hop + ws] for i in range(n)]) * window, axis=-1)) ** 2


def test_record_key_rule():
    for seed, index in [(0, 0), (5, 3), (123, 2**32 - 1)]:
        expected = jax.random.fold_in(jax.random.key(seed), index)
        np.testing.assert_array_equal(jax.random.key_data(record_key(seed, index)), jax.random.key_data(expected))
    assert not np.array_equal(jax.random.key_data(record_key(0, 1)), jax.random.key_data(record_key(0, 2)))


def test_transforms_are_grain_transforms_even_after_pickling():
    encode, load = pickle.loads(pickle.dumps((EncodeAudio(CONFIG, seed=1), LoadAudio(CONFIG))))
    assert isinstance(encode, grain.transforms.MapWithIndex) and isinstance(encode, grain.transforms.RandomMap)
    assert isinstance(load, grain.transforms.Map)
    assert encode == EncodeAudio(CONFIG, seed=1)


def test_without_seed_matches_numpy_reference(files):
    ds = grain.MapDataset.source(files[:3]).map_with_index(EncodeAudio(PLAIN))
    for i, path in enumerate(files[:3]):
        samples, _ = soundfile.read(path, dtype="int16")
        ref = ref_spectrogram(samples / 2**15)
        out = ds[i]
        assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == ref.shape
        assert np.linalg.norm(out - ref) / np.linalg.norm(ref) < 1e-5


def test_record_i_uses_fold_in_of_seed_and_index(files):
    ds = grain.MapDataset.source(files).map_with_index(EncodeAudio(CONFIG, seed=7))
    for i, path in enumerate(files):
        np.testing.assert_array_equal(ds[i], jaxspec.encode(CONFIG, path, key=record_key(7, i)))
    assert ds[3].shape == PLAIN.output_shape(400)  # the 8 kHz file is resampled to 400 samples at 16 kHz


def test_pipeline_is_reproducible_and_epochs_differ(files):
    def build(seed):
        return list(
            grain.MapDataset.source(files[:2]).shuffle(seed=0).repeat(2).map_with_index(EncodeAudio(CONFIG, seed=seed))
        )

    first, again, other = build(1), build(1), build(2)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not any(np.allclose(a, b) for a, b in zip(first, other, strict=True))
    # the same two files in epoch 2 get new indices and so new augmentations
    assert not any(np.allclose(a, b) for a in first[:2] for b in first[2:])


def test_dict_records_keep_labels_and_batch(files):
    records = [{"audio": p, "label": i} for i, p in enumerate(files[:2])]
    ds = grain.MapDataset.source(records).map_with_index(EncodeAudio(CONFIG, seed=0)).batch(2)
    batch = ds[0]
    assert batch["audio"].shape == (2,) + PLAIN.output_shape(400)
    np.testing.assert_array_equal(batch["label"], [0, 1])
    np.testing.assert_array_equal(batch["audio"][1], jaxspec.encode(CONFIG, files[1], key=record_key(0, 1)))
    custom = EncodeAudio(CONFIG, field="wav").map_with_index(0, {"wav": files[0], "id": "a"})
    assert set(custom) == {"wav", "id"} and custom["wav"].shape == PLAIN.output_shape(400)


def test_load_audio_pads_trims_and_resamples(files):
    ds = grain.MapDataset.source([{"audio": p, "label": 0} for p in files]).map(LoadAudio(CONFIG, length=300)).batch(4)
    waves = ds[0]["audio"]
    assert waves.shape == (4, 300) and waves.dtype == np.float32
    first, _ = soundfile.read(files[0], dtype="int16")
    np.testing.assert_allclose(waves[0], first[:300] / 2**15, rtol=0, atol=1e-7)  # trimmed
    short, _ = soundfile.read(files[2], dtype="int16")
    np.testing.assert_allclose(waves[2, :250], short / 2**15, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(waves[2, 250:], 0.0)  # zero-padded at the end
    assert LoadAudio(CONFIG).map(files[3]).shape == (400,)  # 200 samples at 8 kHz -> 400 at 16 kHz
    assert LoadAudio(CONFIG, length="10ms").length == 160


def test_load_audio_reads_the_whole_file_whatever_the_configs_target_length(tmp_path, monkeypatch):
    """LoadAudio passed the config to prepare, which reads only the start a target_length needs
    (Whisper's 30 s): a 3 s file under target_length="1s" loaded as its first second, its last
    samples resampled against zeros past the cut, and length="2.5s" padded real audio with
    zeros (found by an audit). Its docstring: only sample_rate is used. With a length it still
    decodes only what that length needs (the whole file was 20x slower for Whisper's records)."""
    from jaxspec import encoding

    read, real = [], encoding.read_start
    monkeypatch.setattr(encoding, "read_start", lambda path, start: read.append(start) or real(path, start))
    rng = np.random.default_rng(3)
    for rate in (16000, 22050):
        path = tmp_path / f"long{rate}.wav"
        soundfile.write(path, (rng.standard_normal(3 * rate) * 0.1).astype(np.float32), rate, subtype="FLOAT")
        whole = LoadAudio(PLAIN).map(str(path))
        assert whole.shape == (48000,)
        for length in (None, "2.5s"):
            read.clear()
            cut = LoadAudio(jaxspec.SpectrogramConfig(target_length="1s"), length=length).map(str(path))
            assert len(cut) == (48000 if length is None else 40000)
            np.testing.assert_allclose(cut, whole[: len(cut)], rtol=1e-5, atol=1e-6 * np.abs(whole).max())
            decoded = read[0] and read[0](rate, 3 * rate)  # None: the whole file
            assert decoded is None if length is None else 2.5 * rate <= decoded < 3 * rate, decoded  # (+ the reach)


def test_data_loader_random_map_is_reproducible(files):
    def run(seed):
        sampler = grain.samplers.IndexSampler(3, shuffle=False, num_epochs=1, seed=seed)
        loader = grain.DataLoader(
            data_source=files[:2] + files[:1], sampler=sampler, operations=[EncodeAudio(CONFIG, seed=0)], worker_count=0
        )
        return list(loader)

    first, again, other = run(3), run(3), run(4)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], other[0])
    assert not np.allclose(first[0], first[2])  # the same file at another index draws anew


def test_bad_settings_are_rejected(files):
    with pytest.raises(jaxspec.ConfigError, match="SpectrogramConfig"):
        EncodeAudio("config")
    with pytest.raises(jaxspec.ConfigError, match="seed"):
        EncodeAudio(CONFIG, seed=1.5)
    with pytest.raises(jaxspec.ConfigError, match="no field 'audio'"):
        EncodeAudio(CONFIG).map_with_index(0, {"path": files[0]})
    with pytest.raises(FileNotFoundError):
        LoadAudio(CONFIG).map("/nonexistent/clip.wav")


def test_a_bad_record_is_named_by_its_index(files):
    # "audio has NaN ..." named no record: which of a million was it? (an audit)
    bad = np.full(1600, np.nan, np.float32)
    records = [{"audio": files[0]}, {"audio": jaxspec.Audio(bad, 16000)}]
    ds = grain.MapDataset.source(records).map_with_index(EncodeAudio(PLAIN, seed=0))
    assert ds[0]["audio"].ndim == 2
    with pytest.raises(jaxspec.InputError, match=r"^record 1: .*NaN"):
        ds[1]
    with pytest.raises(FileNotFoundError, match=r"^record 7 \('/nonexistent/clip.wav'\): "):
        EncodeAudio(PLAIN).map_with_index(7, "/nonexistent/clip.wav")


def test_process_shards_partition_the_dataset_with_global_keys(files):
    from jaxspec.grain import shard_for_process

    ds = grain.MapDataset.source(files).repeat(2).map_with_index(EncodeAudio(CONFIG, seed=5))
    full = [ds[i] for i in range(len(ds))]
    shards = [shard_for_process(ds, process_index=p, process_count=2) for p in range(2)]
    assert sum(len(s) for s in shards) == len(full)
    for p, shard in enumerate(shards):
        for j in range(len(shard)):
            np.testing.assert_array_equal(shard[j], full[p + 2 * j])  # the key of global index p + 2j


def test_data_loader_sharded_by_process_keys_records_by_their_global_index(files):
    records = [{"audio": path, "index": i} for i, path in enumerate(files)]

    def loader(shard):
        sampler = grain.samplers.IndexSampler(len(records), shard_options=shard, shuffle=True, num_epochs=1, seed=3)
        encode = EncodeAudio(CONFIG, seed=5, index_field="index")
        return grain.DataLoader(data_source=records, sampler=sampler, operations=[encode], worker_count=0)

    by_index = {int(r["index"]): r["audio"] for r in loader(grain.sharding.NoSharding())}
    parts = [list(loader(grain.sharding.ShardOptions(shard_index=p, shard_count=2))) for p in range(2)]
    assert sorted(int(r["index"]) for part in parts for r in part) == list(range(len(files)))
    for part in parts:
        for r in part:
            np.testing.assert_array_equal(r["audio"], by_index[int(r["index"])])
            expected = EncodeAudio(CONFIG, seed=5).map_with_index(int(r["index"]), files[int(r["index"])])
            np.testing.assert_array_equal(r["audio"], expected)


def test_restart_from_checkpointed_iterator_state_reproduces_examples(files):
    ds = grain.MapDataset.source(files).shuffle(seed=0).repeat(3).map_with_index(EncodeAudio(CONFIG, seed=9))
    iterator = iter(ds.to_iter_dataset())
    for _ in range(3):
        next(iterator)
    state = iterator.get_state()
    expected = [next(iterator) for _ in range(4)]
    restarted = iter(ds.to_iter_dataset())
    restarted.set_state(state)
    for want in expected:
        np.testing.assert_array_equal(next(restarted), want)


def test_encode_audio_compiles_per_rung_not_per_length(tmp_path):
    from jaxspec import spectrum
    from jaxspec.corpus import bucket_length

    rng = np.random.default_rng(5)
    lengths = np.arange(9000, 16000, 350)  # 20 lengths, 2 rungs of the ladder
    clips = [(rng.standard_normal(n) * 0.1).astype(np.float32) for n in lengths]
    encode = EncodeAudio(CONFIG, seed=3, sample_rate=16000)
    before = spectrum._spectrogram_compiled._cache_size()
    outs = [encode.map_with_index(i, x) for i, x in enumerate(clips)]
    assert spectrum._spectrogram_compiled._cache_size() - before <= len({bucket_length(n) for n in lengths})
    for i, x in enumerate(clips[::7]):
        alone = jaxspec.encode(CONFIG, x, sample_rate=16000, key=record_key(3, 7 * i))
        np.testing.assert_allclose(outs[7 * i], np.asarray(alone), rtol=1e-5, atol=1e-6 * float(np.max(alone)))


def test_record_indices_past_32_bits_fold_in_both_words():
    """An index of 2**32 or more (a long repeat) failed inside fold_in with numpy's OverflowError."""
    base = jax.random.key(5)
    expected = jax.random.fold_in(jax.random.fold_in(base, 1), 7)
    np.testing.assert_array_equal(jax.random.key_data(record_key(5, 2**32 + 7)), jax.random.key_data(expected))
    assert not np.array_equal(jax.random.key_data(record_key(5, 2**32 + 7)), jax.random.key_data(record_key(5, 7)))
    for index in (-1, 2**64, 1.5):
        with pytest.raises(jaxspec.InputError, match="record index"):
            record_key(5, index)
    with pytest.raises(jaxspec.ConfigError, match="seed=18446744073709551616"):
        EncodeAudio(CONFIG, seed=2**64)
    # a record's own index_field, read by random_map, past 32 bits too (taken modulo 2**32, every
    # test passed: the mutation audit)
    x = (0.3 * np.sin(np.arange(16000) / 5)).astype(np.float32)
    encode = EncodeAudio(CONFIG, seed=5, sample_rate=16000, index_field="index")
    rng = np.random.default_rng(0)
    big = encode.random_map({"audio": x, "index": 2**32 + 7}, rng)["audio"]
    alone = np.asarray(jaxspec.encode(CONFIG, x, sample_rate=16000, key=record_key(5, 2**32 + 7)))
    np.testing.assert_allclose(big, alone, rtol=1e-5, atol=1e-6 * float(np.max(alone)))
    assert not np.allclose(big, encode.random_map({"audio": x, "index": 7}, rng)["audio"])


@pytest.mark.parametrize("default", ["rbg", "unsafe_rbg"])
def test_record_keys_do_not_depend_on_the_default_prng_implementation(default):
    # record_key made a key of jax_default_prng_impl: under rbg the records were augmented
    # differently from a Grain worker process (which need not share jax.config) and from the CLI
    expected = jax.random.key_data(jax.random.fold_in(jax.random.key(5, impl="threefry2x32"), 3))
    x = np.random.default_rng(0).normal(0, 0.1, 400).astype(np.float32)
    transform = EncodeAudio(CONFIG, seed=5, sample_rate=16000)
    want = transform.map_with_index(3, x)
    previous = jax.config.jax_default_prng_impl
    jax.config.update("jax_default_prng_impl", default)
    try:
        np.testing.assert_array_equal(jax.random.key_data(record_key(5, 3)), expected)
        np.testing.assert_array_equal(transform.map_with_index(3, x), want)
    finally:
        jax.config.update("jax_default_prng_impl", previous)
