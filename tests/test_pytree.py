"""Configs are pure pytrees: unflatten runs no constructor, no validation, no file I/O."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspec
from jaxspec import Audio, Augmentation, Convolution, Noise, SpectrogramConfig, limits


@pytest.fixture
def config_with_recordings():
    noise = np.random.default_rng(0).standard_normal(48000).astype(np.float32)
    return SpectrogramConfig(
        normalization=("rms", 0.1),
        augmentation=Augmentation(
            volume=(0.5, 1.5), noise=Noise(0.3, Audio(noise, 48000)), convolution=Convolution(np.ones(64, np.float32))
        ),
    )


def test_unflatten_runs_no_constructor(config_with_recordings, monkeypatch):
    calls = []
    for cls in (SpectrogramConfig, Augmentation, Noise, Convolution, jaxspec.Volume):
        original = cls.__post_init__
        monkeypatch.setattr(cls, "__post_init__", lambda self, _o=original: calls.append(type(self)) or _o(self))
    mapped = jax.tree.map(lambda leaf: leaf, config_with_recordings)
    placeholders = jax.tree.map(lambda leaf: None, config_with_recordings)  # vmap in_axes-like trees
    jax.jit(lambda c, x: jaxspec.spectrogram(c, x, jax.random.key(0)))(config_with_recordings, jnp.zeros(4000))
    jax.device_put(config_with_recordings)
    assert calls == []
    assert mapped == config_with_recordings
    assert placeholders.augmentation.noise.signal is None


def test_recordings_are_resolved_once_at_construction(config_with_recordings):
    signal = config_with_recordings.augmentation.noise.signal
    assert signal.shape == (16000,) and signal.dtype == jnp.float32  # resampled from 48 kHz when built


def test_user_construction_still_validates():
    with pytest.raises(jaxspec.ConfigError, match="offset"):
        SpectrogramConfig(offset=0)
    with pytest.raises(jaxspec.ConfigError, match="empty"):
        Noise(0.1, np.zeros(0, np.float32))


@pytest.mark.parametrize(
    "first, second",
    [
        (dict(window_size=1), dict(window_size=1.0)),  # 1 sample vs 1 second
        (dict(window_size=np.int64(4)), dict(window_size=np.float32(4.0))),
        (dict(target_length=2), dict(target_length=2.0)),  # 2 frames vs 2 seconds
    ],
)
def test_an_int_size_and_a_float_size_are_different_configs_under_jit(first, second):
    # 1 == 1.0 in Python: with the bare values in the treedef, jit reused the program of the
    # first config for the second and returned the first's shape
    a, b = (SpectrogramConfig(sample_rate=100, offset=50, **kw) for kw in (first, second))
    x = np.zeros(1000, np.float32)
    step = jax.jit(jaxspec.spectrogram)
    assert a != b
    assert step(a, x).shape == a.output_shape(1000)
    assert step(b, x).shape == b.output_shape(1000) != a.output_shape(1000)


def test_numpy_scalars_and_python_numbers_of_one_kind_stay_equal():
    assert SpectrogramConfig(window_size=np.int64(400)) == SpectrogramConfig(window_size=400)
    assert hash(SpectrogramConfig(offset=np.float64(0.01))) == hash(SpectrogramConfig(offset=0.01))


def test_a_negative_zero_fill_is_another_config():
    # the same values, other sign bits: bit-for-bit reproducibility needs its own program
    masks = [jaxspec.FrequencyMask(2, (20, 40), fill=fill) for fill in (-0.0, 0.0)]
    a, b = (SpectrogramConfig(8000, 256, 128, augmentation=Augmentation(frequency_mask=m)) for m in masks)
    assert a != b
    x, key = np.random.default_rng(1).standard_normal(4000).astype(np.float32) * 0.1, jax.random.key(3)
    jaxspec.spectrogram(a, x, key)
    assert not np.signbit(np.asarray(jaxspec.spectrogram(b, x, key))).any()


def test_a_list_recording_is_frozen():
    noise = Noise(0.1, [0.1, 0.2])
    before = hash(noise)
    with pytest.raises(ValueError, match="read-only"):
        noise.signal[0] = 0.3
    assert hash(noise) == before and noise == Noise(0.1, [0.1, 0.2])


def test_a_recording_made_non_finite_by_tree_map_is_named():
    config = SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, np.full(100, 0.3, np.float32))))
    broken = jax.tree.map(lambda leaf: leaf * np.nan, config)
    with pytest.raises(jaxspec.InputError, match="recording holds NaN"):
        jaxspec.spectrogram(broken, np.zeros(1600, np.float32), jax.random.key(0))


def test_an_overflowing_input_still_blames_the_input():
    # a finite x whose bound overflows is too large; only a non-finite recording is named
    with pytest.raises(jaxspec.InputError, match="x has samples up to 1e"):
        jaxspec.spectrogram(SpectrogramConfig(power=8.0), np.full(1600, 1e37, np.float32))


def _encode_in_child(config: SpectrogramConfig, x: np.ndarray) -> tuple[SpectrogramConfig, np.ndarray, np.ndarray]:
    at8 = dataclasses.replace(config, sample_rate=8000)  # its recordings resampled from their own rate
    out = np.asarray(jaxspec.spectrogram(config, x, jax.random.key(1)))
    return config, out, np.asarray(at8.augmentation.noise.signal)


def test_a_config_sent_to_a_spawned_process_encodes_the_same_bits(tmp_path):
    # the README's promise for data-loader workers: a config pickled to another process is
    # equal, keeps its recordings' rates and files, and gives the same output bits
    import multiprocessing

    import soundfile

    path = tmp_path / "noise.wav"
    soundfile.write(path, np.random.default_rng(0).normal(0, 0.1, 4000).astype(np.float32), 16000, subtype="FLOAT")
    config = SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 1.5), noise=Noise(0.3, path)))
    x = np.random.default_rng(1).normal(0, 0.1, 3000).astype(np.float32)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        received, out, noise_at8 = pool.apply_async(_encode_in_child, (config, x)).get(timeout=300)
    assert received == config
    np.testing.assert_array_equal(out, np.asarray(jaxspec.spectrogram(config, x, jax.random.key(1))))
    expected = dataclasses.replace(config, sample_rate=8000).augmentation.noise.signal
    np.testing.assert_array_equal(noise_at8, np.asarray(expected))
    assert noise_at8.shape == (2000,)


def test_type_checkers_see_the_generated_init():
    # PEP 681: without dataclass_transform on the decorator, mypy and pyright saw no __init__
    # parameters (SpectrogramConfig(window_size=...) an "unexpected keyword", no completion)
    from jaxspec._pytree import pytree_dataclass

    spec = getattr(pytree_dataclass, "__dataclass_transform__", None)
    assert spec is not None  # frozen_default: a key of its own from Python 3.12, in "kwargs" before
    assert spec.get("frozen_default", spec.get("kwargs", {}).get("frozen_default")) is True
    assert dataclasses.field in spec["field_specifiers"]


# A recording leaf replaced by jax.tree.map or a trace is read as the constructor reads an array.
_SAMPLES = np.random.default_rng(5).uniform(-0.6, 0.6, 3000)  # float64; well inside [-1, 1)
_LEAVES = {  # dtype: (the leaf put in, the float32 samples it stands for: a float64 NumPy reference)
    "float16": (_SAMPLES.astype(np.float16), _SAMPLES.astype(np.float16).astype(np.float64)),
    "int16": (np.round(_SAMPLES * 2**15).astype(np.int16), np.round(_SAMPLES * 2**15) / 2**15),
    "int32": (np.round(_SAMPLES * 2**31).astype(np.int32), np.round(_SAMPLES * 2**31) / 2**31),
}


def _recording_config(stage: str, signal: np.ndarray, power: float | None = 2.0) -> SpectrogramConfig:
    setting = Noise(0.5, signal) if stage == "noise" else Convolution(signal[:64], 0.7)
    return SpectrogramConfig(power=power, augmentation=Augmentation(**{stage: setting}))


def _with_leaf(config: SpectrogramConfig, leaf: Any) -> SpectrogramConfig:
    """``config`` with its one recording leaf replaced by ``leaf``'s first samples (no constructor runs)."""
    assert len(jax.tree.leaves(config)) == 1
    return jax.tree.map(lambda old: jnp.asarray(leaf)[: old.shape[0]], config)


