"""SPEC section 5: every bad input raises a clear exception naming the field and the value, before tracing."""

from __future__ import annotations

import io
import re
import warnings
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import soundfile
from conftest import child_env
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxspec
import jaxspec.grain
from jaxspec import (
    Audio,
    Augmentation,
    Convolution,
    InputError,
    LogUniform,
    Noise,
    SpectrogramConfig,
    Uniform,
    encode,
    encode_batch,
    load_audio,
    spectrogram,
)

RATE = 16000


def raises(error_type, *fragments):
    """``pytest.raises`` that also checks the message contains every fragment (case-insensitive)."""
    pattern = "".join(f"(?=[\\s\\S]*{re.escape(fragment)})" for fragment in fragments)
    return pytest.raises(error_type, match=re.compile(pattern, re.IGNORECASE))


# ------------------------------------------------------------------ non-positive numbers
@pytest.mark.parametrize("value", [0, -1, -16000])
def test_non_positive_sample_rate(value):
    with raises(ValueError, "sample_rate", str(value)):
        SpectrogramConfig(sample_rate=value)


def test_non_integer_sample_rate():
    with raises(ValueError, "sample_rate", "16000.5"):
        SpectrogramConfig(sample_rate=16000.5)


@pytest.mark.parametrize("value", [0, -5, "0ms", 1e-5, -0.01])
def test_non_positive_window_size(value):
    with raises(ValueError, "window_size", repr(value) if isinstance(value, str) else str(value)):
        SpectrogramConfig(window_size=value)


@pytest.mark.parametrize("value", [0, -3, "0s", 0.0])
def test_non_positive_offset(value):
    with raises(ValueError, "offset", repr(value) if isinstance(value, str) else str(value)):
        SpectrogramConfig(offset=value)


def test_negative_duration_string_offset():
    with raises(ValueError, "offset", "-10ms"):
        SpectrogramConfig(offset="-10ms")


@pytest.mark.parametrize("value", [0, -1.5, float("nan"), float("inf")])
def test_non_positive_or_non_finite_power(value):
    with raises(ValueError, "power", str(value)):
        SpectrogramConfig(power=value)


@pytest.mark.parametrize("value", [0, -3, -0.5, "0s", 0.0])
def test_non_positive_target_length(value):
    with raises(ValueError, "target_length", repr(value) if isinstance(value, str) else str(value)):
        SpectrogramConfig(target_length=value)


@settings(max_examples=25, deadline=None)
@given(field=st.sampled_from(["window_size", "offset", "target_length", "sample_rate"]), value=st.integers(-(10**9), 0))
def test_property_any_non_positive_integer_is_rejected(field, value):
    with raises(ValueError, field, str(value)):
        SpectrogramConfig(**{field: value})


@pytest.mark.parametrize("rate", [0, -8000])
def test_non_positive_rate_of_an_input(rate):
    with raises(ValueError, "sample_rate", str(rate)):
        encode(SpectrogramConfig(), np.zeros(100, np.float32), sample_rate=rate)
    with raises(ValueError, "sample_rate", str(rate)):
        Audio(np.zeros(100, np.float32), rate)


# ------------------------------------------------------------------ windows, normalization, fft_size
def test_window_list_of_the_wrong_length():
    with raises(ValueError, "window_function", "399", "400"):
        SpectrogramConfig(window_function=[1.0] * 399)
    with raises(ValueError, "window_function", "401", "400"):
        SpectrogramConfig(window_function=np.ones(401))


def test_window_callable_of_the_wrong_length():
    with raises(ValueError, "window_function", "399", "400"):
        SpectrogramConfig(window_function=lambda n: np.ones(n - 1))


def test_window_with_non_finite_values():
    with raises(ValueError, "window_function"):
        SpectrogramConfig(window_size=4, window_function=[1.0, np.nan, 1.0, 1.0])


def test_unknown_window_name_lists_the_valid_names():
    with raises(ValueError, "window_function", "'hanning2'", "hann", "hamming", "blackman"):
        SpectrogramConfig(window_function="hanning2")


@pytest.mark.parametrize("value", ["peak", ("l2", 1.0)])
def test_unknown_normalization_lists_the_valid_names(value):
    with raises(ValueError, "normalization", repr(value), "max", "rms"):
        SpectrogramConfig(normalization=value)


def test_non_positive_normalization_level():
    with raises(ValueError, "normalization", "-1"):
        SpectrogramConfig(normalization=("rms", -1))


@pytest.mark.parametrize(("window_size", "fft_size"), [(400, 256), (512, 511)])
def test_fft_size_below_window_size(window_size, fft_size):
    with raises(ValueError, "fft_size", str(fft_size), str(window_size)):
        SpectrogramConfig(window_size=window_size, fft_size=fft_size)


