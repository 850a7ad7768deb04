"""Atomic output files: written under a temporary name in the same folder, then renamed.

An interrupted run (a kill, a full disk, an exception) leaves no half-written file
under a final name: the temporary file (``.NAME.PID-HOST-XXXXXXXX.part``) is removed on
an error, and ``os.replace`` puts the finished file in place in one step (a reader sees
the old file or the new one, never a mix). Nothing is ``fsync``ed: after a power cut the
file system may hold an empty or cut file under a final name, which the command line's
reruns detect (the manifest's recorded size; ``outputs.whole_npy``).

A process killed outright (SIGKILL, the OOM killer, a power cut) cannot remove its
temporary file. ``sweep_stale`` removes those from a folder before a run writes there:
the name records the writer's process id and a hash of the process-id space it belongs
to (host name, boot, PID namespace), so a file whose writer is gone is told from one that
a concurrent run (this host's, or another machine's writing to a shared folder) still writes.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from ._regular import os_flags

PART_SUFFIX = ".part"
"""Suffix of temporary files; a killed process may leave them behind (never under a final name)."""

STALE_AGE_S = 24 * 3600
"""A temporary file untouched this long is stale whoever wrote it (another host's run, whose
process cannot be asked): a writer touches its file as it writes."""

# .NAME.PID-HOST-RANDOM.part[.ext], HOST and RANDOM 8 hex digits each. An older jaxspec's
# .NAME.RANDOM.part (mkstemp's 8 characters, no process id) is not matched: that form is also
# a plain name a user may give (".thesis.20240101.part"), and a sweep must never remove one.
_TEMPORARY = re.compile(r"\..+\.(\d+)-([0-9a-f]{8})-[0-9a-f]{8}\.part(?:\.[^.]*)?", re.DOTALL)


@functools.cache
def _host() -> str:
    """8 hex digits naming this process-id space: the processes whose ids ``os.kill`` can
    check. The host name alone is not enough: containers on one machine (or on several
    machines sharing a folder) may share a host name but not their process ids."""
    parts = [socket.gethostname()]
    with contextlib.suppress(OSError):  # Linux: this boot, and this PID namespace
        with open("/proc/sys/kernel/random/boot_id") as file:
            parts.append(file.read().strip())
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    text = "\0".join(parts).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(text, digest_size=4).hexdigest()


def _running(pid: int) -> bool:
    """Whether process ``pid`` of this process-id space may still be running (True when unsure)."""
    if os.name != "posix" or pid <= 0:  # Windows' os.kill(pid, 0) would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # another user's process, no permission to ask, an id past pid_t
        return True
    return True


def _stale(name: str, mtime: float, now: float) -> bool:
    """Whether ``name`` is a temporary file of ``atomic_path`` whose writer is gone."""
    match = _TEMPORARY.fullmatch(name)
    if match is None:
        return False
    if now - mtime >= STALE_AGE_S:
        return True
    pid, host = match.groups()
    return host == _host() and int(pid) != os.getpid() and not _running(int(pid))


def stamp(path: str | os.PathLike) -> tuple[int, int]:
    """``(size in bytes, modification time in ns)`` of a file: what a manifest records of an output."""
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


def sweep_folders(folders: Iterable[str | os.PathLike]) -> int:
    """``sweep_stale`` on each of ``folders`` once (duplicates skipped); returns how many files it removed."""
    return sum(sweep_stale(folder) for folder in dict.fromkeys(folders))


def sweep_stale(folder: str | os.PathLike) -> int:
    """Removes the temporary files that killed writers left in ``folder`` (not its subfolders).

    A file is removed when its name is one ``atomic_path`` gives, and either its writer,
    a process of this process-id space (``_host``), no longer runs, or it has not been
    modified for ``STALE_AGE_S``. Files that concurrent runs are writing stay. Returns how
    many were removed (0 for a folder that does not exist or cannot be read).
    """
    now, removed = time.time(), 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.endswith(PART_SUFFIX) and PART_SUFFIX + "." not in entry.name:
            continue
        with contextlib.suppress(OSError):
            regular = entry.is_file(follow_symlinks=False)
            if regular and _stale(entry.name, entry.stat(follow_symlinks=False).st_mtime, now):
                os.unlink(entry.path)
                removed += 1
    return removed


_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os_flags("NOFOLLOW", "CLOEXEC")
"""How a temporary file is created: new, never through a link (as ``tempfile.mkstemp``), with
mode 0666 less the umask of the moment, as a plain ``open(path, "w")`` makes a new file
(mkstemp's are 0600; ``atomic_path`` then gives a replaced file's mode back, ``_kept_mode``).
Asked of the kernel: reading the umask takes ``os.umask(0)`` and a restore, during which
another thread's files were created world-writable, and a umask set after import was ignored."""


