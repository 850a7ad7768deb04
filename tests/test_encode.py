"""encode / encode_batch: ragged batches, the batch key rule, caching, errors that name the item."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
import soundfile

import jaxspec
from jaxspec import Audio, Augmentation, SpectrogramConfig, encode, encode_batch

RATE = 16000
AUGMENTED = SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 2.0), noise=0.01))


@pytest.fixture
def ragged(tmp_path, noise):
    """Inputs of many kinds; at 16 kHz their lengths are 4000 (x4), 2500 (x2), 1 (x2) and 0."""
    path = tmp_path / "clip.wav"
    soundfile.write(path, noise(2500, seed=5), RATE, subtype="FLOAT")
    return [
        noise(4000, seed=1),
        noise(2500, seed=2),
        noise(4000, seed=3),
        noise(1, seed=4),
        np.zeros(0, np.float32),
        path,
        Audio(noise(5512, seed=6), 22050),  # ceil(5512 * 16000 / 22050) = 4000
        noise((4000, 2), seed=7),
        noise(1, seed=8),
    ]


def _alone(config, item, key=None):
    if isinstance(item, np.ndarray):
        return np.asarray(encode(config, item, sample_rate=RATE, key=key))
    return np.asarray(encode(config, item, key=key))


def test_each_item_equals_encoding_it_alone(ragged, relative_error):
    config = SpectrogramConfig(offset=160)
    outputs = encode_batch(config, ragged, sample_rate=RATE)
    assert len(outputs) == len(ragged)
    lengths = [4000, 2500, 4000, 1, 0, 2500, 4000, 4000, 1]
    for i, (item, out, length) in enumerate(zip(ragged, outputs, lengths, strict=True)):
        out = np.asarray(out)
        assert out.dtype == np.float32 and out.shape == (math.ceil(length / 160), 201), i
        assert relative_error(out, _alone(config, item)) < 1e-5, f"item {i}"


def test_batch_keys_are_split_key_n(ragged, key, relative_error):
    outputs = encode_batch(AUGMENTED, ragged, sample_rate=RATE, key=key)
    keys = jax.random.split(key, len(ragged))
    for i, item in enumerate(ragged):
        expected = _alone(AUGMENTED, item, keys[i])
        assert relative_error(outputs[i], expected) < 1e-5, f"item {i} does not use split(key, N)[{i}]"
    # Items 0 and 2 have the same length: each got its own key, not a shared or shifted one.
    assert relative_error(outputs[0], _alone(AUGMENTED, ragged[0], keys[2])) > 1e-3
    assert relative_error(outputs[0], _alone(AUGMENTED, ragged[0])) > 1e-3  # the key did augment


def test_batch_with_one_key_is_reproducible_bit_for_bit(ragged, key):
    first = encode_batch(AUGMENTED, ragged, sample_rate=RATE, key=key)
    second = encode_batch(AUGMENTED, ragged, sample_rate=RATE, key=key)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = encode_batch(AUGMENTED, ragged[:1], sample_rate=RATE, key=jax.random.key(1))
    assert not np.array_equal(np.asarray(other[0]), np.asarray(first[0]))


def test_no_key_means_no_augmentation(noise):
    x = noise(3000)
    np.testing.assert_array_equal(
        np.asarray(encode(AUGMENTED, x, sample_rate=RATE)), np.asarray(encode(SpectrogramConfig(), x, sample_rate=RATE))
    )


def test_encode_with_key_matches_spectrogram_with_key(noise, key, relative_error):
    x = noise(3000)
    expected = jax.jit(jaxspec.spectrogram)(AUGMENTED, x, key)
    assert relative_error(encode(AUGMENTED, x, sample_rate=RATE, key=key), expected) < 1e-5


def test_empty_batch_and_empty_items():
    assert encode_batch(SpectrogramConfig(), []) == []
    outputs = encode_batch(SpectrogramConfig(target_length=4), [np.zeros(0, np.float32)], sample_rate=RATE)
    assert np.asarray(outputs[0]).shape == (4, 201) and not np.asarray(outputs[0]).any()


def test_arrays_in_a_batch_use_the_given_rate(noise):
    outputs = encode_batch(SpectrogramConfig(), [noise(8000), noise(4000)], sample_rate=8000)
    assert [np.asarray(o).shape for o in outputs] == [(121, 201), (61, 201)]  # 16000 and 8000 samples


def test_a_rate_given_for_files_and_audio_alone_must_be_theirs(tmp_path, noise):
    """encode refused sample_rate=16000 for a 44.1 kHz file; encode_batch of that file alone
    computed it at 44.1 kHz, the rate given unused and unsaid. In a list with arrays the rate is
    theirs, and files keep their own."""
    path = tmp_path / "c44.wav"
    soundfile.write(path, noise(4410), 44100, subtype="FLOAT")
    for item in (path, Audio(noise(4410), 44100)):
        with pytest.raises(jaxspec.InputError, match="sample_rate=16000 contradicts"):
            encode(SpectrogramConfig(), item, sample_rate=16000)
        with pytest.raises(jaxspec.InputError, match=r"item 1\b.*sample_rate=16000 contradicts"):
            encode_batch(SpectrogramConfig(), [Audio(noise(160), RATE), item], sample_rate=16000)
        assert len(encode_batch(SpectrogramConfig(), [item], sample_rate=44100)) == 1  # its own rate: fine
        mixed = encode_batch(SpectrogramConfig(), [noise(1600), item], sample_rate=RATE)  # the array's rate
        frames = SpectrogramConfig().num_frames(1600)  # 0.1 s each
        assert [np.asarray(o).shape for o in mixed] == [(frames, 201), (frames, 201)]


def test_a_second_call_with_the_same_shape_does_not_recompile(noise, trace_events):
    config = SpectrogramConfig(offset=150)
    encode(config, noise(3333, seed=1), sample_rate=RATE)
    encode_batch(config, [noise(2222, seed=1), noise(2222, seed=2), noise(999, seed=3)], sample_rate=RATE)
    trace_events.clear()
    encode(config, noise(3333, seed=4), sample_rate=RATE)
    encode_batch(config, [noise(2222, seed=5), noise(2222, seed=6), noise(999, seed=7)], sample_rate=RATE)
    assert trace_events == [], "same config and shapes were traced or compiled again"


# ------------------------------------------------------------------ errors name the item
def test_batch_error_names_the_index_and_path_of_a_missing_file(tmp_path, noise):
    missing = tmp_path / "nowhere" / "gone.wav"
    with pytest.raises(FileNotFoundError) as info:
        encode_batch(SpectrogramConfig(), [noise(100), noise(200), missing], sample_rate=RATE)
    message = str(info.value)
    assert "2" in message and str(missing) in message
    assert "item 2" in message or "index 2" in message or "[2]" in message


def test_batch_error_names_the_index_and_path_of_a_corrupt_file(tmp_path, noise):
    corrupt = tmp_path / "x.wav"
    corrupt.write_bytes(b"RIFF this is not audio at all" * 10)
    with pytest.raises(ValueError) as info:
        encode_batch(SpectrogramConfig(), [noise(100), corrupt], sample_rate=RATE)
    message = str(info.value)
    assert str(corrupt) in message
    assert "item 1" in message or "index 1" in message or "[1]" in message


def test_batch_error_names_the_index_of_a_bad_array(noise):
    bad = noise(300)
    bad[17] = np.nan
    with pytest.raises(ValueError) as info:
        encode_batch(SpectrogramConfig(), [noise(100), noise(100), noise(50), bad], sample_rate=RATE)
    message = str(info.value)
    assert "item 3" in message or "index 3" in message or "[3]" in message
    assert "nan" in message.lower()


def test_batch_error_for_an_array_without_a_rate_names_the_index(noise):
    with pytest.raises(ValueError, match="sample_rate") as info:
        encode_batch(SpectrogramConfig(), [Audio(noise(100), RATE), noise(100)])
    assert "1" in str(info.value)


def test_encode_batch_wants_a_list(noise, tmp_path):
    with pytest.raises(ValueError):
        encode_batch(SpectrogramConfig(), noise(100), sample_rate=RATE)
    with pytest.raises(ValueError):
        encode_batch(SpectrogramConfig(), str(tmp_path / "a.wav"))


def test_encode_of_a_new_length_compiles_one_program(trace_events):
    # encode scanned the device array prepare had already checked: a max-abs program per
    # new length, on top of the spectrogram's
    config = jaxspec.SpectrogramConfig(window_size=320, offset=160)  # a config no other test compiles
    jaxspec.encode(config, np.zeros(20000, np.float32), sample_rate=16000)
    trace_events.clear()
    out = jaxspec.encode(config, np.full(23456, 0.1, np.float32), sample_rate=16000)
    assert trace_events.count("/jax/core/compile/backend_compile_duration") == 1, trace_events
    assert out.shape == config.output_shape(23456)
    with pytest.raises(jaxspec.InputError, match="NaN"):  # the checks stay: prepare makes them
        jaxspec.encode(config, np.full(23456, np.nan, np.float32), sample_rate=16000)


def test_a_small_encode_batch_encodes_each_item_alone(monkeypatch):
    """The latency audit: ``encode_batch`` of one 1 s clip computed a packed chunk of 2048 frames
    (3.4 ms against ``encode``'s 0.5 ms), of one Whisper clip a batch of 55 rows of 30 s (264 ms
    against 5.8 ms). Items that fill under a quarter of a chunk (half of a bucket's batch) are
    encoded alone on their rungs, equal to ``encode`` with ``fold_in(key, i)``; a large call
    still packs or batches them."""
    from jaxspec import corpus, encoding, presets

    x = np.random.default_rng(4).standard_normal(16000).astype(np.float32) * 0.1
    items = [x, x[:9000], x[:3]]
    key = jax.random.key(2)
    calls = []
    counted = lambda *a, **k: calls.append(len(a[1])) or corpus.encode_waves(*a, **k)  # noqa: E731
    monkeypatch.setattr(encoding, "encode_waves", counted)
    for config in (SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 2.0))), presets.whisper()):
        for given in (None, key):
            out = encode_batch(config, items, sample_rate=16000, key=given)
            for i, item in enumerate(items):
                row_key = None if given is None else jax.random.fold_in(given, i)
                alone = encode(config, item, sample_rate=16000, key=row_key)
                np.testing.assert_allclose(out[i], alone, rtol=1e-5, atol=1e-6 * float(np.max(alone)))
    assert calls == []
    encode_batch(SpectrogramConfig(), [x] * 8, sample_rate=16000)  # 968 frames: a packed chunk
    encode_batch(SpectrogramConfig(), [x[:100]] * 20, sample_rate=16000)  # tiny: 20 calls cost more than a chunk
    assert calls == [8, 20]
