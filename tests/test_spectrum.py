"""spectrogram() against a float64 NumPy implementation of SPEC section 3, and librosa."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxspec
from jaxspec import Augmentation, SpectrogramConfig
from jaxspec.framing import Dither

TOLERANCE = 1e-5  # SPEC section 6: ||out - ref|| / ||ref||

# Compiled once per config and shape: ~10x faster than eager for one-off shapes. The eager
# path is compared with this one in test_eager_jit_vmap_agree.
spectrogram = jax.jit(jaxspec.spectrogram)


# ------------------------------------------------------------- the float64 reference
def reference_window(spec, size: int) -> np.ndarray:
    """SPEC section 2: names are periodic windows as scipy.signal.get_window returns them."""
    if spec is None:
        return np.ones(size)
    if isinstance(spec, str):
        return scipy.signal.get_window(spec, size, fftbins=True)
    if callable(spec):
        return np.asarray(spec(size), np.float64)
    return np.asarray(spec, np.float64)


def reference_spectrogram(
    x,
    window_size: int,
    offset: int,
    window="hann",
    fft_size: int | None = None,
    power: float = 2.0,
    normalization: tuple[str, float] | None = None,
    target_frames: int | None = None,
    target_samples: int | None = None,
) -> np.ndarray:
    """SPEC section 3 steps 3 and 5-8 in float64 NumPy.

    Args:
      x: ``[L]`` samples (cast to float64).
      normalization: ``("max", v)`` or ``("rms", v)``.
      target_frames / target_samples: step 5, as a frame count or as samples.

    Returns:
      float64 ``[n, fft_size // 2 + 1]``.
    """
    x = np.asarray(x, np.float64)
    fft_size = window_size if fft_size is None else fft_size
    if normalization is not None:
        kind, level = normalization
        size = np.max(np.abs(x)) if kind == "max" else np.sqrt(np.mean(x**2))
        x = x * (level / size) if x.size and size > 0 else np.zeros_like(x)
    if target_samples is not None:
        x = np.concatenate([x, np.zeros(max(0, target_samples - x.size))])[:target_samples]
    n = target_frames if target_frames is not None else math.ceil(x.size / offset)
    padded = np.zeros(max(x.size, (n - 1) * offset + window_size, 0))
    padded[: x.size] = x
    framed = np.array([padded[i * offset : i * offset + window_size] for i in range(n)]).reshape(n, window_size)
    spectrum = np.fft.rfft(framed * reference_window(window, window_size), n=fft_size, axis=-1)
    return np.abs(spectrum) ** power


def test_reference_follows_the_dft_formula_of_the_spec():
    # X[f] = sum_k w[k] x[i*hop + k] exp(-2 pi i f k / fft_size), written out as a sum.
    x = np.random.default_rng(0).standard_normal(300)
    window_size, offset, fft_size = 50, 20, 64
    w = scipy.signal.get_window("hann", window_size)
    expected = np.zeros((15, 33))
    for i in range(15):
        for f in range(33):
            total = 0j
            for k in range(window_size):
                sample = x[i * offset + k] if i * offset + k < x.size else 0.0
                total += w[k] * sample * np.exp(-2j * np.pi * f * k / fft_size)
            expected[i, f] = abs(total) ** 2
    np.testing.assert_allclose(reference_spectrogram(x, window_size, offset, fft_size=fft_size), expected, rtol=1e-9)


def check(config: SpectrogramConfig, x: np.ndarray, relative_error, **reference_args) -> np.ndarray:
    """Runs jaxspec and the reference; asserts dtype, exact shape and relative error."""
    out = spectrogram(config, x)
    ref = reference_spectrogram(x, **reference_args)
    assert out.dtype == jnp.float32
    assert out.shape == ref.shape, f"{config}: shape {out.shape} != reference {ref.shape}"
    error = relative_error(out, ref)
    assert error < TOLERANCE, f"{config}: relative error {error:.2e}"
    return np.asarray(out)


# ------------------------------------------------------------- reference comparisons
@pytest.mark.parametrize("window_size", [400, 401, 512, 600])
@pytest.mark.parametrize("hop", ["1", "133", "160", "ws", "ws+37"])
def test_matches_reference_for_window_sizes_and_offsets(window_size, hop, noise, relative_error):
    offset = {"1": 1, "133": 133, "160": 160, "ws": window_size, "ws+37": window_size + 37}[hop]
    rng = np.random.default_rng(window_size * 1000 + offset)
    length = int(rng.integers(window_size // 2, 900 if offset == 1 else 4000))
    x = noise(length, seed=length)
    config = SpectrogramConfig(window_size=window_size, offset=offset)
    out = check(config, x, relative_error, window_size=window_size, offset=offset)
    assert out.shape == (math.ceil(length / offset), window_size // 2 + 1)


@pytest.mark.parametrize("length", [0, 1, 133, 134, 400, 401, 533, 16000])
def test_default_config_matches_reference_for_lengths(length, noise, relative_error):
    out = check(SpectrogramConfig(), noise(length, seed=length), relative_error, window_size=400, offset=133)
    assert out.shape == (math.ceil(length / 133), 201)


def test_random_configs_match_reference(noise, relative_error):
    rng = np.random.default_rng(7)
    for _ in range(10):
        window_size = int(rng.integers(2, 700))
        offset = int(rng.integers(1, 2 * window_size))
        fft_size = window_size + int(rng.choice([0, 1, int(rng.integers(0, 300))]))
        power = float(rng.choice([0.5, 1.0, 2.0, 3.0]))
        window = str(rng.choice(["hann", "hamming", "blackman"]))
        length = int(rng.integers(0, 3000))
        config = SpectrogramConfig(
            window_size=window_size, offset=offset, fft_size=fft_size, power=power, window_function=window
        )
        check(
            config,
            noise(length, seed=length),
            relative_error,
            window_size=window_size,
            offset=offset,
            fft_size=fft_size,
            power=power,
            window=window,
        )


@pytest.mark.parametrize(("window_size", "fft_size"), [(400, 512), (401, 1024), (256, 257), (600, 601)])
def test_fft_size_zero_pads_frames(window_size, fft_size, noise, relative_error):
    config = SpectrogramConfig(window_size=window_size, offset=160, fft_size=fft_size)
    out = check(config, noise(3000), relative_error, window_size=window_size, offset=160, fft_size=fft_size)
    assert out.shape[1] == fft_size // 2 + 1


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5, 3])
def test_power(power, noise, relative_error):
    config = SpectrogramConfig(power=power)
    check(config, noise(2500), relative_error, window_size=400, offset=133, power=power)


@pytest.mark.parametrize(("power", "scale"), [(1.0, 1e-22), (1.0, 1e-30), (0.5, 1e-30), (1.5, 1e-22)])
def test_a_quiet_signals_magnitude_does_not_underflow(power, scale, noise, relative_error):
    # |X| ** p went through |X|**2, whose bins below 1.1e-19 underflow float32 (to 0 on CPU, which
    # flushes subnormals): a signal at 1e-22 had an all-zero magnitude spectrogram (power 1)
    # though every |X| (about 1e-21) is a normal float32 (as is |X| ** p in each case here)
    x = noise(2500) * np.float32(scale)
    config = SpectrogramConfig(power=power)
    for out in (jaxspec.spectrogram(config, x), jax.jit(jaxspec.spectrogram)(config, x)):
        reference = reference_spectrogram(x, 400, 133, power=power)
        assert relative_error(out, reference) < 1e-5


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "bartlett", "cosine"])  # (the mutation audit)
@pytest.mark.parametrize("size", [1, 2, 7, 8, 400, 401])
def test_named_windows_are_scipy_periodic_windows(name, size):
    config = SpectrogramConfig(window_size=size, window_function=name)
    np.testing.assert_allclose(config.window, scipy.signal.get_window(name, size), rtol=0, atol=1e-12)


def test_hann_is_the_periodic_formula():
    n = np.arange(400)
    np.testing.assert_allclose(SpectrogramConfig().window, 0.5 - 0.5 * np.cos(2 * np.pi * n / 400), atol=1e-12)


@pytest.mark.parametrize(
    "window",
    [
        "hann",
        "hamming",
        "blackman",
        None,
        "rectangular",
        lambda n: np.kaiser(n, 8.0),
        list(np.linspace(0.0, 1.0, 401)),
        tuple(np.random.default_rng(3).uniform(0, 1, 401)),
    ],
    ids=["hann", "hamming", "blackman", "none", "rectangular", "callable", "list", "tuple"],
)
def test_window_functions(window, noise, relative_error):
    config = SpectrogramConfig(window_size=401, offset=100, window_function=window)
    reference = None if window == "rectangular" else window
    check(config, noise(2000), relative_error, window_size=401, offset=100, window=reference)


@pytest.mark.parametrize("normalization", [("max", 1.0), ("max", 0.25), ("rms", 1.0), ("rms", 0.1)])
def test_normalization(normalization, noise, relative_error):
    config = SpectrogramConfig(normalization=normalization)
    x = noise(3000, scale=0.02)
    check(config, x, relative_error, window_size=400, offset=133, normalization=normalization)


@pytest.mark.parametrize("scale", [1e-30, 1e-19, 1e-5, 1e17, 1e30])
@pytest.mark.parametrize("normalization", [("max", 1.0), ("rms", 0.1)])
def test_normalization_of_very_quiet_and_very_loud_signals(scale, normalization, noise, relative_error):
    # The RMS is that of x / max|x|: mean(x**2) in float32 underflowed to 0 below about 1e-19
    # (the signal came out silent) and overflowed above about 1e19 (refused as too large).
    x = (noise(3000, scale=1.0) * np.float32(scale)).astype(np.float32)
    assert np.abs(x).max() > 0 and np.isfinite(x).all()
    config = SpectrogramConfig(normalization=normalization)
    out = check(config, x, relative_error, window_size=400, offset=133, normalization=normalization)
    np.testing.assert_array_equal(out, np.asarray(jax.jit(spectrogram)(config, x)))


def test_max_shorthand_is_max_one(noise):
    x = noise(2000, scale=0.05)
    a = spectrogram(SpectrogramConfig(normalization="max"), x)
    b = spectrogram(SpectrogramConfig(normalization=("max", 1.0)), x)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("normalization", ["max", ("rms", 0.5)])
def test_normalizing_silence_stays_zero(normalization):
    for length in (0, 1, 1000):
        out = np.asarray(spectrogram(SpectrogramConfig(normalization=normalization), np.zeros(length, np.float32)))
        assert out.shape == (math.ceil(length / 133), 201)
        assert not np.isnan(out).any() and np.all(out == 0)


@pytest.mark.parametrize(("frames", "length"), [(5, 3000), (30, 3000), (23, 3000), (1, 0), (4, 0)])
def test_target_length_in_frames(frames, length, noise, relative_error):
    config = SpectrogramConfig(target_length=frames)
    out = check(config, noise(length), relative_error, window_size=400, offset=133, target_frames=frames)
    assert out.shape == (frames, 201)


@pytest.mark.parametrize(("target", "seconds"), [(0.5, 0.5), ("0.5s", 0.5), ("500ms", 0.5), ("37.5ms", 0.0375)])
@pytest.mark.parametrize("length", [0, 3000, 12000])
def test_target_length_as_duration(target, seconds, length, noise, relative_error):
    samples = math.floor(seconds * 16000 + 0.5)
    config = SpectrogramConfig(target_length=target)
    out = check(config, noise(length), relative_error, window_size=400, offset=133, target_samples=samples)
    assert out.shape == (math.ceil(samples / 133), 201)


def test_target_duration_trims_the_end_and_pads_with_zeros(noise):
    x = noise(12000)
    config = SpectrogramConfig(target_length=0.5, offset=400)  # 8000 samples = 20 frames, no overlap
    trimmed = np.asarray(spectrogram(config, x))
    np.testing.assert_allclose(trimmed, np.asarray(spectrogram(SpectrogramConfig(offset=400), x[:8000])), rtol=1e-6)
    padded = np.asarray(spectrogram(config, x[:4000]))
    assert padded.shape == (20, 201) and np.all(padded[10:] == 0) and np.all(padded[:10].sum(axis=1) > 0)


def test_zero_length_input():
    assert spectrogram(SpectrogramConfig(), np.zeros(0, np.float32)).shape == (0, 201)
    assert spectrogram(SpectrogramConfig(fft_size=1024), np.zeros(0, np.float32)).shape == (0, 513)
    assert spectrogram(SpectrogramConfig(), np.zeros((3, 0), np.float32), lengths=[0] * 3).shape == (3, 0, 201)
    framed = np.asarray(spectrogram(SpectrogramConfig(target_length=6), np.zeros(0, np.float32)))
    assert framed.shape == (6, 201) and np.all(framed == 0)


@pytest.mark.parametrize("shape", [(3, 0), (1, 0), (0, 0)])
def test_an_n_by_0_array_is_an_input_error(shape):
    """SPEC section 5: [n, 0] arrays are an InputError (it was read as n empty signals,
    [n, 0, bins]); a batch of empty signals says so with lengths=."""
    x = np.zeros(shape, np.float32)
    for call in (jaxspec.spectrogram, spectrogram, jaxspec.augment):
        with pytest.raises(jaxspec.InputError, match=r"no samples in any row.*lengths=\[0\]"):
            call(SpectrogramConfig(), x)


def test_batch_equals_each_row(noise, relative_error):
    x = noise((3, 2000))
    config = SpectrogramConfig(offset=160, normalization="max")
    out = np.asarray(spectrogram(config, x))
    assert out.shape == (3, 13, 201) and out.dtype == np.float32
    for i in range(3):
        assert relative_error(out[i], spectrogram(config, x[i])) < TOLERANCE
        ref = reference_spectrogram(x[i], 400, 160, normalization=("max", 1.0))
        assert relative_error(out[i], ref) < TOLERANCE


def test_float64_and_float16_input_give_float32(noise):
    x = noise(1000).astype(np.float64)
    assert jaxspec.spectrogram(SpectrogramConfig(), x).dtype == jnp.float32
    assert jaxspec.spectrogram(SpectrogramConfig(), x.astype(np.float16)).dtype == jnp.float32


def test_no_key_means_no_augmentation(noise):
    x = noise(2000)
    augmented = SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 2.0), noise=0.1))
    np.testing.assert_array_equal(
        np.asarray(spectrogram(augmented, x)), np.asarray(spectrogram(SpectrogramConfig(), x))
    )


@settings(max_examples=20, deadline=None)
@given(
    length=st.integers(0, 2500),
    window_size=st.integers(1, 700),
    hop=st.integers(1, 900),
    extra_fft=st.integers(0, 64),
)
def test_property_shapes_finiteness_and_values(length, window_size, hop, extra_fft):
    x = (0.3 * np.random.default_rng(length).standard_normal(length)).astype(np.float32)
    fft_size = window_size + extra_fft
    config = SpectrogramConfig(window_size=window_size, offset=hop, fft_size=fft_size)
    out = np.asarray(spectrogram(config, x))
    assert out.shape == (math.ceil(length / hop), fft_size // 2 + 1) == config.output_shape(length)
    assert out.dtype == np.float32 and np.isfinite(out).all() and (out >= 0).all()
    ref = reference_spectrogram(x, window_size, hop, fft_size=fft_size)
    scale = np.linalg.norm(ref)
    assert np.linalg.norm(out - ref) <= TOLERANCE * scale + 1e-30


# ------------------------------------------------------------- librosa and physics
@pytest.mark.parametrize("length", [400, 401, 4000, 16000])
def test_default_config_equals_librosa_stft_without_centering(length, noise, relative_error):
    x = noise(length, seed=11)
    ours = np.asarray(spectrogram(SpectrogramConfig(), x))
    librosa = pytest.importorskip("librosa")  # in the [test] extra; absent on some accelerator images
    stft = librosa.stft(x.astype(np.float64), n_fft=400, hop_length=133, window="hann", center=False)
    theirs = (np.abs(stft) ** 2).T  # librosa is [bins, frames]
    assert theirs.shape == (1 + (length - 400) // 133, 201)
    assert ours.shape == (math.ceil(length / 133), 201)
    assert relative_error(ours[: theirs.shape[0]], theirs) < TOLERANCE


@pytest.mark.parametrize(("window_size", "fft_size", "bin_index"), [(400, None, 37), (400, 512, 40), (401, 401, 100)])
def test_sine_at_a_bin_frequency_peaks_at_that_bin(window_size, fft_size, bin_index, sine):
    fft = fft_size or window_size
    freq = bin_index * 16000 / fft
    x = sine(freq, 8000)
    out = np.asarray(spectrogram(SpectrogramConfig(window_size=window_size, fft_size=fft_size, offset=160), x))
    full = (8000 - window_size) // 160 + 1  # frames lying entirely inside the signal
    assert np.all(np.argmax(out[:full], axis=1) == bin_index)
    # Unnormalized DFT of a hann-windowed sine of amplitude A at a bin: |X| = A * ws / 4.
    if fft == window_size:
        np.testing.assert_allclose(np.sqrt(out[:full, bin_index]), 0.5 * window_size / 4, rtol=1e-3)


@pytest.mark.parametrize("power", [2.0, 1.0, 0.5])
@pytest.mark.parametrize("signal", ["noise", "silence", "half_silent"])
def test_gradient_is_finite(power, signal, noise):
    x = {"noise": noise(1200), "silence": np.zeros(1200, np.float32)}.get(signal)
    if x is None:
        x = np.concatenate([np.zeros(600, np.float32), noise(600)])
    config = SpectrogramConfig(power=power)
    grad = np.asarray(jax.jit(jax.grad(lambda s: jaxspec.spectrogram(config, s).sum()))(jnp.asarray(x)))
    assert grad.shape == x.shape and np.isfinite(grad).all()
    if signal == "noise":
        assert np.abs(grad).max() > 0


@pytest.mark.parametrize("power", [1.0, 0.5])
def test_gradient_of_a_magnitude_is_finite_and_scale_free_for_quiet_bins(power, noise):
    # bins under 1.1e-19 (a clip at 2**-70, a fading tail): the scale m = max(|re|, |im|) that
    # keeps |X| ** p representable was differentiated, and d(re/m)/dm = -re/m**2 underflowed (NaN)
    config = SpectrogramConfig(power=power)
    loss = jax.jit(jax.grad(lambda s: jaxspec.spectrogram(config, s).sum()))
    loud = noise(1200)
    fading = loud * np.exp(-np.arange(1200) / 20.0).astype(np.float32)  # 1e-26 at its end
    for x in (loud * np.float32(2.0**-70), fading):
        assert np.isfinite(np.asarray(loss(jnp.asarray(x)))).all()
    # |X| ** p is homogeneous of degree p: the gradient at 2**-70 x is 2**(-70 (p - 1)) times x's
    quiet = np.asarray(loss(jnp.asarray(loud * np.float32(2.0**-70))))
    ordinary = np.asarray(loss(jnp.asarray(loud))) * 2.0 ** (-70 * (power - 1))
    np.testing.assert_allclose(quiet, ordinary, rtol=1e-4, atol=1e-6 * np.abs(ordinary).max())


@pytest.mark.parametrize("normalization", ["max", ("rms", 1.0)])
def test_gradient_with_normalization_is_finite_even_for_silence(normalization, noise):
    config = SpectrogramConfig(normalization=normalization)
    loud = noise(1200)
    # a quiet clip (1e-20, 1e-35): x / peak's backward pass squared the peak, which underflowed (NaN)
    for x in (loud, np.zeros(1200, np.float32), loud * np.float32(1e-20), loud * np.float32(1e-35)):
        grad = np.asarray(jax.jit(jax.grad(lambda s: jaxspec.spectrogram(config, s)[:, 3:9].sum()))(jnp.asarray(x)))
        assert np.isfinite(grad).all(), f"{normalization}: non-finite gradient"
    # normalization is scale-free: the gradient scales as 1 / amplitude
    quiet = np.asarray(
        jax.grad(lambda s: jaxspec.spectrogram(config, s)[:, 3:9].sum())(jnp.asarray(loud * np.float32(2.0**-70)))
    )
    ordinary = np.asarray(jax.grad(lambda s: jaxspec.spectrogram(config, s)[:, 3:9].sum())(jnp.asarray(loud)))
    np.testing.assert_allclose(quiet, ordinary * 2.0**70, rtol=1e-4, atol=1e-6 * np.abs(ordinary).max() * 2.0**70)


def test_gradient_matches_finite_differences(noise):
    config = SpectrogramConfig(window_size=64, offset=16, power=1.0)
    x = noise(200).astype(np.float64)
    loss = lambda s: float(np.sum(reference_spectrogram(s, 64, 16, power=1.0)[:, 5:9]))
    grad = np.asarray(
        jax.jit(jax.grad(lambda s: jaxspec.spectrogram(config, s)[:, 5:9].sum()))(jnp.asarray(x, jnp.float32))
    )
    for i in (3, 50, 117, 199):
        step = np.zeros_like(x)
        step[i] = 1e-5
        numeric = (loss(x + step) - loss(x - step)) / 2e-5
        np.testing.assert_allclose(grad[i], numeric, rtol=1e-3, atol=1e-4)


# ------------------------------------------------------------- transformations
@pytest.mark.parametrize(
    "config",
    [
        SpectrogramConfig(),
        SpectrogramConfig(window_size=401, offset=1, fft_size=512, power=0.5, window_function="blackman"),
        SpectrogramConfig(offset=600, normalization=("rms", 0.1), target_length="0.1s", window_function=None),
        SpectrogramConfig(normalization="max", target_length=9, power=1.0),
    ],
    ids=["default", "hop1-fft512-blackman", "hop>ws-rms-duration", "max-frames"],
)
def test_eager_jit_vmap_agree(config, noise, assert_eager_jit_vmap_equal):
    assert_eager_jit_vmap_equal(jaxspec.spectrogram, config, noise(1500))


def test_eager_jit_vmap_agree_with_augmentation_and_key(noise, key, assert_eager_jit_vmap_equal):
    config = SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 2.0), noise=0.01))
    assert_eager_jit_vmap_equal(jaxspec.spectrogram, config, noise(1500), key)


def test_batch_with_one_key_uses_split_keys(noise, key, relative_error):
    config = SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 2.0), noise=0.01))
    x = noise((3, 1500))
    batch = np.asarray(spectrogram(config, x, key))
    keys = jax.random.split(key, 3)
    for i in range(3):
        assert relative_error(batch[i], spectrogram(config, x[i], keys[i])) < TOLERANCE
    assert not np.allclose(batch[0], np.asarray(spectrogram(config, x[0], key)))


def test_concrete_array_closed_over_by_a_jitted_function():
    x = jnp.asarray(np.random.default_rng(5).standard_normal((2, 1000)).astype(np.float32))
    config = SpectrogramConfig()
    out = jax.jit(lambda k: jaxspec.spectrogram(config, x, k))(jax.random.key(0))
    np.testing.assert_allclose(np.asarray(out), np.asarray(jaxspec.spectrogram(config, x)), rtol=1e-5, atol=1e-6)
    bad = x.at[1, 3].set(jnp.nan)
    with pytest.raises(ValueError, match="NaN"):
        jax.jit(lambda k: jaxspec.spectrogram(config, bad, k))(jax.random.key(0))


@pytest.mark.parametrize(
    "length,window_size,hop,target_frames",
    [
        (700_000, 400, 133, None),  # > 4096 frames: the blockwise loop plus the padded tail
        (200_001, 512, 37, None),  # last block moved back onto earlier frames
        (3_000, 400, 133, 9_000),  # many frames of the zero extension past a short input
        (600_000, 400, 160, 3_000),  # fewer target frames than the input has
    ],
)
def test_long_inputs_match_reference(length, window_size, hop, target_frames, relative_error):
    x = np.random.default_rng(length).standard_normal(length).astype(np.float32)
    config = SpectrogramConfig(window_size=window_size, offset=hop, target_length=target_frames)
    out = np.asarray(jax.jit(jaxspec.spectrogram)(config, x))
    expected = reference_spectrogram(x, window_size, hop, target_frames=target_frames)
    assert out.shape == expected.shape
    assert relative_error(out, expected) < 1e-5


@pytest.fixture
def chunking(monkeypatch):
    """Counts the eager calls that ``packing.chunked`` sends to worker threads (3 workers,
    whatever this machine's cores; any output size). Only on the CPU backend: elsewhere
    ``chunked`` is always False (``test_no_signal_is_chunked_on_an_accelerator``)."""
    from jaxspec import packing

    if jax.default_backend() != "cpu":
        pytest.skip("chunking is for the CPU backend (packing.chunked)")
    calls = []
    encode_packed = packing.encode_packed
    monkeypatch.setattr(packing, "workers", lambda: 3)
    monkeypatch.setattr(packing, "LONG_OUTPUT_BYTES", 0)  # small signals for the tests
    monkeypatch.setattr(packing, "encode_packed", lambda *a, **k: calls.append(1) or encode_packed(*a, **k))
    return calls


@pytest.mark.skipif(
    jax.default_backend() == "cpu", reason="accelerators only: on CPU the chunking tests above check packing.chunked"
)
def test_no_signal_is_chunked_on_an_accelerator(monkeypatch, noise):
    """On a GPU or TPU one long signal stays one jitted program: the device computes it where
    it lies, and the host threads would only copy it back and forth."""
    from jaxspec import packing

    monkeypatch.setattr(packing, "workers", lambda: 3)
    monkeypatch.setattr(packing, "LONG_OUTPUT_BYTES", 0)
    long = noise(packing.LONG_SIGNAL_CHUNKS * packing.pack_frames(SpectrogramConfig()) * 133, seed=5)
    assert not packing.chunked(SpectrogramConfig(), long)
    expected = np.asarray(jax.jit(jaxspec.spectrogram)(SpectrogramConfig(), long))
    np.testing.assert_array_equal(np.asarray(jaxspec.spectrogram(SpectrogramConfig(), long)), expected)


def test_a_long_signal_called_eagerly_is_computed_in_chunks_bit_for_bit(chunking, noise):
    from jaxspec import packing

    config = SpectrogramConfig(window_size=320, offset=160)
    frames = packing.LONG_SIGNAL_CHUNKS * packing.pack_frames(config) + 777  # a last chunk in part
    x = noise(frames * 160 - 5, seed=4)
    jitted = np.asarray(jax.jit(jaxspec.spectrogram)(config, x))
    for signal in (x, jnp.asarray(x), (x * 32767).astype(np.int16)):
        out = jaxspec.spectrogram(config, signal)
        assert isinstance(out, jax.Array) and out.shape == (frames, 161) and out.dtype == jnp.float32
        expected = jitted if signal.dtype == np.float32 else np.asarray(jax.jit(jaxspec.spectrogram)(config, signal))
        np.testing.assert_array_equal(np.asarray(out), expected)
    assert len(chunking) == 3
    np.testing.assert_array_equal(np.asarray(jaxspec.encode(config, x, sample_rate=16000)), jitted)
    assert len(chunking) == 4


@pytest.mark.parametrize("keyed", [False, True])
def test_a_chunk_program_computes_only_the_frames_it_holds_whole(chunking, noise, keyed):
    """A window 1024 times its offset: each chunk computed its 64 kept frames and the 1024
    that run past its end into zeros (an eager call was 10-145 times slower than the
    jitted one); the values stay the jitted call's."""
    from jaxspec import chunk_programs, packing

    volume = Augmentation(volume=(0.5, 1.5))
    config = SpectrogramConfig(window_size=4096, offset=4, augmentation=volume if keyed else None)
    samples, kept = packing._chunk_samples(config), packing.pack_frames(config)
    inputs = [jax.ShapeDtypeStruct((samples,), jnp.float32)]
    if keyed:
        granules = samples // chunk_programs.granule(config)
        inputs += [jax.ShapeDtypeStruct((chunk_programs.MAX_PACK_ITEMS, 4), jnp.int32)]
        inputs += [jax.ShapeDtypeStruct((granules,), jnp.int32)]
    program = chunk_programs.augmented_chunk if keyed else chunk_programs.keyless_chunk
    rows = jax.eval_shape(program, config, *inputs).shape[0]
    assert kept <= rows < kept + chunk_programs.align_rows(config)
    if not keyed:
        x = noise(packing.LONG_SIGNAL_CHUNKS * kept * 4 + 4099, seed=9)
        expected = np.asarray(jax.jit(jaxspec.spectrogram)(config, x))
        np.testing.assert_array_equal(np.asarray(jaxspec.spectrogram(config, x)), expected)
        assert len(chunking) == 1


def test_chunking_is_only_for_one_long_undrawn_signal_on_the_host(chunking, noise):
    from jaxspec import packing

    config = SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 1.5)))
    long = noise(packing.LONG_SIGNAL_CHUNKS * packing.pack_frames(config) * 133, seed=5)
    assert packing.chunked(config, long) and not packing.chunked(config, long[:-200_000])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(packing, "LONG_OUTPUT_BYTES", 32 << 20)
        assert not packing.chunked(config, long)  # 6.6 MB of output: one program is faster
    assert not packing.chunked(config, long, jax.random.key(0))  # draws: the jitted program
    assert packing.chunked(SpectrogramConfig(), long, jax.random.key(0))  # a key, nothing to draw
    dither = SpectrogramConfig(preprocess=(Dither(1.0),))
    assert packing.chunked(dither, long) and not packing.chunked(dither, long, jax.random.key(0))  # a key dithers
    assert not packing.chunked(SpectrogramConfig(normalization=("max", 1.0)), long)  # a whole-signal statistic
    assert not packing.chunked(config, np.stack([long, long]))
    assert not packing.chunked(config, list(long[:10]))
    assert packing.chunked(config, jnp.asarray(long))
    assert not packing.chunked(config, jax.device_put(long, jax.devices()[0]))  # committed: computed where it lies
    jax.jit(jaxspec.spectrogram)(config, long)  # traced: never chunked
    assert chunking == []