def _kept_mode(path: Path, mode: int) -> int:
    """The mode of the file the rename replaces: ``open(path, "w")`` on an existing file keeps
    its mode (a 0600 config stayed private; the rename gave it the umask's 0644); ``mode``
    for a new file or a link replaced (its target is not touched). Set-user/group-ID bits are
    dropped, as the kernel drops them when someone writes to such a file."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return mode
    return stat.S_IMODE(found.st_mode) & ~(stat.S_ISUID | stat.S_ISGID) if stat.S_ISREG(found.st_mode) else mode


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike, *, extension: bool = True, stamps: list | None = None, through_links: bool = False
) -> Iterator[Path]:
    """A temporary path beside ``path`` (same extension) for writers that take a file name.

    On success the file written there replaces ``path`` atomically, with the replaced file's
    permission bits (as ``open(path, "w")`` keeps them); on an exception it is removed.
    ``stamps``: gets the finished file's ``(size, modification time in ns)``, taken before
    the rename (which keeps both), so that another process replacing ``path`` right after it
    cannot lend its file's stamp to this one. ``through_links``: a link at ``path`` is written
    through, as ``open(path, "w")`` writes, for a file the user named (``config -o``, a
    picture); else the rename replaces the link (an output inside a folder never lands
    outside it, ``outputs.target_path``).
    """
    path = _writable(Path(path), through_links)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder; give a file name", str(path))
    if path.exists() and not path.is_file():  # the rename would replace a device node or FIFO
        raise OSError(errno.EINVAL, "is not a regular file (a device, FIFO or socket); give a file name", str(path))
    suffix = PART_SUFFIX + path.suffix if extension else PART_SUFFIX  # writers that pick a format by extension
    writer = f".{os.getpid()}-{_host()}-"  # the writer, for sweep_stale
    prefix = "." + _shortened(path.name, len(os.fsencode(writer + suffix)) + 9) + writer
    temporary = None
    try:
        with _naming(path):  # the OS's errors name the output, not the temporary file
            _make_folder(path.parent)
            while True:
                # Named before it is created: a Ctrl-C / SIGTERM raised as the file comes into
                # being still finds and removes it (inside mkstemp it was left behind).
                temporary = os.path.join(path.parent, prefix + secrets.token_hex(4) + suffix)
                try:
                    descriptor = os.open(temporary, _CREATE, 0o666)
                except FileExistsError:  # another file of this process by that name: not ours to remove
                    temporary = None
                    continue
                mode = os.fstat(descriptor).st_mode & 0o7777
                os.close(descriptor)
                break
        yield Path(temporary)
        with _naming(path):
            os.chmod(temporary, _kept_mode(path, mode))  # a writer that made the file anew (its own mode) included
            if stamps is not None:
                stamps.append(stamp(temporary))
            os.replace(temporary, path)
    except BaseException:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise


SPECIAL_NAME = "is a device or a process's file; give a file name"
"""The reason a name in ``/dev`` or ``/proc`` is refused (``jaxspec config`` adds that ``-o -`` prints:
only it takes ``-``; ``plot -o -`` and ``encode -o -`` write a file or folder named ``-``)."""


def _writable(path: Path, through_links: bool) -> Path:
    """``path``, or with ``through_links`` the file a link there names. A name in ``/dev`` itself
    or anywhere in ``/proc`` (a process's open files) is refused: as root, ``-o /dev/stdout``
    turned the system's link into a plain file (``/dev/shm/x/a.npy``, a tmpfs, is a file)."""
    target = Path(os.path.realpath(path)) if through_links and path.is_symlink() else path
    for place in {Path(os.path.abspath(path)), target}:
        if place.parent == Path("/dev") or place.parts[1:2] == ("proc",):
            raise OSError(errno.EINVAL, SPECIAL_NAME, str(path))
    return target


def _make_folder(folder: Path) -> None:
    """``folder`` and its parents; one of them that is a file is ``NotADirectoryError`` (mkdir
    says "File exists", which reads as if the output itself were in the way)."""
    missing = []  # made top-down in a loop: mkdir(parents=True) recursed, 1200 levels raised RecursionError
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    try:
        if os.path.lexists(folder) and not folder.is_dir():  # a file, or a link to none
            with contextlib.suppress(FileNotFoundError):
                os.stat(folder)  # a loop of links: its own error ("Too many levels of symbolic links")
            raise FileExistsError(errno.EEXIST, "exists", str(folder))
        for part in reversed(missing):
            part.mkdir(exist_ok=True)
    except FileExistsError as error:
        raise NotADirectoryError(errno.ENOTDIR, "a part of the folder path is a file", error.filename) from None


NAME_MAX = 255
"""Bytes in a file name on Linux, macOS and Windows file systems."""


def _shortened(name: str, room: int) -> str:
    """``name`` as the temporary name can hold it beside ``room`` other bytes: a legal final
    name of 225-255 bytes made a temporary name past ``NAME_MAX`` (the write failed with
    "File name too long"). Cut to fit, with 8 hex digits of its hash: two long names
    that share a beginning get two temporary names."""
    budget = NAME_MAX - room
    if len(os.fsencode(name)) <= budget:
        return name
    digest = hashlib.blake2b(os.fsencode(name), digest_size=4).hexdigest()
    cut = name
    while len(os.fsencode(cut)) > budget - 9:
        cut = cut[:-1]
    return f"{cut}~{digest}"


@contextlib.contextmanager
def _naming(path: Path, unnamed: bool = False) -> Iterator[None]:
    """Re-raises an ``OSError`` as the same error about ``path`` (``unnamed``: only one that
    names no file, as a write or flush to an open file raises: "No space left on device")."""
    try:
        yield
    except OSError as error:
        if error.errno is None or (unnamed and error.filename is not None):
            raise
        raise type(error)(error.errno, error.strerror, str(path)) from error


@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike, mode: str = "wb", stamps: list | None = None, through_links: bool = False
) -> Iterator[IO]:
    """Opens a temporary file beside ``path``; on success it replaces ``path`` atomically.

    The folder is created. On any exception the temporary file is removed and
    ``path`` is left as it was.

    >>> import tempfile, os
    >>> from jaxspec._atomic import atomic_file
    >>> target = os.path.join(tempfile.mkdtemp(), "a", "x.txt")
    >>> with atomic_file(target, "w") as f:
    ...     _ = f.write("done")
    >>> open(target).read()
    'done'
    """
    with atomic_path(path, extension=False, stamps=stamps, through_links=through_links) as temporary:
        # closed (flushed) before the stamp and the rename; a full disk names the output, not nothing
        with _naming(Path(path), unnamed=True), open(temporary, mode) as file:
            yield file
