"""attach(config, apply_fn): the encoder in front of a model, under jit, vmap and grad."""

from __future__ import annotations

import contextlib
import importlib.util
import io
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspec
from jaxspec import attach

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CONFIG = jaxspec.SpectrogramConfig(window_size=64, offset=32)  # 33 bins
AUGMENTED = jaxspec.SpectrogramConfig(
    window_size=64,
    offset=32,
    augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01, time_shift=(-0.005, 0.005)),
)


def ref_spectrogram(x: np.ndarray, ws: int, hop: int) -> np.ndarray:
    """float64 reference of SPEC section 3: frames with zeros past the end, periodic Hann, |rfft|^2."""
    x = np.asarray(x, np.float64)
    n = -(-len(x) // hop)
    padded = np.concatenate([x, np.zeros(n * hop + ws)])
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(ws) / ws)
    framed = np.stack([padded[i * hop : i * hop + ws] for i in range(n)]) * window
    return np.abs(np.fft.rfft(framed, axis=-1)) ** 2


def linear(params, features):
    """A model: mean over time, then a linear map ``[..., frames, bins] -> [..., classes]``.

    At ``precision=HIGHEST``: a GPU's default float32 product is TF32 (relative 4.8e-4 here on
    an H200), the model's choice, not jaxspec's."""
    return jnp.matmul(features.mean(axis=-2), params["w"], precision=jax.lax.Precision.HIGHEST) + params["b"]


@pytest.fixture
def waves():
    return np.random.default_rng(0).normal(0, 0.3, (3, 500)).astype(np.float32)


@pytest.fixture
def params():
    rng = np.random.default_rng(1)
    return {"w": jnp.asarray(rng.normal(size=(33, 4)), jnp.float32), "b": jnp.asarray(rng.normal(size=4), jnp.float32)}


def rel_err(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / np.linalg.norm(b))


def test_matches_numpy_reference_of_model_on_spectrogram(waves, params):
    out = attach(CONFIG, linear)(params, waves)
    w, b = np.asarray(params["w"], np.float64), np.asarray(params["b"], np.float64)
    ref = np.stack([ref_spectrogram(x, 64, 32).mean(axis=0) @ w + b for x in waves])
    assert out.shape == (3, 4)
    assert rel_err(out, ref) < 1e-5


def test_equals_apply_fn_on_spectrogram_with_transform_and_key(waves, params):
    key = jax.random.key(7)
    net = attach(AUGMENTED, linear, transform=jnp.log1p)
    expected = linear(params, jnp.log1p(jaxspec.spectrogram(AUGMENTED, waves, key)))
    np.testing.assert_array_equal(net(params, waves, key), expected)
    # the key matters (augmentation on), and no key means no augmentation
    assert not np.allclose(net(params, waves, key), net(params, waves))
    np.testing.assert_array_equal(net(params, waves), attach(CONFIG, linear, transform=jnp.log1p)(params, waves))


def test_jit_equals_eager_and_vmap_equals_batch(waves, params):
    key = jax.random.key(3)
    net = attach(AUGMENTED, linear, transform=jnp.log1p)
    eager = net(params, waves, key)
    np.testing.assert_allclose(jax.jit(net)(params, waves, key), eager, rtol=1e-5, atol=1e-6)
    keys = jax.random.split(key, 3)  # the batch rule: row i uses split(key, B)[i]
    vmapped = jax.jit(jax.vmap(net, in_axes=(None, 0, 0)))(params, waves, keys)
    np.testing.assert_allclose(vmapped, eager, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net(params, waves, keys), eager, rtol=1e-5, atol=1e-6)


def test_grad_wrt_params_equals_mean_spectrum(waves, params):
    loss = lambda p, x: attach(CONFIG, linear)(p, x).sum()
    grads = jax.jit(jax.grad(loss))(params, waves)
    # d/dw sum_{b,c} (mean_t S[b] @ w)[c] = sum_b mean_t S[b] (the same for every class column)
    mean_spectrum = sum(ref_spectrogram(x, 64, 32).mean(axis=0) for x in waves)
    assert rel_err(grads["w"], np.repeat(mean_spectrum[:, None], 4, axis=1)) < 1e-5
    np.testing.assert_allclose(grads["b"], np.full(4, 3.0), rtol=1e-6)


