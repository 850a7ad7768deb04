"""The encode pipeline of the command line: decoding threads, packed or bucketed batches, progress.

Files are decoded (and resampled) by worker threads a few files ahead; each waveform
waits in a buffer (``corpus.Batches``: one per bucket of the fixed ladder of
``jaxspec.corpus``, or one for a packed config) until it is full (or the inputs end),
and each full buffer is one ``encode_waves`` call: the programs compiled depend on the
buckets met (or are the packed corpus's one), not on the lengths, and each
file's result equals encoding it alone.
"""

from __future__ import annotations

import collections
import contextlib
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import stamp
from ..config import SpectrogramConfig
from ..corpus import Batches, encode_waves
from ..encoding import prepare
from ..planner import plan_file
from ..stream import encode_to_file, stream_to_array
from .inputs import Input


class _NoBar:
    """Stands in for tqdm when it is not installed or the bar is off."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def say(line: str) -> None:
    """Writes one line to stderr in one piece: errors (the main thread) and warnings (worker
    threads) once ran together on one line (print writes the text and the newline apart).
    Through tqdm when it is installed: it holds its lock and clears the progress bars."""
    try:
        from tqdm import tqdm
    except ImportError:
        sys.stderr.write(line + "\n")
    else:
        tqdm.write(line + "\n", file=sys.stderr, end="")


def progress_bar(total: int, enabled: bool, description: str) -> Any:
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit="file", desc=description, file=sys.stderr, dynamic_ncols=True)


FILE_ERRORS = (OSError, ValueError, RuntimeError)
"""The errors of reading and checking a file (``info``); ``encode`` fails an item on any ``Exception``."""


@dataclass(frozen=True)
class Long:
    """A file too long to decode whole: it is streamed into its output instead."""

    path: str


def read_or_stream(config: SpectrogramConfig, path: str, augmented: bool) -> Any:
    """A file's waveform at the config's rate (float32 NumPy), or ``Long`` when it is streamed."""
    if plan_file(config, path, augmented=augmented).stream:
        return Long(path)
    return np.asarray(prepare(config, path), np.float32)


def encode_files(config, inputs: Sequence[Input], keys: Any, workers: int) -> Iterator[tuple[Input, Any]]:
    """Yields ``(input, result)`` for every input, in completion order; the result is its
    spectrogram, the exception it raised, or ``Long`` (a file to stream).

    Decoding threads (soundfile releases the GIL) work a few files ahead while the
    main thread fills the bucket buffers and dispatches full batches.
    """
    augmented = keys is not None  # augmentation needs the whole signal: never streamed
    ahead = max(4, 2 * workers)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="jaxspec-decode") as pool:
        queue: collections.deque[tuple[int, Future]] = collections.deque()
        submitted = 0

        def refill() -> None:
            nonlocal submitted
            while submitted < len(inputs) and len(queue) < ahead:
                queue.append((submitted, pool.submit(read_or_stream, config, inputs[submitted].path, augmented)))
                submitted += 1

        refill()
        try:
            yield from _drain(config, inputs, keys, queue, refill)
        finally:  # stopped early (Ctrl-C): files not started yet are not decoded
            for _, future in queue:
                future.cancel()


def _drain(config, inputs, keys, queue, refill) -> Iterator[tuple[Input, Any]]:
    """The dispatch loop of ``encode_files``: decoded waveforms wait in ``Batches``, full ones run."""
    batches = Batches(config, keyed=keys is not None)
    while queue:
        i, future = queue.popleft()
        refill()
        try:
            loaded = future.result()
        except Exception as error:  # noqa: BLE001 - one item fails, the run goes on
            yield inputs[i], error
            continue
        if isinstance(loaded, Long):
            yield inputs[i], loaded
            continue
        full = batches.add((i, loaded), loaded.shape[0])
        if full is not None:
            yield from _encode_bucket(config, inputs, keys, full)
    for entries in batches.rest():
        yield from _encode_bucket(config, inputs, keys, entries)


def _encode_bucket(config, inputs, keys, entries) -> Iterator[tuple[Input, Any]]:
    try:
        waves = [wave for _, wave in entries]
        keys_now = None if keys is None else keys[[i for i, _ in entries]]
        results = encode_waves(config, waves, keys_now, host=True, checked=True)  # prepared: checked
    except Exception as error:  # noqa: BLE001 - the batch's items fail, the run goes on
        results = [error] * len(entries)
    for (i, _), result in zip(entries, results, strict=True):
        yield inputs[i], result


def failure_reason(error: BaseException, path: str) -> str:
    text = str(error) or type(error).__name__
    # load_audio already names the path; say it once.
    for quoted in (repr(path), repr(str(Path(path).expanduser()))):
        text = text.replace(f"cannot read {quoted}: ", "").replace(f"audio file {quoted} ", "")
    return text


@dataclass(frozen=True)
class Interrupted:
    """A streamed output renamed into place just before a Ctrl-C / SIGTERM / SIGHUP: the run
    records and counts it, then stops (it was left complete but unrecorded, and made again)."""

    stamp: tuple[int, int]


def stream_file(config: SpectrogramConfig, path: str, target: Path | None) -> Any:
    """Streams a long file into ``target`` (atomically; returns its ``_atomic.stamp``, or an
    ``Interrupted`` one) or into an array (``target`` None); a failure is returned, not raised.
    Its blocks take minutes, so signals are not held for them, only its record (by the caller)."""
    stamps: list = []
    try:
        if target is None:
            return stream_to_array(config, path)
        encode_to_file(config, path, target, stamps=stamps)
        return stamps[0]
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):  # the stamp is taken before the rename: is it the target's?
            if stamps and stamp(target) == stamps[0]:
                return Interrupted(stamps[0])
        raise
    except Exception as error:  # noqa: BLE001 - one item fails, the run goes on
        return error
