"""Framing modes, frame preprocessing, windows, complex STFT and the feature chain against an
independent float64 NumPy reference written here (SPEC section 7)."""

from __future__ import annotations

import dataclasses
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.fft
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxspec
from jaxspec import (
    DCT,
    Centered,
    ConfigError,
    Decibels,
    Deltas,
    Dither,
    Kaldi,
    Log,
    MelFilterbank,
    PreEmphasis,
    RemoveDC,
    SpectrogramConfig,
    SubtractMean,
    WhisperLog,
    Window,
    _melscale,
)

spectrogram = jax.jit(jaxspec.spectrogram)


# ------------------------------------------------------------- the float64 reference
def ref_frames(x, ws, hop, fft, framing):
    """Frames [n, frame_len] of x by the framing rules of SPEC section 7, in float64."""
    x = np.asarray(x, np.float64)
    n_samples = len(x)
    if framing is None:
        n = -(-n_samples // hop)
        source = np.concatenate([x, np.zeros(n * hop + ws)])
        return np.stack([source[i * hop : i * hop + ws] for i in range(n)]).reshape(n, ws)
    if isinstance(framing, Centered):
        half = fft // 2
        source = np.pad(x, (half, half), mode=framing.pad_mode)
        n = 1 + (len(source) - fft) // hop - int(framing.drop_last)
        return np.stack([source[i * hop : i * hop + fft] for i in range(n)]).reshape(n, fft)
    if framing.snip_edges:
        n = 0 if n_samples < ws else 1 + (n_samples - ws) // hop
        return np.stack([x[i * hop : i * hop + ws] for i in range(n)]).reshape(n, ws)
    n = (n_samples + hop // 2) // hop
    out = np.empty((n, ws))
    for i in range(n):  # Kaldi's loop: mirror indices outside [0, N)
        for k in range(ws):
            s = i * hop + hop // 2 - ws // 2 + k
            while s < 0 or s >= n_samples:
                s = -s - 1 if s < 0 else 2 * n_samples - 1 - s
            out[i, k] = x[s]
    return out


def ref_mel(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    """librosa.filters.mel written out again (Slaney / HTK), [bins, mels]."""

    def to_mel(f):
        f = np.asarray(f, np.float64)
        if htk:
            return 2595.0 * np.log10(1.0 + f / 700.0)
        return np.where(f < 1000, 3 * f / 200, 15 + 27 * np.log(np.maximum(f, 1e-9) / 1000) / np.log(6.4))

    def to_hz(m):
        if htk:
            return 700.0 * (10 ** (m / 2595.0) - 1)
        return np.where(m < 15, 200 * m / 3, 1000 * np.exp((m - 15) * np.log(6.4) / 27))

    edges = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), n_mels + 2))
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    w = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        lo, c, hi = edges[i : i + 3]
        w[i] = np.maximum(0, np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)))
        if norm == "slaney":
            w[i] *= 2 / (hi - lo)
    return w.T


