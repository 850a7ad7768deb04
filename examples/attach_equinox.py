#!/usr/bin/env python3
"""Put a jaxspec encoder in front of an Equinox model, so that the model takes raw audio.

An Equinox module is itself a pytree of parameters, so the "params" of the attached
function are the module and the apply function just calls it:

    net = attach(config, lambda model, feats: model(feats), transform=jnp.log1p)
    logits = net(model, wave [L], key)          # one clip; jax.vmap for a batch

Equinox models usually take one example; ``jax.vmap(net, in_axes=(None, 0, 0))`` runs a
batch with one augmentation key per clip. Runs in a few seconds on random data and prints
the shapes. Needs ``equinox`` (``pip install equinox``).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

import jaxspec
from jaxspec import attach


class SmallConvNet(eqx.Module):
    """One clip's ``[frames, bins]`` log spectrogram -> ``[classes]`` logits (1-D convolutions over time)."""

    conv1: eqx.nn.Conv1d
    conv2: eqx.nn.Conv1d
    head: eqx.nn.Linear

    def __init__(self, bins: int, classes: int, key: jax.Array):
        k1, k2, k3 = jax.random.split(key, 3)
        self.conv1 = eqx.nn.Conv1d(bins, 32, kernel_size=5, stride=2, key=k1)
        self.conv2 = eqx.nn.Conv1d(32, 32, kernel_size=5, stride=2, key=k2)
        self.head = eqx.nn.Linear(32, classes, key=k3)

    def __call__(self, features: jax.Array) -> jax.Array:
        h = features.T  # Conv1d wants [channels, time]: the frequency bins are the channels
        h = jax.nn.relu(self.conv1(h))
        h = jax.nn.relu(self.conv2(h))
        return self.head(h.max(axis=1))  # max over time


def main() -> None:
    config = jaxspec.SpectrogramConfig(
        window_size="25ms", offset="10ms", augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), time_shift=(-0.1, 0.1))
    )
    key_model, key_audio, key_augment = jax.random.split(jax.random.key(0), 3)
    model = SmallConvNet(config.num_bins, classes=8, key=key_model)
    net = attach(config, lambda model, features: model(features), transform=jnp.log1p)

    waves = 0.1 * jax.random.normal(key_audio, (4, 16000))  # 4 one-second clips at 16 kHz
    labels = jnp.arange(4)
    print("features of one clip", jax.eval_shape(jaxspec.spectrogram, config, waves[0]).shape)  # (100, 201)
    print("logits of one clip", eqx.filter_jit(net)(model, waves[0]).shape)  # (8,)

    batched = jax.vmap(net, in_axes=(None, 0, 0))  # one augmentation key per clip
    keys = jax.random.split(key_augment, 4)
    print("logits of the batch", eqx.filter_jit(batched)(model, waves, keys).shape)  # (4, 8)

    @eqx.filter_value_and_grad
    def loss(model, waves, keys):
        logits = batched(model, waves, keys)
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(4), labels])

    value, grads = eqx.filter_jit(loss)(model, waves, keys)
    print("loss", float(value), "grad of conv1 weight", grads.conv1.weight.shape)


if __name__ == "__main__":
    main()
