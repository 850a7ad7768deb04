"""Files and arrays in: formats, integer scaling, channel averaging, resampling on the way in."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile

import jaxspec
from jaxspec import Audio, SpectrogramConfig, encode, load_audio

RATE = 16000
CONFIG = SpectrogramConfig()


@pytest.fixture
def pcm16() -> np.ndarray:
    """0.25 s of int16 stereo: a different sine per channel, full scale included."""
    t = np.arange(RATE // 4) / RATE
    left = np.sin(2 * np.pi * 440 * t) * 30000
    right = np.sin(2 * np.pi * 1234 * t + 1.0) * 20000
    data = np.stack([left, right], axis=1).astype(np.int16)
    data[0] = (-32768, 32767)
    return data


def test_wav_pcm16_reads_as_int_over_32768(tmp_path, pcm16):
    path = tmp_path / "mono.wav"
    soundfile.write(path, pcm16[:, 0], RATE, subtype="PCM_16")
    audio = load_audio(path)
    assert audio.sample_rate == RATE and audio.samples.shape == (pcm16.shape[0],)
    assert audio.samples.dtype == np.float32
    np.testing.assert_array_equal(audio.samples, pcm16[:, 0] / np.float32(32768))


def test_flac_pcm16_stereo_keeps_channels(tmp_path, pcm16):
    path = tmp_path / "stereo.flac"
    soundfile.write(path, pcm16, 22050, subtype="PCM_16", format="FLAC")
    audio = load_audio(str(path))
    assert audio.sample_rate == 22050 and audio.samples.shape == pcm16.shape and audio.channels == 2
    np.testing.assert_array_equal(audio.samples, pcm16 / np.float32(32768))


def test_wav_float_stereo_round_trips_exactly(tmp_path, noise):
    data = noise((3000, 2))
    path = tmp_path / "float.wav"
    soundfile.write(path, data, RATE, subtype="FLOAT")
    audio = load_audio(path)
    np.testing.assert_array_equal(audio.samples, data)
    assert audio.duration == pytest.approx(3000 / RATE)


def test_wav_pcm24_scales_by_2_to_the_23(tmp_path):
    values = np.array([-(2**23), -1, 0, 1, 2**23 - 1, 12345], np.int32)
    path = tmp_path / "pcm24.wav"
    soundfile.write(path, values << 8, RATE, subtype="PCM_24")  # soundfile's int32 is left-aligned
    np.testing.assert_allclose(load_audio(path).samples, values / 2.0**23, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("fmt", "subtype"), [("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_lossy_formats_load(tmp_path, fmt, subtype, sine):
    if fmt not in soundfile.available_formats():
        pytest.skip(f"this libsndfile has no {fmt} support")  # a build choice of the system library
    x = np.stack([sine(440, RATE), sine(440, RATE, phase=0.8)], axis=1)
    path = tmp_path / f"clip.{fmt.lower()}"
    soundfile.write(path, x, RATE, format=fmt, subtype=subtype)
    audio = load_audio(path)
    assert audio.sample_rate == RATE and audio.channels == 2
    assert abs(audio.num_samples - RATE) <= 2 * 1152  # codec frames may pad the end
    out = np.asarray(encode(CONFIG, path))
    assert out.shape == (math.ceil(audio.num_samples / 133), 201)
    assert np.median(np.argmax(out, axis=1)) == round(440 * 400 / RATE)  # the tone survives the codec


@pytest.mark.parametrize("read", ["load", "info", "stream", "count"])
def test_a_file_that_is_not_mp3_is_not_called_a_pipe(tmp_path, read):
    # libsndfile's MP3 reader said "File does not exist or is not a regular file (possibly a
    # pipe?)" of a PNG named .mp3, which jaxspec had checked to be a regular file
    path = tmp_path / "cover.mp3"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    calls = {
        "load": lambda: load_audio(path),
        "info": lambda: jaxspec.io.audio_info(path),
        "stream": lambda: encode(CONFIG, path, stream=True),
        "count": lambda: jaxspec.io.decoded_frames(path),
    }
    with pytest.raises(jaxspec.AudioFileError, match=r"cover\.mp3'?: .*not recognised") as caught:
        calls[read]()
    assert "pipe" not in str(caught.value)


def test_stereo_file_encodes_as_the_channel_mean(tmp_path, noise, relative_error):
    data = noise((5000, 2))
    data[:, 1] *= 0.25
    path = tmp_path / "stereo.wav"
    soundfile.write(path, data, RATE, subtype="FLOAT")
    mean = data.astype(np.float64).mean(axis=1).astype(np.float32)
    from_file = encode(CONFIG, path)
    from_mean = encode(CONFIG, mean, sample_rate=RATE)
    assert from_file.shape == (math.ceil(5000 / 133), 201)
    assert relative_error(from_file, from_mean) < 1e-6
    assert relative_error(encode(CONFIG, data, sample_rate=RATE), from_mean) < 1e-6  # [n, channels] arrays too


def test_path_audio_and_array_inputs_agree(tmp_path, noise, relative_error):
    data = noise(7000)
    path = tmp_path / "clip.wav"
    soundfile.write(path, data, RATE, subtype="FLOAT")
    by_path = np.asarray(encode(CONFIG, path))
    by_str = np.asarray(encode(CONFIG, str(path)))
    by_audio = np.asarray(encode(CONFIG, Audio(data, RATE)))
    by_array = np.asarray(encode(CONFIG, data, sample_rate=RATE))
    assert by_path.dtype == np.float32 and by_path.shape == (math.ceil(7000 / 133), 201)
    for other in (by_str, by_audio, by_array):
        assert relative_error(other, by_path) < 1e-6
    assert relative_error(by_array, jaxspec.spectrogram(CONFIG, data)) < 1e-5


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_signed_integer_arrays_scale_by_2_to_the_bits_minus_1(dtype, relative_error):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(info.bits)
    ints = rng.integers(info.min, info.max, size=3000, dtype=dtype, endpoint=True)
    ints[:2] = info.min, info.max
    exact = ints.astype(np.float64) / 2.0 ** (info.bits - 1)
    assert exact.min() == -1.0  # the most negative integer maps to -1 exactly
    scaled = exact.astype(np.float32)
    out = encode(CONFIG, ints, sample_rate=RATE)
    assert out.dtype == np.float32
    assert relative_error(out, encode(CONFIG, scaled, sample_rate=RATE)) < 1e-5
    assert relative_error(encode(CONFIG, Audio(ints, RATE)), encode(CONFIG, scaled, sample_rate=RATE)) < 1e-5


def test_uint8_is_offset_binary(relative_error):
    ints = np.random.default_rng(8).integers(0, 256, size=3000).astype(np.uint8)
    ints[:3] = 0, 128, 255
    scaled = ((ints.astype(np.float64) - 128) / 128).astype(np.float32)
    assert relative_error(encode(CONFIG, ints, sample_rate=RATE), encode(CONFIG, scaled, sample_rate=RATE)) < 1e-5


@pytest.mark.parametrize("dtype", [">i2", ">i4", ">f4", ">f8"])
def test_big_endian_samples_scale_as_native_ones(dtype, pcm16, relative_error):
    # '>i2' was refused as "not signed integer PCM" (the dtype lookup compared byte order too)
    native = (pcm16[:, 0].astype(np.float64) * {">i2": 1, ">i4": 65536}.get(dtype, 1 / 32768)).astype(dtype[1:])
    swapped = native.astype(dtype)
    assert np.array_equal(encode(CONFIG, swapped, sample_rate=RATE), encode(CONFIG, native, sample_rate=RATE))
    assert np.array_equal(jaxspec.spectrogram(CONFIG, swapped), jaxspec.spectrogram(CONFIG, native))
    assert np.array_equal(jaxspec.resample(swapped, RATE, 8000), jaxspec.resample(native, RATE, 8000))


def test_integer_stereo_arrays_are_scaled_then_averaged(pcm16, relative_error):
    mean = (pcm16.astype(np.float64) / 32768).mean(axis=1).astype(np.float32)
    assert relative_error(encode(CONFIG, pcm16, sample_rate=RATE), encode(CONFIG, mean, sample_rate=RATE)) < 1e-5


@pytest.mark.parametrize(
    "samples",
    [np.ones(100, bool), np.ones(100, np.complex64), np.ones(100, np.uint16), np.ones(100, np.uint32)],
    ids=["bool", "complex64", "uint16", "uint32"],
)
def test_other_dtypes_are_rejected(samples):
    with pytest.raises(ValueError, match=str(samples.dtype)):
        encode(CONFIG, samples, sample_rate=RATE)
    with pytest.raises(ValueError, match=str(samples.dtype)):
        encode(CONFIG, Audio(samples, RATE))


def test_a_44100_file_is_resampled_to_the_config_rate(tmp_path, sine, relative_error):
    n = 11025
    x = sine(1000, n, sample_rate=44100)
    path = tmp_path / "cd.flac"
    soundfile.write(path, x, 44100, subtype="PCM_16")
    resampled_length = math.ceil(n * 16000 / 44100)
    out = np.asarray(encode(CONFIG, path))
    assert out.shape == (math.ceil(resampled_length / 133), 201) == CONFIG.output_shape(resampled_length)
    expected = jaxspec.spectrogram(CONFIG, jaxspec.resample(load_audio(path).samples, 44100, 16000))
    assert relative_error(out, expected) < 1e-5
    assert np.median(np.argmax(out, axis=1)) == round(1000 * 400 / 16000)  # the 1 kHz tone stays at 1 kHz


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
def test_arrays_at_other_rates_are_resampled(rate, sine):
    n = rate // 5
    out = encode(CONFIG, sine(500, n, sample_rate=rate), sample_rate=rate)
    assert out.shape == CONFIG.output_shape(math.ceil(n * 16000 / rate))


def test_bundled_speech_clip():
    path = Path(jaxspec.example_path())
    assert path.is_file()
    audio = load_audio(path)
    assert audio.sample_rate == 16000 and audio.samples.ndim == 1 and audio.duration > 1.0
    assert np.abs(audio.samples).max() > 0.05


def test_a_file_of_few_frames_and_many_channels_encodes_as_when_streamed(tmp_path):
    """Audio's channels-first guess (for arrays) refused a valid 3-frame, 300-channel file in
    memory, which encodes when streamed; a file's layout is known."""
    path = tmp_path / "wide.wav"
    rng = np.random.default_rng(0)
    soundfile.write(path, rng.uniform(-0.5, 0.5, (300, 300)).astype(np.float32)[:3], 44100, subtype="FLOAT")
    config = SpectrogramConfig(window_size=16, offset=8)
    whole, streamed = encode(config, path), encode(config, path, stream=True)
    np.testing.assert_array_equal(np.asarray(whole), np.asarray(streamed))
    assert whole.shape == (1, 9)
    assert encode(config, load_audio(path)).shape == (1, 9)
    with pytest.raises(jaxspec.InputError, match="channels first"):  # an array of that shape is still guessed
        Audio(np.zeros((3, 300), np.float32), 44100)


