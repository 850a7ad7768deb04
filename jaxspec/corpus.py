"""Ragged corpora on the host: the bucket ladder and per-file keys.

**The bucket ladder.** Items of any length are zero-padded to the next length of a
fixed geometric ladder and computed in batches of a fixed size per bucket (padding
rows added), with ``spectrogram(..., lengths=...)``: each compiled program (one per
bucket, with or without a key) is reused for every length below its bucket, and
across corpora. The ladder is ``LADDER_BASE * 2**(k / 2)`` samples rounded up to a
multiple of ``LADDER_GRANULE`` (k = 0, 1, 2, ...): a bucket is at most 50 % longer
than the items in it (41 % between rungs, plus the rounding to 256 samples: 1025 -> 1536;
44 % from 0.5 to 8 s at 16 kHz; about 20 % on average for lengths spread evenly on a log
scale), and lengths from 0.5 s to 8 s at 16 kHz fall in 9 buckets. The batch size of a
bucket is ``max(1, BATCH_SAMPLES // bucket)`` rows, capped at ``MAX_BATCH``: a batch
holds at most about ``BATCH_SAMPLES`` samples whatever the bucket; with a config, also at
most ``BATCH_VALUES // (frames x FFT size)`` rows (a small hop: an item's frames, not its
samples, set the memory).

**Packing.** A config whose frames depend on nothing but their own samples
(``packing.packable``: the seed's or Kaldi's ``snip_edges`` framing, no normalization,
no target length, framewise feature stages; with a key, waveform augmentation only)
needs no bucket: ``encode_waves`` lays the items end to end in one stream computed in
fixed chunks by one program, whatever the lengths (``jaxspec.packing``).
Items too long for a chunk with a key, and other configs, use the ladder.

**Threads.** Ladder batches, like packed chunks, are compiled in the caller's thread and run
from worker threads (``packing.workers``), several at once on CPU.

**File keys.** With a seed, a file's key derives only from the seed and its relative
output name: ``fold_in(fold_in(key(seed), hi), lo)`` with ``hi, lo`` the two 32-bit
halves of a 64-bit BLAKE2b hash of the UTF-8 name (its 8 bytes read little-endian). Adding a file or splitting the work
differently (threads, workers, hosts) changes no other file's key, and a million
names have no collision (about 3e-8 chance at 2**64).
"""

from __future__ import annotations

import collections
import hashlib
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import packing
from .augmentation.random import fold_in_words, seed_words
from .config import SpectrogramConfig
from .errors import InputError
from .packing import check_each, encode_packed, packable
from .spectrum import checked_batch_spectrogram, spectrogram_program

LADDER_BASE = 1024
"""The shortest bucket, in samples."""
LADDER_GRANULE = 256
"""Every bucket is a multiple of this many samples."""
BATCH_SAMPLES = 1 << 20
"""Samples per batch (rows x bucket length), about 65 s of 16 kHz audio."""
MAX_BATCH = 64
"""The most rows of one batch (short buckets)."""
BATCH_VALUES = 1 << 26
"""Frames x FFT size per batch, at most (256 MiB of float32 frames): the default config's
batches hold at most 3.2 M and ``presets.whisper()``'s (3000 frames a row) 55 rows, so only a
small hop makes batches smaller: a bucket of 60 000 samples at a hop of 1 and a 1024-point
window held 16 rows of 66 M values, 2.4 GB for one item (now 1 row)."""


