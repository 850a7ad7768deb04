"""Host-side checks of what the traced core receives: waveforms and keys.

Shared by ``spectrum`` and ``sharding``; everything here runs before tracing (or
passes tracers through unchecked) and raises ``InputError`` naming the value.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .errors import InputError
from .io import pcm_to_float32


def is_concrete_array(x: Any) -> bool:
    """True for a NumPy or JAX array whose values can be read on the host now."""
    return isinstance(x, (np.ndarray, jax.Array)) and not isinstance(x, jax.core.Tracer)


def as_waveform(x: Any) -> jax.Array:
    """float32 ``[L]`` or ``[B, L]`` from float or integer PCM; concrete input is checked for NaN / inf."""
    if isinstance(x, (np.ndarray, list, tuple)):
        x = np.asarray(x)
    elif not isinstance(x, jax.Array):
        x = jnp.asarray(x)
    if x.ndim > 2:
        raise InputError(f"x has shape {x.shape}; expected [L] (one signal) or [B, L] (a batch)")
    x = pcm_to_float32(x, "x")
    if is_concrete_array(x):
        # Eager even inside a user's jit that closes over a concrete array.
        with jax.ensure_compile_time_eval():
            finite = bool(np.isfinite(x).all() if isinstance(x, np.ndarray) else jnp.isfinite(x).all())
        if not finite:
            raise InputError("x has NaN or infinite samples")
    # device_put, not jnp.asarray: in jax 0.10 the latter compiles a copy per new shape.
    return x if isinstance(x, jax.Array) else jax.device_put(x)


def is_typed_key(key: jax.Array) -> bool:
    """True for a new-style key array (``jax.random.key``), False for raw uint32 keys."""
    return jnp.issubdtype(key.dtype, jax.dtypes.prng_key)


def is_key_batch(key: jax.Array, batch: int) -> bool:
    """True if ``key`` holds ``batch`` keys (one per row), typed or raw."""
    return key.ndim == (1 if is_typed_key(key) else 2) and key.shape[0] == batch


def check_key(key: Any) -> jax.Array:
    """``key`` as a JAX array if it is a PRNG key (typed, or raw uint32 ``[..., 2]``)."""
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if not is_typed_key(key) and (key.dtype != jnp.uint32 or key.shape[-1:] != (2,)):
        raise InputError(
            f"key of dtype {key.dtype} and shape {key.shape} is not a PRNG key; "
            "use jax.random.key(seed) or jax.random.PRNGKey(seed)"
        )
    return key


def row_keys(key: jax.Array, batch: int) -> jax.Array:
    """One key per row: ``key`` itself if it is a batch of keys, else ``jax.random.split(key, batch)``."""
    return key if is_key_batch(key, batch) else jax.random.split(key, batch)


def check_waveform_and_key(x: Any, key: Any) -> tuple[jax.Array, jax.Array | None]:
    """The waveform and key of ``spectrogram``, checked: one key, or one per row of a batch."""
    x = as_waveform(x)
    if key is None:
        return x, None
    key = check_key(key)
    single = key.ndim == (0 if is_typed_key(key) else 1)
    if not single and not (x.ndim == 2 and is_key_batch(key, x.shape[0])):
        rows = f"{x.shape[0]} keys (one per row)" if x.ndim == 2 else "nothing else for one signal"
        raise InputError(f"key of shape {key.shape} does not fit x of shape {x.shape}: pass one key or {rows}")
    return x, key


def check_lengths(lengths: Any, x: jax.Array) -> jax.Array | None:
    """``lengths`` as int32 ``[B]`` for a batch ``x [B, Lmax]``: concrete values must lie in
    ``[0, Lmax]``; traced ones are clipped to it in the graph."""
    if lengths is None:
        return None
    if x.ndim != 2:
        raise InputError(f"lengths= needs a batch x [B, Lmax]; x has shape {x.shape}")
    lengths = lengths if isinstance(lengths, jax.Array) else np.asarray(lengths)
    if lengths.shape != (x.shape[0],) or not jnp.issubdtype(lengths.dtype, jnp.integer):
        raise InputError(
            f"lengths of shape {lengths.shape} and dtype {lengths.dtype} must be integers [B] = [{x.shape[0]}], "
            "one length per row of x"
        )
    if is_concrete_array(lengths):
        with jax.ensure_compile_time_eval():
            low, high = int(np.min(lengths, initial=0)), int(np.max(lengths, initial=0))
        if low < 0 or high > x.shape[1]:
            raise InputError(f"lengths must lie in [0, {x.shape[1]}] (the padded length of x); got [{low}, {high}]")
    return jnp.clip(jnp.asarray(lengths, jnp.int32), 0, x.shape[1])
