"""Key-free signal operations of the augmentation stages (dm_pix's deterministic twins).

Each takes the values a stage drew (see ``jaxspec.augmentation.draw``) and is
testable on its own: ``shift(x, 160)`` is a 10 ms delay at 16 kHz,
``convolve(x, [1.0])`` the identity.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def fast_fft_length(n: int) -> int:
    """The smallest ``2**a * 3**b * 5**c >= n`` (sizes every FFT library does fast)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < 2 * n:
        p35 = p5
        while p35 < 2 * n:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def convolve(x: jax.Array, h: jax.Array) -> jax.Array:
    """``(x * h)[:L]``: linear convolution cut to the input length, by FFT.

    Args:
      x: float ``[shape=(..., L)]``.
      h: float ``[shape=(R,)]`` impulse response.

    Returns:
      float32 ``[shape=(..., L)]``.
    """
    length = x.shape[-1]
    h = h[:length]  # taps past L cannot reach the first L outputs
    n = fast_fft_length(length + h.shape[0] - 1)
    spectrum = jnp.fft.rfft(x, n) * jnp.fft.rfft(h, n)
    return jnp.fft.irfft(spectrum, n)[..., :length].astype(jnp.float32)


def shift(x: jax.Array, samples: jax.Array) -> jax.Array:
    """Delays ``x [shape=(L,)]`` by ``samples`` (negative = earlier), filling with zeros."""
    length = x.shape[-1]
    samples = jnp.clip(samples, -length, length)
    padded = jnp.pad(x, (length, length))
    return lax.dynamic_slice(padded, (length - samples,), (length,))


def noise_segment(recording: jax.Array, start: jax.Array, length: int, cyclic: bool = False) -> jax.Array:
    """``length`` samples of ``recording`` from ``start``, repeating it when it is shorter.

    ``cyclic=True`` always reads ``recording[(start + j) % R]`` (the same values for every
    ``j`` below a shorter row's own length: ragged batches, whose ``start`` may exceed
    ``R - length``).
    """
    if recording.shape[0] >= length and not cyclic:
        return lax.dynamic_slice(recording, (start,), (length,))
    return recording[(start + lax.iota(jnp.int32, length)) % recording.shape[0]]
