"""Opening a name only if it is a regular file: never blocking on a FIFO or device put in its
place, and never failing on a file under a lease.

The three readers that open files themselves (the manifest, a config file, the end of a FLAC or
Ogg file) each did it their own way; an open with ``O_NONBLOCK`` (the usual guard against a FIFO)
of a file under a lease (Samba, NFS servers, backup tools) fails at once with EAGAIN: a config
file under one could not be read ("Resource temporarily unavailable"), and the records of a
whole run were lost when the manifest was.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import operator
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO


class NotRegularFile(OSError):
    """The name is a folder, FIFO, device, socket (or, with ``follow=False``, a link)."""


def os_flags(*names: str) -> int:
    """The flags ``os.O_<name>`` of ``names`` that this OS has, or-ed: Windows has no ``O_CLOEXEC``,
    ``O_NONBLOCK``, ``O_NOFOLLOW`` or ``O_DIRECTORY`` (``import jaxspec.cli`` failed there on the
    first), and only Windows has ``O_BINARY``."""
    return functools.reduce(operator.or_, (getattr(os, f"O_{name}", 0) for name in names), 0)


def open_regular(path: str | os.PathLike, flags: int = os.O_RDONLY, follow: bool = True) -> BinaryIO:
    """``path`` opened in binary (``flags``: ``os.O_RDONLY``; ``O_RDWR | O_APPEND | O_CREAT``
    for appends), else ``NotRegularFile`` (or the ``OSError`` of the open).

    On Linux the name is first opened with ``O_PATH`` (which opens nothing: no FIFO is waited
    on, no lease is broken), checked, then opened for real through ``/proc/self/fd``, blocking
    as a plain open does (a lease being broken is waited for). Elsewhere (no ``O_PATH`` or no
    ``/proc``), or for a file not yet there, it is opened with ``O_NONBLOCK`` unless created
    (where the OS has it: not on Windows, which has no FIFOs to wait on). Either way what was
    opened is checked again. ``follow=False``: a symbolic link is refused (``O_NOFOLLOW``).
    """
    nofollow = 0 if follow else os_flags("NOFOLLOW")
    cloexec, nonblock = os_flags("CLOEXEC"), os_flags("NONBLOCK")
    flags |= os_flags("BINARY")  # Windows only: text mode stopped a read at a 0x1A byte
    plain = flags | cloexec | nofollow | (0 if flags & os.O_CREAT else nonblock)  # a FIFO: refused, not waited on
    handle = None
    with contextlib.suppress(FileNotFoundError, AttributeError):  # AttributeError: no O_PATH
        handle = os.open(path, os.O_PATH | cloexec | nofollow)
    if handle is not None:
        try:
            _check(os.fstat(handle), path)
            try:
                fd = os.open(f"/proc/self/fd/{handle}", (flags & ~os.O_CREAT) | cloexec)
            except FileNotFoundError:  # no /proc: the name itself (a FIFO swapped in since: refused)
                fd = os.open(path, plain, 0o666)
        finally:
            os.close(handle)
    else:  # not there yet (created here), or no O_PATH
        fd = os.open(path, plain, 0o666)
    try:
        _check(os.fstat(fd), path)  # (O_NONBLOCK changes nothing for a regular file's reads)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "a+b" if flags & os.O_APPEND else "rb")


def _check(info: os.stat_result, path: Any) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise NotRegularFile(errno.EINVAL, f"not a regular file ({kind})", str(Path(path)))


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}
