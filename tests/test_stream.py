"""Streaming long files: same result as the in-memory path, for any block size."""

import dataclasses

import numpy as np
import pytest
import soundfile

import jaxspec
from jaxspec import _file_reader
from jaxspec.framing import Centered, Kaldi
from jaxspec.resampling import output_length
from jaxspec.stream import encode_to_file, num_output_frames, stream_spectrogram, stream_to_array


def _write(path, rate, channels, seconds=1.3, seed=0):
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    data = 0.3 * np.sin(2 * np.pi * 440 * t)[:, None] + 0.05 * rng.standard_normal((n, channels))
    subtype = "PCM_24" if path.endswith(".flac") else "FLOAT"
    soundfile.write(path, data.astype(np.float32), rate, subtype=subtype)
    return path


def _relative_error(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


CONFIGS = [
    jaxspec.SpectrogramConfig(),
    jaxspec.SpectrogramConfig(window_size=512, offset=160, fft_size=1024),
    jaxspec.SpectrogramConfig(normalization=("rms", 0.1)),
    jaxspec.SpectrogramConfig(normalization="max", target_length=0.7),
    jaxspec.SpectrogramConfig(target_length=250),  # more frames than the signal has
    jaxspec.SpectrogramConfig(sample_rate=8000, offset=7),
    # centred frames stream too, their padded edges read by the stream (they were refused)
    jaxspec.presets.librosa_melspectrogram(sr=16000),
    jaxspec.presets.librosa_melspectrogram(sr=16000, n_fft=1024, win_length=400, hop_length=160, pad_mode="reflect"),
    jaxspec.presets.torchaudio_melspectrogram(),
    jaxspec.SpectrogramConfig(framing=Centered("reflect"), fft_size=512, normalization="max", target_length=0.7),
    jaxspec.SpectrogramConfig(framing=Centered("reflect"), fft_size=512, target_length=250),
    jaxspec.SpectrogramConfig(framing=Centered("constant", drop_last=True), offset=160),
    # Kaldi's mirrored edges (snip_edges=False, lhotse's setting) too
    jaxspec.SpectrogramConfig(window_size=401, offset=160, fft_size=512, framing=Kaldi(snip_edges=False)),
    jaxspec.SpectrogramConfig(framing=Kaldi(snip_edges=False), normalization="max", target_length=300),
    jaxspec.presets.kaldi_fbank(snip_edges=False),
    # read past the file's end (a duration longer than it) and with gaps between frames (hop above
    # the window): no test read either, and an off-by-one in each passed (the mutation audit)
    jaxspec.SpectrogramConfig(target_length="2s"),
    jaxspec.SpectrogramConfig(window_size=400, offset=600),
]


@pytest.mark.parametrize("rate,channels", [(16000, 1), (44100, 2), (48000, 1), (22050, 3)])
@pytest.mark.parametrize("config", CONFIGS, ids=range(len(CONFIGS)))
def test_streamed_equals_in_memory_for_any_block_size(tmp_path, rate, channels, config):
    path = _write(str(tmp_path / "x.wav"), rate, channels)
    expected = np.asarray(jaxspec.encode(config, path, stream=False))
    for block_frames in (1, 13, 64, 5000):
        out = stream_to_array(config, path, block_frames=block_frames)
        assert out.shape == expected.shape
        assert _relative_error(out, expected) < 1e-6, block_frames


@pytest.mark.parametrize("seconds", [0.01, 0.02, 0.05])
@pytest.mark.parametrize("framing", [Centered("reflect"), Kaldi(snip_edges=False)])
def test_short_signals_stream_with_mirrored_edges(tmp_path, seconds, framing):
    # 160 samples: the centred reflect edge (256) and Kaldi's right edge are wider than the signal,
    # mirrored more than once (computed whole); 320 and 800: mirrored once, by the stream itself
    config = jaxspec.SpectrogramConfig(window_size=400, framing=framing, fft_size=512, offset=100)
    path = _write(str(tmp_path / "x.wav"), 16000, 1, seconds=seconds)
    expected = np.asarray(jaxspec.encode(config, path, stream=False))
    for block_frames in (1, 2, 100):
        out = stream_to_array(config, path, block_frames=block_frames)
        assert out.shape == expected.shape and _relative_error(out, expected) < 1e-6


def test_encode_to_file_writes_npy_and_reports_progress(tmp_path):
    path = _write(str(tmp_path / "x.flac"), 44100, 2, seconds=2.0)
    config = jaxspec.SpectrogramConfig()
    calls = []
    shape = encode_to_file(
        config, path, tmp_path / "x.npy", block_frames=50, progress=lambda d, t: calls.append((d, t))
    )
    written = np.load(tmp_path / "x.npy")
    assert written.shape == shape == (num_output_frames(config, path), 201)
    assert _relative_error(written, np.asarray(jaxspec.encode(config, path))) < 1e-6
    assert calls[-1] == (shape[0], shape[0]) and len(calls) == -(-shape[0] // 50)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    empty, calls = str(tmp_path / "empty.wav"), []  # no frames: progress still says it is done
    soundfile.write(empty, np.zeros(0, np.float32), 16000)
    assert encode_to_file(config, empty, tmp_path / "e.npy", progress=lambda d, t: calls.append((d, t))) == (0, 201)
    assert calls == [(0, 0)]


@pytest.mark.parametrize("config", [jaxspec.SpectrogramConfig(), jaxspec.presets.kaldi_fbank()])
def test_stream_spectrogram_of_no_frames_concatenates_to_encodes_empty_output(tmp_path, config):
    """Its docstring's ``np.concatenate(list(blocks))`` raised "need at least one array" for an
    empty file, or a 100-sample one under Kaldi's snip_edges (shorter than a window)."""
    for samples in (0, 100):
        path = str(tmp_path / f"s{samples}.wav")
        soundfile.write(path, np.zeros(samples, np.float32), 16000)
        expected = np.asarray(jaxspec.encode(config, path))
        blocks = list(jaxspec.stream_spectrogram(config, path))
        assert [block.dtype for block in blocks] == [np.float32]
        assert np.concatenate(blocks).shape == expected.shape


def test_encode_streams_on_request_and_matches(tmp_path):
    path = _write(str(tmp_path / "x.wav"), 16000, 1)
    config = jaxspec.SpectrogramConfig()
    streamed = np.asarray(jaxspec.encode(config, path, stream=True))
    assert _relative_error(streamed, np.asarray(jaxspec.encode(config, path, stream=False))) < 1e-6


def test_encode_streams_automatically_above_the_threshold(tmp_path, monkeypatch):
    import importlib

    encode_module = importlib.import_module("jaxspec.encoding")

    path = _write(str(tmp_path / "x.wav"), 16000, 1)
    used = []
    real = encode_module.stream_to_array
    monkeypatch.setattr(importlib.import_module("jaxspec.planner"), "STREAM_THRESHOLD_SAMPLES", 1000)
    monkeypatch.setattr(encode_module, "stream_to_array", lambda *a, **k: used.append(1) or real(*a, **k))
    jaxspec.encode(jaxspec.SpectrogramConfig(), path)
    assert used == [1]


def test_encode_batch_streams_long_files_as_encode_does(tmp_path, monkeypatch):
    """encode_batch decoded every file whole (a 15-minute 44.1 kHz stereo file: 605 MB of peak
    growth against encode's 153 MB; found by an audit): a long file is streamed there too, the
    others batched with their keys as before (item i keeps fold_in(key, i)), in input order."""
    import importlib

    import jax

    encode_module = importlib.import_module("jaxspec.encoding")
    long_file = _write(str(tmp_path / "long.wav"), 16000, 2, seconds=1.5)
    short = [_write(str(tmp_path / f"s{i}.wav"), 16000, 1, seconds=0.25 + 0.1 * i) for i in range(2)]
    used = []
    real = encode_module.stream_to_array
    monkeypatch.setattr(importlib.import_module("jaxspec.planner"), "STREAM_THRESHOLD_SAMPLES", 20000)
    monkeypatch.setattr(encode_module, "stream_to_array", lambda *a, **k: used.append(a[1]) or real(*a, **k))
    items = [short[0], long_file, short[1]]
    plain = jaxspec.SpectrogramConfig()
    out = jaxspec.encode_batch(plain, items)
    assert used == [long_file]
    for got, item in zip(out, items, strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(jaxspec.encode(plain, item, stream=False)))
    noisy = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5)))
    key = jax.random.key(4)
    out = jaxspec.encode_batch(noisy, items, key=key)  # augmented: nothing is streamed, keys by index
    assert used == [long_file]
    for i, (got, item) in enumerate(zip(out, items, strict=True)):
        alone = np.asarray(jaxspec.encode(noisy, item, key=jax.random.fold_in(key, i)))
        np.testing.assert_allclose(np.asarray(got), alone, rtol=1e-5, atol=1e-6 * np.abs(alone).max())
    out = jaxspec.encode_batch(plain, items, key=key)  # a key that draws nothing: streamed all the same
    assert used == [long_file, long_file] and len(out) == 3