def test_audio_unpacks_as_samples_and_rate_and_a_list_of_inputs_points_to_encode_batch():
    # `y, sr = load_audio(p)` was a TypeError; encode([Audio, Audio]) said "dtype object"
    samples, rate = load_audio(jaxspec.example_path())
    assert rate == RATE and samples.shape == (43589,)
    audio = Audio(np.zeros(1000, np.float32), RATE)
    with pytest.raises(jaxspec.InputError, match="is a list of inputs .*jaxspec.encode_batch"):
        encode(CONFIG, [audio, audio])
    with pytest.raises(jaxspec.InputError, match="is a tuple of inputs"):
        encode(CONFIG, (jaxspec.example_path(),), sample_rate=RATE)
    assert encode(CONFIG, [0.1] * 1000, sample_rate=RATE).shape == (8, 201)  # a list of samples is still samples


def test_a_flac_without_a_total_sample_count_is_counted_by_decoding(tmp_path, capsys, relative_error):
    # STREAMINFO's 36-bit total of 0 means "unknown" (piped encoders write it); libsndfile then
    # reports 2**63 - 1 frames: encode said "length=9223372036854775807 samples is too large"
    x = (np.random.default_rng(4).standard_normal(48000) * 0.1).astype(np.float32)
    soundfile.write(tmp_path / "a.flac", x, RATE)
    data = bytearray((tmp_path / "a.flac").read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO first: its total at bytes 21-25
    data[21] &= 0xF0
    data[22:26] = bytes(4)
    (tmp_path / "u.flac").write_bytes(bytes(data))
    assert soundfile.info(str(tmp_path / "u.flac")).frames >= 2**62
    expected = encode(CONFIG, str(tmp_path / "a.flac"))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "header declares 9223372036854775807" truncation warning
        assert load_audio(tmp_path / "u.flac").samples.shape == (48000,)
        np.testing.assert_array_equal(encode(CONFIG, str(tmp_path / "u.flac")), expected)
        np.testing.assert_array_equal(encode(CONFIG, str(tmp_path / "u.flac"), stream=True), expected)
    from jaxspec.cli import main

    assert main(["info", str(tmp_path / "u.flac")]) == 0
    assert "48000 samples" in capsys.readouterr().out


def _cut_at_a_frame(data: bytes, tmp_path: Path) -> tuple[Path, int]:
    """A FLAC cut where one of its frames starts (sync code 0xFFF8), from the middle on: the
    first cut that decodes cleanly (a sync code inside a frame's data makes the decoder lose
    sync), and the frames it holds (counted as `jaxspec info` counts them: soundfile's reads
    seek after each block, and that seek fails on such a file)."""
    syncs = [i for i in range(42, len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xF8]
    for position in syncs[len(syncs) // 2 :]:
        path = tmp_path / "cut.flac"
        path.write_bytes(data[:position])
        try:
            return path, jaxspec.io.decoded_frames(path)
        except jaxspec.AudioFileError:
            continue
    raise AssertionError("no frame boundary to cut at")


def test_a_flac_cut_at_a_frame_boundary_warns_and_loads_what_it_holds(tmp_path, capsys):
    # its header still declares every frame: SoundFile.read's seek after reading failed
    # ("Internal psf_fseek() failed") in load_audio, encode and `jaxspec encode`, while
    # `jaxspec info` warned and showed a shape (an audit's finding); SPEC 5: it warns
    x = (0.1 * np.random.default_rng(0).standard_normal(80000)).astype(np.float32)
    soundfile.write(tmp_path / "full.flac", x, RATE)
    full = soundfile.read(tmp_path / "full.flac", dtype="float32")[0]
    path, held = _cut_at_a_frame((tmp_path / "full.flac").read_bytes(), tmp_path)
    assert 0 < held < 80000 and soundfile.info(path).frames == 80000
    with pytest.warns(jaxspec.TruncatedAudioWarning, match=f"cut.flac' decoded to {held} frames but its header"):
        samples = load_audio(path).samples
    np.testing.assert_array_equal(samples, full[:held])
    with pytest.warns(jaxspec.TruncatedAudioWarning):
        expected = np.asarray(encode(CONFIG, full[:held], sample_rate=RATE))
        np.testing.assert_array_equal(encode(CONFIG, str(path)), expected)
        np.testing.assert_array_equal(encode(CONFIG, str(path), stream=True), expected)
    from jaxspec.cli import main

    assert main(["encode", str(path), "-o", str(tmp_path / "cut.npy"), "--no-progress"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "cut.npy"), expected)
    assert "header declares 80000" in capsys.readouterr().err


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_integer_pcm_scales_exactly_without_a_float64_temporary(dtype):
    """int16 PCM went through a float64 quotient twice the float32 result's size (1 h at 16 kHz:
    440 MB of temporaries, a memory audit); each value is the exact quotient rounded once."""
    import tracemalloc

    from jaxspec.io import pcm_to_float32

    info = np.iinfo(dtype)
    x = np.random.default_rng(0).integers(info.min, info.max, 100_000, dtype=dtype, endpoint=True)
    x[:2] = info.min, info.max
    with np.testing.suppress_warnings() as quiet:  # wide integers holding 16-bit values warn
        quiet.filter(jaxspec.PcmScaleWarning)
        tracemalloc.start()
        try:
            out = pcm_to_float32(x)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    expected = (x.astype(np.float64) / 2.0 ** (info.bits - 1)).astype(np.float32)  # exact below 2**53
    if dtype == np.int64:  # the exact quotient rounded once: 2**62 + 2**38 + 1 is just above a tie
        expected = (x.astype(np.float32).astype(np.float64) / 2.0**63).astype(np.float32)  # (a power of two)
        assert pcm_to_float32(np.array([2**62 + 2**38 + 1]))[0] == np.float32(0.5) + np.float32(2.0**-24)
    assert out.dtype == np.float32 and np.array_equal(out, expected)
    assert peak <= out.nbytes * 1.05 + 4096  # the result alone
