"""Packed corpora: items of any lengths laid end to end in one stream, one program for all.

``corpus.encode_waves`` uses this for configs whose frames depend on nothing but their
own samples (``packable``): no bucket, no padding to a ladder, and one compiled program
(with or without a key) whatever the lengths and the corpus.

**The layout.** Each item starts on a frame boundary of the stream (on a row of the
output that is 64-byte aligned, so that an item's rows are handed out without a copy)
and is followed by the zeros its last frame reads. The stream is computed in chunks of
``pack_frames(config)`` frames; chunk ``k`` reads stream samples from ``k * F * offset``
(chunks overlap by the samples two frames share), so an item's frames are rows of the
chunks' outputs, cut on the host. Padding: about ``window / offset`` frames per item
(2 for the seed's default) and the alignment (up to 15 rows of 201 bins), instead of
the ladder's ~20 %.

**With a key** (every active stage has a ``packed`` form in the stage table: volume,
noise, time shift, convolution), each item lies wholly inside one chunk, at most
``MAX_PACK_ITEMS`` per chunk, preceded by at least ``R - 1`` zeros for an impulse
response of ``R`` samples. The chunk's program augments it (each item with its own
key, its own draws for its own length, every stage's output cut at its end: what the
item draws alone, SPEC section 8), then computes its frames. Items longer than a chunk
go through the bucket ladder of ``corpus``.

**Threads.** The chunk program is traced and compiled once in the caller's thread (under
its JAX settings); worker threads (``workers``) then fill chunks, run the compiled
program and hand out the items' rows, several chunks at once: XLA:CPU runs the programs
of one thread one after another, and a chunk's program keeps about one core busy.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._inputs import check_samples
from .chunk_programs import (
    ALIGN_BYTES,
    MAX_PACK_ITEMS,
    align_rows,
    augmented_chunk,
    granule,
    item_tables,
    keyless_chunk,
)
from .config import SpectrogramConfig
from .errors import InputError
from .framing import dithers, uses_key
from .planner import blockwise

PACK_FRAME_SAMPLES = 2048 * 400
"""Frame samples (frames x frame length) per chunk of a packed stream."""
_MAX_PACK_FRAMES = 4096  # beyond, spectrogram computes one input in a loop of blocks (slower per frame)
_MAX_WORKERS = 4  # threads filling and running chunks at once on CPU
_OPEN_CHUNKS = 8  # chunks a keyed layout may still add items to


def packable(config: SpectrogramConfig, keyed: bool = False) -> bool:
    """Whether items of ``config`` can be packed into one stream: each frame's output
    depends on its own samples only (``planner.blockwise``), nothing is computed over a
    whole example first (normalization, target length) and, with a key (``keyed``), every
    active augmentation stage has a packed form and no frame draws dither.

    >>> import jaxspec
    >>> from jaxspec.packing import packable
    >>> packable(jaxspec.SpectrogramConfig()), packable(jaxspec.SpectrogramConfig(normalization=("max", 1.0)))
    (True, False)
    """
    if config.normalization is not None or config.target_length is not None or not blockwise(config):
        return False
    if not keyed:
        return True
    if dithers(config.preprocess):
        return False  # a keyed dither draws per frame index of its example
    return config.augmentation is None or all(stage.packed is not None for stage, _ in config.augmentation.active())


LONG_SIGNAL_CHUNKS = 4
"""The fewest chunks' frames of a signal that an eager ``spectrogram`` computes in chunks."""
LONG_OUTPUT_BYTES = 32 << 20
"""The smallest output (bytes) for which an eager ``spectrogram`` of one signal is computed in
chunks by worker threads on CPU (``chunked``): glibc's largest mmap threshold, past which the
one program's output is fresh pages on every call (about 6 minutes of 16 kHz audio at the defaults)."""