def _assert_encodes_as(config: SpectrogramConfig, reference: SpectrogramConfig, relative_error: Any) -> None:
    """``config`` gives ``reference``'s output (within SPEC section 4's 1e-5), eager and with the
    config traced through jit, in ``output_dtype(config)``."""
    x, key = np.random.default_rng(6).uniform(-0.5, 0.5, 4000).astype(np.float32), jax.random.key(7)
    expected = np.asarray(jaxspec.spectrogram(reference, x, key))
    for out in (jaxspec.spectrogram(config, x, key), jax.jit(jaxspec.spectrogram)(config, x, key)):
        assert out.dtype == jaxspec.spectrum.output_dtype(config)
        parts = np.asarray(out).view(np.float32)  # a complex output's real and imaginary parts
        assert relative_error(parts, expected.view(np.float32)) <= 1e-5


@pytest.mark.parametrize("stage", ["noise", "convolution"])
@pytest.mark.parametrize("dtype", sorted(_LEAVES))
def test_a_tree_mapped_recording_is_read_as_the_constructor_reads_it(stage, dtype, relative_error):
    # float16 was a raw rfft error in Convolution; int16 / int32 PCM was used unscaled
    leaf, samples = _LEAVES[dtype]
    reference = _recording_config(stage, samples.astype(np.float32))
    mapped = _with_leaf(_recording_config(stage, _SAMPLES.astype(np.float32)), leaf)
    _assert_encodes_as(mapped, reference, relative_error)
    _assert_encodes_as(_recording_config(stage, leaf), reference, relative_error)  # the constructor: the same numbers
    assert limits.worst_case(mapped, 1.0, 4000) == limits.worst_case(reference, 1.0, 4000)  # the input's bound