# ------------------------------------------------------------------ augmentation settings
def test_range_with_lo_above_hi():
    with raises(ValueError, "gain", "2.0", "0.5"):
        Augmentation(volume=(2.0, 0.5))
    with raises(ValueError, "amplitude", "0.3", "0.1"):
        SpectrogramConfig(augmentation=Augmentation(noise=(0.3, 0.1)))


def test_distribution_with_low_above_high():
    with raises(ValueError, "low", "2.0", "1.0"):
        Uniform(2.0, 1.0)
    with raises(ValueError, "low", "0.0"):
        LogUniform(0.0, 1.0)


@pytest.mark.parametrize("mix", [1.5, -0.1, (0.5, 1.2)])
def test_mix_outside_zero_one(mix):
    with raises(ValueError, "mix", "1.2" if isinstance(mix, tuple) else str(mix)):
        Convolution(np.ones(10, np.float32), mix=mix)


def test_empty_noise_signal():
    with raises(ValueError, "noise", "signal", "empty"):
        Noise(0.1, signal=np.zeros(0, np.float32))
    with raises(ValueError, "noise", "signal", "empty"):
        SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, signal=[])))


def test_empty_impulse_response():
    with raises(ValueError, "convolution", "signal", "empty"):
        Augmentation(convolution=np.zeros(0, np.float32))
    with raises(ValueError, "convolution", "signal", "empty"):
        SpectrogramConfig(augmentation=Augmentation(convolution=Convolution(np.zeros(0, np.float32))))


def test_noise_recording_with_nan():
    recording = np.ones(100, np.float32)
    recording[5] = np.nan
    with raises(ValueError, "noise", "nan"):
        SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, signal=recording)))


# ------------------------------------------------------------------ inputs
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_in_encode(bad):
    x = np.zeros(500, np.float32)
    x[123] = bad
    with raises(ValueError, "audio", "nan or inf"):
        encode(SpectrogramConfig(), x, sample_rate=RATE)
    with raises(ValueError, "nan or inf"):
        encode(SpectrogramConfig(), Audio(x, RATE))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_samples_in_spectrogram(bad):
    x = np.zeros((2, 500), np.float32)
    x[1, 7] = bad
    with raises(ValueError, "x", "nan or inf"):
        spectrogram(SpectrogramConfig(), x)
    with raises(ValueError, "x", "nan or inf"):
        spectrogram(SpectrogramConfig(), jnp.asarray(x))  # a concrete JAX array is checked too


def test_three_dimensional_arrays():
    x = np.zeros((2, 3, 400), np.float32)
    with raises(ValueError, "audio", "(2, 3, 400)"):
        encode(SpectrogramConfig(), x, sample_rate=RATE)
    with raises(ValueError, "x", "(2, 3, 400)"):
        spectrogram(SpectrogramConfig(), x)
    with raises(ValueError, "(2, 3, 400)"):
        Audio(x, RATE)


def test_array_without_sample_rate():
    with raises(ValueError, "sample_rate"):
        encode(SpectrogramConfig(), np.zeros(100, np.float32))


def test_missing_file(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        encode(SpectrogramConfig(), missing)
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        load_audio(str(missing))


def test_corrupt_file_names_the_path_and_the_reason(tmp_path):
    corrupt = tmp_path / "x.wav"
    corrupt.write_bytes(np.random.default_rng(0).bytes(700))
    for call in (lambda: encode(SpectrogramConfig(), corrupt), lambda: load_audio(corrupt)):
        with pytest.raises(ValueError, match=re.escape(str(corrupt))) as info:
            call()
        reason = str(info.value).replace(str(corrupt), "")
        assert len(reason.strip(" :'\"")) > 15, f"no decoder reason in {info.value!s}"


def test_truncated_flac_is_an_error_naming_the_path(tmp_path):
    import soundfile

    path = tmp_path / "cut.flac"
    soundfile.write(path, np.zeros(4000, np.float32), RATE, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match=re.escape(str(path))):
        load_audio(path)


# ------------------------------------------------------------------ before tracing
def test_config_errors_need_no_jit():
    # The error comes from constructing the config: nothing else is called.
    with raises(ValueError, "offset", "0"):
        SpectrogramConfig(offset=0)


def test_input_errors_are_raised_before_anything_is_traced(tmp_path, trace_events):
    config = SpectrogramConfig(offset=97)  # a config no other test compiles
    nan = np.full(777, np.nan, np.float32)
    calls = [
        lambda: SpectrogramConfig(window_size=-1),
        lambda: encode(config, nan, sample_rate=RATE),
        lambda: encode(config, np.zeros((2, 3, 777), np.float32), sample_rate=RATE),
        lambda: encode(config, np.zeros(777, np.float32)),
        lambda: encode(config, np.ones(777, bool), sample_rate=RATE),
        lambda: encode(config, tmp_path / "missing.wav"),
        lambda: spectrogram(config, nan),
        lambda: encode_batch(config, [np.zeros(777, np.float32), nan], sample_rate=RATE),
    ]
    jnp.asarray(np.zeros(777, np.float32))  # encode_batch moves the valid item 0 to the device first
    trace_events.clear()
    for i, call in enumerate(calls):
        with pytest.raises(ValueError if i != 5 else FileNotFoundError):
            call()
    assert trace_events == [], "an invalid input was traced or compiled before the error"


def test_a_batch_of_keys_must_match_the_batch():
    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5)))
    x = np.zeros((4, 1000), np.float32)
    keys = jax.random.split(jax.random.key(0), 3)
    with pytest.raises(ValueError, match=r"key of shape \(3,\).*4 keys"):
        jaxspec.spectrogram(config, x, keys)
    with pytest.raises(ValueError, match=r"key of shape \(3,\)"):
        jaxspec.spectrogram(config, x[0], keys)
    assert jaxspec.spectrogram(config, x, jax.random.split(jax.random.key(0), 4)).shape == (4, 8, 201)
    raw = jax.random.split(jax.random.PRNGKey(0), 4)  # legacy uint32 keys [4, 2]
    assert jaxspec.spectrogram(config, x, raw).shape == (4, 8, 201)


