"""Grain transforms: load (and encode) audio files inside a Grain pipeline.

Grain is an optional extra (``pip install grain``); this module imports it only when a
transform is built, so ``import jaxspec`` never needs it. The transforms are plain
frozen dataclasses (picklable, so they run in Grain's worker processes) that declare
themselves Grain transforms when Grain is installed:

* ``LoadAudio(config)``: a ``grain.transforms.Map``: a file path (or ``Audio``) ->
  float32 waveform at ``config.sample_rate``, optionally padded / trimmed to a fixed
  length so that records batch. Use it when the spectrogram is computed inside the
  jitted train step (the fastest way: augmentation then runs on the accelerator).
* ``EncodeAudio(config, seed)``: a ``grain.transforms.MapWithIndex`` and
  ``grain.transforms.RandomMap``: a file path (or ``Audio``) -> float32 spectrogram,
  augmented with a per-record key.

Key rule. With ``ds.map_with_index(EncodeAudio(config, seed=s))`` record ``i`` (the
index Grain passes: the element's position in the dataset the transform is applied to)
is encoded with ``record_key(s, i) = jax.random.fold_in(jax.random.key(s), i)`` (past
``2**32``, the high word of ``i`` first; a Threefry key whatever ``jax_default_prng_impl``, and
``jax.random.key(s)`` as it is with x64, with or without it). Put
``shuffle`` and ``repeat`` before the transform: every epoch then has new indices and
so new draws, and the same seed gives the same spectrograms bit for bit.
With ``random_map`` (``ds.random_map(...)`` or ``grain.DataLoader``, whose operations
get no index) the key is ``record_key(s, r)`` with ``r = rng.integers(2**32)`` drawn
from the NumPy generator that Grain seeds per record from its own seed and the record
index (reproducible too, with Grain's seed).
``seed=None`` means evaluation: no augmentation. On several hosts, shard after the
transform (``shard_for_process``) so keys come from the global record index.

Records may be a path, an ``Audio``, an array (with ``sample_rate=``), or a dict
holding one of these under ``field`` (default ``"audio"``); a dict comes back as a
new dict with ``field`` replaced by the result and the other entries (labels) kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from . import limits
from ._inputs import as_index, int_in
from .augmentation.random import check_seed, fold_in_words, seed_words
from .config import SpectrogramConfig, to_samples
from .corpus import encode_one
from .encoding import prepare, with_index
from .errors import ConfigError, InputError, config_type_error
from .io import capped_rate

__all__ = ["EncodeAudio", "LoadAudio", "record_key", "shard_for_process"]


def record_key(seed: int, index: int) -> jax.Array:
    """The key ``EncodeAudio(config, seed)`` uses for record ``index``.

    ``jax.random.fold_in(jax.random.key(seed), index)``: one key per record, the same
    for the same (seed, index) on any machine, and independent of the other records.
    The key is Threefry's whatever ``jax_default_prng_impl``, as the command line's
    ``corpus.file_key``: a worker process need not share a ``jax.config.update`` made in
    the main process, and a key of the default implementation augmented records
    differently with and without workers (and from the command line).
    ``fold_in`` takes 32 bits: an index of ``2**32`` or more (a long ``repeat``) folds in
    its high word, then its low word.

    >>> import jax
    >>> from jaxspec.grain import record_key
    >>> bool((jax.random.key_data(record_key(0, 3)) == jax.random.key_data(record_key(0, 3))).all())
    True
    """
    return jax.random.wrap_key_data(_record_words(seed, index), impl="threefry2x32")


def _record_words(seed: int, index: int) -> np.ndarray:
    """``record_key``'s Threefry words, uint32 ``[shape=(2,)]``, derived on the host (``fold_in_words``
    of the seed's words: the same with and without x64): an eager ``fold_in`` and the copy of the
    key back to the host were 130 us of a keyed record's 1.08 ms (the latency audit)."""
    if not int_in(index, 0, 2**64):
        raise InputError(f"record index {index!r} must be an int in [0, 2**64) (Grain's record index)")
    high, low = divmod(int(index), 2**32)
    words = seed_words(seed) if high == 0 else fold_in_words(seed_words(seed), high)[0]
    return fold_in_words(words, low)[0]