@pytest.mark.parametrize("stage", ["noise", "convolution"])
@pytest.mark.parametrize("power", [2.0, None])
def test_a_float64_recording_under_x64_keeps_the_output_dtype(stage, power, relative_error):
    # Noise's float64 leaf made the spectrogram float64 (complex128 for power=None)
    reference = _recording_config(stage, _SAMPLES.astype(np.float32), power)
    jax.config.update("jax_enable_x64", True)  # (jax.enable_x64 is not in jax 0.7)
    try:
        _assert_encodes_as(_with_leaf(reference, jnp.asarray(_SAMPLES, jnp.float64)), reference, relative_error)
    finally:
        jax.config.update("jax_enable_x64", False)


@pytest.mark.parametrize("stage", ["noise", "convolution"])
@pytest.mark.parametrize("dtype", [np.bool_, np.complex64])
def test_a_tree_mapped_bool_or_complex_recording_is_a_config_error(stage, dtype):
    # bool was used as 0 / 1 silently, complex was a raw rfft error
    mapped = _with_leaf(_recording_config(stage, _SAMPLES.astype(np.float32)), (_SAMPLES > 0).astype(dtype))
    x, key = np.zeros(4000, np.float32), jax.random.key(0)
    message = f"{stage.capitalize()} signal has dtype {np.dtype(dtype).name}"
    for run in (jaxspec.spectrogram, jax.jit(jaxspec.spectrogram)):  # eager, and traced (a tracer has its dtype)
        with pytest.raises(jaxspec.ConfigError, match=message):
            run(mapped, x, key)
    with pytest.raises(jaxspec.ConfigError, match=message):  # the constructor's error, word for word
        _recording_config(stage, (_SAMPLES > 0).astype(dtype))


@pytest.mark.parametrize("stage", ["noise", "convolution"])
@pytest.mark.parametrize(
    "layout, shape",
    [
        # a [n, 2] leaf was used as is: a shape error deep in the stage, or 2 channels summed by broadcasting
        (lambda old: jnp.stack([old, old], axis=1), r"\(\d+, 2\)"),
        # an empty one: noise a raw gather error, a convolution silently 0 (found by an audit)
        (lambda old: old[:0], r"\(0,\)"),
    ],
)
def test_a_tree_mapped_multichannel_or_empty_recording_is_a_config_error(stage, layout, shape):
    mapped = jax.tree.map(layout, _recording_config(stage, _SAMPLES.astype(np.float32)))
    x, key = np.zeros(4000, np.float32), jax.random.key(0)
    for run in (jaxspec.spectrogram, jax.jit(jaxspec.spectrogram), jaxspec.augment):
        with pytest.raises(jaxspec.ConfigError, match=rf"{stage.capitalize()} signal has shape {shape}"):
            run(mapped, x, key)