def test_a_file_long_once_resampled_is_streamed(tmp_path, monkeypatch):
    # the threshold counted the file's own frames: a 1-hour 8 kHz file (28.8 M) for a 16 kHz
    # config (57.6 M) was decoded and resampled whole, 684 MB more than streamed
    from jaxspec import planner

    monkeypatch.setattr(planner, "STREAM_THRESHOLD_SAMPLES", 20000)
    low = _write(str(tmp_path / "low.wav"), 8000, 1, seconds=1.875)  # 15000 frames, 30000 at 16 kHz
    same = _write(str(tmp_path / "same.wav"), 16000, 1, seconds=1.0)
    config = jaxspec.SpectrogramConfig()
    assert planner.plan_file(config, low).stream and not planner.plan_file(config, same).stream
    assert not planner.plan_file(jaxspec.SpectrogramConfig(sample_rate=8000), low).stream


def test_streaming_refuses_augmentation_with_a_key(tmp_path):
    import jax

    path = _write(str(tmp_path / "x.wav"), 16000, 1)
    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=2.0))
    with pytest.raises(ValueError, match="stream=True"):
        jaxspec.encode(config, path, key=jax.random.key(0), stream=True)


def test_stream_errors_name_the_problem(tmp_path):
    config = jaxspec.SpectrogramConfig()
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        next(stream_spectrogram(config, tmp_path / "missing.wav"))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all" * 10)
    with pytest.raises(jaxspec.AudioFileError, match="bad.wav"):
        next(stream_spectrogram(config, bad))
    with pytest.raises(ValueError, match="block_frames=0"):
        next(stream_spectrogram(config, _write(str(tmp_path / "x.wav"), 16000, 1), block_frames=0))
    # a NumPy integer is an integer (it was refused, as everywhere else it is taken)
    blocks = list(stream_spectrogram(config, _write(str(tmp_path / "y.wav"), 16000, 1), block_frames=np.int64(40)))
    assert [len(b) for b in blocks] == [40, 40, 40, 157 - 120]  # ceil(20800 / 133) frames


