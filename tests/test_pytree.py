"""Configs are pure pytrees: unflatten runs no constructor, no validation, no file I/O."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspec
from jaxspec import Audio, Augmentation, Convolution, Noise, SpectrogramConfig


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
