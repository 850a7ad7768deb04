"""Atomic output files: written under a temporary name in the same folder, then renamed.

An interrupted run (a kill, a full disk, an exception) leaves no half-written file
under a final name: the temporary file (``.NAME.XXXX.part``) is removed on an error,
and ``os.replace`` puts the finished file in place in one step (a reader sees the old
file or the new one, never a mix).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PART_SUFFIX = ".part"
"""Suffix of temporary files; a killed process may leave them behind (never under a final name)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()
"""The mode a plain ``open(path, "w")`` gives (mkstemp's temporary files are 0600)."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, extension: bool = True) -> Iterator[Path]:
    """A temporary path beside ``path`` (same extension) for writers that take a file name.

    On success the file written there replaces ``path`` atomically; on an exception it
    is removed.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder; give a file name", str(path))
    if path.exists() and not path.is_file():  # the rename would replace a device node or FIFO
        raise OSError(errno.EINVAL, "is not a regular file (a device, FIFO or socket); give a file name", str(path))
    suffix = PART_SUFFIX + path.suffix if extension else PART_SUFFIX  # writers that pick a format by extension
    with _naming(path):  # the OS's errors name the output, not the temporary file
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(temporary)
        with _naming(path):
            os.chmod(temporary, _MODE)
            os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Re-raises an ``OSError`` as the same error about ``path``."""
    try:
        yield
    except OSError as error:
        if error.errno is None:
            raise
        raise type(error)(error.errno, error.strerror, str(path)) from error


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Opens a temporary file beside ``path``; on success it replaces ``path`` atomically.

    The folder is created. On any exception the temporary file is removed and
    ``path`` is left as it was.

    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "a", "x.txt")
    >>> with atomic_file(target, "w") as f:
    ...     _ = f.write("done")
    >>> open(target).read()
    'done'
    """
    with atomic_path(path, extension=False) as temporary, open(temporary, mode) as file:
        yield file
