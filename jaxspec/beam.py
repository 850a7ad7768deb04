"""Corpus encoding on Apache Beam: ``python -m jaxspec.beam`` and its transforms.

The job writes what ``jaxspec encode`` writes (one ``OUT/<name>.npy`` per input, the same
values: each worker batches its files as ``jaxspec.corpus`` does: packed, or on its ladder,
and a file's key derives only from the seed and its output name), atomically, plus the
manifest ``OUT/.jaxspec-manifest.jsonl``: one JSON line per input with ``path``,
``output``, ``shape``, ``seconds``, ``status`` (``written``, ``skipped`` or ``failed``) and
``error``, beside the fields the command line's reruns read. A rerun skips a file only
when its output is complete and was made from the same input with the same config and
key rule; otherwise the output is replaced atomically (``--overwrite`` forces). Before the job
runs, the temporary files that killed runs left in the folders it writes are removed
(``jaxspec._atomic.sweep_folders``: those whose writer is gone from this host, or a day old), and
so are the empty ``beam-temp-*`` folders of the manifest and the rows files of jobs killed before
their last step (an hour old). Each output is recorded in the manifest as it is written, so the
rerun of a killed job skips what that job finished.

Locally, the DirectRunner with several processes::

    python -m jaxspec.beam --input 'clips/**/*.wav' --output features/ --offset 10ms \\
        --key 0 --volume 0.5:1.5 --direct_num_workers 2 --direct_running_mode multi_processing

The same code runs on Dataflow, Flink or Spark by pipeline options (``--runner
DataflowRunner --project P --region R --temp_location gs://... --requirements_file
requirements.txt``; ``--runner FlinkRunner --flink_master host:8081``; ``--runner
SparkRunner``): inputs and outputs must then be on a file system every worker sees.

For your own pipelines the three steps are DoFns over ``Item`` records: ``ReadAudio``
(decode and resample), ``EncodeBatches`` (packed or bucketed batches per worker bundle) and
``WriteFeatures`` (atomic ``.npy`` and a manifest row); ``encode_corpus`` composes them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import sweep_folders
from ._files import destroyable
from .augmentation.random import check_seed
from .augmentation.recordings import file_stamps
from .cli.pipeline import Long, read_or_stream
from .config import SpectrogramConfig
from .corpus import Batches, encode_waves, file_keys
from .errors import InputError, config_type_error
from .framing import uses_key
from .manifest import MANIFEST_NAME, Manifest, Source, replace_with_rows
from .outputs import key_rule, refused_output, target_path, write_npy
from .stream import encode_to_file

__all__ = ["EncodeBatches", "Item", "ReadAudio", "WriteFeatures", "encode_corpus", "main"]

try:
    import apache_beam as beam
    from apache_beam.transforms.window import GlobalWindow
    from apache_beam.utils.windowed_value import WindowedValue
except ImportError as error:  # the [beam] extra
    message = "jaxspec.beam needs Apache Beam: pip install apache-beam"
    if __name__ == "__main__":  # python -m jaxspec.beam: the line alone, not two tracebacks
        sys.exit(f"python -m jaxspec.beam: error: {message}")
    raise ModuleNotFoundError(message, name="apache_beam") from error  # what pytest.importorskip skips


@dataclasses.dataclass
class Item:
    """One input as it moves through the job.

    Attributes:
      name: the relative output name (no extension, ``/`` separators).
      path: the input file.
      wave: float32 ``[shape=(n,)]`` at the config's rate, once read.
      long: the file is too long to decode whole: it is streamed into its output when written
        (``jaxspec.planner.plan_file``, as ``jaxspec encode`` does).
      features: the encoded array, once encoded.
      error: why the item failed (the later steps pass it through).
      seconds: time spent on it (read + its share of the batch + write).
      source: the file's size and time, taken before it was read (what its record holds).
    """

    name: str
    path: str
    wave: np.ndarray | None = None
    long: bool = False
    features: np.ndarray | None = None
    error: str | None = None
    seconds: float = 0.0
    source: Source | None = None


class ReadAudio(beam.DoFn):
    """``Item`` with ``path`` -> ``Item`` with ``wave`` (decoded, mono, resampled), marked
    ``long`` (left to be streamed when written), or failed."""

    def __init__(self, config: SpectrogramConfig, augmented: bool = False):
        self.config, self.augmented = config, augmented

    def process(self, item: Item) -> Iterator[Item]:
        start = time.perf_counter()
        # before decoding: a file replaced meanwhile then looks changed to the next run, which
        # encodes it again (taken after, its record made the old output look up to date)
        item.source = Source.of(item.path)
        try:
            wave = read_or_stream(self.config, item.path, self.augmented)  # as jaxspec encode reads it
            item.long = isinstance(wave, Long)  # a 10-minute 44.1 kHz stereo file took 600 MB decoded whole
            item.wave = None if item.long else wave
        except (OSError, ValueError, RuntimeError) as error:
            item.error = str(error) or type(error).__name__
        item.seconds += time.perf_counter() - start
        yield item


class EncodeBatches(beam.DoFn):
    """Read ``Item`` s -> encoded ``Item`` s, in batches inside each worker bundle.

    Items wait in a buffer (``corpus.Batches``: per bucket of the ladder, or one for a
    packed config) until it is full or the bundle ends; each batch is one
    ``corpus.encode_waves`` call. With ``seed``, a file's key is ``jaxspec.corpus.file_key(seed, name)``.
    """

    def __init__(self, config: SpectrogramConfig, seed: int | None = None):
        self.config, self.seed = config, seed

    def setup(self) -> None:
        from .cli import compile_cache

        compile_cache.enable()  # each worker process keeps its compiled programs (JAXSPEC_COMPILE_CACHE=0: off)

    def start_bundle(self) -> None:
        self.batches = Batches(self.config, keyed=self.seed is not None)

    def process(self, item: Item) -> Iterator[Item]:
        if item.error is not None or item.long:
            yield item
        elif (full := self.batches.add(item, item.wave.shape[0])) is not None:
            yield from self._encode(full)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for items in self.batches.rest():
            for item in self._encode(items):
                yield WindowedValue(item, 0, [GlobalWindow()])

    def _encode(self, items: list[Item]) -> list[Item]:
        start = time.perf_counter()
        keys = None if self.seed is None else file_keys(self.seed, [item.name for item in items])
        try:
            outputs = encode_waves(self.config, [item.wave for item in items], keys, host=True, checked=True)
        except (OSError, ValueError, RuntimeError) as error:
            for item in items:
                item.error = str(error) or type(error).__name__
            return items
        share = (time.perf_counter() - start) / len(items)
        for item, features in zip(items, outputs, strict=True):
            item.features, item.wave = features, None
            item.seconds += share
        return items


class ManifestRow(dict):
    """A manifest row that Beam pickles: a non-UTF-8 file name's surrogate escapes aborted the job
    in Beam's default coder (strict UTF-8); the manifest line escapes them, as jaxspec encode's.
    ``WriteFeatures.process`` is annotated with it, not ``dict``: Beam 2.78 infers a coder from that
    hint and samples element sizes with it (a ``dict[str, Any]`` hint: strict UTF-8 again)."""


class WriteFeatures(beam.DoFn):
    """Encoded ``Item`` -> its manifest row (a dict), the ``.npy`` written atomically under ``output``.

    With ``header`` (a ``Manifest``'s header line), each output is also recorded in
    ``output``'s manifest as soon as it is renamed into place, as ``jaxspec encode`` records
    it: a killed job's rerun then skips what it finished (the job's last step rewrites the
    manifest whole, with these rows)."""

    def __init__(self, output: str, setting: str, config: SpectrogramConfig | None = None, header: dict | None = None):
        self.output, self.setting, self.config, self.header = output, setting, config, header
        self._manifest: Manifest | None = None

    def setup(self) -> None:
        if self.header is not None:  # on the worker: the file is parsed there, once
            header, path = self.header, Path(self.output) / MANIFEST_NAME
            self._manifest = Manifest(path, header["config"], header["key_rule"], header.get("recordings"))

    def process(self, item: Item) -> Iterator[ManifestRow]:  # (not dict: see ManifestRow)
        row = ManifestRow(path=item.path, name=item.name, output=None, shape=None, seconds=None)
        start = time.perf_counter()
        if item.error is None:
            try:
                target = target_path(Path(self.output), item.name)
                if item.long:  # streamed block by block into the output (bounded memory)
                    stamps: list = []
                    shape = encode_to_file(self.config, item.path, target, stamps=stamps)
                    size, written = stamps[0]
                else:
                    shape, (size, written) = item.features.shape, write_npy(target, item.features)
                source = item.source
                if self._manifest is not None:
                    with contextlib.suppress(OSError):  # the final manifest has the row anyway
                        self._manifest.add(item.name, source, (size, written), target)
                stamp = (None, None, None) if source is None else (source.path, source.size, source.mtime_ns)
                row.update(output=str(target), shape=list(shape), setting=self.setting, output_bytes=size)
                row.update(output_mtime_ns=written, **dict(zip(("input", "size", "mtime_ns"), stamp, strict=True)))
            except (OSError, ValueError) as error:
                item.error = str(error) or type(error).__name__
        if item.error is not None and self._manifest is not None:  # as jaxspec encode: an earlier run's
            with contextlib.suppress(ValueError):  # output of an input that now fails is stale
                self._manifest.discard(item.name, target_path(Path(self.output), item.name))
        row["seconds"] = round(item.seconds + time.perf_counter() - start, 6)
        row["status"] = "failed" if item.error is not None else "written"
        row["error"] = item.error
        yield row


def _folder(out: Path, name: str) -> Path | None:
    """The folder of ``name``'s output, ``None`` when the name leaves ``out`` (that item fails)."""
    try:
        return target_path(out, name).parent
    except ValueError:
        return None