_MP3 = "MP3" in soundfile.available_formats()


@pytest.mark.skipif(not _MP3, reason="this libsndfile has no MP3")
def test_a_streamed_mp3_equals_it_decoded_whole(tmp_path):
    """libsndfile's MP3 seeks are fuzzy and SoundFile.read seeks after every read: a 30 s
    tone read in blocks drifted off its samples (relative error 0.08-0.57), silently. A cut
    MP3 was streamed to its header's length, padded with zeros (2407 frames for 1170)."""
    x = (0.3 * np.sin(2 * np.pi * 300 * np.arange(30 * 16000) / 16000)).astype(np.float32)
    path = tmp_path / "tone.mp3"
    soundfile.write(path, x, 16000, format="MP3")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for config in (jaxspec.SpectrogramConfig(), jaxspec.SpectrogramConfig(normalization=("rms", 0.1))):
        whole = jaxspec.encode(config, str(path), stream=False)
        streamed = np.concatenate(list(stream_spectrogram(config, path, block_frames=200)))
        np.testing.assert_allclose(streamed, whole, rtol=1e-5, atol=1e-5 * np.abs(whole).max())
    config = jaxspec.SpectrogramConfig()
    with pytest.warns(jaxspec.TruncatedAudioWarning):
        whole = jaxspec.encode(config, str(cut), stream=False)
    with pytest.warns(jaxspec.TruncatedAudioWarning):
        encode_to_file(config, cut, tmp_path / "cut.npy", block_frames=300)
    np.testing.assert_array_equal(np.load(tmp_path / "cut.npy"), whole)


