"""SpectrogramConfig: defaults, accepted forms, the seconds -> samples rule, pytree behaviour."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import typing
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspec
from jaxspec import Augmentation, ConfigError, Noise, SpectrogramConfig


def _half_up(seconds: float, sample_rate: int) -> int:
    """SPEC section 2: every seconds -> samples conversion is floor(s * sr + 0.5)."""
    return math.floor(seconds * sample_rate + 0.5)


# ----------------------------------------------------------------------- defaults
def test_defaults_at_16k():
    config = SpectrogramConfig()
    assert config.sample_rate == 16000
    assert (config.window_samples, config.offset_samples, config.fft_samples, config.num_bins) == (400, 133, 400, 201)
    assert config.window_function == "hann" and config.power == 2.0
    assert config.normalization is None and config.target_length is None and config.augmentation is None


def test_type_hints_admit_the_documented_values(tmp_path):
    # power=None (the complex STFT) and a pathlib path for save / load are documented and work;
    # the hints said float and str, so a type checker flagged both
    assert type(None) in typing.get_args(typing.get_type_hints(SpectrogramConfig)["power"])
    for method in (SpectrogramConfig.save, SpectrogramConfig.load):
        assert os.PathLike in typing.get_args(typing.get_type_hints(method)["path"])
    saved = SpectrogramConfig(power=None).save(tmp_path / "c.json")
    assert isinstance(saved, typing.get_type_hints(SpectrogramConfig.save)["return"])
    assert SpectrogramConfig.load(saved).power is None


@pytest.mark.parametrize("sample_rate", [8000, 11025, 16000, 22050, 44100, 48000, 96000, 1])
def test_automatic_window_and_offset(sample_rate):
    # Exact rational arithmetic: 0.025 * 8000 is 200.00000000000003 in floats.
    window = math.ceil(Fraction(sample_rate) / 40)
    offset = max(1, math.floor(Fraction(window, 3) + Fraction(1, 2)))
    config = SpectrogramConfig(sample_rate=sample_rate)
    assert config.window_samples == window
    assert config.offset_samples == offset
    assert config.num_bins == window // 2 + 1


def test_automatic_values_for_common_rates_are_the_known_numbers():
    known = {8000: (200, 67), 11025: (276, 92), 16000: (400, 133), 22050: (552, 184), 44100: (1103, 368)}
    for rate, (window, offset) in known.items():
        config = SpectrogramConfig(sample_rate=rate)
        assert (config.window_samples, config.offset_samples) == (window, offset), rate


def test_automatic_offset_follows_an_explicit_window():
    assert SpectrogramConfig(window_size=512).offset_samples == math.floor(512 / 3 + 0.5) == 171
    assert SpectrogramConfig(window_size=2).offset_samples == 1  # floor(2/3 + 0.5) = 1
    assert SpectrogramConfig(window_size=1).offset_samples == 1  # at least 1


# ------------------------------------------------------------------ accepted forms
def test_ints_are_samples():
    config = SpectrogramConfig(window_size=401, offset=160, fft_size=1024)
    assert (config.window_samples, config.offset_samples, config.fft_samples, config.num_bins) == (401, 160, 1024, 513)
    assert SpectrogramConfig(window_size=np.int64(300)).window_samples == 300


@pytest.mark.parametrize("sample_rate", [8000, 16000, 22050, 44100])
@pytest.mark.parametrize("seconds", [0.025, 0.032, 0.0101, 0.02003])
def test_floats_are_seconds(sample_rate, seconds):
    config = SpectrogramConfig(
        sample_rate=sample_rate, window_size=seconds, offset=seconds / 2, target_length=seconds * 7
    )
    assert config.window_samples == _half_up(seconds, sample_rate)
    assert config.offset_samples == _half_up(seconds / 2, sample_rate)
    assert config.target_samples == _half_up(seconds * 7, sample_rate)
    assert config.target_frames is None


@pytest.mark.parametrize(
    ("text", "seconds"), [("25ms", 0.025), ("10ms", 0.010), ("0.5s", 0.5), ("32 ms", 0.032), ("0.0125s", 0.0125)]
)
@pytest.mark.parametrize("sample_rate", [16000, 22050])
def test_duration_strings(text, seconds, sample_rate):
    expected = _half_up(seconds, sample_rate)
    assert SpectrogramConfig(sample_rate=sample_rate, window_size=text).window_samples == expected
    assert SpectrogramConfig(sample_rate=sample_rate, offset=text).offset_samples == expected
    assert SpectrogramConfig(sample_rate=sample_rate, target_length=text).target_samples == expected


def test_a_duration_is_the_same_whatever_its_unit():
    """'350ms', '0.35s', '350000us' and 0.35 are one duration: 7717 samples at 22050 Hz
    ('350ms' was 350 * 1e-3 = 0.35000000000000003 s, 7718). The reference: the float
    nearest each decimal value, by exact integer division."""
    for rate in (8000, 11025, 16000, 22050, 44100, 48000):
        for ms in range(1, 2001, 7):
            expected = _half_up(ms / 1000, rate)
            for text in (f"{ms}ms", f"{ms / 1000!r}s", f"{ms * 1000}us", f"{ms}e-3s", f"{ms * 10}E-4 sec"):
                assert SpectrogramConfig(sample_rate=rate, window_size=text).window_samples == expected, (text, rate)
        assert SpectrogramConfig(sample_rate=rate, target_length="0.5min").target_samples == 30 * rate


def test_duration_units_are_case_insensitive_and_take_the_micro_sign():
    # "µs" (U+00B5) and "μs" (U+03BC) are microseconds as "us" is; "25MS" is 25 ms
    for text in ("25000µs", "25000\u03bcs", "25000us", "25MS", "0.025S", "25 Ms"):
        assert SpectrogramConfig(window_size=text).window_samples == 400, text


def test_seconds_round_half_up_not_to_even_nor_truncate():
    # At 16384 Hz these durations are exact binary fractions: s * sr is exactly x.5.
    rate = 16384
    half_even = 400.5 / rate  # round() gives 400, int() gives 400, floor(+0.5) gives 401
    half_odd = 401.5 / rate  # int() gives 401, floor(+0.5) gives 402
    config = SpectrogramConfig(sample_rate=rate, window_size=half_even, offset=half_odd, target_length=half_even)
    assert config.window_samples == 401
    assert config.offset_samples == 402
    assert config.target_samples == 401
    assert SpectrogramConfig(sample_rate=rate, window_size=0.5 / rate).window_samples == 1  # 0.5 sample -> 1


def test_target_length_forms():
    assert SpectrogramConfig(target_length=50).target_frames == 50
    assert SpectrogramConfig(target_length=50).target_samples is None
    assert SpectrogramConfig(target_length=0.5).target_samples == 8000
    assert SpectrogramConfig(target_length="0.5s").target_samples == 8000
    assert SpectrogramConfig(target_length="250ms").target_samples == 4000


def test_window_function_forms():
    n = 400
    assert SpectrogramConfig(window_function=None).window_function is None
    np.testing.assert_array_equal(SpectrogramConfig(window_function=None).window, np.ones(n))
    values = np.linspace(0.0, 1.0, n)
    np.testing.assert_array_equal(SpectrogramConfig(window_function=list(values)).window, values)
    np.testing.assert_array_equal(SpectrogramConfig(window_function=values).window, values)
    np.testing.assert_allclose(SpectrogramConfig(window_function=lambda m: np.arange(m) / m).window, np.arange(n) / n)
    np.testing.assert_allclose(SpectrogramConfig(window_function=jnp.asarray(values)).window, values.astype(np.float32))


def test_window_names_are_not_case_sensitive():
    # one config (one compiled program) for "HANN" and "hann", as Window("HANN") already was
    assert SpectrogramConfig(window_function="HANN") == SpectrogramConfig()
    assert hash(SpectrogramConfig(window_function="Hamming")) == hash(SpectrogramConfig(window_function="hamming"))


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (np.ones((20, 20)), "shape (20, 20)"),  # 400 values, but not a window: not flattened
        (np.ones(400, complex), "holds (1+0j) (of type complex)"),
        (np.ones(400, bool), "holds True"),
        ([], "is empty"),
    ],
)
def test_window_values_must_be_one_dimensional_real_numbers(window, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        SpectrogramConfig(window_function=window)


def test_normalization_forms():
    assert SpectrogramConfig(normalization="max").normalization in ("max", ("max", 1.0))
    assert SpectrogramConfig(normalization=("max", 0.5)).normalization == ("max", 0.5)
    assert SpectrogramConfig(normalization=("rms", 0.1)).normalization == ("rms", 0.1)


# ------------------------------------------------------------------ num_frames
@pytest.mark.parametrize("length", [0, 1, 132, 133, 134, 399, 400, 16000])
def test_num_frames_and_output_shape(length):
    config = SpectrogramConfig()
    assert config.num_frames(length) == -(-length // 133)
    assert config.output_shape(length) == (-(-length // 133), 201)
    assert jaxspec.spectrogram(config, np.zeros(length, np.float32)).shape == config.output_shape(length)


def test_num_frames_with_target_length():
    assert SpectrogramConfig(target_length=7).num_frames(16000) == 7
    assert SpectrogramConfig(target_length=7).num_frames(0) == 7
    assert SpectrogramConfig(target_length=0.5).num_frames(123) == -(-8000 // 133)
    assert SpectrogramConfig(target_length="0.5s", offset=160).output_shape(99999) == (50, 201)


# ------------------------------------------------------------------ data behaviour
def test_equal_configs_are_equal_and_hash_equal():
    a = SpectrogramConfig(window_size="25ms", offset=160, normalization="max")
    b = SpectrogramConfig(window_size="25ms", offset=160, normalization="max")
    assert a == b and hash(a) == hash(b)
    assert len({a, b, SpectrogramConfig()}) == 2
    assert {a: "cached"}[b] == "cached"
    assert a != dataclasses.replace(a, offset=161)
    assert SpectrogramConfig(window_function=[1.0] * 400) == SpectrogramConfig(window_function=(1.0,) * 400)


def test_configs_that_differ_in_a_setting_hash_apart():
    """The hash took JAX's treedef hash, which leaves the node data (every static setting) out:
    all configs of one structure hashed alike, so a set or a cache of a sweep's configs compared
    each with all the others (2000 configs: 3.9 s, one hash; an audit)."""
    configs = [SpectrogramConfig(window_size=w) for w in range(100, 300)]
    configs += [SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=v / 10)) for v in range(1, 101)]
    assert len({hash(c) for c in configs}) >= len(configs) - 2  # (a collision is allowed, a rule of them not)
    assert hash(SpectrogramConfig(window_size=1)) != hash(SpectrogramConfig(window_size=1.0))  # 1 sample, 1 s
    assert hash(SpectrogramConfig(offset="10ms")) == hash(SpectrogramConfig(offset="10ms"))


def test_configs_holding_arrays_are_hashable_and_compare_values(noise):
    recording = noise(3000, seed=1)
    a = SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, signal=recording)))
    b = SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, signal=recording.copy())))
    c = SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, signal=noise(3000, seed=2))))
    assert a == b and hash(a) == hash(b)
    assert a != c


def test_config_is_frozen():
    config = SpectrogramConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.offset = 10


def test_replace_gives_a_validated_variant():
    config = SpectrogramConfig()
    variant = dataclasses.replace(config, offset=160, fft_size=512)
    assert (variant.offset_samples, variant.num_bins) == (160, 257)
    assert config.offset_samples == 133  # the original is untouched
    with pytest.raises(ValueError, match="offset"):
        dataclasses.replace(config, offset=0)


def test_repr_is_readable():
    text = repr(SpectrogramConfig(offset=160, window_function=np.hanning(400)))
    assert text.startswith("SpectrogramConfig(")
    assert "offset=160" in text and "sample_rate=16000" in text
    assert len(text) < 400  # a 400-value window is summarized, not printed
    assert "window_function='hann'" in repr(SpectrogramConfig())


def test_config_is_a_pytree_with_static_hyperparameters(noise):
    plain = SpectrogramConfig()
    assert jax.tree.leaves(plain) == []  # no array leaves: everything is in the treedef
    recording = noise(2000)
    with_recording = SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, signal=recording)))
    leaves = jax.tree.leaves(with_recording)
    assert len(leaves) == 1 and leaves[0].shape == (2000,)
    np.testing.assert_array_equal(np.asarray(leaves[0]), recording)
    rebuilt = jax.tree.unflatten(jax.tree.structure(with_recording), leaves)
    assert rebuilt == with_recording


def test_config_is_a_jit_argument_without_static_argnums(noise):
    x = noise(2000)
    config = SpectrogramConfig(offset=160)
    jitted = jax.jit(jaxspec.spectrogram)
    out = jitted(config, x)
    assert out.shape == (13, 201) and out.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(out), np.asarray(jaxspec.spectrogram(config, x)), rtol=1e-5, atol=1e-6)
    # A different static field is a different program with a different shape.
    assert jitted(dataclasses.replace(config, offset=100), x).shape == (20, 201)


def test_changing_an_array_leaf_does_not_retrace(noise, key):
    traces = []

    @jax.jit
    def encode(config, x, key):
        traces.append(1)  # runs only while tracing
        return jaxspec.spectrogram(config, x, key)

    x = noise(1600, seed=0)
    first = SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, signal=noise(4000, seed=1))))
    second = SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, signal=noise(4000, seed=2))))
    out_first = np.asarray(encode(first, x, key))
    out_second = np.asarray(encode(second, x, key))
    assert len(traces) == 1, "a new recording of the same shape retraced"
    assert not np.array_equal(out_first, out_second), "the new recording was not used"
    # A static hyperparameter is part of the treedef: changing it does retrace.
    encode(dataclasses.replace(first, power=1.0), x, key)
    assert len(traces) == 2


def test_duration_messages_say_what_an_int_means_and_refuse_non_finite():
    # the target length's hint said "an int number of samples" (an int is frames there);
    # offset=nan was told it "must be an int, a float or a string"
    with pytest.raises(ConfigError, match="int number of frames"):
        SpectrogramConfig(target_length="98 frames")
    with pytest.raises(ConfigError, match="int number of samples"):
        SpectrogramConfig(window_size="25 xs")
    for value in (float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="not a finite number of seconds"):
            SpectrogramConfig(offset=value)


def test_a_window_callable_may_return_any_real_dtype():
    """bfloat16 (NumPy kind 'V') and float16 windows are real values; complex ones are refused
    (tests/test_feature_config.py)."""
    for dtype in (jnp.bfloat16, np.float16, np.int8):
        config = SpectrogramConfig(window_size=8, offset=4, window_function=lambda n, d=dtype: np.ones(n, d) * 1)
        np.testing.assert_array_equal(config.window, np.ones(8))
    half = SpectrogramConfig(window_size=8, offset=4, window_function=lambda n: jnp.hanning(n).astype(jnp.bfloat16))
    np.testing.assert_array_equal(half.window, np.asarray(jnp.hanning(8).astype(jnp.bfloat16), np.float64))


def test_a_jax_numpy_window_callable_computes_spectrograms():
    """``window_function=jnp.hanning`` is the natural callable in a JAX library: it was taken
    when the config was built and then failed on every call (the config JAX rebuilds inside the
    trace calls it again, on tracers). It gives the window NumPy's own function gives."""
    x = np.random.default_rng(0).standard_normal(1600).astype(np.float32)
    numpy_config = SpectrogramConfig(window_function=np.hanning)
    by_numpy = jaxspec.spectrogram(numpy_config, x)
    short = jaxspec.spectrogram(numpy_config, x[:800])
    for window in (jnp.hanning, lambda n: 0.5 - 0.5 * jnp.cos(2 * jnp.pi * jnp.arange(n) / (n - 1))):
        config = SpectrogramConfig(window_function=window)
        np.testing.assert_allclose(jaxspec.spectrogram(config, x), by_numpy, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(jax.jit(jaxspec.spectrogram)(config, x), by_numpy, rtol=1e-5, atol=1e-6)
        batch = jaxspec.encode_batch(config, [x, x[:800]], sample_rate=16000)
        np.testing.assert_allclose(batch[1], short, rtol=1e-5, atol=1e-6)
