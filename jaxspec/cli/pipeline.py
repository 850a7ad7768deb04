"""The encode pipeline of the command line: decoding threads, device dispatch, progress."""

from __future__ import annotations

import collections
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import SpectrogramConfig
from ..encoding import encode
from ..io import load_audio
from ..planner import plan_file
from .inputs import Input


class _NoBar:
    """Stands in for tqdm when it is not installed or the bar is off."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    @staticmethod
    def write(message: str, file: Any = None) -> None:
        print(message, file=file or sys.stderr)


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


def _load(config: SpectrogramConfig, path: str, augmented: bool) -> Any:
    if plan_file(config, path, augmented=augmented).stream:
        return Long(path)
    return load_audio(path)


def encode_files(config, inputs: Sequence[Input], keys: Any, workers: int, bar: Any) -> Iterator[tuple[Input, Any]]:
    """Yields ``(input, spectrogram or exception)`` in input order.

    Files are decoded by ``workers`` threads (soundfile releases the GIL) a few files
    ahead, while the main thread dispatches the device; each result is read back one
    step later, so decoding, device work and writing overlap.
    """
    augmented = keys is not None  # augmentation needs the whole signal: never streamed
    ahead = max(2, 2 * workers)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="jaxspec-decode") as pool:
        queue: collections.deque[tuple[int, Future]] = collections.deque()
        submitted = 0

        def refill() -> None:
            nonlocal submitted
            while submitted < len(inputs) and len(queue) < ahead:
                queue.append((submitted, pool.submit(_load, config, inputs[submitted].path, augmented)))
                submitted += 1

        refill()
        pending: tuple[Input, Any] | None = None
        try:
            yield from _drain(config, inputs, keys, queue, refill, pending)
        finally:  # stopped early (Ctrl-C): files not started yet are not decoded
            for _, future in queue:
                future.cancel()


def _drain(config, inputs, keys, queue, refill, pending) -> Iterator[tuple[Input, Any]]:
    """The dispatch loop of ``encode_files``: each result is read back one step later."""
    while queue:
        i, future = queue.popleft()
        refill()
        try:
            loaded = future.result()
            key = None if keys is None else keys[i]
            dispatched: Any = loaded if isinstance(loaded, Long) else encode(config, loaded, key=key)
        except Exception as error:  # noqa: BLE001 - one item fails, the run goes on
            dispatched = error
        if pending is not None:
            yield _materialize(*pending)
        pending = (inputs[i], dispatched)
    if pending is not None:
        yield _materialize(*pending)


def _materialize(item: Input, result: Any) -> tuple[Input, Any]:
    if isinstance(result, (BaseException, Long)):
        return item, result
    try:
        return item, np.asarray(result)
    except Exception as error:  # noqa: BLE001 - one item fails, the run goes on
        return item, error


def failure_reason(error: BaseException, path: str) -> str:
    text = str(error) or type(error).__name__
    # load_audio already names the path; say it once.
    for quoted in (repr(path), repr(str(Path(path).expanduser()))):
        text = text.replace(f"cannot read {quoted}: ", "").replace(f"audio file {quoted} ", "")
    return text