def test_none_and_wrong_kinds_name_the_argument():
    """Wrong kinds get an InputError naming the argument and the value, not JAX's or
    Python's own TypeError / ValueError."""
    import jaxspec

    config = jaxspec.SpectrogramConfig()
    cases = [
        (lambda: jaxspec.encode(config, None), r"^audio is None; pass a file path"),
        (lambda: jaxspec.encode(config, np.zeros(100, np.float32), sample_rate=16000, key="0"), r"^key='0' is not"),
        (lambda: jaxspec.encode_batch(config, None), r"^audios=None is not a list"),
        (lambda: jaxspec.encode_batch(config, 5), r"^audios=5 is not a list"),
        (lambda: jaxspec.spectrogram(config, None), r"^x=None of type NoneType is not an array"),
    ]
    for call, message in cases:
        with pytest.raises(jaxspec.InputError, match=message):
            call()


# ------------------------------------------------------------------ where and why a sample is bad
def test_a_nan_in_a_batch_names_its_row_and_sample():
    x = np.zeros((4, 1000), np.float32)
    x[2, 17] = np.nan
    with raises(InputError, "NaN", "row 2", "sample 17"):
        jaxspec.spectrogram(SpectrogramConfig(), x)
    with raises(InputError, "NaN", "sample 17"):
        jaxspec.spectrogram(SpectrogramConfig(), jnp.asarray(x[2]))


def test_float64_beyond_float32_range_is_too_large_not_nan():
    # the cast to float32 made 1e300 inf (with NumPy's overflow warning), reported as "NaN or infinite"
    x = np.full(1000, 1e300)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with raises(InputError, "1e+300", "float32"):
            jaxspec.spectrogram(SpectrogramConfig(), x)
        with raises(InputError, "1e+300", "float32"):
            jaxspec.encode(SpectrogramConfig(), x, sample_rate=16000)


def test_a_sample_rate_contradicting_a_file_is_an_input_error():
    path = jaxspec.example_path()  # 16 kHz
    assert jaxspec.encode(SpectrogramConfig(), path, sample_rate=16000).shape == (328, 201)
    with raises(InputError, "sample_rate=8000", "16000 Hz", "speech.flac"):
        jaxspec.encode(SpectrogramConfig(), path, sample_rate=8000)


def test_float64_jax_array_beyond_float32_range_is_too_large_under_x64():
    # with jax_enable_x64 a float64 jax.Array of 1e300 was cast to inf and called "NaN or infinite"
    import subprocess
    import sys

    script = (
        "import jax; jax.config.update('jax_enable_x64', True)\n"
        "import jax.numpy as jnp, jaxspec\n"
        "try:\n"
        "    jaxspec.spectrogram(jaxspec.SpectrogramConfig(), jnp.full(1000, 1e300))\n"
        "except jaxspec.InputError as error:\n"
        "    print(error)\n"
    )

    env = child_env(JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert "beyond float32's range" in done.stdout, done.stdout + done.stderr


# ------------------------------------------------------------------ found by the audit of 2026-12-02
def test_keys_that_do_not_fit_are_named():
    key = jax.random.key(0)
    config = SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5)))
    items = [np.ones(1000, np.float32)] * 2
    with raises(InputError, "key of shape (3,)", "2 inputs"):  # was JAX's fold_in ValueError
        jaxspec.encode_batch(config, items, sample_rate=16000, key=jax.random.split(key, 3))
    with raises(InputError, "not a PRNG key"):  # was JAX's 'invalid PRNG key data' TypeError
        jaxspec.draw(config, 3, 100)
    # rbg's [4] words under the Threefry default: the message named Threefry's words twice, the
    # second time as "the [2] words of jax_default_prng_impl='threefry2x32'"
    with pytest.raises(InputError, match=r"read as Threefry's \[2\] words; for another") as error:
        jaxspec.draw(config, jnp.zeros(4, jnp.uint32), 100)
    assert "jax_default_prng_impl" not in str(error.value)
    with raises(InputError, "batch of keys", "jax.vmap"):
        jaxspec.draw(config, jax.random.split(key, 2), 100)
    with raises(InputError, "dtype float32", "one integer"):
        jax.jit(lambda n: jaxspec.draw(config, key, n))(jnp.float32(5))
    # a traced length cannot be checked: clipped at 0, as spectrogram clips traced lengths
    drawn = jax.jit(
        lambda n: jaxspec.draw(SpectrogramConfig(augmentation=jaxspec.Augmentation(time_shift=(-1, 1))), key, n)
    )
    assert int(drawn(jnp.int32(-5))["time_shift_samples"]) == 0


