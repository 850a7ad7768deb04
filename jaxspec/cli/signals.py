"""The signals that stop a command-line run, held while its outputs are recorded and
ignored while an interrupted run winds down.

Only the main thread handles signals; elsewhere these blocks run as they are. A signal
ignored when the run starts (``nohup`` ignores SIGHUP, a shell's background job SIGINT)
stays ignored.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
"""Signals that stop a run as Ctrl-C does: SIGTERM (``timeout``, ``docker stop``, SLURM) and
SIGHUP (the terminal or SSH session closed), which by default killed the run on the spot
(a temporary file left, the manifest not compacted, no summary). POSIX only for SIGHUP."""

_STOPPING = (signal.SIGINT, *TERMINATING)


def handled(signums: tuple) -> tuple:
    """Those of ``signums`` that are not ignored now (``nohup``'s SIGHUP stays ignored)."""
    return tuple(signum for signum in signums if signal.getsignal(signum) is not signal.SIG_IGN)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the block ends, then act as they would have: a signal
    between an output's rename and its manifest record left a complete output that the
    summary did not count and the rerun made again (an audit saw it in 3 of 5 tries)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = handled(_STOPPING)
    previous = {signum: signal.signal(signum, lambda signum, frame: caught.append(signum)) for signum in held}
    try:
        yield
    finally:
        restore(previous)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)  # to the handler restored above (KeyboardInterrupt)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP are ignored in the block: an interrupted run's wind-down (its
    decoding threads stopped, its manifest compacted, its summary printed). A second Ctrl-C
    there printed a traceback from the decoding generator's close ("Exception ignored in
    <generator object encode_files>") or lost the summary line (an audit: 5 of 8 runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in handled(_STOPPING)}
    try:
        yield
    finally:
        restore(previous)


def restore(previous: dict) -> None:
    """Puts back the handlers ``signal.signal`` returned (``None``, one set outside Python: the default)."""
    for signum, handler in previous.items():
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # None: set outside Python