def shard_for_process(dataset: Any, *, process_index: int | None = None, process_count: int | None = None) -> Any:
    """The records of a Grain ``MapDataset`` that this JAX process loads.

    ``dataset[process_index::process_count]`` (default: ``jax.process_index()`` and
    ``jax.process_count()``). Apply ``EncodeAudio`` with ``map_with_index`` *before*
    sharding: the index it sees is then the global record index, so each record's key,
    and so its augmentation, does not depend on how many hosts share the work (the
    union over processes equals the single-process dataset). A ``MapDataset`` is lazy:
    each process only encodes its own records. With ``grain.DataLoader``, pass
    ``shard_options=grain.sharding.ShardByJaxProcess()`` to its sampler instead, and
    records that carry their global index (``EncodeAudio(..., index_field="index")``):
    the DataLoader seeds its per-record generators from the sampler's step, which depends
    on the split, so without ``index_field`` the ``random_map`` keys (and augmentations)
    change with the number of hosts.

    >>> from jaxspec.grain import shard_for_process
    >>> list(shard_for_process(list(range(10)), process_index=1, process_count=3))
    [1, 4, 7]
    """
    count = jax.process_count() if process_count is None else as_index(process_count)
    if not int_in(count, 1, 2**63):  # 1.9 was int()'ed to 1: every host took the whole dataset
        raise ConfigError(f"process_count={count!r} must be a positive int")
    index = jax.process_index() if process_index is None else as_index(process_index)
    if not int_in(index, 0, count):
        raise ConfigError(f"process_index={index!r} must be an int in [0, process_count={count})")
    return dataset[index::count]


def _register(cls: type, *grain_bases: str) -> None:
    """Declares ``cls`` a virtual subclass of Grain's transform ABCs, if Grain is installed.

    Virtual subclassing (``ABC.register``) lets the class live at module level without
    importing Grain, so it pickles into Grain's workers; it is repeated on unpickling.
    """
    try:
        import grain  # the optional extra, imported only when a transform is built
    except ImportError:
        return
    for name in grain_bases:
        base = getattr(grain.transforms, name)
        if not issubclass(cls, base):
            base.register(cls)


def _check_settings(transform: Any) -> None:
    """The config, the array records' rate and the field names, checked at construction (a bad
    rate failed on every record; a list field was an unhashable TypeError)."""
    if not isinstance(transform.config, SpectrogramConfig):
        raise config_type_error(transform.config)
    if transform.sample_rate is not None:
        object.__setattr__(transform, "sample_rate", capped_rate("sample_rate", transform.sample_rate))
    for name in ("field", "index_field"):
        value = getattr(transform, name, "")
        try:
            hash(value)
        except TypeError:
            raise ConfigError(f"{name}={value!r} must be a key of dict records (hashable: a string)") from None


def _split_record(element: Any, field: str) -> tuple[Any, Mapping | None]:
    if isinstance(element, Mapping):
        if field not in element:
            raise ConfigError(f"record {sorted(element)!r} has no field {field!r}; set field= to the audio's key")
        return element[field], element
    return element, None


def _join_record(value: np.ndarray, record: Mapping | None, field: str) -> Any:
    return value if record is None else {**record, field: value}


def _fit(x: np.ndarray, length: int | None) -> np.ndarray:
    if length is None or x.shape[0] == length:
        return x
    if x.shape[0] > length:
        return x[:length]
    return np.pad(x, (0, length - x.shape[0]))


@dataclasses.dataclass(frozen=True)
class LoadAudio:
    """Grain ``Map``: a record -> float32 mono waveform at ``config.sample_rate``.

    Args:
      config: the settings (only ``sample_rate`` is used).
      length: ``None`` (keep the length), or an int (samples), float (seconds) or
        duration string: zero-pad or trim the end to it, so that records batch.
      sample_rate: the rate of array records in Hz (paths and ``Audio`` carry theirs).
      field: the key of the audio in dict records.

    ``map(record)`` returns float32 ``[shape=(n,)]`` (``n = length`` when set), or a
    dict with ``field`` replaced by it.

    >>> import jaxspec.grain
    >>> jaxspec.grain.LoadAudio(jaxspec.SpectrogramConfig(), length="1s").map(jaxspec.example_path()).shape
    (16000,)
    """

    config: SpectrogramConfig
    length: int | float | str | None = None
    sample_rate: int | None = None
    field: str = "audio"

    def __post_init__(self):
        _check_settings(self)
        if self.length is not None:  # capped as target_length (2**31 samples failed per record: 8 GiB)
            length = to_samples(self.length, self.config.sample_rate, "length", limits.MAX_TARGET_SAMPLES)
            object.__setattr__(self, "length", length)
        _register(type(self), "Map")

    def __setstate__(self, state: dict) -> None:
        _register(type(self), "Map")
        self.__dict__.update(state)

    def map(self, element: Any) -> Any:
        audio, record = _split_record(element, self.field)
        # whole: the file (up to length), not only the start that the config's target_length reads
        # on the host (a device copy read back at once was 100 us of a record's 225 us); a copy: the
        # record does not hold the caller's own array
        wave = np.array(prepare(self.config, audio, self.sample_rate, whole=True, samples=self.length, host=True))
        return _join_record(_fit(wave, self.length), record, self.field)