def ref_kaldi_mel(sr, fft, n_mels, low, high):
    mel = lambda f: 1127 * np.log(1 + np.asarray(f) / 700)
    m = np.linspace(mel(low), mel(high), n_mels + 2)
    bins = mel(np.arange(fft // 2) * sr / fft)
    w = np.zeros((fft // 2 + 1, n_mels))
    for i in range(n_mels):
        w[: fft // 2, i] = np.maximum(
            0, np.minimum((bins - m[i]) / (m[i + 1] - m[i]), (m[i + 2] - bins) / (m[i + 2] - m[i + 1]))
        )
    return w


def ref_spectrogram(config: SpectrogramConfig, x) -> np.ndarray:
    """The whole pipeline in float64 NumPy, from the rules (no jaxspec code)."""
    ws, hop, fft = config.window_samples, config.offset_samples, config.fft_samples
    framed = ref_frames(x, ws, hop, fft, config.framing)
    for stage in config.preprocess:
        if isinstance(stage, RemoveDC):
            framed = framed - framed.mean(axis=1, keepdims=True)
        elif isinstance(stage, PreEmphasis):
            framed = framed - stage.coefficient * np.concatenate([framed[:, :1], framed[:, :-1]], axis=1)
    window = config.window
    if isinstance(config.framing, Centered) and ws < fft:
        left = (fft - ws) // 2
        window = np.concatenate([np.zeros(left), window, np.zeros(fft - ws - left)])
    spectrum = np.fft.rfft(framed * window, n=fft, axis=1)
    if config.power is None:
        return spectrum
    y = np.abs(spectrum) ** config.power
    for stage in config.features:
        if isinstance(stage, MelFilterbank):
            fmax = config.sample_rate / 2 if stage.fmax is None else stage.fmax
            if stage.scale == "kaldi":
                y = y @ ref_kaldi_mel(config.sample_rate, fft, stage.n_mels, stage.fmin, fmax)
            else:
                y = y @ ref_mel(
                    config.sample_rate, fft, stage.n_mels, stage.fmin, fmax, stage.scale == "htk", stage.norm
                )
        elif isinstance(stage, Log):
            y = np.log(np.maximum(y, stage.floor) + stage.offset)
        elif isinstance(stage, Decibels):
            y = stage.multiplier * np.log10(np.maximum(y, stage.amin) / max(stage.amin, stage.ref))
            if stage.top_db is not None:
                y = np.maximum(y, y.max() - stage.top_db)
        elif isinstance(stage, WhisperLog):
            y = np.log10(np.maximum(y, 1e-10))
            y = (np.maximum(y, y.max() - 8) + 4) / 4
        elif isinstance(stage, DCT):
            y = scipy.fft.dct(y, type=2, norm=stage.norm, axis=1)[:, : stage.n]
            if stage.lifter:
                i = np.arange(stage.n) + (1 if stage.lifter_kind == "librosa" else 0)
                y = y * (1 + stage.lifter / 2 * np.sin(np.pi * i / stage.lifter))
        elif isinstance(stage, Deltas):
            y = ref_deltas(y, stage)
        elif isinstance(stage, SubtractMean):
            y = y - y.mean(axis=0)
    return y


def ref_deltas(y, stage):
    def once(d, order):
        if stage.mode == "interp":
            return scipy.signal.savgol_filter(d, stage.width, order, deriv=order, axis=0, mode="interp")
        half = (stage.width - 1) // 2
        p = np.pad(d, ((half, half), (0, 0)), mode="edge")
        return sum(k * p[half + k : half + k + len(d)] for k in range(-half, half + 1)) / (
            half * (half + 1) * (2 * half + 1) / 3
        )

    outs = [y] if stage.stack else []
    for order in range(1, stage.order + 1) if stage.stack else [stage.order]:
        if stage.mode == "interp":
            outs.append(once(y, order))
        else:
            d = y
            for _ in range(order):
                d = once(d, 1)
            outs.append(d)
    return np.concatenate(outs, axis=1)


# ------------------------------------------------------------- configs vs reference
BASE = dict(sample_rate=16000, window_size=400, offset=160)
CASES = {
    "seed-default": SpectrogramConfig(),
    "centred-constant": SpectrogramConfig(**BASE, fft_size=512, framing=Centered()),
    "centred-reflect-short-window": SpectrogramConfig(**BASE, fft_size=512, framing=Centered("reflect")),
    "centred-odd-fft": SpectrogramConfig(**BASE, fft_size=401, framing=Centered("reflect")),
    "kaldi-snip": SpectrogramConfig(**BASE, fft_size=512, framing=Kaldi(), window_function="povey"),
    "kaldi-nosnip": SpectrogramConfig(
        **BASE, fft_size=512, framing=Kaldi(False), window_function=Window("hamming", True)
    ),
    "kaldi-preprocess": SpectrogramConfig(
        **BASE, framing=Kaldi(), preprocess=(RemoveDC(), PreEmphasis(0.97)), window_function="povey"
    ),
    "mel-slaney": SpectrogramConfig(**BASE, features=(MelFilterbank(40),)),
    "mel-htk-nonorm-log": SpectrogramConfig(
        **BASE, framing=Centered(), features=(MelFilterbank(64, 20.0, 7600.0, "htk", None), Log(0.0, 1e-6))
    ),
    "mel-kaldi-log": SpectrogramConfig(
        **BASE, fft_size=512, framing=Kaldi(), features=(MelFilterbank(23, 20.0, None, "kaldi", None), Log())
    ),
    "magnitude-db-topdb": SpectrogramConfig(**BASE, power=1.0, features=(MelFilterbank(40), Decibels(top_db=40.0))),
    "db-no-topdb": SpectrogramConfig(**BASE, features=(Decibels(ref=2.0, top_db=None),)),
    "whisper-log": SpectrogramConfig(**BASE, framing=Centered("reflect"), features=(MelFilterbank(80), WhisperLog())),
    "mfcc-librosa-lifter": SpectrogramConfig(**BASE, features=(MelFilterbank(40), Decibels(), DCT(13, lifter=22))),
    "mfcc-kaldi-lifter": SpectrogramConfig(
        **BASE, features=(MelFilterbank(23), Log(), DCT(13, lifter=22, lifter_kind="kaldi"), SubtractMean())
    ),
    "dct-unnormalized": SpectrogramConfig(**BASE, features=(MelFilterbank(20), Log(), DCT(20, norm=None))),
    "deltas-interp": SpectrogramConfig(**BASE, features=(MelFilterbank(20), Log(), Deltas(1, 9))),
    "deltas-interp-2-stack": SpectrogramConfig(**BASE, features=(MelFilterbank(20), Log(), Deltas(2, 5, stack=True))),
    "deltas-replicate-2": SpectrogramConfig(**BASE, features=(MelFilterbank(20), Log(), Deltas(2, 5, "replicate"))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_the_float64_reference(name, noise, relative_error):
    config = CASES[name]
    x = noise(8000, seed=3)
    out = np.asarray(spectrogram(config, x))
    ref = ref_spectrogram(config, x.astype(np.float64))
    assert out.shape == ref.shape == config.output_shape(len(x))
    assert out.dtype == np.float32
    # log-domain features: absolute error relative to the range; linear ones: relative norm
    if any(isinstance(s, (Log, Decibels, WhisperLog, DCT, Deltas)) for s in config.features):
        assert np.abs(out - ref).max() <= 2e-4 * max(1.0, np.abs(ref).max()), name
    else:
        assert relative_error(out, ref) < 1e-5, name


def test_kaldi_dc_removal_keeps_quiet_frames_and_dc_offsets_precise():
    """Quiet speech upsampled to 44.1 kHz (bands above 8 kHz hold only the resampler's residue):
    RemoveDC subtracted the first sample, then the mean twice: bands within 12 nats of a quiet
    frame's max were 2x (librosa's resampler: 6x) the SPEC's Kaldi tolerance off the float64
    definition (an audit). Now the mean, then the mean of what is left; a constant int16-scale
    frame still cancels exactly, and a large DC offset still costs no precision."""
    from tolerances import excess

    audio = jaxspec.load_audio(jaxspec.example_path())
    x = (np.asarray(jaxspec.resample(audio.samples, audio.sample_rate, 44100)) * 32768).astype(np.float32)
    config = jaxspec.presets.kaldi_fbank(sample_frequency=44100, num_mel_bins=40)
    assert excess("kaldi", np.asarray(spectrogram(config, x)), ref_spectrogram(config, x.astype(np.float64))) <= 1
    constant = np.asarray(spectrogram(config, np.full(4410, 16000.0, np.float32)))
    np.testing.assert_array_equal(constant, np.log(np.float32(np.finfo(np.float32).eps)))
    offset = (16000 + np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    config = jaxspec.presets.kaldi_fbank(num_mel_bins=80)  # one mean alone: 2.6e-2 nats off
    ref = ref_spectrogram(config, offset.astype(np.float64))
    assert np.abs(np.asarray(spectrogram(config, offset)) - ref).max() < 1e-3


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"preemphasis_coefficient": 0.0},
        {"preemphasis_coefficient": 0.0, "use_power": False},
        {"preemphasis_coefficient": 0.0, "window_type": "hamming", "sample_frequency": 44100},
        {"preemphasis_coefficient": 0.0, "use_power": False, "sample_frequency": 48000, "low_freq": 0.0},
        {"preemphasis_coefficient": 0.0, "low_freq": 0.0, "sample_frequency": 8000, "snip_edges": False},
        {"preemphasis_coefficient": 0.5, "window_type": "rectangular", "sample_frequency": 22050},
    ],
)
def test_kaldi_constant_frames_cancel_exactly_under_jit_with_any_options(options):
    """Without pre-emphasis a constant int16-scale frame (16000) kept 3.6e-4 of DC: under jit XLA fused
    jnp.mean's multiply by the float32 1/n into the subtraction as one multiply-add, so the mean was
    never rounded and the second pass could not cancel it (every band 8-12 nats above Kaldi's floor,
    kaldi_mfcc's c1 at 6.7; an audit, against torchaudio and kaldi-native-fbank)."""
    floor = np.log(np.float32(np.finfo(np.float32).eps))
    # a second audit: a sum of rounded products missed -23001 at 16 kHz (0.9 nats), -32708 at 44.1 kHz,
    # and a row of a batch of constants differed from the clip alone (the reduction's order)
    values = np.random.default_rng(0).integers(-32768, 32768, 64).astype(np.float32)
    values = np.concatenate([values, [16000.0, -3.0, 12345.678, 32767.0, -23001.0, -32708.0, -29770.0, 0.5]])
    config = jaxspec.presets.kaldi_fbank(**options)
    frames = np.repeat(values[:, None], config.window_samples + 2 * config.offset_samples, axis=1)
    batch = jax.jit(lambda x: spectrogram(config, x))(frames)
    np.testing.assert_array_equal(np.asarray(batch), floor, err_msg=f"{options}")
    for value in values[-8:]:
        alone = spectrogram(config, np.full(config.window_samples, value, np.float32))
        np.testing.assert_array_equal(np.asarray(alone), floor, err_msg=f"{options} {value}")
    cepstra = jaxspec.presets.kaldi_mfcc(**{k: v for k, v in options.items() if k != "use_power"})  # mfcc's own
    mfcc = np.asarray(spectrogram(cepstra, np.full(4000, 16000.0, np.float32)))
    assert np.abs(mfcc[:, 1:]).max() < 1e-4  # a flat log spectrum: c0 alone
    offset = (16000 + np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    config = jaxspec.presets.kaldi_fbank(num_mel_bins=80, **options)  # 1.8e-2 nats off without pre-emphasis
    ref = ref_spectrogram(config, offset.astype(np.float64))
    assert np.abs(np.asarray(spectrogram(config, offset)) - ref).max() < 1e-3


@pytest.mark.parametrize(
    "make", [lambda: Decibels(amin=1e-40), lambda: Log(floor=1e-40), lambda: Log(floor=0.0, offset=1e-45)]
)
def test_floors_below_the_smallest_normal_float32_are_config_errors(make):
    # CPUs and GPUs flush such values to 0: silence gave -inf (and a NaN gradient)
    with pytest.raises(ConfigError, match="smallest normal"):
        make()
    assert Log(floor=1e-40, offset=1e-6).offset == 1e-6  # a positive offset keeps silence finite
    config = SpectrogramConfig(features=(MelFilterbank(40), Decibels(amin=2e-38)))  # the smallest normal pass
    assert np.isfinite(np.asarray(spectrogram(config, np.zeros(4000, np.float32)))).all()


def test_deltas_on_fewer_frames_than_the_width_fit_them_all(noise):
    config = SpectrogramConfig(**BASE, framing=Kaldi(), features=(MelFilterbank(8), Log(), Deltas(1, 9)))
    x = noise(400 + 4 * 160)  # 5 frames < width 9: one least-squares line through all of them
    out = np.asarray(spectrogram(config, x))
    logmel = np.asarray(spectrogram(dataclasses.replace(config, features=config.features[:2]), x))
    slope = np.polyfit(np.arange(5), logmel, 1)[0]
    np.testing.assert_allclose(out, np.broadcast_to(slope, out.shape), atol=2e-4)


def test_default_config_has_no_new_settings():
    plain = SpectrogramConfig(offset=160)
    assert plain.framing is None and plain.preprocess == () and plain.features == ()
    assert plain.num_features == plain.num_bins and plain.to_dict().keys().isdisjoint({"framing", "features"})


# ------------------------------------------------------------- frame counts
@settings(max_examples=25, deadline=None)
@given(
    length=st.integers(0, 3000),
    hop=st.integers(1, 300),
    window=st.integers(1, 400),
    extra=st.integers(0, 100),
    mode=st.sampled_from(["seed", "constant", "reflect", "whisper", "snip", "nosnip"]),
)
def test_frame_counts_follow_the_framing_mode(length, hop, window, extra, mode):
    framing = {
        "seed": None,
        "constant": Centered(),
        "reflect": Centered("reflect"),
        "whisper": Centered("reflect", drop_last=True),
        "snip": Kaldi(),
        "nosnip": Kaldi(False),
    }[mode]
    config = SpectrogramConfig(window_size=window, offset=hop, fft_size=window + extra, framing=framing)
    fft = window + extra
    expected = {
        "seed": -(-length // hop),
        "constant": 1 + (length + 2 * (fft // 2) - fft) // hop,
        "reflect": 1 + (length + 2 * (fft // 2) - fft) // hop,
        "whisper": max(0, (length + 2 * (fft // 2) - fft) // hop),
        "snip": 0 if length < window else 1 + (length - window) // hop,
        "nosnip": (length + hop // 2) // hop,
    }[mode]
    assert config.num_frames(length) == expected
    np.testing.assert_array_equal(config.num_frames(np.array([length, length])), [expected, expected])
    if length <= 1200:
        x = np.random.default_rng(length).standard_normal(length).astype(np.float32)
        out = np.asarray(spectrogram(config, x))
        assert out.shape == (expected, config.num_features) and np.isfinite(out).all()
        if expected and length and not (mode in ("reflect", "whisper") and length == 0):
            ref = ref_spectrogram(config, x.astype(np.float64))
            assert np.linalg.norm(out - ref) <= 1e-5 * max(np.linalg.norm(ref), 1e-3)


def test_num_frames_with_target_length():
    config = SpectrogramConfig(offset=160, window_size=400, fft_size=400, framing=Centered(), target_length=1.0)
    assert config.num_frames(5) == 101 and list(config.num_frames(np.array([5, 50000]))) == [101, 101]
    assert SpectrogramConfig(framing=Kaldi(), target_length=7).num_frames(0) == 7


# ------------------------------------------------------------- complex STFT, windows, dither
def test_complex_stft_matches_numpy(noise):
    config = SpectrogramConfig(**BASE, fft_size=512, framing=Centered("reflect"), power=None)
    x = noise(4000)
    out = np.asarray(spectrogram(config, x))
    ref = ref_spectrogram(config, x.astype(np.float64))
    assert out.dtype == np.complex64 and out.shape == ref.shape
    assert np.linalg.norm(out - ref) / np.linalg.norm(ref) < 1e-5
    assert spectrogram(config, np.zeros(0, np.float32)).dtype == np.complex64


def test_complex_stft_cannot_be_followed_by_features():
    with pytest.raises(ConfigError, match="power=None"):
        SpectrogramConfig(power=None, features=(MelFilterbank(),))


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "bartlett", "rectangular"])
@pytest.mark.parametrize("n", [1, 2, 5, 400])
def test_symmetric_windows_match_scipy(name, n):
    config = SpectrogramConfig(window_size=n, offset=1, window_function=Window(name, symmetric=True))
    scipy_name = "boxcar" if name == "rectangular" else name
    np.testing.assert_allclose(config.window, scipy.signal.get_window(scipy_name, n, fftbins=False), atol=1e-12)


def test_povey_is_symmetric_hann_to_the_085():
    np.testing.assert_allclose(SpectrogramConfig(window_function="povey").window, np.hanning(400) ** 0.85, atol=1e-12)
    with pytest.raises(ConfigError, match="'nope'"):
        Window("nope")
    # symmetric=False is periodic, as for every named window
    periodic = SpectrogramConfig(window_size=400, window_function=Window("povey", symmetric=False)).window
    np.testing.assert_allclose(periodic, scipy.signal.get_window("hann", 400) ** 0.85, atol=1e-12)
    assert SpectrogramConfig(window_function="none").window_function is None  # rectangular, as None


def test_a_mel_band_edge_at_or_below_0_counts_down_from_nyquist():
    # Kaldi's high_freq: fmax <= 0 is nyquist + fmax, 0 included (the preset never passes 0 on)
    assert MelFilterbank(23, 20.0, 0.0, "kaldi", None).edges(16000) == (20.0, 8000.0)
    assert MelFilterbank(23, 20.0, -400.0, "kaldi", None).edges(16000) == (20.0, 7600.0)


def test_dither_draws_from_key_id_8_per_frame(noise, key):
    base = SpectrogramConfig(**BASE, framing=Kaldi(), window_function=None, power=None)
    dithered = dataclasses.replace(base, preprocess=(Dither(0.5),))
    x = noise(2000)
    np.testing.assert_array_equal(spectrogram(dithered, x), spectrogram(base, x))  # no key: no dither
    out = np.asarray(spectrogram(dithered, x, key))
    k = jax.random.fold_in(key, 8)
    frames = ref_frames(x, 400, 160, 400, Kaldi())
    # frame i: white noise of fold_in(k, i), the documented rule = jax.random.normal with jax's
    # original (non-partitionable) bits, whatever the flag is set to
    with jax.threefry_partitionable(False):
        drawn = np.stack([np.asarray(jax.random.normal(jax.random.fold_in(k, i), (400,))) for i in range(len(frames))])
    ref = np.fft.rfft(frames + 0.5 * drawn, axis=1)
    assert np.linalg.norm(out - ref) / np.linalg.norm(ref) < 1e-5
    np.testing.assert_array_equal(out, spectrogram(dithered, x, key))


def test_long_inputs_blocks_equal_the_whole(noise, key):
    # > 2 * 2048 frames: the block loop; dither draws by frame index, features per block
    config = SpectrogramConfig(
        window_size=16,
        offset=4,
        framing=Kaldi(),
        preprocess=(Dither(0.1), RemoveDC()),
        features=(MelFilterbank(6, scale="htk"), Log(), Deltas(1, 5, "replicate")),
        sample_rate=8000,
    )
    x = noise(4 * 4500)
    out = np.asarray(spectrogram(config, x, key))
    head = np.asarray(spectrogram(config, x[: 4 * 300], key))
    assert out.shape == (config.num_frames(len(x)), 6)
    np.testing.assert_allclose(out[:290], head[:290], atol=2e-5)


# ------------------------------------------------------------- jit / vmap / grad
@pytest.mark.parametrize("name", ["mel-kaldi-log", "mfcc-librosa-lifter", "whisper-log", "deltas-interp"])
def test_eager_jit_vmap_agree(name, noise, assert_eager_jit_vmap_equal):
    assert_eager_jit_vmap_equal(jaxspec.spectrogram, CASES[name], noise(3000))


def test_kaldi_dither_eager_jit_vmap_agree(noise, key, assert_eager_jit_vmap_equal):
    config = dataclasses.replace(CASES["kaldi-preprocess"], preprocess=(Dither(0.01), RemoveDC(), PreEmphasis()))
    assert_eager_jit_vmap_equal(jaxspec.spectrogram, config, noise(3000), key)


@pytest.mark.parametrize(
    "name", ["mel-htk-nonorm-log", "mel-kaldi-log", "magnitude-db-topdb", "whisper-log", "mfcc-kaldi-lifter"]
)
def test_gradients_are_finite_on_silence_and_noise(name, noise):
    config = CASES[name]
    for x in (jnp.zeros(3000), jnp.asarray(noise(3000))):
        grad = jax.grad(lambda s: jnp.sum(jaxspec.spectrogram(config, s)))(x)
        assert np.isfinite(np.asarray(grad)).all(), name
        assert np.isfinite(np.asarray(jaxspec.spectrogram(config, x))).all(), name


def test_per_example_statistics_in_a_batch(noise):
    config = CASES["magnitude-db-topdb"]
    x = np.stack([noise(3000), 1e-3 * noise(3000, seed=1)])
    batch = np.asarray(spectrogram(config, x))
    for i in range(2):
        np.testing.assert_allclose(batch[i], np.asarray(spectrogram(config, x[i])), atol=1e-4)


@pytest.mark.parametrize(
    "bank, rate, fft",
    [
        (MelFilterbank(128), 16000, 2048),
        (MelFilterbank(40, fmin=300.0, fmax=6000.0, scale="htk", norm=None), 16000, 512),
        (MelFilterbank(23, fmin=20.0, scale="kaldi", norm=None), 16000, 512),
        (MelFilterbank(80, frequencies="linspace"), 16000, 400),
        (MelFilterbank(9), 8000, 256),  # too few filters to group: the dense product
    ],
)
def test_filterbank_product_in_bands_equals_the_dense_product(bank, rate, fft):
    from jaxspec import _melscale

    matrix = bank.matrix(rate, fft)
    power = np.random.default_rng(1).random((3, 50, fft // 2 + 1)) ** 4
    expected = power @ matrix  # float64
    out = jax.jit(lambda y: bank.apply(y, rate, fft))(jnp.asarray(power, jnp.float32))
    np.testing.assert_allclose(np.asarray(out, np.float64), expected, rtol=2e-6, atol=1e-7 * np.abs(expected).max())
    grad = jax.grad(lambda y: bank.apply(y, rate, fft).sum())(jnp.asarray(power, jnp.float32))
    np.testing.assert_allclose(np.asarray(grad[0, 0], np.float64), matrix.sum(axis=1), rtol=1e-5, atol=1e-9)
    groups = _melscale.column_bands(matrix)
    if bank.n_mels == 128:
        assert len(groups) == 8  # librosa's default bank: the banded product is taken
    if bank.n_mels == 9:
        assert groups == []  # too few filters: the dense one
    covered = np.zeros_like(matrix, bool)
    for first, end, cols in groups:
        covered[first:end, cols] = True
    assert not groups or not (matrix[~covered] != 0).any()  # every nonzero is inside its group's band


def test_a_mel_top_edge_above_nyquist_warns():
    """As librosa warns of empty filters: --preset kaldi_fbank --sample-rate 8000 once kept
    fmax 8000 at 8 kHz silently, 4 of 23 bands at the floor."""
    import jaxspec
    from jaxspec import Log, MelFilterbank

    with pytest.warns(
        UserWarning,
        match=r"fmax=8000 Hz \(a preset.s fmax or f_max\) is above the Nyquist frequency \(4000 Hz at 8000 Hz\)",
    ):
        jaxspec.SpectrogramConfig(sample_rate=8000, features=(MelFilterbank(40, fmax=8000.0), Log()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxspec.SpectrogramConfig(sample_rate=8000, features=(MelFilterbank(40, fmax=4000.0), Log()))


def test_the_empty_band_warning_comes_once_per_config_not_per_call():
    # it was raised by num_features, which every call and trace asks: three more at the first
    # call, one of them attributed to jax's partial_eval.py; and a torchaudio user read "fmax"
    with pytest.warns(UserWarning, match="a preset's fmax or f_max") as made:
        config = jaxspec.presets.torchaudio_melspectrogram(sample_rate=16000, f_max=10000.0)
    assert len(made) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxspec.spectrogram(config, np.zeros(4000, np.float32))
        jaxspec.encode(config, np.zeros(4000, np.float32), sample_rate=16000)
        jax.jit(jaxspec.spectrogram)(config, np.zeros(4100, np.float32))
    with pytest.raises(jaxspec.ConfigError, match=r"needs fmin < fmax \(= 4000 Hz at sample_rate=8000\)"):
        jaxspec.SpectrogramConfig(sample_rate=8000, features=(MelFilterbank(8, fmin=5000.0),))


def test_the_filterbank_cache_is_bounded():
    # every distinct mel config's matrix was kept for the process: 40 configs of 256 mels of
    # a 4096-point FFT kept 160 MB after the configs were gone (an audit)
    for i in range(_melscale._SHARED_KEPT + 8):
        MelFilterbank(16, fmax=6000.0 + i).matrix(16000, 512)
    assert _melscale.mel_filterbank.cache_info().currsize <= _melscale._SHARED_KEPT


def test_a_cached_filterbank_handed_out_cannot_be_changed_in_place():
    # MelFilterbank.matrix hands out the process's cached array: scaling it in place
    # (fb /= fb.sum(0), for a plot) turned every Kaldi config traced after it into the log floor
    config = jaxspec.presets.kaldi_fbank()
    x = np.random.default_rng(0).standard_normal(4000).astype(np.float32) * 0.2
    before = np.asarray(jaxspec.spectrogram(config, x))
    stage = next(s for s in config.features if isinstance(s, MelFilterbank))
    matrix = stage.matrix(config.sample_rate, config.fft_samples)
    with pytest.raises(ValueError, match="read-only"):
        matrix *= 0.0
    with pytest.raises(ValueError, match="read-only"):
        _melscale.dct_matrix(23, 13, "ortho")[:] = 0.0
    with pytest.raises(ValueError, match="read-only"):  # the config's window: writing into it did nothing, silently
        config.window[:] = 0.0
    mine = np.hanning(400)
    assert jaxspec.SpectrogramConfig(window_function=lambda n: mine).window.flags.writeable is False
    assert mine.flags.writeable  # a callable's array is copied, not frozen under its owner
    after = np.asarray(jaxspec.spectrogram(jaxspec.presets.kaldi_fbank(), x[:3000]))  # traced anew
    np.testing.assert_allclose(after, before[: len(after)], rtol=1e-5, atol=1e-5)


def test_dither_draws_by_the_frame_index_past_the_first_block(key):
    """Frame i dithers with ``fold_in(fold_in(key, 8), i)`` in every block of a long input (> 2 x
    2048 frames) and in the seed framing's last frames, which reach past the end (the mutation
    audit: each block drawing block 0's noise left every test green)."""
    for framing, length in ((Kaldi(), 4 * 5000 + 16), (None, 4 * 5000 + 3)):
        config = SpectrogramConfig(sample_rate=8000, window_size=16, offset=4, window_function=None, power=None)
        config = dataclasses.replace(config, framing=framing or config.framing, preprocess=(Dither(1.0),))
        out = np.asarray(spectrogram(config, np.zeros(length, np.float32), key))  # silence: the dither's FFT
        k = jax.random.fold_in(key, 8)
        for i in (0, 2047, 2048, 4100, out.shape[0] - 2, out.shape[0] - 1):
            with jax.threefry_partitionable(False):  # the documented rule's bits (see the test above)
                drawn = np.asarray(jax.random.normal(jax.random.fold_in(k, i), (16,)))
            np.testing.assert_allclose(out[i], np.fft.rfft(drawn), rtol=1e-5, atol=1e-5, err_msg=f"frame {i}")


@pytest.mark.parametrize("ref, amin", [(1e-12, 1e-10), (1.0, 1e-10), (3.0, 1e-5)])
def test_decibels_ref_below_amin_is_floored_as_librosa(ref, amin):
    """``10 log10(max(S, amin)) - 10 log10(max(amin, ref))`` (librosa's power_to_db): a ``ref``
    below ``amin`` is floored too (a mutation that dropped it was 20 dB off and left every test green)."""
    x = np.random.default_rng(3).standard_normal(4000).astype(np.float32)
    power = np.asarray(spectrogram(SpectrogramConfig(), x), np.float64)
    config = SpectrogramConfig(features=(Decibels(ref=ref, amin=amin, top_db=None),))
    expected = 10 * np.log10(np.maximum(power, amin)) - 10 * np.log10(max(amin, ref))
    np.testing.assert_allclose(spectrogram(config, x), expected, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("width", [4, 6])
@pytest.mark.parametrize("order", [1, 2])
def test_replicate_deltas_of_an_even_width_follow_torchaudio(width, order):
    # every test used odd widths, where (width - 1) // 2 and width // 2 agree: a filter of the wrong
    # reach passed (1.4 off; the mutation audit). Reference: torchaudio's compute_deltas written out
    # in float64 (n = (win_length - 1) // 2, edges replicated, applied `order` times)
    def compute_deltas(y: np.ndarray) -> np.ndarray:
        n = (width - 1) // 2
        padded = np.pad(y, ((n, n), (0, 0)), mode="edge")
        return sum(k * padded[n + k : n + k + len(y)] for k in range(-n, n + 1)) / (n * (n + 1) * (2 * n + 1) / 3)

    x = np.random.default_rng(0).standard_normal((20, 3))
    expected = x
    for _ in range(order):
        expected = compute_deltas(expected)
    got = np.asarray(Deltas(order, width, "replicate").apply(x.astype(np.float32), 16000, 512), np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