def test_a_chunked_signal_is_checked_as_the_jitted_call_checks_it(chunking, noise):
    """The workers scan the chunks they fill, the caller the samples no frame reads: the
    same error as the one-program call, word for word."""
    from jaxspec import packing
    from jaxspec.framing import Kaldi

    config, kaldi = SpectrogramConfig(), SpectrogramConfig(framing=Kaldi())
    long = noise(packing.LONG_SIGNAL_CHUNKS * packing.pack_frames(config) * 133 + 1000, seed=6)
    assert kaldi.num_frames(long.shape[0]) == kaldi.num_frames(long.shape[0] - 7)  # 7 samples read by no frame
    nan, loud = long.copy(), long * np.float32(1e17)  # 1e17: |X|**2 would pass float32's max
    nan[-5] = np.nan  # in the last chunk (Kaldi: in no frame)
    loud_then_nan = loud.copy()
    loud_then_nan[-5] = np.nan  # the whole signal's verdict is NaN, not its first chunk's magnitude
    cases = [(config, nan), (kaldi, nan), (config, loud), (config, loud_then_nan)]
    for cfg, bad in cases:
        with pytest.MonkeyPatch.context() as patch, pytest.raises(jaxspec.InputError) as one_program:
            patch.setattr(packing, "LONG_OUTPUT_BYTES", 1 << 60)
            jaxspec.spectrogram(cfg, bad)  # checked before tracing
        assert one_program.value.args[0].startswith("x has ")
        for signal in (bad, jnp.asarray(bad)):
            with pytest.raises(jaxspec.InputError) as chunked:
                jaxspec.spectrogram(cfg, signal)
            assert chunked.value.args == one_program.value.args
    assert len(chunking) == 2 * len(cases)