def test_grad_wrt_audio_matches_analytic_dc_bin_gradient():
    x = np.random.default_rng(2).normal(0, 0.3, 200).astype(np.float32)
    dc_energy = lambda p, feats: feats[:, 0].sum()  # sum over frames of |X_0|^2
    net = attach(CONFIG, dc_energy)
    grad = jax.jit(jax.grad(net, argnums=1))(None, x)
    # |X_0|^2 of frame i = (sum_k w_k x[i*hop + k])^2, so d/dx[n] = sum_i 2 X_0(i) w[n - i*hop]
    ws, hop = 64, 32
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(ws) / ws)
    padded = np.concatenate([x.astype(np.float64), np.zeros(ws)])
    ref = np.zeros(len(x) + ws)
    for i in range(-(-len(x) // hop)):
        dc = np.dot(window, padded[i * hop : i * hop + ws])
        ref[i * hop : i * hop + ws] += 2 * dc * window
    assert grad.shape == x.shape
    assert rel_err(grad, ref[: len(x)]) < 1e-5
    # eager grad (no jit) agrees too
    np.testing.assert_allclose(jax.grad(net, argnums=1)(None, x), grad, rtol=1e-5, atol=1e-6)


def masked_linear(params, features, *, frames):
    """``linear`` over each row's own frames only (``frames [B]``: the valid frame counts)."""
    valid = jnp.arange(features.shape[-2])[:, None] < frames[:, None, None]
    mean = jnp.where(valid, features, 0.0).sum(axis=-2) / frames[:, None]
    return jnp.matmul(mean, params["w"], precision=jax.lax.Precision.HIGHEST) + params["b"]


def test_lengths_encode_each_row_as_its_own_clip(waves, params):
    # a zero-padded ragged batch: row i is its first lengths[i] samples alone (SPEC section 8),
    # and the model masks by the frame counts the config gives (lengths is the encoder's)
    lengths = np.array([500, 321, 97])
    padded = np.where(np.arange(500) < lengths[:, None], waves, 0.0).astype(np.float32)
    net = attach(CONFIG, masked_linear)
    w, b = np.asarray(params["w"], np.float64), np.asarray(params["b"], np.float64)
    ref = np.stack([ref_spectrogram(x[:n], 64, 32).mean(axis=0) @ w + b for x, n in zip(waves, lengths, strict=True)])

    def call(p, x, n):  # lengths traced under jit: a new set of lengths does not recompile
        return net(p, x, lengths=n, frames=CONFIG.num_frames(n))

    out = jax.jit(call)(params, padded, jnp.asarray(lengths))
    assert rel_err(out, ref) < 1e-5
    np.testing.assert_allclose(call(params, padded, lengths), out, rtol=1e-5, atol=1e-6)
    # the padding is ignored: other values past each row's length give the same output
    noisy = np.where(np.arange(500) < lengths[:, None], padded, 7.0).astype(np.float32)
    np.testing.assert_allclose(jax.jit(call)(params, noisy, jnp.asarray(lengths)), out, rtol=1e-5, atol=1e-6)
    # and the gradient with respect to the audio is zero past each row's length
    grad = jax.grad(lambda x: call(params, x, jnp.asarray(lengths)).sum())(padded)
    assert not np.any(np.asarray(grad)[np.arange(500) >= lengths[:, None]])
    assert np.abs(np.asarray(grad)[np.arange(500) < lengths[:, None]]).max() > 0


def test_kwargs_reach_apply_fn_and_single_clip_works(params):
    def scaled(p, features, *, scale):
        return scale * linear(p, features)

    x = np.random.default_rng(3).normal(0, 0.3, 300).astype(np.float32)
    net = attach(CONFIG, scaled)
    np.testing.assert_allclose(net(params, x, scale=2.0), 2.0 * attach(CONFIG, linear)(params, x), rtol=1e-6)
    assert net(params, x, scale=1.0).shape == (4,)


def test_bad_arguments_are_rejected_early(params):
    with pytest.raises(jaxspec.ConfigError, match="SpectrogramConfig"):
        attach({"sample_rate": 16000}, linear)
    with pytest.raises(jaxspec.ConfigError, match="apply_fn"):
        attach(CONFIG, "not a function")
    with pytest.raises(jaxspec.ConfigError, match="transform"):
        attach(CONFIG, linear, transform=3)
    net = attach(CONFIG, linear)
    with pytest.raises(jaxspec.InputError, match=r"audio is a path \(str\); .* waveform arrays"):
        net(params, jaxspec.example_path())
    with pytest.raises(jaxspec.InputError, match="audio is an Audio; .* waveform arrays"):  # was "a Audio"
        net(params, jaxspec.Audio(np.zeros(100, np.float32), 16000))


def _run_example(name: str) -> str:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main()
    return out.getvalue()


def test_flax_example_runs():
    pytest.importorskip("flax", reason="flax is an optional extra (pip install flax)")
    text = _run_example("attach_flax")
    assert "logits (eval, no key) (4, 8)" in text and "grad of conv1 kernel (3, 3, 1, 8)" in text


def test_equinox_example_runs():
    pytest.importorskip("equinox", reason="equinox is an optional extra (pip install equinox)")
    text = _run_example("attach_equinox")
    assert "logits of the batch (4, 8)" in text and "grad of conv1 weight (32, 201, 5)" in text