def test_a_flac_whose_header_claims_more_frames_warns_and_gives_what_it_holds(tmp_path, monkeypatch):
    # STREAMINFO's 36-bit total set above what the file holds (a whole file decodes without an
    # error): the stream padded zeros up to the header's count, so a 60 kB FLAC claiming 2**36
    # frames wrote 13.7 GB of a 415 GB .npy in two minutes. It then failed, streamed or not
    # (SoundFile.read's seek after reading fails on it: "Internal psf_fseek() failed"), where
    # SPEC 5 asks for a warning and the frames it holds: the stream counts them and starts again
    path = tmp_path / "lie.flac"
    samples = (0.1 * np.random.default_rng(0).standard_normal(32000)).astype(np.float32)
    soundfile.write(path, samples, 16000, subtype="PCM_16")
    whole = np.asarray(jaxspec.encode(jaxspec.SpectrogramConfig(), str(path)))
    data = bytearray(path.read_bytes())
    fields = int.from_bytes(data[18:26], "big")  # STREAMINFO: rate, channels, bits, 36-bit total
    data[18:26] = (fields & ~((1 << 36) - 1) | (1 << 24)).to_bytes(8, "big")
    path.write_bytes(bytes(data))
    assert soundfile.info(path).frames == 1 << 24
    config = jaxspec.SpectrogramConfig()
    said = "32000 frames but its header declares 16777216"
    with pytest.warns(jaxspec.TruncatedAudioWarning, match=said):
        np.testing.assert_array_equal(np.asarray(jaxspec.encode(config, str(path))), whole)
    with pytest.warns(jaxspec.TruncatedAudioWarning, match=said):
        np.testing.assert_array_equal(np.asarray(jaxspec.encode(config, str(path), stream=True)), whole)
    seen, counts = [], []
    real = _file_reader.decoded_frames
    monkeypatch.setattr(_file_reader, "decoded_frames", lambda p: counts.append(p) or real(p))
    with pytest.warns(jaxspec.TruncatedAudioWarning, match="lie.flac"):
        shape = encode_to_file(
            config, path, tmp_path / "out" / "lie.npy", block_frames=50, progress=lambda d, t: seen.append((d, t))
        )
    assert shape == whole.shape and len(counts) == 1  # counted once for the second pass (a review saw two)
    assert seen[-1] == (whole.shape[0], whole.shape[0])  # the second pass's progress, to its counted end
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "lie.npy"), whole)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["lie.npy"]  # no temporary file left
    with pytest.raises(jaxspec.AudioFileError, match="decoded to 32000 frames but its header declares"):
        list(jaxspec.stream_spectrogram(config, path))  # the generator cannot start again: it says so
    blocks = jaxspec.stream_spectrogram(config, path, count_frames=True)
    with pytest.warns(jaxspec.TruncatedAudioWarning, match="holds 32000 frames"):
        np.testing.assert_array_equal(np.concatenate(list(blocks)), whole)


@pytest.mark.parametrize("preset", ["kaldi_fbank", "kaldi_mfcc"])
def test_kaldi_energy_streams_and_equals_the_whole(tmp_path, preset):
    # UseEnergy places each frame's own log energy, but the planner counted it as a per-example
    # stage: kaldi_fbank(use_energy=True) was never streamed (stream=True a ConfigError)
    config = getattr(jaxspec.presets, preset)(use_energy=True)
    path = _write(str(tmp_path / "x.wav"), 16000, 2, seconds=3.1)
    whole = np.asarray(jaxspec.encode(config, path, stream=False))
    streamed = np.concatenate(list(jaxspec.stream_spectrogram(config, path, block_frames=37)))
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, rtol=1e-5, atol=1e-5 * float(np.abs(whole).max()))
    np.testing.assert_allclose(np.asarray(jaxspec.encode(config, path, stream=True)), whole, rtol=1e-5, atol=1e-4)


# ------------------------------------------------------------ a target length reads the start only
def _with_nan_after(path, rate, channels, seconds, good):
    """A float WAV whose samples after the first ``good`` are NaN: decoding them is an error."""
    rng = np.random.default_rng(7)
    x = (0.1 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32)
    x[good:] = np.nan
    soundfile.write(path, x, rate, subtype="FLOAT")
    return str(path), x[:good]


