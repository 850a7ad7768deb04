#!/usr/bin/env python3
"""Put a jaxspec encoder in front of a Flax NNX model, so that the model takes raw audio.

NNX modules are stateful objects; ``nnx.split`` turns one into a static ``graphdef`` and a
``state`` pytree (the parameters), and ``nnx.merge(graphdef, state)`` rebuilds it inside a
pure function. That pure function is what ``jaxspec.attach`` wraps:

    net = attach(config, lambda state, feats: nnx.merge(graphdef, state)(feats), transform=log)
    logits = net(state, waves [B, L], key)     # key: augmentation; None = evaluation

Runs in a few seconds on random data and prints the shapes. Needs ``flax`` (``pip install flax``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

import jaxspec
from jaxspec import attach


class SmallCNN(nnx.Module):
    """``[B, frames, bins]`` log spectrogram -> ``[B, classes]`` logits."""

    def __init__(self, bins: int, classes: int, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(1, 8, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
        self.conv2 = nnx.Conv(8, 16, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
        self.head = nnx.Linear(16, classes, rngs=rngs)

    def __call__(self, features: jax.Array) -> jax.Array:
        h = features[..., None]  # a channel axis: [B, frames, bins, 1]
        h = nnx.relu(self.conv1(h))
        h = nnx.relu(self.conv2(h))
        return self.head(h.mean(axis=(1, 2)))  # average over time and frequency


def main() -> None:
    config = jaxspec.SpectrogramConfig(
        window_size="25ms", offset="10ms", augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01)
    )
    model = SmallCNN(config.num_bins, classes=8, rngs=nnx.Rngs(0))
    graphdef, state = nnx.split(model)

    def apply(state: nnx.State, features: jax.Array) -> jax.Array:
        return nnx.merge(graphdef, state)(features)

    net = attach(config, apply, transform=jnp.log1p)

    key_audio, key_augment = jax.random.split(jax.random.key(0))
    waves = 0.1 * jax.random.normal(key_audio, (4, 16000))  # 4 one-second clips at 16 kHz
    labels = jnp.arange(4)

    print("features", jax.eval_shape(jaxspec.spectrogram, config, waves).shape)  # (4, 100, 201), nothing computed
    print("logits (eval, no key)", jax.jit(net)(state, waves).shape)  # (4, 8)

    def loss(state, waves, key):
        logits = net(state, waves, key)  # augmented spectrograms inside the differentiated function
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(4), labels])

    value, grads = jax.jit(jax.value_and_grad(loss))(state, waves, key_augment)
    print("loss", float(value), "grad of conv1 kernel", grads["conv1"]["kernel"][...].shape)


if __name__ == "__main__":
    main()
