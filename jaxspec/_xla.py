"""Workarounds for how XLA compiles jaxspec's programs, kept apart from the math.

Each trick below changes no value (bit for bit); it changes what XLA fuses or how a
program is compiled. Each states the measurement that justifies it, and
``tests/test_xla.py`` fails if XLA stops needing it or the trick stops working, so
that it can be removed the day it is dead weight.

- ``compiled``: run a function compiled even when it is called eagerly.
- ``numpy_defaults``: trace a function under JAX's default NumPy promotion rules.
- ``materialize``: a fusion barrier before a gather that reads each sample many times.
- ``held``: a fusion barrier for small per-item values spread over many samples.
- ``unfused``: an elementwise transform computed into its own buffer.
- ``varying_zeros``: a loop carry that is "varying" under ``shard_map``.
- ``map_rows``: a batch computed in groups or blocks of rows on CPU, sized to the cache.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax


def compiled(fn: Callable[..., Any], **jit_kwargs: Any) -> Callable[..., Any]:
    """``jax.jit(fn)``, meant to be called eagerly too.

    XLA contracts ``a * b + c`` into one fused multiply-add inside compiled code but not
    when jax runs op by op, so an eager call would draw (and compute) values that
    differ in the last bit from the same call inside a user's ``jax.jit``. Running the
    function compiled in both cases keeps drawn values bit-identical (SPEC section 4).
    It is traced under JAX's default NumPy rules (``numpy_defaults``).
    """
    return jax.jit(numpy_defaults(fn), **jit_kwargs)


def numpy_defaults(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` traced under JAX's default rank and dtype promotion, whatever the caller set:
    jaxspec's own broadcasts (a window ``[n]`` on frames ``[F, n]``) and mixed integer widths
    (``arange`` is int64 under x64, lengths int32) raised under a user's
    ``jax.numpy_rank_promotion("raise")`` or ``jax.numpy_dtype_promotion("strict")``."""

    @functools.wraps(fn)
    def traced(*args: Any, **kwargs: Any) -> Any:
        with jax.numpy_rank_promotion("allow"), jax.numpy_dtype_promotion("standard"):
            return fn(*args, **kwargs)

    return traced


def materialize(x: jax.Array, length: int, key: jax.Array) -> jax.Array:
    """``x`` zero-padded or trimmed to ``length``, computed once into its own buffer (a row
    under ``vmap``).

    XLA fuses elementwise producers into the frame gather, which reads every sample
    ``window / offset`` times: the augmentation (noise's inverse erf, the shift's
    gather, the hashes of a drawn gain) would be recomputed per read (measured 3-10x
    slower for W4). A dynamic-update-slice at a runtime index is never fused into its
    consumer; ``optimization_barrier`` is dropped by XLA:CPU before fusion. The index is
    0, derived from the key (``runtime_zero``), per row under ``vmap``.

    For one signal XLA simplifies that full-size update away and fuses anyway (a drawn
    gain on one signal of 3.25 s measured 1.13 ms against 0.20 ms for a fixed one), so
    ``spectrum`` holds one signal with ``held_on_cpu`` instead, before the framing's padding
    (0.50 ms; held after a reflect padding, XLA:CPU's compile ran for minutes). In a batch
    ``held`` measured 3-4x slower than this update (8 signals 1.4 -> 4.5 ms).
    """
    x = x[:length]
    return lax.dynamic_update_slice(jnp.zeros((length,), x.dtype), x, (runtime_zero(key),))


def runtime_zero(key: jax.Array) -> jax.Array:
    """An int32 0 that XLA cannot fold, batched or not: bit 1 of ``w * w`` for the first word
    ``w`` of ``key`` (a square is 0 or 1 modulo 4, also modulo 2**32), for ``materialize``'s
    index and ``held``'s trip count. (``w & 0``, the earlier form, is folded outside ``vmap``.)"""
    word = jax.random.key_data(key).reshape(-1)[0]
    return ((word * word) & 2).astype(jnp.int32)


@jax.custom_jvp
def held(x: jax.Array, zero: jax.Array) -> jax.Array:
    """``x`` computed into its own buffer, never fused into a consumer.

    Per-item values of a packed stream (drawn gains, shifts, noise keys: ``[K]`` arrays
    from a few Threefry hashes each) are read per sample through a gather; fused there,
    XLA recomputes each item's hashes for every sample: a volume stage on a 17 s chunk
    measured 1.3-1.4 ms instead of ~0.3. ``x`` becomes the result of a loop whose trip
    count is ``1 + zero``, with ``zero`` a runtime 0 (an input value, or ``runtime_zero``,
    which XLA cannot fold): XLA cannot unroll the loop, and a loop's result is a buffer of
    its own. (A dynamic-update-slice at a runtime index does not serve: XLA simplifies a
    full-size update away and fuses one into a spare row.) Differentiable: its JVP is the
    identity's (reverse mode cannot go through a loop of runtime length).
    """
    return lax.fori_loop(0, 1 + zero, lambda i, carry: x, jnp.zeros_like(x))