def bucket_length(length: int) -> int:
    """The ladder length that holds ``length`` samples: the smallest rung ``>= length``.

    >>> from jaxspec.corpus import bucket_length
    >>> [bucket_length(n) for n in (0, 1024, 1025, 8000, 16000, 128000)]
    [1024, 1024, 1536, 8192, 16384, 131072]
    """
    length = int(length)
    if length <= LADDER_BASE:
        return LADDER_BASE
    k = max(0, math.ceil(2 * math.log2(length / LADDER_BASE)) - 1)  # rounding up may make rung k - 1 fit
    while True:
        rung = -(-math.ceil(LADDER_BASE * 2 ** (k / 2)) // LADDER_GRANULE) * LADDER_GRANULE
        if rung >= length:
            return rung
        k += 1


def item_bucket(config: SpectrogramConfig | None, length: int) -> int:
    """The padded length of an item: ``bucket_length(length)``, or ``length`` itself where one
    row of that rung would hold more than ``BATCH_VALUES`` frame values (a tiny hop under a huge
    FFT: 1 sample padded to 1024 at a hop of 1 and a 2**20-point FFT asked for 8.6 GB, 217 MB
    alone). Such configs compile a program per length.

    >>> import jaxspec
    >>> from jaxspec.corpus import item_bucket
    >>> item_bucket(None, 1), item_bucket(jaxspec.SpectrogramConfig(window_size=2, offset=1, fft_size=1 << 17), 1)
    (1024, 1)
    """
    rung = bucket_length(length)
    return rung if config is None or length < 1 or _row_values(config, rung) <= BATCH_VALUES else int(length)


def _row_values(config: SpectrogramConfig, bucket: int) -> int:
    """Frame values (frames x FFT size) of one row of ``bucket`` samples, at least one frame's."""
    return max(1, int(config.num_frames(int(bucket)))) * config.fft_samples


def bucket_batch_size(bucket: int, config: SpectrogramConfig | None = None) -> int:
    """Rows per batch for a bucket: ``min(MAX_BATCH, max(1, BATCH_SAMPLES // bucket))``,
    and with a ``config`` at most ``BATCH_VALUES // (frames x fft_samples)`` (at least 1).

    >>> from jaxspec.corpus import bucket_batch_size
    >>> bucket_batch_size(16384), bucket_batch_size(1 << 22)
    (64, 1)
    >>> import jaxspec
    >>> bucket_batch_size(16384, jaxspec.SpectrogramConfig(offset=1))  # 16384 frames a row
    10
    """
    rows = min(MAX_BATCH, max(1, BATCH_SAMPLES // int(bucket)))
    if config is None:
        return rows
    return max(1, min(rows, BATCH_VALUES // _row_values(config, bucket)))


PACK_BATCH_SAMPLES = 1 << 22
"""Samples gathered before a packed corpus is encoded by a streaming caller (about 16
chunks of 17 s: the last chunk's unused rest is a few % of the work)."""


class Batches:
    """Items gathered as they come (the CLI, Beam) and handed out in batches for
    ``encode_waves``: one buffer per bucket of the ladder, full at the bucket's batch size,
    or for a packed config (``packing.packable``) one buffer for every length, full at
    ``PACK_BATCH_SAMPLES`` samples.

    >>> import jaxspec.corpus
    >>> batches = jaxspec.corpus.Batches(jaxspec.SpectrogramConfig(normalization=("max", 1.0)), keyed=False)
    >>> batches.add("a", 16000), len(batches.rest())
    (None, 1)
    """

    def __init__(self, config: SpectrogramConfig, keyed: bool):
        self._packed = packable(config, keyed)
        self._config = config
        self._buffers: dict[int, list] = {}  # by bucket; key 0 when packed
        self._samples: collections.Counter = collections.Counter()

    def add(self, item: Any, length: int) -> list | None:
        """Adds ``item`` of ``length`` samples; returns its buffer's items once it is full."""
        group = 0 if self._packed else item_bucket(self._config, length)
        waiting = self._buffers.setdefault(group, [])
        waiting.append(item)
        self._samples[group] += length
        if self._packed and self._samples[group] < PACK_BATCH_SAMPLES:
            return None
        if not self._packed and len(waiting) < bucket_batch_size(group, self._config):
            return None
        del self._samples[group]
        return self._buffers.pop(group)

    def rest(self) -> list[list]:
        """The buffers not yet full (emptied): what is left when the inputs end."""
        rest = list(self._buffers.values())
        self._buffers.clear()
        self._samples.clear()
        return rest


def plan_batches(lengths: Sequence[int], config: SpectrogramConfig | None = None) -> list[tuple[int, list[int]]]:
    """Groups item indices into ``(bucket, indices)`` batches, each of at most
    ``bucket_batch_size(bucket, config)``.

    Items keep their input order inside a bucket; buckets come in order of their first item.

    >>> from jaxspec.corpus import plan_batches
    >>> plan_batches([16000, 100, 15000, 3000])
    [(16384, [0, 2]), (1024, [1]), (3072, [3])]
    """
    groups: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        groups.setdefault(item_bucket(config, n), []).append(i)
    batches = []
    for bucket, indices in groups.items():
        size = bucket_batch_size(bucket, config)
        batches.extend((bucket, indices[i : i + size]) for i in range(0, len(indices), size))
    return batches


def encode_waves(
    config: SpectrogramConfig,
    waves: Sequence[Any],
    keys: Sequence[jax.Array] | None = None,
    *,
    host: bool = False,
    checked: bool = False,
) -> list:
    """Spectrograms of waveforms of any lengths: packed into one stream, or in bucketed, padded batches.

    Args:
      config: the settings.
      waves: float32 ``[shape=(n_i,)]`` waveforms at ``config.sample_rate``.
      keys: ``None``, or one key per wave: a sequence of keys, or an array of them
        (typed ``[shape=(n,)]``, or raw uint32 words ``[shape=(n, 2)]``, NumPy or JAX:
        gathered on the host without a device operation per key).
      host: return NumPy arrays (no copy back to the device: for writers).
      checked: every wave comes from ``encoding.prepare`` (finite, not too large for the
        config), so packed chunks are not scanned again (two max / min passes over W6's
        208 MB of samples were about 11 % of its keyless CPU time). A bad wave raises
        ``spectrogram``'s ``InputError`` for the first one, naming it ``wave i``.

    Returns:
      ``[shape=(config.num_frames(n_i), features)]`` per wave, in order; each equals
      ``spectrogram(config, waves[i], keys[i])`` (relative 1e-5, the same draws). A
      ``packing.packable`` config (Threefry keys) is packed: one program, with or without
      a key. Otherwise each batch is ``bucket_batch_size(bucket, config)`` rows of ``bucket``
      samples (padding rows of length 0), so the programs compiled depend on the
      buckets met, not on the lengths.
    """
    key_data, impl = (None, None) if keys is None else _host_key_data(keys)
    if key_data is not None and key_data.shape[0] != len(waves):
        raise InputError(f"keys holds {key_data.shape[0]} keys for {len(waves)} waves; pass one key per wave")
    try:
        return _encode_packed_or_buckets(config, waves, key_data, impl, host, checked)
    except InputError:  # a batch's check: name the first bad wave, as spectrogram would
        check_each(config, waves)
        raise


def _encode_packed_or_buckets(
    config: SpectrogramConfig, waves: Sequence[Any], key_data: np.ndarray | None, impl: Any, host: bool, checked: bool
) -> list:
    """``encode_waves`` once its keys are host words (``key_data``, ``impl``: their kind)."""
    keyed = key_data is not None
    threefry = impl is None or str(impl) == "threefry2x32"
    if not packable(config, keyed) or (keyed and not (threefry and key_data.shape[1:] == (2,))):
        return _encode_buckets(config, waves, key_data, impl, host)
    results = encode_packed(config, waves, key_data, host, checked)
    rest = [i for i, r in enumerate(results) if r is None]  # too long for a chunk
    if rest:
        rest_keys = None if key_data is None else key_data[rest]
        more = _encode_buckets(config, [waves[i] for i in rest], rest_keys, impl, host)
        for i, out in zip(rest, more, strict=True):
            results[i] = out
    return results


def _encode_buckets(
    config: SpectrogramConfig, waves: Sequence[Any], key_data: np.ndarray | None, impl: Any, host: bool
) -> list:
    """``encode_waves`` on the bucket ladder (``key_data``: host key words, ``impl`` their kind)."""
    lengths = [int(np.shape(w)[0]) for w in waves]
    results: list[Any] = [None] * len(waves)
    in_flight: collections.deque = collections.deque()

    def collect() -> None:
        indices, cut = in_flight.popleft()
        outs = cut() if host else jax.device_put(cut())  # one call for the batch's items
        for i, out in zip(indices, outs, strict=True):
            results[i] = out

    threads = packing.workers()
    # Batches run on worker threads, several at once (XLA:CPU runs one thread's programs
    # one after another; W6's corpus with presets.whisper(): 4.9 s dispatched from one thread).
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="jaxspec-bucket") as pool:
        for bucket, indices in plan_batches(lengths, config):
            chosen = [waves[i] for i in indices]
            rows_data = None if key_data is None else key_data[indices]
            batch = _bucket_batch(config, bucket, bucket_batch_size(bucket, config), chosen, rows_data, impl, pool)
            in_flight.append((indices, batch))
            # While the workers run these batches, the host pads the next one (or compiles its
            # program, on a first run). A short window bounds the memory.
            if len(in_flight) > threads + 1:
                collect()
        while in_flight:
            collect()
    return results


def _host_key_data(keys: Any) -> tuple[np.ndarray, Any]:
    """Keys as host words ``[shape=(n, ...)]`` and their implementation (``None``: raw uint32 keys)."""
    if isinstance(keys, (np.ndarray, jax.Array)):
        if jnp.issubdtype(keys.dtype, jax.dtypes.prng_key):
            return np.asarray(jax.random.key_data(keys)), jax.random.key_impl(keys)
        return np.asarray(keys), None
    if len(keys) == 0:
        return np.zeros((0, 2), np.uint32), None
    typed = [jnp.issubdtype(k.dtype, jax.dtypes.prng_key) for k in keys]
    data = np.stack([np.asarray(jax.random.key_data(k) if t else k) for k, t in zip(keys, typed, strict=True)])
    return data, (jax.random.key_impl(keys[0]) if typed and typed[0] else None)


def _padded_keys(key_data: np.ndarray | None, impl: Any, rows: int) -> Any:
    """The key of each of ``rows`` rows: ``key_data``'s words, padded with its first (``None``
    without keys). Gathered on the host: no program per batch size."""
    if key_data is None:
        return None
    row_keys = np.concatenate([key_data, np.repeat(key_data[:1], rows - len(key_data), axis=0)])
    impl = "threefry2x32" if impl is None else str(impl)  # raw words are Threefry's
    if not impl == "threefry2x32" == jax.config.jax_default_prng_impl:
        # wrapping runs (and compiles) a program per batch size; raw Threefry words under the
        # Threefry default draw the same (check_key takes raw words as Threefry's only)
        row_keys = jax.random.wrap_key_data(row_keys, impl=impl)
    return row_keys


def _bucket_batch(
    config: SpectrogramConfig,
    bucket: int,
    rows: int,
    waves: list,
    key_data: np.ndarray | None,
    impl: Any = None,
    pool: ThreadPoolExecutor | None = None,
) -> Callable[[], list]:
    """Prepares one ``spectrogram(..., lengths=)`` call on ``waves`` zero-padded into
    ``[rows, bucket]`` (padding rows of length 0; ``key_data``: the waves' key words, padded
    with the first), dispatched now on a worker thread of ``pool`` (without a pool, computed
    now in this thread: the waves come from ``encoding.prepare``, checked), and returns a
    function that waits for it and returns each wave's own frames as NumPy arrays, cut on the
    host (slicing on the device would compile per length)."""
    lengths = [int(np.shape(w)[0]) for w in waves]
    x = np.zeros((rows, bucket), np.float32)
    row_lengths = np.zeros(rows, np.int32)
    for row, (wave, n) in enumerate(zip(waves, lengths, strict=True)):
        x[row, :n] = np.asarray(wave, np.float32)
        row_lengths[row] = n
    row_keys = _padded_keys(key_data, impl, rows)
    if pool is None:  # computed now, in this thread: jit's own dispatch (the waves are checked)
        out = np.asarray(checked_batch_spectrogram(config, x, row_keys, row_lengths))
        result = lambda: out  # noqa: E731
    else:
        program, args = spectrogram_program(config, x, row_keys, lengths=row_lengths)
        result = pool.submit(lambda: np.asarray(program(*args))).result

    def cut() -> list:
        out = result()
        return [out[row, : config.num_frames(n)] for row, n in enumerate(lengths)]

    return cut


def encode_one(config: SpectrogramConfig, wave: Any, key: jax.Array | None = None) -> np.ndarray:
    """One waveform, zero-padded to its rung of the ladder and computed with ``lengths=``.

    For one record at a time (Grain's transforms): one program per rung, whatever the
    lengths; equal to ``spectrogram(config, wave, key)`` (relative 1e-5, the same draws).
    Returns NumPy ``[shape=(config.num_frames(n), features)]``.
    """
    return encode_alone(config, [wave], None if key is None else [key])[0]


def encode_alone(config: SpectrogramConfig, waves: Sequence[Any], keys: Any = None) -> list:
    """``encode_one`` of each wave, the keys gathered on the host once (a typed key batch indexed
    per wave compiled two gather programs: the small calls of ``encode_batch``)."""
    key_data, impl = (None, None) if keys is None else _host_key_data(keys)
    rows = [None if key_data is None else key_data[i : i + 1] for i in range(len(waves))]
    return [
        _bucket_batch(config, item_bucket(config, int(np.shape(w)[0])), 1, [w], row, impl)()[0]
        for w, row in zip(waves, rows, strict=True)
    ]


def name_hash(name: str) -> int:
    """A 64-bit BLAKE2b hash of ``name``: its 8 bytes, little-endian (UTF-8; undecodable
    bytes kept by ``surrogateescape``)."""
    data = name.encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def file_keys(seed: int, names: Sequence[str]) -> np.ndarray:
    """The key words of the files with relative output names ``names``: uint32
    ``[shape=(n, 2)]``, row i the data of ``file_key(seed, names[i])`` (raw keys that
    ``encode_waves`` and ``spectrogram`` accept), derived on the host in one pass."""
    hashes = np.array([name_hash(name) for name in names], np.uint64).reshape(-1)
    high = fold_in_words(seed_words(seed), (hashes >> np.uint64(32)).astype(np.uint32))
    return fold_in_words(high, (hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32))


def file_key(seed: int, name: str) -> jax.Array:
    """The key of the file with relative output name ``name`` (no extension, ``/`` separators).

    ``fold_in(fold_in(jax.random.key(seed), h >> 32), h & 0xFFFFFFFF)`` with ``h = name_hash(name)``
    (``jax.random.key(seed)`` as it is with x64, with or without it: ``augmentation.random.seed_words``).

    >>> import jax
    >>> from jaxspec.corpus import file_key
    >>> k = file_key(0, "speakers/a/clip1")
    >>> bool((jax.random.key_data(k) == jax.random.key_data(file_key(0, "speakers/a/clip1"))).all())
    True
    """
    return jax.random.wrap_key_data(file_keys(seed, [name])[0], impl="threefry2x32")