def chunked(config: SpectrogramConfig, x: Any, key: Any = None, lengths: Any = None) -> bool:
    """Whether an eager ``spectrogram(config, x, key, lengths=lengths)`` computes ``x`` as one
    item of a packed stream: one concrete, uncommitted signal ``[L]`` on CPU whose output
    reaches ``LONG_OUTPUT_BYTES`` (and ``LONG_SIGNAL_CHUNKS`` chunks), a ``packable`` config,
    nothing drawn with a key (augmentation, dither), more than one worker. Its frames equal
    those of the jitted call: bit for bit for a spectrogram (tested) in the frames inside the
    signal; within float32 rounding (about 1e-7 relative) in the last frames, which reach past
    its end, and in some frames when a stage sums over a frame (mel, DCT, RemoveDC), since the
    jitted call computes its blocks and its last frames in other shapes (an FFT of another
    batch shape, or XLA summing in another order).

    Measured on 2 CPU cores at the defaults (min ms, threaded / one program): 16 chunks of
    2048 frames (25 MB out) 10.95 / 10.53, 24 (38 MB) 18.2 / 22.4, 36 (57 MB, W2's
    10 minutes) 26.4 / 32.8, 64 (100 MB) 46.4 / 57.7, 128 (201 MB) 81.9 / 224; below 16
    chunks one program wins (4 chunks: 4.1 / 2.5).
    """
    if lengths is not None or not isinstance(x, (np.ndarray, jax.Array)) or isinstance(x, jax.core.Tracer):
        return False
    if x.ndim != 1 or (key is not None and uses_key(config)):
        return False  # something to draw: the chunks take no key
    frames = int(config.num_frames(int(x.shape[0])))  # first: most calls stop here
    if frames < LONG_SIGNAL_CHUNKS * pack_frames(config) or frames * config.num_features * 4 < LONG_OUTPUT_BYTES:
        return False
    # a committed array (placed on a device by the user, or sharded) keeps the jitted call,
    # which computes where it lies
    on_cpu = isinstance(x, np.ndarray) or (not x.committed and all(d.platform == "cpu" for d in x.devices()))
    return on_cpu and packable(config) and jax.default_backend() == "cpu" and workers() > 1


