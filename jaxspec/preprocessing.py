"""The frame preprocessing stages at work: ``preprocess`` applies a config's ``Dither``,
``RemoveDC``, ``PreEmphasis`` and raw ``LogEnergy`` (declared in ``jaxspec.framing``) to its
frames, before the window."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .augmentation.noise import white_noise
from .framing import DITHER_STAGE, Dither, LogEnergy, RemoveDC


def dither(framed: jax.Array, amount: float, key: jax.Array | None, first_frame: Any = 0) -> jax.Array:
    """``framed [shape=(n, frame_length)]`` plus ``amount * N(0, 1)``, row ``i`` the white
    noise (``augmentation.noise.white_noise``: the library's own Threefry hash, so no JAX
    flag changes it) of ``fold_in(fold_in(key, 8), first_frame + i)``; unchanged without a key."""
    if key is None or amount == 0.0:
        return framed
    k = jax.random.fold_in(key, DITHER_STAGE)
    index = (first_frame + jnp.arange(framed.shape[0], dtype=jnp.int32)).astype(jnp.uint32)
    noise = jax.vmap(lambda i: white_noise(jax.random.fold_in(k, i), framed.shape[1]))(index)
    return framed + amount * noise.astype(framed.dtype)


def _remove_dc(framed: jax.Array) -> jax.Array:
    """``framed`` less each frame's mean, in two passes: the mean about the first sample (a constant
    frame's differences are exactly 0, whatever XLA does with the sums), then the plain mean of what
    is left (where the first sample dominates, 0.3 then zeros, the first pass is an ulp of 0.3 off;
    the second, of small values, takes that to 1e-7 of the DC bin). Each mean is the sum of products
    by ``1/n``: ``jnp.mean``'s product (``x / n`` is one too) was fused into the subtraction under
    ``jit`` as one multiply-add, never rounded, so a constant int16-scale frame kept up to 3.6e-4 of
    DC (1-12 nats in Kaldi's low bands without pre-emphasis; two audits). Subtracting the first
    sample from the frame itself rounded quiet frames at their full swing (2-6x the Kaldi tolerance)."""
    scale = np.float32(1.0 / framed.shape[-1])
    first = framed[..., :1]
    framed = framed - (first + jnp.sum((framed - first) * scale, axis=-1, keepdims=True))
    return framed - jnp.sum(framed * scale, axis=-1, keepdims=True)


def preprocess(
    stages: tuple, framed: jax.Array, first_frame: Any, key: jax.Array | None
) -> tuple[jax.Array, jax.Array | None]:
    """Applies ``stages`` in order to ``framed [shape=(n, frame_length)]``.

    ``first_frame`` is the index of row 0 in the whole signal (dither draws per frame
    index, so blocks of a long input draw what the whole would).

    Returns:
      The frames, and the log energies ``[shape=(n,)]`` a ``LogEnergy(windowed=False)``
      measured (else ``None``).
    """
    energy = None
    for stage in stages:
        if isinstance(stage, LogEnergy):
            energy = None if stage.windowed else stage.measure(framed)
            continue
        if isinstance(stage, Dither):
            framed = dither(framed, stage.amount, key, first_frame)
        elif isinstance(stage, RemoveDC):
            framed = _remove_dc(framed)
        else:
            # Sample 0 and the rest apart, not framed - c * concat(first, framed[:-1]): under jit
            # XLA's fusion of that form left Kaldi's DC bin 2.5e-4 off on a click in silence
            # (1e-2 over 256 click frames; this form 3.2e-5: tests/test_spectrum.py, float64).
            c, first = stage.coefficient, framed[..., :1]
            framed = jnp.concatenate([first - c * first, framed[..., 1:] - c * framed[..., :-1]], axis=-1)
    return framed, energy