def test_raw_keys_of_another_prng_say_what_to_pass():
    raw = jnp.zeros(4, jnp.uint32)  # jax.random.PRNGKey(0) under jax_default_prng_impl="rbg"
    with raises(InputError, "shape (4,)", "typed key", "jax.random.key(seed)"):
        jaxspec.spectrogram(SpectrogramConfig(), np.ones(1000, np.float32), raw)


@pytest.mark.parametrize("length", [2.5, "3", -5, np.array([-1, 3]), True, np.array([1.0])])
def test_num_frames_takes_counts_of_samples_only(length):
    with raises(InputError, "length="):  # num_frames(2.5) was 1, num_frames(-5) 0
        SpectrogramConfig().num_frames(length)


def test_bfloat16_samples_are_floats():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 1000)) * 0.1, jnp.bfloat16)
    expected = jaxspec.spectrogram(SpectrogramConfig(), x.astype(jnp.float32))
    np.testing.assert_array_equal(jaxspec.spectrogram(SpectrogramConfig(), x), expected)
    np.testing.assert_array_equal(jax.jit(jaxspec.spectrogram)(SpectrogramConfig(), x), expected)


def test_num_frames_takes_lists_and_clips_traced_lengths():
    config = SpectrogramConfig()
    np.testing.assert_array_equal(config.num_frames([16000, 400]), [121, 4])  # as lengths= takes them
    np.testing.assert_array_equal(config.num_frames(()), np.zeros(0))
    assert int(jax.jit(config.num_frames)(jnp.int32(-100))) == 0  # -1 before: traced lengths are clipped
    with raises(InputError, "too large"):  # an OverflowError
        config.num_frames(2**70)
    # a JAX uint32 length of 2**31 or more wrapped negative in int32 (found by an audit): concrete, an
    # error saying what to pass; traced, clipped to 2**31 - 1 - hop (no row of a batch is that long)
    long = jnp.asarray([3_000_000_000, 16000], jnp.uint32)
    np.testing.assert_array_equal(config.num_frames(np.asarray(long)), [-(-3_000_000_000 // 133), 121])
    with raises(InputError, "exceeds 2**31 - 1 samples", "NumPy array"):
        config.num_frames(long)
    np.testing.assert_array_equal(jax.jit(config.num_frames)(long), [-(-(2**31 - 1 - 133) // 133), 121])
    np.testing.assert_array_equal(config.num_frames(jnp.asarray([16000, 400], jnp.uint32)), [121, 4])
    kaldi = SpectrogramConfig(framing=jaxspec.Kaldi(snip_edges=False))  # + hop // 2 wrapped after the clip
    counted = np.asarray(jax.jit(kaldi.num_frames)(long))
    assert counted.min() > 0 and counted[1] == kaldi.num_frames(16000)


@pytest.mark.parametrize(
    "config, fix",
    [(np.zeros(1600, np.float32), "(config, x)"), (16000, "sample_rate=16000"), ({"window_size": 400}, "from_dict")],
)
def test_a_config_of_the_wrong_type_says_what_to_pass(config, fix):
    with pytest.raises(jaxspec.ConfigError, match="must be a SpectrogramConfig") as error:
        jaxspec.spectrogram(config, np.zeros(1600, np.float32))
    assert fix in str(error.value)
    with pytest.raises(jaxspec.ConfigError, match=re.escape(fix)):
        jaxspec.encode(config, np.zeros(1600, np.float32), sample_rate=16000)


def test_a_float_size_past_the_cap_says_floats_are_seconds():
    with pytest.raises(jaxspec.ConfigError, match="a float is seconds"):
        jaxspec.SpectrogramConfig(window_size=400.0)


@pytest.mark.parametrize(
    "make, hint",
    [
        (lambda: jaxspec.SpectrogramConfig(windowsize=400), "did you mean window_size?"),
        (lambda: jaxspec.SpectrogramConfig(hop_length=160), "did you mean offset?"),  # librosa's name
        (lambda: jaxspec.Augmentation(volumee=0.5), "did you mean volume?"),
    ],
)
def test_keyword_typos_name_the_closest_field(make, hint):
    with pytest.raises(TypeError, match=re.escape(hint)):
        make()


def test_a_number_passed_as_the_key_says_where_a_sample_rate_goes():
    with pytest.raises(jaxspec.InputError, match=r"sample_rate=\.\.\.\) resamples"):
        jaxspec.spectrogram(jaxspec.SpectrogramConfig(), np.zeros(1600, np.float32), 16000)


# ------------------------------------------------------------------ the other public callables
_TWO_CHANNELS_FIRST = (np.random.default_rng(0).standard_normal((2, RATE)) * 0.1).tolist()


@pytest.mark.parametrize(
    "call, error, fragments",
    [
        # nested lists skipped Audio's channels-first check: encode read 2 frames of 16000 channels
        (lambda: Audio(_TWO_CHANNELS_FIRST, RATE), InputError, ("channels first",)),
        (lambda: Audio(None, RATE), InputError, ("Audio samples=None", "not an array")),
        (lambda: Audio("clip.wav", RATE), InputError, ("load_audio",)),
        # draw's sample_rate was used unchecked (0 fell back to 16000, -5 drew shift 0)
        (
            lambda: jaxspec.draw(Augmentation(time_shift=0.01), jax.random.key(0), RATE, sample_rate=0),
            jaxspec.ConfigError,
            ("sample_rate=0",),
        ),
        (
            lambda: jaxspec.draw(
                SpectrogramConfig(augmentation=Augmentation(volume=2.0)), jax.random.key(0), RATE, sample_rate=8000
            ),
            jaxspec.ConfigError,
            ("sample_rate=8000", "is for an Augmentation"),
        ),
        (
            lambda: list(jaxspec.stream_spectrogram(SpectrogramConfig(), jaxspec.example_path(), progress=3)),
            InputError,
            ("progress=3",),
        ),
        (
            lambda: jaxspec.encode_to_file(SpectrogramConfig(), jaxspec.example_path(), None),
            InputError,
            ("out_path=None",),
        ),
        (
            lambda: jaxspec.grain.LoadAudio(SpectrogramConfig(), length=2**31),
            jaxspec.ConfigError,
            ("length=2147483648", "cap"),
        ),
        (
            lambda: jaxspec.grain.LoadAudio(SpectrogramConfig(), sample_rate="16000"),
            jaxspec.ConfigError,
            ("sample_rate='16000'",),
        ),
        (
            lambda: jaxspec.grain.EncodeAudio(SpectrogramConfig(), seed=0).map_with_index(1.7, jaxspec.example_path()),
            InputError,
            ("1.7",),
        ),
        (
            lambda: jaxspec.grain.shard_for_process([1, 2], process_index=0, process_count=1.9),
            jaxspec.ConfigError,
            ("process_count=1.9",),
        ),
        (
            lambda: jaxspec.sharded_spectrogram(
                SpectrogramConfig(), np.zeros((2, 800), np.float32), jax.random.split(jax.random.key(0), 3)
            ),
            InputError,
            ("key of shape (3,)",),
        ),
        (
            lambda: jaxspec.sharded_spectrogram(
                SpectrogramConfig(), np.zeros((2, 800), np.float32), sharding=jax.sharding.PartitionSpec("batch")
            ),
            InputError,
            ("must be a NamedSharding",),
        ),
        (lambda: jaxspec.batch_sharding("cpu"), InputError, ("devices='cpu'",)),
        (
            lambda: jaxspec.presets.kaldi_fbank(use_energy="False"),
            jaxspec.ConfigError,
            ("use_energy='False'", "True or False"),
        ),
        (lambda: jaxspec.presets.librosa_melspectrogram(center="no"), jaxspec.ConfigError, ("center='no'",)),
        (lambda: jaxspec.presets.torchaudio_mfcc(melkwargs="x"), jaxspec.ConfigError, ("melkwargs='x'",)),
        (lambda: jaxspec.Volume(Uniform), jaxspec.ConfigError, ("pass an instance",)),
        (lambda: encode(SpectrogramConfig(), jaxspec.example_path(), stream="no"), InputError, ("stream='no'",)),
        (lambda: load_audio(""), InputError, ("path ''",)),
        (
            lambda: jax.jit(lambda k: encode(SpectrogramConfig(), np.zeros(800), sample_rate=RATE, key=k))(
                jax.random.key(0)
            ),
            InputError,
            ("key is a traced value",),
        ),
        (
            lambda: jax.jit(lambda y: encode(SpectrogramConfig(), Audio(y, RATE)))(np.zeros(800)),
            InputError,
            ("traced value",),
        ),
        (
            lambda: jaxspec.presets.torchaudio_melspectrogram(sample_rate=None),
            jaxspec.ConfigError,
            ("sample_rate=None",),
        ),
        (lambda: jaxspec.presets.kaldi_fbank(window_type=["povey"]), jaxspec.ConfigError, ("window_type=['povey']",)),
        (lambda: jaxspec.presets.librosa_melspectrogram(window=()), jaxspec.ConfigError, ("window=()",)),
        (lambda: encode_batch(None, []), jaxspec.ConfigError, ("NoneType",)),
        (lambda: encode_batch(SpectrogramConfig(), {"a": "x.wav"}), InputError, ("not a dict",)),
        (lambda: encode_batch(SpectrogramConfig(), b"x.wav"), InputError, ("a list of inputs",)),
    ],
)
def test_the_other_public_callables_name_bad_arguments(call, error, fragments):
    with raises(error, *fragments):
        call()


def test_a_stream_block_longer_than_the_file_is_not_allocated():
    # a block is allocated and computed whole: 2**20 frames for a 2.7 s file took 11 s and 1.6 GB
    # (2**40: a raw MemoryError); blocks are cut to the file
    config, path = SpectrogramConfig(), jaxspec.example_path()
    whole = np.concatenate(list(jaxspec.stream_spectrogram(config, path)))
    for block_frames in (7, 2**40):
        blocks = list(jaxspec.stream_spectrogram(config, path, block_frames=block_frames))
        np.testing.assert_array_equal(np.concatenate(blocks), whole)
    assert len(blocks) == 1


def test_valid_uses_of_the_checked_arguments_stay_accepted(tmp_path):
    # an audit of the checks above for uses that worked before them (Grain's 0-d array indices,
    # 0/1 flags as torchaudio takes them, a Mapping of keywords, a generator of devices, ...)
    import collections
    import types

    config, x = SpectrogramConfig(), np.zeros(1600, np.float32)
    encoder = jaxspec.grain.EncodeAudio(config, seed=1, sample_rate=RATE)
    expected = encoder.map_with_index(2, x)
    for index in (np.array(2), jnp.asarray(2), np.uint64(2)):
        np.testing.assert_array_equal(encoder.map_with_index(index, x), expected)
    by_field = jaxspec.grain.EncodeAudio(config, seed=1, sample_rate=RATE, index_field="i", field=0)
    np.testing.assert_array_equal(by_field.random_map({0: x, "i": np.array(2)}, None)[0], expected)
    assert list(jaxspec.grain.shard_for_process(list(range(10)), process_index=np.array(1), process_count=3)) == [
        1,
        4,
        7,
    ]
    assert jaxspec.batch_sharding(d for d in jax.devices()).spec == jax.sharding.PartitionSpec("batch")
    assert jaxspec.draw(SpectrogramConfig().augmentation, jax.random.key(0), RATE) == {}
    shift = Augmentation(time_shift=0.01)
    assert int(jaxspec.draw(shift, jax.random.key(0), RATE, sample_rate=np.array(8000))["time_shift_samples"]) == 80
    mel64 = jaxspec.presets.torchaudio_mfcc(melkwargs={"n_mels": 64})
    assert jaxspec.presets.torchaudio_mfcc(melkwargs=types.MappingProxyType({"n_mels": 64})) == mel64
    assert jaxspec.presets.kaldi_fbank(use_energy=1) == jaxspec.presets.kaldi_fbank(use_energy=True)
    assert jaxspec.presets.librosa_melspectrogram(center=0) == jaxspec.presets.librosa_melspectrogram(center=False)
    assert encode(config, jaxspec.example_path(), stream=0).shape == (328, 201)
    stamps = collections.deque()
    jaxspec.encode_to_file(config, jaxspec.example_path(), tmp_path / "a.npy", stamps=stamps)
    assert len(stamps) == 1


def test_a_list_of_clips_of_several_lengths_says_what_takes_it():
    # NumPy's "inhomogeneous shape" error with no fix (found by a new-user audit)
    x = np.zeros(16000, np.float32)
    with raises(InputError, "x is a list of clips of several lengths", "jaxspec.encode_batch", "lengths="):
        jaxspec.spectrogram(SpectrogramConfig(), [x, x[:8000]])
    with raises(InputError, "audio is a list of clips of several lengths", "jaxspec.encode_batch"):
        jaxspec.encode(SpectrogramConfig(), [x, x[:8000]], sample_rate=16000)
    # an item of encode_batch that is itself such a list was told to use encode_batch (an audit)
    with raises(InputError, "item 1: audio 1 is a list of clips of several lengths", "an item of its own"):
        jaxspec.encode_batch(SpectrogramConfig(), [x, [x, x[:8000]]], sample_rate=16000)


def test_a_raw_key_of_the_wrong_dtype_is_named_as_given():
    # an int64 key was "key of dtype int32" (device_put's conversion without x64; an audit)
    config = SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5)))
    with raises(InputError, "key of dtype int64 and shape (2,) is not a PRNG key"):
        jaxspec.spectrogram(config, np.zeros(1600, np.float32), np.array([0, 1], np.int64))
    # a uint64 key lost its high bits without x64 ([2**32, 7] drew as [0, 7]) and was refused with it
    for words in ([0, 7], [2**32, 7]):
        with raises(InputError, "key of dtype uint64 and shape (2,) is not a PRNG key"):
            jaxspec.draw(config, np.array(words, np.uint64), 16000)
    listed = jaxspec.draw(config, [np.uint32(0), np.uint32(7)], 16000)  # a list of uint32 words: still a key
    assert listed == jaxspec.draw(config, np.array([0, 7], np.uint32), 16000)


def test_messages_name_no_other_function_and_a_folder_says_how_to_list_it(tmp_path):
    # draw and augment said "spectrogram takes samples"; encode_batch of a folder said "use
    # encode", which reads no folder either (found by a new-user audit)
    config = SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=0.5))
    with pytest.raises(InputError, match="not a PRNG key") as error:
        jaxspec.draw(config, 0, 16000)
    assert "spectrogram" not in str(error.value)
    with pytest.raises(InputError, match="is a path") as error:
        jaxspec.augment(config, str(tmp_path / "a.wav"), jax.random.key(0))
    assert "spectrogram" not in str(error.value) and "jaxspec.encode(config, path)" in str(error.value)
    with raises(InputError, "encode_batch takes a list of inputs", "rglob", "jaxspec encode DIR -o OUT"):
        jaxspec.encode_batch(config, str(tmp_path))
    with raises(InputError, "use encode for a single one"):
        jaxspec.encode_batch(config, str(tmp_path / "a.wav"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: SpectrogramConfig(sample_rate=16),
        lambda: jaxspec.encode(SpectrogramConfig(sample_rate=1000), np.zeros(1000, np.float32), sample_rate=8),
    ],
)
def test_a_rate_under_one_khz_warns_that_it_may_be_khz(make):
    # sample_rate=48 gave a 40101-frame spectrogram of a 1 s clip, silently (found by a new-user audit);
    # once per process and rate: conftest's fixture starts each test afresh
    with pytest.warns(UserWarning, match=r"Hz is below 1 kHz; for \d+ kHz write \d+000") as made:
        make()
    assert len(made) == 1  # not again from the configs jaxspec derives


def test_a_low_rate_warns_once_and_not_of_rates_the_user_did_not_type(tmp_path):
    with pytest.warns(UserWarning, match=r"sample_rate=500 Hz is below 1 kHz \(audio is rarely") as made:
        config = SpectrogramConfig(sample_rate=500, window_size=40, offset=10)
        jaxspec.encode(config, np.zeros(2000, np.float32), sample_rate=500)
    assert len(made) == 1  # a rate of 500 is not "500 kHz"
    soundfile.write(tmp_path / "a.wav", np.zeros(2000, np.float32), 600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a file's rate and an Audio's are no typo of the user's
        jaxspec.encode(SpectrogramConfig(), jaxspec.load_audio(tmp_path / "a.wav"))


def test_rates_of_one_khz_and_more_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SpectrogramConfig(sample_rate=1000)
        jaxspec.Audio(np.zeros(100, np.float32), 8000)


def test_a_once_per_process_warning_is_once_across_threads(monkeypatch):
    # first_time checked, then added: two threads asking at once could both be first (an audit)
    import threading
    import time

    from jaxspec import errors

    class Slow(set):  # widens the gap between the check and the add
        def __contains__(self, key):
            seen = super().__contains__(key)
            time.sleep(0.05)
            return seen

    monkeypatch.setattr(errors, "_SEEN", Slow())
    start, answers = threading.Barrier(4), []

    def ask():
        start.wait()
        answers.append(errors.first_time(("a key", 1)))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [False, False, False, True]


# ------------------------------------------------------------------ what users pass from other libraries
def test_audio_containers_of_other_libraries_say_what_to_pass(tmp_path):
    # (y, sr) from librosa.load, a Hugging Face audio dict and an open file were all "an array
    # without a rate" (and the pair with sample_rate= "a list of clips"); file bytes were a bytes
    # path to os.fsdecode (the error-message audit)
    config = SpectrogramConfig()
    y = np.zeros(RATE, np.float32)
    with raises(InputError, "(samples, rate) pair", "Audio(y, sr)"):
        encode(config, (y, RATE))
    with raises(InputError, "(samples, rate) pair"):
        encode(config, (y, RATE), sample_rate=RATE)
    with raises(InputError, "item 0", "(samples, rate) pair"):
        encode_batch(config, [(y, RATE)])
    with raises(InputError, "dict", "Audio(d['array'], d['sampling_rate'])"):
        encode(config, {"array": y, "sampling_rate": RATE})
    soundfile.write(tmp_path / "a.wav", y, RATE)
    with open(tmp_path / "a.wav", "rb") as file, raises(InputError, "open file", "pass its path"):
        encode(config, file)
    with raises(InputError, "bytes of file contents", "soundfile.read(io.BytesIO"):
        encode(config, (tmp_path / "a.wav").read_bytes())
    with raises(InputError, "Audio", ".samples", "jaxspec.encode(config, audio)"):
        spectrogram(config, Audio(y, RATE))
    assert encode(config, (np.float32(0.1), np.float32(0.2)), sample_rate=RATE).shape[0] == 1  # two samples
    # functions that read files only, given samples or a buffer ("array([...]) is not a path")
    with raises(InputError, "ndarray", "is not a path", "jaxspec.encode or jaxspec.spectrogram"):
        jaxspec.encode_to_file(config, y, str(tmp_path / "o.npy"))
    with raises(InputError, "BytesIO", "is not a path", "soundfile.read"):
        load_audio(io.BytesIO(b"RIFF"))


def test_a_tensor_with_a_numpy_view_encodes_as_its_array():
    # spectrogram, resample and Audio took a torch tensor; encode refused it ("not an array of samples")
    class Tensorish:  # what torch.Tensor offers NumPy: __array__
        def __init__(self, array):
            self.array = array

        def __array__(self, dtype=None, copy=None):
            return self.array if dtype is None else self.array.astype(dtype)

    y = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1
    config = SpectrogramConfig()
    expected = np.asarray(encode(config, y, sample_rate=RATE))
    np.testing.assert_array_equal(np.asarray(encode(config, Tensorish(y), sample_rate=RATE)), expected)
    np.testing.assert_array_equal(np.asarray(encode_batch(config, [Tensorish(y)], sample_rate=RATE)[0]), expected)

    class Broken:
        def __array__(self, dtype=None, copy=None):
            raise KeyError("no samples")

    for call in (
        lambda: encode(config, Broken(), sample_rate=RATE),
        lambda: encode_batch(config, [Broken()], sample_rate=RATE),
    ):
        with raises(InputError, "of type Broken cannot be read as a NumPy array"):
            call()


def test_mistakes_of_units_and_of_other_libraries_keywords_are_named():
    from jaxspec import presets

    with pytest.warns(UserWarning, match=r"window_size=25.0 is 25 s \(a float is seconds\): '25ms'"):
        SpectrogramConfig(window_size=25.0, offset="10ms")
    with pytest.warns(UserWarning, match=r"is 2.5 s .*'2.5s' for seconds without this warning"):
        assert SpectrogramConfig(window_size=Fraction(5, 2)).window_samples == 40000  # (no :g before 3.12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SpectrogramConfig(window_size=1.0, offset=0.5)  # a second or less: no warning
        config = SpectrogramConfig(window_size="2.5s")  # seconds as a string: meant
        SpectrogramConfig.from_dict(config.to_dict())
    with raises(jaxspec.ConfigError, "librosa_melspectrogram(y=...)", "takes no audio", "spectrogram(config, y)"):
        presets.librosa_melspectrogram(y=np.zeros(10), sr=RATE)
    with raises(jaxspec.ConfigError, "torchaudio_mfcc(n_mels=40)", "melkwargs={'n_mels'"):
        presets.torchaudio_mfcc(n_mels=40)
    with raises(jaxspec.ConfigError, "volume=(0.5, 1.0, 1.5) is not a valid Volume setting", "must be (lo, hi)"):
        Augmentation(volume=(0.5, 1.0, 1.5))  # the shorthand's error gave no reason
    for typed, meant in ((16, 16000), (44, 44100)):
        with raises(jaxspec.ConfigError, f"{typed} Hz", f"in kHz, write {meant}"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the low-rate warning
            encode(SpectrogramConfig(), np.zeros(100, np.float32), sample_rate=typed)


@pytest.mark.parametrize(
    ("flag", "meant"),
    [("--hop-length", "--offset"), ("--frame-shift", "--offset"), ("--n-fft", "--fft-size"), ("--seed", "--key")],
)
def test_cli_names_the_flag_for_other_libraries_names(flag, meant, capsys):
    # by spelling alone --hop-length was "did you mean --target-length?", --frame-shift "--time-shift"
    from jaxspec.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["encode", "a.wav", "-o", "out", flag, "3"])
    assert stop.value.code == 2 and f"{flag} (did you mean {meant}?)" in capsys.readouterr().err