def pack_frames(config: SpectrogramConfig) -> int:
    """Frames per chunk: ``PACK_FRAME_SAMPLES // fft_samples`` (a frame's FFT input; by its
    window, a 2-sample window in a 2**20-point FFT took 4096 frames, 17 GB, and the CLI was
    OOM-killed on one sample), 64 to 4096, a multiple of 64.

    Measured on 2 CPU cores (default spectrogram): a chunk of 2048 frames (17 s) costs
    0.27 us per frame, 4096 frames 0.30, 8192 (which ``spectrogram`` computes in a loop
    of blocks) 0.35; rows of a batch 0.27-0.55.
    """
    return int(min(_MAX_PACK_FRAMES, max(64, PACK_FRAME_SAMPLES // config.fft_samples))) // 64 * 64


def _chunk_samples(config: SpectrogramConfig) -> int:
    """Samples of one chunk: its frames' span, rounded up to whole granules (``chunk_programs.granule``)."""
    span = (pack_frames(config) - 1) * config.offset_samples + config.frame_samples
    return -(-span // granule(config)) * granule(config)


def _taps(config: SpectrogramConfig) -> int:
    """Samples of the configured impulse response (1 without convolution)."""
    convolution = getattr(config.augmentation, "convolution", None)
    return 1 if convolution is None else int(convolution.signal.shape[0])


def _layout(config: SpectrogramConfig, lengths: list[int], keyed: bool) -> tuple[list[int | None], list[int]]:
    """Each item's first frame in the stream and its frame count (``None``: not packed,
    too long for a chunk with a key; items with no frames get 0).

    Without a key the items follow each other in order (they may span chunks). With a
    key each lies whole in one chunk: it goes to the first of the last ``_OPEN_CHUNKS``
    chunks it fits in (W6's 1000 clips of 0.5-6 s with a 0.3 s response: 233 chunks in
    order, 212 this way, 211 with every chunk open; their frames alone fill 189, the
    rest is each item's response reach and aligned rows).
    """
    hop, frame, chunk = config.offset_samples, config.frame_samples, pack_frames(config)
    chunk_samples = _chunk_samples(config)
    align = align_rows(config)
    reach = _taps(config) - 1  # zeros an item's convolution reads before it
    counts = np.asarray(config.num_frames(np.asarray(lengths, np.int64))).tolist()  # one call: 0.1 vs 5 ms for W6

    def span(n: int, frames: int) -> int:
        """Frames from an item's start to the next item's: its frames' samples (with a
        key: all its samples, and its response's reach), aligned rows."""
        rows = -(-max((frames - 1) * hop + frame, n + reach if keyed else 0) // hop)
        return -(-rows // align) * align

    starts: list[int | None] = []
    if not keyed:
        position = 0
        for n, frames in zip(lengths, counts, strict=True):
            starts.append(position if frames else 0)
            position += span(n, frames) if frames else 0
        return starts, counts
    chunks: collections.deque = collections.deque(maxlen=_OPEN_CHUNKS)  # [index, next free frame, items]
    opened = 0
    for n, frames in zip(lengths, counts, strict=True):
        if frames == 0 or frames > chunk or n > chunk_samples:
            starts.append(0 if frames == 0 else None)  # nothing to compute, or longer than a chunk
            continue
        slot = next(
            (c for c in chunks if c[2] < MAX_PACK_ITEMS and c[1] + frames <= chunk and c[1] * hop + n <= chunk_samples),
            None,
        )
        if slot is None:
            slot = [opened, 0, 0]
            opened += 1
            chunks.append(slot)
        starts.append(slot[0] * chunk + slot[1])
        slot[1] += span(n, frames)
        slot[2] += 1
    return starts, counts


def encode_packed(
    config: SpectrogramConfig,
    waves: Sequence[Any],
    key_data: np.ndarray | None = None,
    host: bool = False,
    checked: bool = False,
    name: str = "wave",
) -> list:
    """Spectrograms of ``waves`` packed into one stream (``packable(config, keyed)``).

    Args:
      config: a ``packable`` config.
      waves: float32 ``[shape=(n_i,)]`` waveforms at ``config.sample_rate`` (read only).
      key_data: ``None``, or uint32 ``[shape=(len(waves), 2)]``: each wave's Threefry key words.
      host: NumPy results (else JAX arrays, which alias the chunks' outputs).
      checked: the waves were checked as ``spectrogram`` checks its input (finite, not too
        large for the config): the chunks are not scanned again. Else each worker scans the
        chunk it has filled (as the longest wave would be checked: the magnitude bound grows
        with the length), and the samples no frame reads are scanned apart; on a failure
        the waves are checked in order, one by one, so that the error is the one
        ``spectrogram`` raises for the first bad wave.
      name: what that error calls the wave (``"{name} {i}"`` when there are several).

    Returns:
      ``[shape=(config.num_frames(n_i), features)]`` per wave (``None`` for waves too long
      for a chunk with a key: the caller encodes those another way). Each equals
      ``spectrogram(config, waves[i], key_i)`` (relative 1e-5; the same draws).
    """
    if checked:
        return _encode_packed(config, waves, key_data, host, scan=False)
    try:
        _check_unframed(config, waves)
        return _encode_packed(config, waves, key_data, host, scan=True)
    except InputError:
        check_each(config, waves, name, indexed=len(waves) > 1)
        # every wave passes alone: a chunk was held to its longest wave's bound
        return _encode_packed(config, waves, key_data, host, scan=False)


def check_each(config: SpectrogramConfig, waves: Sequence[Any], name: str = "wave", indexed: bool = True) -> None:
    """``check_samples`` on each wave alone, in order: the ``InputError`` ``spectrogram``
    raises for the first bad one, calling it ``"{name} {i}"`` (``name`` if not ``indexed``)."""
    for i, wave in enumerate(waves):
        check_samples(config, np.asarray(wave), f"{name} {i}" if indexed else name)


def _check_unframed(config: SpectrogramConfig, waves: Sequence[Any]) -> None:
    """``check_samples`` on the samples of each wave that no frame reads (past its last
    frame; the whole of a wave without frames), which no chunk holds."""
    hop, frame = config.offset_samples, config.frame_samples
    longest = max((int(np.shape(w)[0]) for w in waves), default=0)
    for wave in waves:
        n = int(np.shape(wave)[0])
        frames = int(config.num_frames(n))
        used = 0 if frames == 0 else min(n, (frames - 1) * hop + frame)
        if used < n:
            check_samples(config, np.asarray(wave)[used:], "wave", longest)


def _encode_packed(
    config: SpectrogramConfig, waves: Sequence[Any], key_data: np.ndarray | None, host: bool, scan: bool
) -> list:
    """``encode_packed``; ``scan``: each chunk is checked once filled (``InputError``)."""
    keyed = key_data is not None and config.augmentation is not None
    hop, frame, chunk = config.offset_samples, config.frame_samples, pack_frames(config)
    chunk_samples = _chunk_samples(config)
    lengths = [int(np.shape(w)[0]) for w in waves]
    longest = max(lengths, default=0)
    starts, counts = _layout(config, lengths, keyed)
    results: list[Any] = [None] * len(waves)
    if any(s is not None and n == 0 for s, n in zip(starts, counts, strict=True)):
        empty = np.zeros((0, config.num_features), np.float32)
        empty = empty if host else jax.device_put(empty)  # one array for every item without frames
        for i, (s, n) in enumerate(zip(starts, counts, strict=True)):
            if s is not None and n == 0:
                results[i] = empty
    packed = sorted((s, i) for i, s in enumerate(starts) if s is not None and counts[i] > 0)  # stream order
    order = [i for _, i in packed]
    firsts = [s for s, _ in packed]
    total = max((starts[i] + counts[i] for i in order), default=0)
    if total == 0:
        return results
    inputs = [jax.ShapeDtypeStruct((chunk_samples,), jnp.float32)]
    if keyed:
        granules = chunk_samples // granule(config)
        inputs += [jax.ShapeDtypeStruct((MAX_PACK_ITEMS, 4), jnp.int32), jax.ShapeDtypeStruct((granules,), jnp.int32)]
    # Traced and compiled here, under the caller's JAX settings (thread-local ones included);
    # the workers run the compiled program.
    program = (augmented_chunk if keyed else keyless_chunk).trace(config, *inputs).lower().compile()
    device = jax.config.jax_default_device  # the caller's, for the results the workers hand out
    local = threading.local()

    def run(first: int) -> list:
        """Fills and computes the chunk of frames ``[first, first + chunk)`` (in a worker);
        returns ``(i, result)`` for the items wholly inside it."""
        if not hasattr(local, "x"):
            local.x = _aligned_empty((chunk_samples,))  # a buffer per worker, free once its chunk is done
        x = local.x
        begin = first * hop  # this chunk's first stream sample
        items = _overlapping(order, firsts, first, first + chunk)
        table = []
        filled = 0  # samples before it are written: only the gaps between items are zeroed
        for i in items:
            offset = starts[i] * hop - begin  # the item's first sample in this chunk
            used = lengths[i] if keyed else min(lengths[i], (counts[i] - 1) * hop + frame)
            a, b = max(0, -offset), min(used, chunk_samples - offset)
            if a < b:
                x[filled : offset + a] = 0.0
                x[offset + a : offset + b] = np.asarray(waves[i])[a:b]
                filled = offset + b
            if keyed and first <= starts[i] < first + chunk:
                table.append((offset, lengths[i], *key_data[i].view(np.int32)))
        x[filled:] = 0.0
        if scan:
            check_samples(config, x, "a chunk", longest)  # as spectrogram checks its input
        args = (config, x, *item_tables(config, x, table)) if keyed else (config, x)
        out = np.asarray(program(*args))[:chunk]
        whole = []
        for i in items:
            a, b = max(starts[i], first), min(starts[i] + counts[i], first + chunk)
            if a >= b:  # an item that ended before this chunk
                continue
            if i in straddling:  # its rows in this chunk, copied into its own output
                straddling[i][a - starts[i] : b - starts[i]] = out[a - first : b - first]
            else:  # wholly inside: handed out as rows of the chunk's output
                whole.append((i, out[a - first : b - first]))
        return _handed_out(whole, host, device)

    # Items whose frames cross a chunk edge (keyless) get an output of their own, which the
    # workers fill in place (row ranges of different chunks do not overlap).
    straddling = {
        i: _aligned_empty((counts[i], config.num_features))
        for i in order
        if starts[i] // chunk != (starts[i] + counts[i] - 1) // chunk
    }
    _run_chunks(run, range(0, total, chunk), results)
    for i, array in _handed_out(list(straddling.items()), host, device):
        results[i] = array
    return results


def _run_chunks(run: Any, firsts: range, results: list) -> None:
    """``run(first)`` for each chunk on ``workers()`` threads, its ``(i, result)`` pairs stored in ``results``."""
    threads = workers()
    in_flight: collections.deque = collections.deque()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="jaxspec-pack") as pool:
        for first in firsts:
            in_flight.append(pool.submit(run, first))
            if len(in_flight) > threads + 1:  # a chunk ready for each worker, and a few MB at most
                for i, array in in_flight.popleft().result():
                    results[i] = array
        for future in in_flight:
            for i, array in future.result():
                results[i] = array


def _handed_out(items: list, host: bool, device: Any) -> list:
    """``(i, rows)`` pairs with NumPy rows, or (``host=False``) JAX arrays that alias them,
    uncommitted on ``device`` (``None``: the default one); one ``device_put`` for all."""
    if host or not items:
        return items
    with jax.default_device(device) if device is not None else contextlib.nullcontext():
        arrays = jax.device_put([rows for _, rows in items], may_alias=True)
    return [(i, array) for (i, _), array in zip(items, arrays, strict=True)]


def workers() -> int:
    """Threads that fill and run chunks at once: on CPU one per core and one more (at most
    ``_MAX_WORKERS``); 2 on accelerators (a chunk is filled and its results copied back
    while the next one runs).

    XLA:CPU runs the programs one thread dispatches one after another, and a chunk's program
    is mostly serial (an augmented W6 chunk: 2.37 ms on 2 cores, 3.03 ms on one); from two
    threads two chunks run at once (1.86-1.94 ms per chunk on 2 cores). The extra worker
    fills its chunk while the others' programs run: W6 on 2 cores, augmented 0.51-0.53 s
    against 0.53-0.54 s with the main thread filling for 2 workers, keyless alike (0.17-0.19 s).
    """
    if jax.default_backend() != "cpu":
        return 2
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(_MAX_WORKERS, cores + 1))


def _overlapping(order: list[int], firsts: list[int], low: int, high: int) -> list[int]:
    """Items (stream order) whose frames may lie in ``[low, high)``: from the last one
    starting at or before ``low`` to the last starting before ``high``."""
    lo = max(0, bisect.bisect_right(firsts, low) - 1)
    return order[lo : bisect.bisect_left(firsts, high)]


def _aligned_empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialized float32 array starting on a ``ALIGN_BYTES`` boundary (so that
    ``device_put`` aliases it instead of copying it)."""
    size = math.prod(shape)
    spare = ALIGN_BYTES // 4
    buffer = np.empty(size + spare, np.float32)
    start = (-buffer.ctypes.data % ALIGN_BYTES) // 4
    return buffer[start : start + size].reshape(shape)
