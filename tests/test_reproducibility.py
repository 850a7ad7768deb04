"""Reproducibility of key-driven augmentation (SPEC sections 4 and 6).

Drawn values must be bit-identical across jit / eager / vmap / a Python loop; outputs equal
within relative 1e-5 across those, and bit-identical for repeated calls of one compiled
function. Draws are independent of which other augmentations are on, batches use
``split(key, B)[i]``, a new recording does not retrace, and gradients stay finite.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspec
from jaxspec import Augmentation, Convolution, LogUniform, Noise, Normal, Scaled, TimeShift, Volume
from jaxspec.augmentation import draw_values

SR = 16_000
LENGTH = 1600
FIELDS = ("convolution", "noise", "time_shift", "volume")


def _signal(length: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(length).astype(np.float32)


def _augmentation(recording: bool) -> Augmentation:
    return Augmentation(
        convolution=Convolution(_signal(60, 1) * np.exp(-np.arange(60) / 15.0).astype(np.float32), mix=(0.3, 0.9)),
        noise=Noise(LogUniform(1e-3, 3e-2), _signal(5000, 2) if recording else None),
        time_shift=TimeShift(Scaled(Normal(0.0, 0.1))),
        volume=Volume(Normal(1.0, 0.2)),  # std * n + mean: rounded differently when contracted into an FMA
    )


@pytest.fixture(params=[True, False], ids=["noise-recording", "white-noise"])
def config(request) -> jaxspec.SpectrogramConfig:
    return jaxspec.SpectrogramConfig(augmentation=_augmentation(request.param))


RECORDING = jaxspec.SpectrogramConfig(augmentation=_augmentation(recording=True))


def _bits(values: dict[str, jax.Array]) -> dict[str, bytes]:
    return {name: np.asarray(value).tobytes() for name, value in values.items()}


def _rel(actual, reference) -> float:
    actual, reference = np.asarray(actual, np.float64), np.asarray(reference, np.float64)
    return float(np.linalg.norm(actual - reference) / np.linalg.norm(reference))


def _draw(setting, key: jax.Array) -> dict[str, jax.Array]:
    """The public ``jaxspec.draw`` (compiled even when called eagerly)."""
    return jaxspec.draw(
        setting, key, LENGTH, sample_rate=None if isinstance(setting, jaxspec.SpectrogramConfig) else SR
    )


# ------------------------------------------------------------------ drawn values
def test_draws_are_bit_identical_with_and_without_jit(config):
    x = _signal(LENGTH, 1)
    draw_jit = jax.jit(lambda k: jaxspec.draw(config, k, LENGTH))
    traced_jit = jax.jit(draw_values, static_argnums=(2, 3))  # the traced function inside a user's jit

    @jax.jit
    def training_step(key):  # the draws next to the spectrogram that uses them
        values = draw_values(config.augmentation, key, LENGTH, SR)
        return values, jaxspec.spectrogram(config, x, key).mean() * values["volume_gain"]

    for seed in range(8):
        key = jax.random.key(seed)
        eager = _bits(_draw(config, key))
        assert set(eager) >= {"convolution_mix", "noise_amplitude", "time_shift_samples", "volume_gain"}
        assert _bits(draw_jit(key)) == eager
        assert _bits(traced_jit(config.augmentation, key, LENGTH, SR)) == eager
        assert _bits(training_step(key)[0]) == eager


def test_draws_are_bit_identical_under_vmap_and_in_a_loop(config):
    keys = jax.random.split(jax.random.key(7), 8)
    draw = lambda k: jaxspec.draw(config, k, LENGTH)
    traced = lambda k: draw_values(config.augmentation, k, LENGTH, SR)
    batched = [jax.vmap(draw)(keys), jax.jit(jax.vmap(traced))(keys)]
    for i, key in enumerate(keys):
        alone = _bits(draw(key))
        for values in batched:
            assert _bits({name: value[i] for name, value in values.items()}) == alone


def test_old_style_uint32_keys_work_the_same_way(config):
    raw = jax.random.PRNGKey(3)
    assert _bits(_draw(config, raw)) == _bits(_draw(config, jax.random.wrap_key_data(raw)))


def test_adding_or_removing_an_augmentation_keeps_the_other_draws(config):
    full = config.augmentation
    key = jax.random.key(11)
    reference = _bits(_draw(full, key))
    assert reference == _bits(_draw(config, key))
    for drop in FIELDS:
        values = _bits(_draw(dataclasses.replace(full, **{drop: None}), key))
        assert not any(name.startswith(drop) for name in values)
        assert values == {name: bits for name, bits in reference.items() if not name.startswith(drop)}
    for keep in ("noise", "volume"):  # each alone (the drops above already cover the others)
        values = _bits(_draw(Augmentation(**{keep: getattr(full, keep)}), key))
        assert values == {name: bits for name, bits in reference.items() if name.startswith(keep)}


def test_different_keys_draw_different_values(config):
    a, b = _draw(config, jax.random.key(0)), _draw(config, jax.random.key(1))
    assert all(np.asarray(a[name]) != np.asarray(b[name]) for name in ("convolution_mix", "volume_gain"))


# ------------------------------------------------------------------ outputs
def test_outputs_agree_across_jit_eager_vmap_and_loop(config):
    batch = 3
    x = np.stack([_signal(LENGTH, 10 + i) for i in range(batch)])
    keys = jax.random.split(jax.random.key(5), batch)
    step = jax.jit(jaxspec.spectrogram)
    loop = [jaxspec.spectrogram(config, x[i], keys[i]) for i in range(batch)]
    variants = {
        "jit loop": [step(config, x[i], keys[i]) for i in range(batch)],
        "vmap": jax.vmap(jaxspec.spectrogram, in_axes=(None, 0, 0))(config, x, keys),
        "jit(vmap)": jax.jit(jax.vmap(jaxspec.spectrogram, in_axes=(None, 0, 0)))(config, x, keys),
        "jit batch with key batch": step(config, x, keys),
    }
    for name, out in variants.items():
        for i in range(batch):
            assert _rel(out[i], loop[i]) < 1e-5, (name, i)
    # the outputs really depend on the key
    assert _rel(loop[0], loop[1]) > 1e-2


def test_repeated_calls_of_one_compiled_function_are_bit_identical():
    config = RECORDING
    x, key = _signal(LENGTH, 3), jax.random.key(9)
    step = jax.jit(jaxspec.spectrogram)
    first = np.asarray(step(config, x, key))
    for _ in range(3):
        np.testing.assert_array_equal(np.asarray(step(config, x, key)), first)
    np.testing.assert_array_equal(
        np.asarray(jaxspec.augment(config, x, key)), np.asarray(jaxspec.augment(config, x, key))
    )


def test_a_batch_with_one_key_equals_each_example_alone_with_its_split_key():
    config = RECORDING
    batch = 4
    x = np.stack([_signal(LENGTH, 20 + i) for i in range(batch)])
    key = jax.random.key(13)
    for fn in (jaxspec.augment, jaxspec.spectrogram):
        together = fn(config, x, key)
        for i, k in enumerate(jax.random.split(key, batch)):
            assert _rel(together[i], fn(config, x[i], k)) < 1e-5, (fn.__name__, i)
        # and not with the unsplit key: the rows really get different keys
        assert _rel(together[0], fn(config, x[0], key)) > 1e-3


def test_encode_batch_uses_split_keys():
    config = RECORDING
    lengths = [LENGTH, 1200, LENGTH]
    items = [_signal(n, 30 + i) for i, n in enumerate(lengths)]
    key = jax.random.key(21)
    outs = jaxspec.encode_batch(config, items, sample_rate=SR, key=key)
    for i, (item, k) in enumerate(zip(items, jax.random.split(key, len(items)), strict=True)):
        alone = jaxspec.encode(config, item, sample_rate=SR, key=k)
        assert outs[i].shape == alone.shape
        assert _rel(outs[i], alone) < 1e-5, i
    assert _rel(outs[0], jaxspec.encode(config, items[0], sample_rate=SR, key=key)) > 1e-3  # not the unsplit key


# ------------------------------------------------------------------ tracing
def _with_signal(config: jaxspec.SpectrogramConfig, field: str, signal: np.ndarray) -> jaxspec.SpectrogramConfig:
    augmentation = config.augmentation
    setting = dataclasses.replace(getattr(augmentation, field), signal=signal)
    return dataclasses.replace(config, augmentation=dataclasses.replace(augmentation, **{field: setting}))


def test_a_new_recording_of_the_same_shape_does_not_retrace():
    traces = []

    @jax.jit
    def step(config, x, key):
        traces.append(1)  # runs only while tracing
        return jaxspec.spectrogram(config, x, key)

    config = jaxspec.SpectrogramConfig(augmentation=_augmentation(recording=True))
    x, key = _signal(LENGTH, 4), jax.random.key(0)
    first = np.asarray(step(config, x, key))
    outputs = [first]
    for seed, field in ((50, "noise"), (51, "convolution"), (52, "noise")):
        size = getattr(config.augmentation, field).signal.shape[0]
        config = _with_signal(config, field, _signal(size, seed))
        outputs.append(np.asarray(step(config, x, key)))
    assert len(traces) == 1
    assert all(
        _rel(a, b) > 1e-3 for a, b in zip(outputs[:-1], outputs[1:], strict=True)
    )  # the new recordings were used
    # the counter works: a recording of another shape is a new program
    step(_with_signal(config, "noise", _signal(4000, 53)), x, key)
    assert len(traces) == 2


def test_a_new_key_or_input_does_not_retrace():
    traces = []

    @jax.jit
    def step(config, x, key):
        traces.append(1)
        return jaxspec.augment(config, x, key)

    config = jaxspec.SpectrogramConfig(augmentation=_augmentation(recording=True))
    for seed in range(3):
        step(config, _signal(LENGTH, seed), jax.random.key(seed))
    assert len(traces) == 1


# ------------------------------------------------------------------ gradients
def test_gradient_with_respect_to_the_waveform_is_finite():
    config = RECORDING
    batch = np.stack([_signal(LENGTH, 6), _signal(LENGTH, 7)])

    def loss(x, key):
        return jnp.log1p(jaxspec.spectrogram(config, x, key)).mean()

    grad = jax.jit(jax.grad(loss))
    for seed in range(2):
        g = np.asarray(grad(batch, jax.random.key(seed)))
        assert g.shape == batch.shape and np.isfinite(g).all() and np.abs(g).max() > 0
    g = np.asarray(jax.grad(loss)(batch[0], jax.random.key(0)))  # eager, one signal
    assert np.isfinite(g).all() and np.abs(g).max() > 0


def test_gradient_of_shift_and_volume_is_the_gain_where_samples_survive():
    config = jaxspec.SpectrogramConfig(augmentation=Augmentation(time_shift=(-0.02, 0.02), volume=(0.5, 1.5)))
    x = _signal(LENGTH, 7)
    for seed in range(3):
        key = jax.random.key(seed)
        v = jaxspec.draw(config, key, LENGTH)
        gain, samples = float(v["volume_gain"]), int(v["time_shift_samples"])
        grad = np.asarray(jax.grad(lambda x, k: jaxspec.augment(config, x, k).sum())(x, key))
        survives = np.zeros(LENGTH)
        survives[max(0, -samples) : LENGTH - max(0, samples)] = 1.0  # input samples still inside after the shift
        np.testing.assert_allclose(grad, gain * survives, rtol=1e-6)