def test_a_tree_mapped_int16_recording_in_a_packed_corpus_and_a_config_file(relative_error):
    # both stages' packed forms, and the inline samples to_dict writes: scaled as well
    leaf, samples = _LEAVES["int16"]
    augmentation = Augmentation(noise=Noise(0.5, _SAMPLES), convolution=Convolution(np.ones(8)))
    config = SpectrogramConfig(augmentation=augmentation)
    mapped = jax.tree.map(lambda old: jnp.asarray(np.resize(leaf, old.shape)), config)
    reference = jax.tree.map(lambda old: np.resize(samples, old.shape).astype(np.float32), config)
    rng = np.random.default_rng(8)
    waves, key = [rng.uniform(-0.5, 0.5, n).astype(np.float32) for n in (3000, 5000)], jax.random.key(1)
    assert jaxspec.packing.packable(mapped, keyed=True)
    for out, expected in zip(
        jaxspec.encode_batch(mapped, waves, sample_rate=16000, key=key),
        jaxspec.encode_batch(reference, waves, sample_rate=16000, key=key),
        strict=True,
    ):
        assert relative_error(out, expected) <= 1e-5
    assert SpectrogramConfig.from_dict(mapped.to_dict()) == SpectrogramConfig.from_dict(reference.to_dict())


@pytest.mark.parametrize("stage", ["noise", "convolution"])
def test_a_rebuilt_config_knows_its_recordings_rate_without_its_file(tmp_path, stage):
    # the rate a config read its recording at was kept by the array's identity only: a jit
    # output or device_get copy, put at 8 kHz once the file was gone, took its 16 kHz samples
    # as 8 kHz ones (18141 samples for 9071; the concurrency audit)
    import pickle

    import soundfile

    path = tmp_path / "rec.wav"
    soundfile.write(path, np.random.default_rng(0).standard_normal(4410).astype(np.float32) * 0.1, 44100)
    setting = Noise(0.3, str(path)) if stage == "noise" else Convolution(str(path))
    config = SpectrogramConfig(augmentation=Augmentation(**{stage: setting}))
    rebuilt, host = jax.jit(lambda c: c)(config), jax.device_get(config)
    assert rebuilt == config and hash(host) == hash(config)
    copies = [config, rebuilt, host, pickle.loads(pickle.dumps(host))]
    path.unlink()
    for copy in copies:
        at_8k = dataclasses.replace(copy, sample_rate=8000)
        assert getattr(at_8k.augmentation, stage).signal.shape == (800,)  # ceil(4410 * 8000 / 44100)
    # a new array the user puts in is the user's: no rate kept with it
    mine = dataclasses.replace(getattr(config.augmentation, stage), signal=np.ones(5, np.float32))
    assert mine.source is None and mine.source_rate is None


@pytest.mark.parametrize("given", ["array", "Audio"])
@pytest.mark.parametrize("stage", ["noise", "convolution"])
def test_a_rebuilt_config_knows_the_rate_of_a_recording_given_as_samples(stage, given):
    # kept_rate kept the rate with a file only: a recording given as samples, in a jit output or a
    # device_get copy put at 8 kHz, took its 16 kHz samples as 8 kHz ones (a 1 kHz tone at 500 Hz;
    # the typing audit)
    t = np.arange(1600) / 16000
    tone = (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    signal = tone if given == "array" else jaxspec.Audio(tone, 16000)
    setting = Noise(1.0, signal) if stage == "noise" else Convolution(signal)
    config = SpectrogramConfig(augmentation=Augmentation(**{stage: setting}))
    expected = np.asarray(getattr(dataclasses.replace(config, sample_rate=8000).augmentation, stage).signal)
    assert expected.shape == (800,)
    for copy in (jax.jit(lambda c: c)(config), jax.device_get(config)):
        assert copy == config
        at_8k = np.asarray(getattr(dataclasses.replace(copy, sample_rate=8000).augmentation, stage).signal)
        np.testing.assert_allclose(at_8k, expected, atol=1e-6)
