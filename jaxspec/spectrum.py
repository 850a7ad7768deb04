"""The pure core: waveform at ``config.sample_rate`` -> spectrogram (jit/vmap/grad safe).

Pipeline per example (SPEC section 3, steps 3-8): normalize, augment (only with a
key), target length, partition into frames, window, zero-pad to ``fft_size``, real
FFT, ``|X| ** power``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import augmentation as _augment
from ._pytree import is_concrete_array
from .config import SpectrogramConfig
from .errors import ConfigError, InputError
from .io import pcm_to_float32
from .resampling import fit_length

_CHUNK_FRAMES = 2048  # frames per block of the loop used for long inputs


def _as_waveform(x: Any) -> jax.Array:
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
    return jnp.asarray(x)


def normalize(config: SpectrogramConfig, x: jax.Array) -> jax.Array:
    """Step 3: scales ``x [shape=(L,)]`` to the configured max or RMS level.

    An all-zero (or empty) signal stays all-zero.
    """
    if config.normalization is None or x.shape[-1] == 0:
        return x
    kind, level = config.normalization
    if kind == "max":
        size = jnp.max(jnp.abs(x), axis=-1, keepdims=True)
    else:
        size = jnp.mean(jnp.square(x), axis=-1, keepdims=True)
    positive = size > 0
    safe = jnp.where(positive, size, 1.0)
    # sqrt only after the guard: its infinite slope at 0 would make the gradient of
    # silence NaN (0 * inf) even though the output is 0.
    scale = level / (safe if kind == "max" else jnp.sqrt(safe))
    return jnp.where(positive, x * scale, 0.0)


def frames(x: jax.Array, window_size: int, offset: int, num_frames: int) -> jax.Array:
    """Partitions ``x [shape=(L,)]`` into ``[num_frames, window_size]``.

    Frame ``i`` is ``x[i * offset : i * offset + window_size]``, zeros past the end.
    One gather of contiguous windows whose starts are built in the graph (``iota``): a
    NumPy index constant would be folded into the compiled program (hundreds of MiB for
    long inputs); it measured faster than a per-sample index or hop-sized blocks.
    """
    x = fit_length(x, (num_frames - 1) * offset + window_size)
    starts = lax.iota(jnp.int32, num_frames) * offset
    return jax.vmap(lambda start: lax.dynamic_slice(x, (start,), (window_size,)))(starts)


def power_spectrum(framed: jax.Array, window: np.ndarray, fft_size: int, power: float) -> jax.Array:
    """``|rfft(frame * window, fft_size)| ** power`` for ``framed [shape=(..., n, ws)]``."""
    spectrum = jnp.fft.rfft(framed * jnp.asarray(window, jnp.float32), n=fft_size)
    energy = jnp.square(spectrum.real) + jnp.square(spectrum.imag)
    if power == 2.0:
        return energy
    # sqrt-like powers have an infinite slope at 0: keep gradients finite there.
    positive = energy > 0
    return jnp.where(positive, jnp.where(positive, energy, 1.0) ** (power / 2.0), 0.0)


def _spectrogram_one(config: SpectrogramConfig, x: jax.Array, key: jax.Array | None) -> jax.Array:
    x = augment_one(config, x, key)
    if config.target_samples is not None:
        x = fit_length(x, config.target_samples)
    n = config.num_frames(x.shape[0])
    if n == 0:
        return jnp.zeros((0, config.num_bins), jnp.float32)
    if key is not None and config.augmentation is not None:
        x = _materialize(x, (n - 1) * config.offset_samples + config.window_samples, key)
    return _frames_to_spectrum(config, x, n)


def _materialize(x: jax.Array, length: int, key: jax.Array) -> jax.Array:
    """``x`` zero-padded or trimmed to ``length``, computed once into its own buffer.

    XLA fuses elementwise producers into the frame gather, which reads every sample
    ``window / offset`` times: the augmentation (noise's inverse erf, the shift's
    gather) would be recomputed per read (measured 3-10x slower). A dynamic-update-slice
    at a runtime index is never fused into its consumer; ``optimization_barrier`` is
    dropped by XLA:CPU before fusion. The index is 0, derived from the key so that XLA
    cannot fold it to a constant and turn the update back into a fusible pad.
    """
    x = x[:length]
    zero = (jax.random.key_data(key).reshape(-1)[0] & 0).astype(jnp.int32)
    return lax.dynamic_update_slice(jnp.zeros((length,), x.dtype), x, (zero,))


def _frames_to_spectrum(config: SpectrogramConfig, x: jax.Array, n: int) -> jax.Array:
    """Steps 6-8 for ``n`` frames of ``x [shape=(L,)]``.

    Long inputs go through a loop over blocks of ``_CHUNK_FRAMES`` frames that writes
    into the output in place: the frames of the whole signal never exist at once
    (measured leaner and faster than one big gather on CPU).
    """
    ws, hop = config.window_samples, config.offset_samples
    spectrum = lambda framed: power_spectrum(framed, config.window, config.fft_samples, config.power)
    if n <= 2 * _CHUNK_FRAMES:
        return spectrum(frames(x, ws, hop, n))
    # Frames lying wholly inside x are read from x itself (no padded copy of a long
    # input); the few that run past its end come from a small zero-padded tail.
    inside = min(n, (x.shape[0] - ws) // hop + 1) if x.shape[0] >= ws else 0
    if inside < _CHUNK_FRAMES:
        x, inside = fit_length(x, (n - 1) * hop + ws), n
    segment = (_CHUNK_FRAMES - 1) * hop + ws

    def block(i, out):
        # The last block is moved back to end at frame `inside`: it recomputes a few
        # frames (identical values) instead of reading past them.
        first = jnp.minimum(i * _CHUNK_FRAMES, inside - _CHUNK_FRAMES)
        piece = lax.dynamic_slice(x, (first * hop,), (segment,))
        return lax.dynamic_update_slice(out, spectrum(frames(piece, ws, hop, _CHUNK_FRAMES)), (first, 0))

    steps = -(-inside // _CHUNK_FRAMES)
    # zeros_like(x, shape=...): under shard_map the carry must be "varying" like x.
    out = lax.fori_loop(0, steps, block, jnp.zeros_like(x, jnp.float32, shape=(n, config.num_bins)))
    if inside == n:
        return out
    tail = fit_length(x[inside * hop :], (n - inside - 1) * hop + ws)
    return lax.dynamic_update_slice(out, spectrum(frames(tail, ws, hop, n - inside)), (inside, 0))


def augment_one(config: SpectrogramConfig, x: jax.Array, key: jax.Array | None) -> jax.Array:
    """Steps 3-4 for one waveform ``[shape=(L,)]``: normalize, then augment with ``key``."""
    x = normalize(config, x)
    if key is None or config.augmentation is None:
        return x
    return _augment.apply(config.augmentation, x, key, config.sample_rate)


def _is_key_batch(key: jax.Array, batch: int) -> bool:
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    return key.ndim == (1 if typed else 2) and key.shape[0] == batch


def _check_key(key: Any) -> jax.Array:
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    if not typed and (key.dtype != jnp.uint32 or key.shape[-1:] != (2,)):
        raise InputError(
            f"key of dtype {key.dtype} and shape {key.shape} is not a PRNG key; "
            "use jax.random.key(seed) or jax.random.PRNGKey(seed)"
        )
    return key


# Frames per block of rows on CPU (issue 15). A whole batch vmapped at once materializes
# all its frames and their spectra: 64 clips of 2 s are 50 MB of temporaries, past the
# cache and past glibc's 32 MB mmap threshold, so every call also page-faults fresh
# memory. Measured on the 2-core EPYC (min of 10-40 interleaved rounds): 64 x 2 s 21.2
# ms vmapped vs 8.1 ms in blocks (0.17 -> 0.063 ms per second of audio); 64 x 4 s 47 vs
# 17-20 ms; 250 x 1 s 41.2 vs 15.9 ms. Up to 2 blocks' worth of frames (W1: 64 x 1 s =
# 7744 frames) stays one vmap: in two blocks it measured slower (4.0 vs 3.0 ms).
# Blocks of 2048-8192 frames measured alike; lax.map(batch_size=) was slower when the
# block does not divide the batch (its remainder is concatenated: 22 vs 12 ms at 256 rows),
# so the last block is moved back to end at the last row instead (it recomputes a few rows,
# identical values). Outputs are bit-identical to the single vmap. Accelerators keep the
# single vmap (their throughput wants the whole batch at once).
_BLOCK_FRAMES = 4096


def _map_rows(one, xs, rows: int, frames_per_row: int):
    """``jax.vmap(one)(xs)`` over ``rows`` rows; on CPU in blocks of about ``_BLOCK_FRAMES`` frames."""
    per_block = max(1, _BLOCK_FRAMES // max(1, frames_per_row))
    if rows * frames_per_row <= 2 * _BLOCK_FRAMES or per_block >= rows:
        return jax.vmap(one)(xs)

    def blocks(xs):
        first_row = jax.tree.map(lambda a: a[0], xs)
        shape = jax.eval_shape(one, first_row)
        x0 = jax.tree.leaves(xs)[0]
        # zeros_like(x0, shape=...): under shard_map the carry must be "varying" like x.
        out = jnp.zeros_like(x0, shape.dtype, shape=(rows, *shape.shape))

        def block(i, out):
            start = jnp.minimum(i * per_block, rows - per_block)
            part = jax.tree.map(lambda a: lax.dynamic_slice_in_dim(a, start, per_block), xs)
            return lax.dynamic_update_slice_in_dim(out, jax.vmap(one)(part), start, 0)

        return lax.fori_loop(0, -(-rows // per_block), block, out)

    return lax.platform_dependent(xs, cpu=blocks, default=lambda xs: jax.vmap(one)(xs))


def _map_examples(fn, config, x, key):
    """Applies ``fn(config, x_i, key_i)`` to ``[L]`` or to each row of ``[B, L]`` (traced)."""
    if x.ndim == 1:
        return fn(config, x, key)
    frames_per_row = -(-x.shape[1] // config.offset_samples)
    if key is None:
        return _map_rows(lambda row: fn(config, row, None), x, x.shape[0], frames_per_row)
    keys = key if _is_key_batch(key, x.shape[0]) else jax.random.split(key, x.shape[0])
    return _map_rows(lambda rk: fn(config, *rk), (x, keys), x.shape[0], frames_per_row)


# Always compiled, also when called eagerly: XLA contracts a * b + c into an FMA inside
# compiled code but not op by op, so an eager program would draw (and compute) values
# that differ in the last bit from the jitted one. Compiling both keeps draws identical.
_spectrogram_compiled = jax.jit(partial(_map_examples, _spectrogram_one))
_augment_compiled = jax.jit(partial(_map_examples, augment_one))


def _checked(config: Any, x: Any, key: Any) -> tuple[jax.Array, jax.Array | None]:
    """Host-side checks before tracing; concrete inputs are scanned for NaN / inf."""
    if not isinstance(config, SpectrogramConfig):
        raise ConfigError(f"config must be a SpectrogramConfig, got {type(config).__name__}")
    x = _as_waveform(x)
    if key is None:
        return x, None
    key = _check_key(key)
    single = key.ndim == (0 if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else 1)
    if not single and not (x.ndim == 2 and _is_key_batch(key, x.shape[0])):
        rows = f"{x.shape[0]} keys (one per row)" if x.ndim == 2 else "nothing else for one signal"
        raise InputError(f"key of shape {key.shape} does not fit x of shape {x.shape}: pass one key or {rows}")
    return x, key


def spectrogram(config: SpectrogramConfig, x: jax.Array, key: jax.Array | None = None) -> jax.Array:
    """Power spectrogram of a waveform already at ``config.sample_rate``.

    Args:
      config: the settings.
      x: float (or integer PCM) ``[shape=(L,)]`` one signal, or ``[shape=(B, L)]`` a
        batch.
      key: ``None`` (evaluation: no augmentation), a PRNG key (a batch uses
        ``jax.random.split(key, B)[i]`` for row i), or a batch of ``B`` keys.

    Returns:
      float32 ``[shape=(n_frames, bins)]`` or ``[shape=(B, n_frames, bins)]`` with
      ``bins = fft_size // 2 + 1`` and ``n_frames = ceil(L / offset)`` (or as set by
      ``target_length``). Frame ``i`` covers samples ``[i*offset, i*offset + window)``,
      zeros past the end (no centering).

    Pure: works under ``jax.jit`` (the config's static fields are in its treedef),
    ``jax.vmap`` and ``jax.grad`` with respect to ``x``.

    >>> import jax.numpy as jnp
    >>> spectrogram(SpectrogramConfig(), jnp.zeros(16000)).shape
    (121, 201)
    """
    return _spectrogram_compiled(config, *_checked(config, x, key))


def augment(config: SpectrogramConfig, x: jax.Array, key: jax.Array | None = None) -> jax.Array:
    """The waveform the spectrogram sees: normalization, then augmentation with ``key``.

    Args:
      config: the settings (its ``normalization`` and ``augmentation`` are used).
      x: float ``[shape=(L,)]`` or ``[shape=(B, L)]`` at ``config.sample_rate``.
      key: as for ``spectrogram``; ``None`` = no augmentation.

    Returns:
      float32 of the shape of ``x``. ``spectrogram(config, x, key)`` equals
      ``spectrogram(replace(config, normalization=None, augmentation=None),
      augment(config, x, key))``.
    """
    return _augment_compiled(config, *_checked(config, x, key))