def _previous_row(manifest: Manifest, item: Item, out: Path) -> dict[str, Any] | None:
    """The manifest row of an output that a rerun keeps (``None`` if it must be made)."""
    try:
        target = target_path(out, item.name)
    except ValueError:
        return None
    if not manifest.up_to_date(item.name, target, Source.of(item.path)):
        return None
    record = ManifestRow(manifest.records[item.name])
    shape = record.get("shape")
    record.update(path=item.path, output=str(target), shape=shape, seconds=0.0, status="skipped", error=None)
    return record


def encode_corpus(
    pipeline: Any,
    config: SpectrogramConfig,
    inputs: Sequence[tuple[str, str]],
    output: str,
    *,
    seed: int | None = None,
    overwrite: bool = False,
) -> Any:
    """Adds the corpus job to ``pipeline``: ``inputs`` ``(path, name)`` -> ``output/name.npy``.

    Returns the PCollection of manifest rows, after writing the manifest (one file; the
    records of outputs of other inputs, from earlier runs into ``output``, are kept).

    Raises:
      ConfigError: ``config`` is not a ``SpectrogramConfig``, or ``seed`` not an int in
        ``[-2**63, 2**63)`` or None.
      InputError: two inputs with the same ``name`` (one output would replace the other).
    """
    from .cli.inputs import Input, collisions, ignores_case

    if not isinstance(config, SpectrogramConfig):
        raise config_type_error(config)
    check_seed(seed, optional=True)  # 2**64 killed the job at run time; 1.7 recorded key(1.7), used key(1)
    seed = seed if uses_key(config) else None  # as jaxspec encode: a key that changes nothing is no key
    clashes = collisions([Input(path, name) for path, name in inputs], folded=ignores_case(output))
    if clashes:  # one output would silently replace the other
        raise InputError("; ".join(clashes))
    out = Path(output)
    stamps = file_stamps(config)  # the recordings: no output may replace them
    manifest = Manifest(out / MANIFEST_NAME, config.to_dict(), key_rule(seed), None if seed is None else stamps)
    items, kept, ids = [], [], destroyable([path for path, _ in inputs], stamps)
    for path, name in inputs:
        item = Item(name, path)
        previous = None if overwrite else _previous_row(manifest, item, out)
        with contextlib.suppress(ValueError):  # (a name that leaves out fails when written)
            if refused := refused_output(target_path(out, name), ids):  # as jaxspec encode: a failed row
                status = {"output": None, "shape": None, "seconds": 0.0, "status": "failed", "error": refused}
                previous = ManifestRow(path=path, name=name, **status)
        (kept if previous is not None else items).append(previous if previous is not None else item)
    sweep_folders(folder for folder in [out, *(_folder(out, name) for _, name in inputs)] if folder is not None)
    _remove_what_killed_jobs_left(out)
    rows = (
        pipeline
        | "Inputs" >> beam.Create(items, reshuffle=True)
        | "Read" >> beam.ParDo(ReadAudio(config, augmented=seed is not None))
        | "Encode" >> beam.ParDo(EncodeBatches(config, seed))
        | "Write" >> beam.ParDo(WriteFeatures(str(out), manifest.setting, config, manifest.header))
    )
    if kept:
        rows = (rows, pipeline | "Kept" >> beam.Create(kept)) | "All" >> beam.Flatten()
    # the rows go to a file of this job's, then into the manifest under its lock, with the records
    # other runs hold then (WriteToText onto the manifest lost those a concurrent run appended)
    rows_file = str(out / f"{MANIFEST_NAME}.{uuid.uuid4().hex}")
    write = beam.io.WriteToText(rows_file, shard_name_template="", num_shards=1)
    written = rows | "Json" >> beam.Map(json.dumps) | "Rows" >> write
    names = {name for _, name in inputs}
    _ = written | "Manifest" >> beam.Map(lambda path: replace_with_rows(Path(path), manifest.header, names))
    return rows