@held.defjvp
def _held_jvp(primals: tuple, tangents: tuple) -> tuple:
    # the identity's derivative: reverse mode cannot go through a loop of runtime length
    x, zero = primals
    return held(x, zero), tangents[0]


def held_on_cpu(x: jax.Array, zero: jax.Array) -> jax.Array:
    """``held(x, zero)`` on CPU, ``x`` itself elsewhere: the recomputation it avoids was
    measured on XLA:CPU only, and a loop on an accelerator waits for its predicate on the host."""
    return lax.platform_dependent(x, zero, cpu=held, default=lambda x, zero: x)


def unfused(transform: Callable[[jax.Array], jax.Array], x: jax.Array, dtype: Any, pieces: int = 2) -> jax.Array:
    """``transform(x)`` for an elementwise ``transform`` of ``x [shape=(n,)]``, never fused downstream.

    The transform runs in a loop over ``pieces`` slices: a loop's output is a buffer of
    its own, so XLA cannot fuse a costly transform (white noise's inverse erf) into a
    consumer that reads it through a gather (the time shift), where it would run
    unvectorized (measured 2.4x slower for white noise + shift).
    """
    n = x.shape[0]
    size = -(-n // pieces)
    x = jnp.pad(x, (0, pieces * size - n))

    def step(i: jax.Array, out: jax.Array) -> jax.Array:
        return lax.dynamic_update_slice(out, transform(lax.dynamic_slice(x, (i * size,), (size,))), (i * size,))

    return lax.fori_loop(0, pieces, step, varying_zeros(x, x.shape, dtype))[:n]


def varying_zeros(like: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """Zeros of ``shape`` and ``dtype`` that vary over the same mesh axes as ``like``.

    Under ``jax.shard_map`` a loop carry must have the same "varying" type as the values
    the loop writes into it; ``jnp.zeros`` is replicated and the loop would be rejected.
    ``zeros_like`` inherits ``like``'s type (and costs nothing outside ``shard_map``).
    """
    return jnp.zeros_like(like, dtype, shape=shape)


BLOCK_SAMPLES = 4096 * 400
"""Frame samples per block of rows in ``map_rows`` on CPU (4096 frames of the default 400)."""

GROUP_SAMPLES = 3 << 18
"""Frame samples per group of rows (3 MiB of float32 frames) when ``map_rows`` writes the
groups out one after the other on CPU (``row_groups``)."""

GROUP_BATCH_BYTES = 28 << 20
"""The most a batch's FFT input (``bytes_per_row`` of each row) may take for ``map_rows``
to write its groups out on CPU; beyond, it loops over blocks (``block_rows``)."""


def row_groups(rows: int, samples_per_row: int, bytes_per_row: int, least: int = 1) -> list[int] | None:
    """Where the groups of ``map_rows`` start and end on CPU (``[0, ..., rows]``), or ``None``
    for a batch that is one vmap (up to two blocks of frame samples, as ``block_rows``) or too
    large to be written out (then the loop over blocks of ``block_rows``).

    ``bytes_per_row``: the float32 bytes of a row's frames at the FFT size, once more per
    preprocessing stage (each one a copy of the frames): a written-out program keeps every
    group's temporaries, so a large batch passed glibc's 32 MiB mmap threshold and
    page-faulted them on every call (Kaldi fbank on 40 x 3 s: 36 MiB of temporaries, 2x
    slower; on 32 x 3 s 30 MiB, 0.96x; Whisper on 8 x 30 s 39 MiB, 0.6x). ``least``: the fewest
    rows of a group (2 where the rows are augmented: a group of one row is one signal, whose
    augmentation XLA fuses into the frame gather, ``materialize``; 8 x 16 s with a drawn time shift
    took 191 ms in groups of one row, 15.5 ms in groups of two, 15.8 ms in blocks).

    >>> from jaxspec._xla import row_groups
    >>> row_groups(64, 32 * 2048, 32 * 2048 * 4), row_groups(64, 121 * 400, 121 * 400 * 4)
    ([0, 11, 21, 32, 43, 53, 64], None)
    """
    if _one_vmap(rows, samples_per_row) or rows * bytes_per_row > GROUP_BATCH_BYTES:
        return None
    count = min(rows // least, -(-rows * samples_per_row // GROUP_SAMPLES))
    return [round(i * rows / count) for i in range(count + 1)] if count > 1 else None


def block_rows(rows: int, samples_per_row: int, least: int = 1) -> int | None:
    """Rows per block of ``map_rows`` on CPU, or ``None`` for one vmap: the fewest blocks of
    at most ``BLOCK_SAMPLES`` frame samples, evened out (64 rows that fit 25 per block are
    3 blocks of 22, not 25 + 25 + 14 moved back over 11 rows already done), of ``least`` rows
    at least (augmented rows, as in ``row_groups``: 8 x 30 s with a drawn shift took 791 ms in
    blocks of one row, 41 ms in pairs).

    >>> from jaxspec._xla import block_rows
    >>> block_rows(64, 32 * 2048), block_rows(64, 121 * 400)
    (22, None)
    """
    per_block = max(least, BLOCK_SAMPLES // max(1, samples_per_row))
    if _one_vmap(rows, samples_per_row) or per_block >= rows:
        return None
    return -(-rows // -(-rows // per_block))


def _one_vmap(rows: int, samples_per_row: int) -> bool:
    """Up to two blocks of frame samples a batch stays one vmap (W1's 64 x 1 s: 3.1 M)."""
    return rows * samples_per_row <= 2 * BLOCK_SAMPLES


def map_rows(
    one: Callable[[Any], jax.Array],
    xs: Any,
    rows: int,
    samples_per_row: int,
    bytes_per_row: int,
    least: int = 1,
) -> jax.Array:
    """``jax.vmap(one)(xs)`` over ``rows`` rows; on CPU, past two blocks of ``BLOCK_SAMPLES``
    frame samples, in groups of about ``GROUP_SAMPLES`` written out one after the other, or for
    a larger batch in a loop over blocks (``samples_per_row``: a row's frames times the samples
    of a frame; ``bytes_per_row`` and ``least``: see ``row_groups``).

    Groups written out instead of the loop (2026-12-04, the 2-core EPYC, bit-identical
    outputs): librosa's default mel on 64 x 1 s (W5c; 3 blocks before) 8.2-11.5 -> 5.6-6.1 ms in
    ``benchmarks/run.py`` (its peers interleaved, so a cold cache), 7.0-7.3 -> 4.5-5.2 ms called
    back to back; 128 x 1 s of the default spectrogram 6.8-7.9 -> 4.9-5.5 ms back to back. A
    loop iteration costs about as much as a group's transform here (W5c as 3 groups: 4.4 ms).
    Below two blocks the single vmap stays: groups were faster only with a warm cache (W1
    2.7 -> 2.3 ms back to back, the same 3.1-3.5 ms in run.py) and doubled its first call
    (0.078 -> 0.163 s). In the group range the first call takes longer too (W5c 0.24 -> 0.45
    s trace + compile; with augmentation, 40 x 2 s 0.72 -> 1.78 s). The plan sees only these
    ``rows``: under a caller's own ``jax.vmap`` the groups' temporaries are that many times larger.

    A whole batch vmapped at once materializes all its frames and their spectra: 64
    clips of 2 s are 50 MB of temporaries, past the cache and past glibc's 32 MB mmap
    threshold, so every call also page-faults fresh memory. Measured on the 2-core EPYC
    (min of 10-40 interleaved rounds): 64 x 2 s 21.2 ms vmapped vs 8.1 ms in blocks
    (0.17 -> 0.063 ms per second of audio); 64 x 4 s 47 vs 17-20 ms; 250 x 1 s 41.2 vs
    15.9 ms. Up to 2 blocks' worth of frames (W1: 64 x 1 s = 7744 frames) stays one
    vmap: in two blocks it measured slower (4.0 vs 3.0 ms). ``lax.map(batch_size=)`` was
    slower when the block does not divide the batch (its remainder is concatenated: 22
    vs 12 ms at 256 rows), so the last block is moved back to end at the last row (it
    recomputes a few rows, identical values; the blocks are evened out so that few are:
    64 rows in blocks of at most 25 are 3 blocks of 22). The block is sized in frame samples, not
    frames: librosa's default mel (frames of 2048) on 64 x 1 s measured 12.2 ms as one
    vmap and 7.1-7.4 ms in blocks of 16-32 rows. Outputs are bit-identical to the single
    vmap. Accelerators keep the single vmap (their throughput wants the whole batch).
    """
    if not isinstance(rows, int):  # a symbolic batch (jax.export): one vmap, as on accelerators
        return jax.vmap(one)(xs)
    bounds = row_groups(rows, samples_per_row, bytes_per_row, least)
    per_block = None if bounds is not None else block_rows(rows, samples_per_row, least)
    if bounds is None and per_block is None:
        return jax.vmap(one)(xs)

    def groups(xs: Any) -> jax.Array:
        rows_of = lambda s, e: jax.tree.map(lambda a: a[s:e], xs)  # noqa: E731
        return jnp.concatenate([jax.vmap(one)(rows_of(s, e)) for s, e in zip(bounds, bounds[1:], strict=False)])

    def blocks(xs: Any) -> jax.Array:
        first_row = jax.tree.map(lambda a: a[0], xs)
        shape = jax.eval_shape(one, first_row)
        out = varying_zeros(jax.tree.leaves(xs)[0], (rows, *shape.shape), shape.dtype)

        def block(i: jax.Array, out: jax.Array) -> jax.Array:
            start = jnp.minimum(i * per_block, rows - per_block)
            part = jax.tree.map(lambda a: lax.dynamic_slice_in_dim(a, start, per_block), xs)
            return lax.dynamic_update_slice_in_dim(out, jax.vmap(one)(part), start, 0)

        return lax.fori_loop(0, -(-rows // per_block), block, out)

    cpu = groups if bounds is not None else blocks
    return lax.platform_dependent(xs, cpu=cpu, default=lambda xs: jax.vmap(one)(xs))
