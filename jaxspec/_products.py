"""The feature stages' float32 matrix products, all at ``precision=HIGHEST`` (TF32 or
bfloat16 passes on accelerators would break SPEC section 7's tolerances): a host matrix on
the right (filterbanks, DCT), the same by bands of a filterbank, or a matrix on the left
(the deltas' edge fits)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import _melscale

HIGHEST = jax.lax.Precision.HIGHEST


def right(y: jax.Array, matrix: np.ndarray) -> jax.Array:
    """``y [..., n] @ matrix [n, m]``."""
    return jnp.matmul(y, jnp.asarray(matrix, jnp.float32), precision=HIGHEST)


def banded(y: jax.Array, matrix: np.ndarray) -> jax.Array:
    """``y @ matrix`` for a filterbank whose columns are nonzero on a band of rows: each
    group of adjacent filters multiplies only its band of bins. librosa's 128 mels on
    1025 bins: 17 % of the dense products, 2048 frames 1.17 -> 0.49 ms."""
    if not (groups := _melscale.column_bands(matrix)):
        return right(y, matrix)
    return jnp.concatenate([right(y[..., a:b], matrix[a:b, cols]) for a, b, cols in groups], axis=-1)


def left(matrix: np.ndarray | jax.Array, y: jax.Array) -> jax.Array:
    """``matrix [..., m, n] @ y [n, F]`` (a host matrix, or a traced one gathered per row)."""
    return jnp.matmul(jnp.asarray(matrix, jnp.float32), y, precision=HIGHEST)