def _remove_what_killed_jobs_left(out: Path) -> None:
    """Removes the empty ``beam-temp-<manifest>-<uuid>`` folders of killed jobs from ``out`` (a
    running job's is made again) and rows files ``<manifest>.<uuid hex>`` an hour old (a job killed
    before its merge; its records are in the manifest; a running job merges in seconds)."""
    rows_file = re.compile(re.escape(MANIFEST_NAME) + r"\.[0-9a-f]{32}")
    with contextlib.suppress(OSError):
        for entry in os.scandir(out):
            with contextlib.suppress(OSError):
                if entry.name.startswith(f"beam-temp-{MANIFEST_NAME}") and entry.is_dir(follow_symlinks=False):
                    os.rmdir(entry.path)
                elif rows_file.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                    if time.time() - entry.stat(follow_symlinks=False).st_mtime > 3600:
                        os.unlink(entry.path)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jaxspec.beam``: see the module docstring (its flags: ``--help``); returns the exit code."""
    from .cli.beam_job import main as run

    return run(argv)


if __name__ == "__main__":  # the importable module's main: workers unpickle Item and the DoFns from it
    from jaxspec import beam as _module
    from jaxspec.cli import signals

    code = _module.main()
    signals.ignored_from_now()  # as jaxspec's: a signal during teardown does not undo a finished job's code
    sys.exit(code)
