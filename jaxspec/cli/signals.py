"""The signals that stop a command-line run: SIGTERM and SIGHUP raised as Ctrl-C
(``terminate_as_interrupt``, exit ``stop_code``), all three held while its outputs are
recorded and ignored while an interrupted run winds down or a finished one ends; and whether a stopped run shows its
traceback (``tracebacks_wanted``).

Only the main thread handles signals; elsewhere these blocks run as they are. A signal
ignored when the run starts (``nohup`` ignores SIGHUP, a shell's background job SIGINT)
stays ignored.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

_TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
"""Signals that stop a run as Ctrl-C does: SIGTERM (``timeout``, ``docker stop``, SLURM) and
SIGHUP (the terminal or SSH session closed), which by default killed the run on the spot
(a temporary file left, the manifest not compacted, no summary). POSIX only for SIGHUP."""

_STOPPING = (signal.SIGINT, *_TERMINATING)


def _handled(signums: tuple) -> tuple:
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
    held = _handled(_STOPPING)
    previous = {signum: signal.signal(signum, lambda signum, frame: caught.append(signum)) for signum in held}
    try:
        yield
    finally:
        _restore(previous)
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
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in _handled(_STOPPING)}
    try:
        yield
    finally:
        _restore(previous)


def ignored_from_now() -> None:
    """Ctrl-C, SIGTERM and SIGHUP are ignored for the rest of the process: a finished run's
    teardown (about 0.8 s: JAX and its threads shut down) ended by one reported a run whose
    summary said "200 written" as killed by that signal (-2, -15: 4 of 5 late signals, an audit)."""
    if threading.current_thread() is threading.main_thread():
        for signum in _STOPPING:
            signal.signal(signum, signal.SIG_IGN)


def _restore(previous: dict) -> None:
    """Puts back the handlers ``signal.signal`` returned (``None``, one set outside Python: the default)."""
    for signum, handler in previous.items():
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # None: set outside Python


@contextlib.contextmanager
def terminate_as_interrupt(terminated: list[int]) -> Iterator[None]:
    """SIGTERM (``timeout``, ``docker stop``, SLURM) and SIGHUP (the terminal closed) raise
    ``KeyboardInterrupt`` as Ctrl-C does, so the run stops with its summary and no temporary
    file (it was killed on the spot); ``terminated`` gets the signal. A signal ignored now
    (``nohup``) stays ignored. Only the main thread can handle signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, stop) for signum in _handled(_TERMINATING)}
    try:
        yield
    finally:
        _restore(previous)


def stop_code(terminated: list[int], otherwise: int) -> int:
    """The exit code of a run that ``terminated`` stopped (128 + the signal, as shells report
    it: 143 for SIGTERM, 129 for SIGHUP), else ``otherwise``."""
    return 128 + terminated[0] if terminated else otherwise


def tracebacks_wanted() -> bool:
    """``JAXSPEC_TRACEBACK`` set to anything but ``""`` or ``"0"`` (as ``JAXSPEC_COMPILE_CACHE=0`` is off):
    an error that stops ``jaxspec`` or ``python -m jaxspec.beam`` is raised with its traceback."""
    return os.environ.get("JAXSPEC_TRACEBACK", "") not in ("", "0")
