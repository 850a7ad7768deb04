"""Time derivatives of feature frames: librosa's Savitzky-Golay ``delta`` and
torchaudio's regression ``compute_deltas`` (behind ``features.Deltas``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import _melscale
from ._products import left as _left


def regression_delta(y: jax.Array, width: int) -> jax.Array:
    """torchaudio ``compute_deltas`` along axis 0 of ``y [shape=(n, F)]``."""
    half = (width - 1) // 2
    denominator = half * (half + 1) * (2 * half + 1) / 3.0
    n = y.shape[0]
    padded = jnp.pad(y, ((half, half), (0, 0)), mode="edge")
    total = sum(k * padded[half + k : half + k + n] for k in range(-half, half + 1) if k)
    return total / denominator


def repeated_regression(y: jax.Array, width: int, order: int, edge: jax.Array | None = None) -> jax.Array:
    """torchaudio ``ComputeDeltas`` ``order`` times (its delta-delta is two passes), each pass
    padding its own input with that input's edge frames. ``edge [shape=(n,)]``: a padded row's
    index map (frames past the row's end repeat its last one), applied before every pass: the
    second pass read the first pass's values past the row's end (relative errors 0.05-2.5)."""
    for _ in range(order):
        y = regression_delta(y if edge is None else y[edge], width)
    return y


def savgol(y: jax.Array, width: int, order: int) -> jax.Array:
    """librosa ``feature.delta(width, order, mode="interp")`` along axis 0 of ``y [n, F]``."""
    n = y.shape[0]
    kernel, first, last = _melscale.savgol_edges(n, width, order)
    if n < width:
        return _left(first, y)
    half = width // 2
    interior = sum(float(kernel[j]) * y[j : j + n - 2 * half] for j in range(width))
    return jnp.concatenate([_left(first, y[:width]), interior, _left(last, y[n - width :])], axis=0)


def savgol_ragged(y: jax.Array, width: int, order: int, *, valid: jax.Array) -> jax.Array:
    """``savgol`` of the first ``valid`` (traced) rows of ``y [n, F]``, the rows past them
    repeating the last one: the right edge's fit moves to the row's own end."""
    n, half = y.shape[0], width // 2
    if n < width:  # every row is short: one fit per possible length
        fits = np.zeros((n + 1, n, n), np.float32)
        for m in range(1, n + 1):
            fits[m, :m, :m] = _melscale.savgol_edges(m, width, order)[1]
        return _left(jnp.asarray(fits)[jnp.clip(valid, 0, n)], y)
    out = savgol(y, width, order)
    _, _, last = _melscale.savgol_edges(n, width, order)
    start = jnp.clip(valid - width, 0, n - width)
    edge = _left(last, lax.dynamic_slice_in_dim(y, start, width))
    out = lax.dynamic_update_slice_in_dim(out, edge, jnp.clip(valid - half, 0, n - half), axis=0)
    fits = np.zeros((width, width, width), np.float32)  # rows shorter than the filter: one fit each
    for m in range(1, width):
        fits[m, :m, :m] = _melscale.savgol_edges(m, width, order)[1]
    short = _left(jnp.asarray(fits)[jnp.clip(valid, 0, width - 1)], y[:width])
    short = jnp.concatenate([short, out[width:]], axis=0)
    return jnp.where(valid < width, short, out)