@pytest.mark.parametrize("rate, channels", [(16000, 1), (44100, 2), (8000, 1)])
@pytest.mark.parametrize(
    "config",
    [
        jaxspec.presets.whisper(),
        jaxspec.SpectrogramConfig(target_length=37),
        jaxspec.SpectrogramConfig(target_length="0.7s", window_size=512, offset=100, fft_size=1024),
        dataclasses.replace(jaxspec.presets.librosa_melspectrogram(sr=16000), target_length=9),
        dataclasses.replace(jaxspec.presets.kaldi_fbank(snip_edges=False), target_length=0.9),
        dataclasses.replace(jaxspec.presets.kaldi_mfcc(), target_length=41),
    ],
    ids=["whisper", "frames", "seconds", "centred", "kaldi-mirrored", "kaldi-mfcc"],
)
def test_a_target_length_decodes_only_the_start_of_a_file(tmp_path, config, rate, channels):
    # whisper's 30 s of a 20 min 44.1 kHz stereo file decoded all of it: 798 MB peak RSS growth
    # and 3.2 s, 39 MB and 0.7 s now. The samples past what the output reads are NaN here: a
    # whole decode is an AudioSamplesError; the start equals the whole file's result
    seconds = 34.0 if config.target_length == 30.0 else 3.0
    good = int(32.5 * rate) if config.target_length == 30.0 else int(2.2 * rate)
    path, start = _with_nan_after(tmp_path / "x.wav", rate, channels, seconds, good)
    with pytest.raises(jaxspec.AudioSamplesError):
        jaxspec.load_audio(path)
    reference = jaxspec.encode(
        config, np.concatenate([start, np.zeros((rate, channels), np.float32)]), sample_rate=rate
    )
    out = jaxspec.encode(config, path)
    assert (
        out.shape
        == reference.shape
        == config.output_shape(output_length(int(seconds * rate), rate, config.sample_rate))
    )
    out, reference = np.asarray(out), np.asarray(reference)
    # Whisper's log10 / 4 holds bands down to 1e-8 of the loudest, where float32 rounding of two
    # resampled starts of different lengths (jax 0.12's FFT of some sizes rounds by batch position)
    # reaches 2.5e-5: held to 1e-4, a fifth of SPEC 7's 5e-4 against the references
    atol = 1e-4 if config.target_length == 30.0 else 1e-5 * float(np.abs(reference).max())
    np.testing.assert_allclose(out, reference, rtol=1e-5, atol=atol)


@pytest.mark.parametrize(
    "config",
    [
        jaxspec.SpectrogramConfig(window_size=1024, offset=256, framing=Centered("reflect"), target_length=0.02),
        dataclasses.replace(jaxspec.presets.kaldi_fbank(snip_edges=False), target_length=0.005),
    ],
    ids=["reflect", "kaldi-mirrored"],
)
def test_a_target_shorter_than_the_mirrored_edge_streams_only_the_start(tmp_path, config):
    # computed whole (the edge mirrors more than once), the stream decoded the whole file for
    # it: an hour-long file in memory for 2 frames. The samples past 0.1 s are NaN here
    path, start = _with_nan_after(tmp_path / "x.wav", 16000, 1, 3.0, 1600)
    out = stream_to_array(config, path)
    reference = jaxspec.encode(config, start[:, 0], sample_rate=16000)
    np.testing.assert_array_equal(out, np.asarray(reference))


def test_what_needs_the_whole_file_still_reads_it(tmp_path):
    from jaxspec.planner import start_frames

    path, _ = _with_nan_after(tmp_path / "x.wav", 16000, 1, 3.0, 16000)
    whole_needed = [
        jaxspec.SpectrogramConfig(),  # every frame
        jaxspec.SpectrogramConfig(target_length=20, normalization="max"),  # the whole signal's peak
        jaxspec.SpectrogramConfig(target_length=20, augmentation=jaxspec.Augmentation(volume=0.5)),
    ]
    for config in whole_needed:
        assert start_frames(config, 16000, 48000) is None
        with pytest.raises(jaxspec.AudioSamplesError, match="x.wav"):
            jaxspec.encode(config, path)
    assert start_frames(jaxspec.SpectrogramConfig(target_length=20), 16000, 48000) == 21 * 133 + 2 * 400
    assert start_frames(jaxspec.SpectrogramConfig(target_length=400), 16000, 48000) is None  # the whole is less