def test_a_chunked_feature_config_is_the_jitted_result_within_rounding(chunking, noise):
    """Mel + log: the jitted call sums its blocks' and last frames' filterbanks in other
    shapes than the chunks, so a few frames may differ in the last bit."""
    from jaxspec import packing
    from jaxspec.features import Log, MelFilterbank

    config = SpectrogramConfig(window_size=400, offset=160, fft_size=512, features=(MelFilterbank(80), Log()))
    x = noise(packing.LONG_SIGNAL_CHUNKS * packing.pack_frames(config) * 160 + 4321, seed=7)
    out = np.asarray(jaxspec.spectrogram(config, x))
    expected = np.asarray(jax.jit(jaxspec.spectrogram)(config, x))
    assert len(chunking) == 1 and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


@settings(deadline=None, max_examples=30)
@given(length=st.integers(1, 700), fft=st.sampled_from([400, 512, 1024]), frames=st.integers(1, 12))
def test_mirrored_edges_are_numpys_for_any_length_and_their_gradient_counts_each_sample(length, fft, frames):
    """Centred "reflect" and Kaldi's ``snip_edges=False`` pad as NumPy's ``reflect`` /
    ``symmetric`` do, also when the edge is wider than the signal (mirrored again and
    again); the gradient of the sum counts how often each sample appears."""
    from jaxspec.framing import Centered, Kaldi, pad_signal

    x = np.arange(1, length + 1, dtype=np.float32)
    index = np.arange(length)
    window, hop = 400, 160
    start = hop // 2 - window // 2
    size = (frames - 1) * hop + window
    right = max(0, size + start - length)
    # Kaldi mirrors its right edge as far as the signal's own frames read; frames past those
    # (a frame-count target) read zeros there (-1: no sample)
    own = (length + hop // 2) // hop
    reach = max((own - 1) * hop + window + start, length) if own else length
    kaldi = np.pad(index, (-start, right), mode="symmetric")[:size]
    kaldi = np.where(np.arange(size) + start < reach, kaldi, -1)
    cases = [(Centered("reflect"), np.pad(index, fft // 2, mode="reflect")), (Kaldi(snip_edges=False), kaldi)]
    for framing, expected in cases:
        padded = np.asarray(pad_signal(framing, jnp.asarray(x), frames, window, hop, fft))[: expected.shape[0]]
        padded = np.pad(padded, (0, expected.shape[0] - padded.shape[0]))  # the caller's zeros
        np.testing.assert_array_equal(padded, np.where(expected >= 0, x[expected], 0.0))
        grad = jax.grad(lambda s, f=framing, e=expected: pad_signal(f, s, frames, window, hop, fft)[: e.shape[0]].sum())
        counts = np.bincount(expected[expected >= 0], minlength=length)
        np.testing.assert_array_equal(np.asarray(grad(jnp.asarray(x))), counts)


def test_remove_dc_keeps_precision_where_a_first_sample_dominates_the_frame():
    """RemoveDC subtracts the frame's mean, then the mean of what is left: after one mean, a
    frame of 0.3 then zeros was 3e-4 off float64 (the offsets ~0.3, the result ~1e-3)."""
    import jaxspec
    from jaxspec import RemoveDC, SpectrogramConfig

    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    for value in (0.3, 0.7, 0.123):
        frame = np.zeros(400)
        frame[0] = np.float32(value)
        frame -= frame.mean()
        expected = np.abs(np.fft.rfft(frame * window)) ** 2
        out = np.asarray(jaxspec.spectrogram(SpectrogramConfig(preprocess=(RemoveDC(),)), np.float32([value])))[0]
        assert np.linalg.norm(out - expected) / np.linalg.norm(expected) < 1e-5


def test_kaldi_preprocessing_of_clicks_keeps_the_dc_bin_under_jit():
    """RemoveDC then PreEmphasis on frames of a click in silence (a parity helper's find): under
    jit, XLA's fusion of ``x - c * concat(x[:1], x[:-1])`` left the DC bin 2.5e-4 off on one
    such frame, median 9e-5 and up to 1e-2 over these (now 1.9e-6, 1.6e-6, 3.2e-5); eager
    and float64 agreed."""
    import jaxspec
    from jaxspec import PreEmphasis, RemoveDC, SpectrogramConfig
    from jaxspec.framing import Kaldi

    rng = np.random.default_rng(0)
    frames = rng.standard_normal((256, 200)).astype(np.float32) * 0.01
    frames[:, :6] += rng.standard_normal((256, 6)).astype(np.float32) * 300
    frames[0] = 0
    frames[0, :6] = [361, 214, 8, -5, 3, -2]
    config = SpectrogramConfig(
        sample_rate=8000,
        window_size=200,
        offset=200,
        fft_size=256,
        window_function="povey",
        framing=Kaldi(),
        preprocess=(RemoveDC(), PreEmphasis(0.97)),
    )
    ref = frames.astype(np.float64)
    ref = ref - ref.mean(axis=1, keepdims=True)
    ref = ref - 0.97 * np.concatenate([ref[:, :1], ref[:, :-1]], axis=1)
    povey = np.hanning(200) ** 0.85  # Kaldi: the symmetric Hann window to the 0.85
    expected = np.abs(np.fft.rfft(ref * povey, n=256, axis=1)) ** 2
    out = np.asarray(jax.jit(jaxspec.spectrogram, static_argnums=0)(config, frames))[:, 0]
    assert out.shape == expected.shape
    dc = np.abs(out[:, 0] - expected[:, 0]) / expected[:, 0]
    assert dc[0] < 1e-5 and np.median(dc) < 1e-5 and dc.max() < 1e-3, (dc[0], np.median(dc), dc.max())
    assert (np.abs(out - expected).max(axis=1) / expected.max(axis=1)).max() < 5e-4  # was 7.5e-4, now 2.1e-4


def test_kaldi_unsnipped_frames_past_the_signals_own_are_of_zeros(noise):
    """A frame-count target past a Kaldi snip_edges=False signal's own frames: its own frames
    as without the target, then frames of the zero-extended signal (they were the signal
    mirrored again and again, time-reversed copies of it at full energy)."""
    import jaxspec
    from jaxspec import SpectrogramConfig
    from jaxspec.framing import Kaldi

    x = noise(3000, seed=3)
    own = np.asarray(jaxspec.spectrogram(SpectrogramConfig(offset=100, framing=Kaldi(False)), x))
    config = SpectrogramConfig(offset=100, framing=Kaldi(False), target_length=40)
    out = np.asarray(jaxspec.spectrogram(config, x))
    assert own.shape[0] == 30 and out.shape[0] == 40
    np.testing.assert_array_equal(out[:30], own)
    np.testing.assert_array_equal(out[34:], 0.0)  # past the mirrored edge: zeros only
    rows = np.zeros((2, 4000), np.float32)
    rows[0, :3000], rows[1] = x, noise(4000, seed=4)
    ragged = np.asarray(jaxspec.spectrogram(config, rows, lengths=[3000, 4000]))
    np.testing.assert_allclose(ragged[0], out, rtol=1e-5, atol=1e-6 * np.abs(out).max())


def test_a_symbolic_batch_export_checks_one_row_against_the_output_cap():
    """jax.export with a symbolic batch skipped the output-size cap ("bounded when called"), but
    the exported program runs none of jaxspec's checks when called: a row above the cap is refused."""
    from jax import export

    config = SpectrogramConfig(window_size=400, fft_size=1 << 20, offset=1)  # 524289 features a frame
    (b,) = export.symbolic_shape("b")
    f = jax.jit(lambda x: jaxspec.spectrogram(config, x))
    with pytest.raises(jaxspec.InputError, match="5000 frames x 524289 features"):
        export.export(f)(jax.ShapeDtypeStruct((b, 5000), jnp.float32))
    assert export.export(f)(jax.ShapeDtypeStruct((b, 4000), jnp.float32)).out_avals[0].shape[1:] == (4000, 524289)


def test_a_symbolic_length_is_refused_with_the_ragged_export_that_works(noise):
    """A symbolic length under jax.export failed with JAX's "inconclusive dimension comparison"
    (or "length=l must be ... an int"): the frame count needs the number of samples. The error
    names the fix, a symbolic batch at the longest length with lengths=, and that fix works: each
    row of the exported program equals the row's own spectrogram, with zeros past its frames."""
    from jax import export

    config = SpectrogramConfig()
    f = jax.jit(lambda x: jaxspec.spectrogram(config, x))
    for spec in ("l", "b, l"):
        with pytest.raises(jaxspec.InputError, match=r"x's length l is a symbolic dimension .* lengths="):
            export.export(f)(jax.ShapeDtypeStruct(export.symbolic_shape(spec), jnp.float32))
    with pytest.raises(jaxspec.InputError, match=r"length=l is a symbolic dimension"):
        config.num_frames(export.symbolic_shape("l")[0])
    (b,) = export.symbolic_shape("b")
    ragged = jax.jit(lambda x, n: jaxspec.spectrogram(config, x, lengths=n))
    exported = export.export(ragged)(
        jax.ShapeDtypeStruct((b, 8000), jnp.float32), jax.ShapeDtypeStruct((b,), jnp.int32)
    )
    x = np.stack([noise(8000, seed=s) for s in range(3)])
    lengths = np.array([3000, 8000, 5000], np.int32)
    out = np.asarray(exported.call(x, lengths))
    for i, n in enumerate(lengths):
        row, alone = out[i], np.asarray(jaxspec.spectrogram(config, x[i, :n]))
        np.testing.assert_allclose(row[: len(alone)], alone, rtol=1e-5, atol=1e-6 * np.abs(alone).max())
        assert not row[len(alone) :].any()


def test_a_quiet_input_whose_spectrum_underflows_is_warned_of(noise):
    """|X|**2 of noise at 1e-21 is under float32's smallest normal number, which XLA on CPU reads
    as 0: an all-zero spectrogram, silently. Such a concrete input is warned of (naming its peak);
    silence, power 1 (|X| itself), a normalized input and one at 1e-17 are not."""
    import warnings

    x = noise(16000, seed=1)
    quiet = x / np.abs(x).max() * np.float32(1e-21)
    with pytest.warns(UserWarning, match=r"x, with samples up to 1e-21, is too quiet for float32: \|X\|\*\*2"):
        assert not np.asarray(jaxspec.spectrogram(SpectrogramConfig(), quiet)).any()  # what it warns of
    with pytest.warns(UserWarning, match=r"normalization=\('rms', 1e-30\) makes x too quiet .* raise the level"):
        jaxspec.spectrogram(SpectrogramConfig(normalization=("rms", 1e-30)), x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for config, signal in [
            (SpectrogramConfig(), np.zeros(16000, np.float32)),
            (SpectrogramConfig(power=1.0), quiet),
            (SpectrogramConfig(normalization=("max", 1.0)), quiet),
            (SpectrogramConfig(), quiet * np.float32(1e4)),
        ]:
            assert np.asarray(jaxspec.spectrogram(config, signal)).any() == signal.any()


@pytest.mark.parametrize("kind", [np.asarray, jnp.asarray])
def test_a_quiet_row_beside_loud_ones_is_warned_of_by_its_index(noise, kind):
    """The check read a batch's overall peak, so a row at 1e-21 beside a row at 1 came out all
    zeros without a word; the quietest row that is not silence is now warned of by its index.
    A silent row beside a loud one (silence is no underflow) is not."""
    import warnings

    loud, quiet = noise(16000, seed=1), noise(16000, seed=2)
    quiet = quiet / np.abs(quiet).max() * np.float32(1e-21)
    batch = kind(np.stack([loud, np.zeros_like(loud), quiet, loud]))
    with pytest.warns(UserWarning, match=r"row 2 of x, with samples up to 1e-21, is too quiet for float32"):
        out = np.asarray(jaxspec.spectrogram(SpectrogramConfig(), batch))
    assert out[0].any() and not out[2].any()  # what it warns of
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxspec.spectrogram(SpectrogramConfig(), kind(np.stack([loud, np.zeros_like(loud)])))
        jaxspec.spectrogram(SpectrogramConfig(normalization=("max", 1.0)), batch)  # every row at one level


def test_the_overflow_bound_is_the_powers_own_quantity(noise):
    """The magnitude check bounded |X|**2 for every power ("|X|**2 could reach 8e+38" for power 1),
    though only power 2 squares |X|: power 1 and the complex STFT of loud samples are finite and
    scale with them; power 3's refusal names |X|**3."""
    x = noise(4000, seed=2)
    for power in (1.0, None):
        config = SpectrogramConfig(power=power)
        loud = np.asarray(jaxspec.spectrogram(config, x * np.float32(1e17)))
        np.testing.assert_allclose(loud, np.asarray(jaxspec.spectrogram(config, x)) * 1e17, rtol=1e-5, atol=1e12)
    with pytest.raises(jaxspec.InputError, match=r"\(\|X\|\*\*3 could reach"):
        jaxspec.spectrogram(SpectrogramConfig(power=3.0), x * np.float32(1e11))