@dataclasses.dataclass(frozen=True)
class EncodeAudio:
    """Grain ``MapWithIndex`` / ``RandomMap``: a record -> float32 spectrogram.

    Args:
      config: the settings; its ``augmentation`` is applied with a per-record key when
        ``seed`` is set.
      seed: ``None`` (no augmentation), or an int: record ``i`` uses
        ``record_key(seed, i)`` (module docstring).
      sample_rate: the rate of array records in Hz.
      field: the key of the audio in dict records.
      index_field: ``None``, or the key of a dict record's global index (an int, a 0-d
        integer array or a JAX scalar; 1.7 is refused). When
        set, ``random_map`` keys the record with ``record_key(seed, record[index_field])``
        instead of a draw from Grain's generator, whose seed is the sampler's step, not
        the record: so a ``grain.DataLoader`` sharded over processes
        (``ShardByJaxProcess``) augments each record as a single process would.

    ``map_with_index(i, record)`` and ``random_map(record, rng)`` return float32
    ``[shape=(n_frames, bins)]`` (NumPy, equal to ``encode``'s), or a dict with ``field``
    replaced by it. Each record is zero-padded to its rung of the bucket ladder
    (``jaxspec.corpus``) and computed with ``lengths=``, so records of new lengths compile
    nothing new.

    Example (a Grain pipeline; ``paths`` is a list of files)::

        import grain
        import jaxspec.grain
        ds = (grain.MapDataset.source(paths).shuffle(seed=0).repeat(10)
              .map_with_index(jaxspec.grain.EncodeAudio(config, seed=1)))
        first = ds[0]  # float32 [n_frames, bins]

    >>> import jaxspec.grain
    >>> jaxspec.grain.EncodeAudio(jaxspec.SpectrogramConfig()).map_with_index(0, jaxspec.example_path()).shape[1]
    201
    """

    config: SpectrogramConfig
    seed: int | None = None
    sample_rate: int | None = None
    field: str = "audio"
    index_field: str | None = None

    def __post_init__(self):
        _check_settings(self)
        check_seed(self.seed, optional=True)
        _register(type(self), "MapWithIndex", "RandomMap")

    def __setstate__(self, state: dict) -> None:
        _register(type(self), "MapWithIndex", "RandomMap")
        self.__dict__.update(state)

    def _encode(self, element: Any, key: np.ndarray | None) -> Any:
        audio, record = _split_record(element, self.field)
        wave = prepare(self.config, audio, self.sample_rate, host=True)  # padded into its row on the host
        # Padded to its rung of the bucket ladder: one compiled program per rung, not per length.
        return _join_record(encode_one(self.config, wave, key), record, self.field)

    def map_with_index(self, index: int, element: Any) -> Any:
        """Encodes ``element`` with ``record_key(seed, index)`` (no key when ``seed`` is None)."""
        key = None if self.seed is None else _record_words(int(self.seed), as_index(index))  # 1.7 is not 1
        try:
            return self._encode(element, key)
        except (ValueError, OSError) as error:  # "audio has NaN ..." named no record (an audit)
            audio = element.get(self.field) if isinstance(element, Mapping) else element
            raise with_index(error, index, audio, "record") from error

    def random_map(self, element: Any, rng: np.random.Generator) -> Any:
        """Encodes ``element`` with ``record_key(seed, r)`` (no key when ``seed`` is None).

        ``r`` is ``element[index_field]`` when ``index_field`` is set, else
        ``rng.integers(2**32)``.
        """
        if self.seed is None:
            return self._encode(element, None)
        if self.index_field is not None:
            if not isinstance(element, Mapping) or self.index_field not in element:
                raise ConfigError(f"index_field={self.index_field!r}: the record has no such key")
            return self._encode(element, _record_words(int(self.seed), as_index(element[self.index_field])))
        return self._encode(element, _record_words(int(self.seed), int(rng.integers(2**32))))