def test_a_file_cut_before_the_start_read_still_warns(tmp_path):
    import warnings

    config = jaxspec.SpectrogramConfig(target_length=50)  # 50 frames: 0.42 s at 16 kHz
    path = tmp_path / "cut.wav"
    soundfile.write(path, np.full(16000, 0.1, np.float32), 16000, subtype="PCM_16")  # 1 s declared
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 8])  # 0.125 s left: inside the start the output reads
    with pytest.warns(jaxspec.TruncatedAudioWarning, match="declares 16000"):
        assert jaxspec.encode(config, str(path)).shape == (50, 201)
    path.write_bytes(data[: len(data) * 7 // 8])  # cut past the start read: not decoded, but a WAV's
    with pytest.warns(jaxspec.TruncatedAudioWarning, match="holds 13997 frames but its header declares 16000"):
        assert jaxspec.encode(config, str(path)).shape == (50, 201)  # header count is read against its size
    soundfile.write(path, np.full(16000, 0.1, np.float32), 16000, subtype="PCM_16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert jaxspec.encode(config, str(path)).shape == (50, 201)  # a whole file: no warning


@pytest.mark.filterwarnings("error")  # NumPy's overflow warnings leaked to the user too
@pytest.mark.parametrize("normalization", ["max", ("rms", 0.1)])
@pytest.mark.parametrize("signal", ["one subnormal sample", "noise peaking at 1e-37"])
def test_streamed_normalization_reads_subnormal_samples_as_xla_does(tmp_path, normalization, signal):
    """In memory, XLA reads subnormal samples as 0: silence stays silence. The stream took a
    lone 1e-40 sample for the peak, its float32 scale was inf ("NaN or infinite samples"),
    and noise peaking at 1e-37 (most samples subnormal) came out 4 % off (found by an audit)."""
    x = np.zeros(16000, np.float32)
    if signal == "one subnormal sample":
        x[100] = 1e-40
    else:
        x = (np.random.default_rng(0).uniform(-1, 1, 16000) * 1e-37).astype(np.float32)
    path = tmp_path / "quiet.wav"
    soundfile.write(path, x, 16000, subtype="FLOAT")
    config = jaxspec.SpectrogramConfig(normalization=normalization)
    whole = np.asarray(jaxspec.encode(config, path, stream=False))
    streamed = np.asarray(jaxspec.encode(config, path, stream=True))
    assert streamed.shape == whole.shape and np.all(np.isfinite(streamed))
    if signal == "one subnormal sample":  # silence
        assert not whole.any() and not streamed.any()
    else:
        assert _relative_error(streamed, whole) < 1e-5


@pytest.mark.parametrize("extra", [1600, -1600])
def test_a_file_that_changes_while_streamed_is_a_file_error(tmp_path, monkeypatch, extra):
    # a WAV still being recorded grew between the count and the blocks: NumPy's raw "could not
    # broadcast input array from shape (1468,201) into shape (1456,201)" (an audit)
    import jaxspec.stream as stream_module

    path = tmp_path / "growing.wav"
    soundfile.write(path, np.zeros(32000, np.float32), 16000, subtype="PCM_16")
    count = stream_module.num_output_frames

    def then_changed(config, p, frames=None):
        n = count(config, p, frames)
        soundfile.write(path, np.zeros(32000 + extra, np.float32), 16000, subtype="PCM_16")
        return n

    monkeypatch.setattr(stream_module, "num_output_frames", then_changed)
    with pytest.raises(
        jaxspec.AudioFileError,
        match=r"growing.wav' gave (\d+|more than) spectrogram frames where its header's length gives 241",
    ):
        stream_to_array(jaxspec.SpectrogramConfig(), path)


def test_short_files_streamed_share_programs(tmp_path, trace_events):
    # a file shorter than a block was computed as one block of its own length: a program per
    # length, 1.7 MB kept each (200 files of 200 lengths: 187 programs), plus encode's copy
    # per shape (jnp.asarray); now a power of two of frames per block (an audit)
    config = jaxspec.SpectrogramConfig(window_size=432, offset=144)  # a config no other test compiles
    rng = np.random.default_rng(5)
    lengths = rng.integers(8000, 64000, 24)
    paths = [tmp_path / f"{i}.wav" for i in range(len(lengths))]
    for path, n in zip(paths, lengths, strict=True):
        soundfile.write(path, (0.1 * rng.standard_normal(n)).astype(np.float32), 16000, subtype="FLOAT")
    trace_events.clear()
    streamed = [jaxspec.encode(config, str(path), stream=True) for path in paths]
    for path in paths:
        encode_to_file(config, path, path.with_suffix(".npy"))
    compiles = sum("backend_compile" in name for name in trace_events)
    assert compiles <= 4, compiles  # the rungs of 55..443 frames: 64, 128, 256, 512 (51 before)
    for path, out in list(zip(paths, streamed, strict=True))[::8]:
        expected = np.asarray(jaxspec.spectrogram(config, soundfile.read(path, dtype="float32")[0]))
        np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-6 * float(expected.max()))
        np.testing.assert_array_equal(np.load(path.with_suffix(".npy")), np.asarray(out))
