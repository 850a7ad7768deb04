"""The manifest of an output folder or archive: what ``jaxspec encode`` and ``python -m jaxspec.beam`` wrote, and how.

The manifest ``OUT/.jaxspec-manifest.jsonl`` (beside an archive: ``ARCHIVE.manifest.jsonl``)
records, per output written, its name, the input's absolute path, size and modification time,
the output's size and the setting (a hash of the config's JSON and the key rule; the config is
recorded once per setting); a run that wrote nothing leaves none. A rerun skips an item only
when its record matches: same input, config and key rule, output present with the recorded
size and modification time (ns) (an output replaced since, by a run with another config, is redone).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import limits
from ._atomic import atomic_file
from ._regular import open_regular, os_flags
from .errors import InputError

MANIFEST_NAME = ".jaxspec-manifest.jsonl"
MAX_LINE_BYTES = 2 * limits.MAX_CONFIG_BYTES  # a setting line holds a config (inline recordings too)


@dataclass(frozen=True)
class Source:
    """What the manifest records about an input."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str) -> Source | None:
        try:
            info = os.stat(path)
        except OSError:
            return None
        return cls(os.path.abspath(path), info.st_size, info.st_mtime_ns)


def _check_manifest_path(path: Path) -> None:
    """``InputError`` unless ``path`` is absent or a regular file (not followed if a link):
    a FIFO there would block the read, a folder would fail every item's record, and a
    link would make the appended records land outside ``-o``."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:  # a legal -o name whose manifest's name is not ("cannot be read" misled)
            name = len(os.fsencode(path.name))
            what = f"a name of {name} bytes" if name > 255 else f"a path of {len(os.fsencode(str(path)))} bytes"
            raise InputError(
                f"the manifest {str(path)!r} beside the output has {what}, too long for the file system; shorten -o"
            ) from error
        raise InputError(f"the manifest {str(path)!r} cannot be read: {error.strerror or error}") from error
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a link" if stat.S_ISLNK(mode) else "not a regular file"
        raise InputError(f"the manifest {str(path)!r} is {kind}; remove it, or write to another -o")
    try:  # every line jaxspec writes is a JSON object: other data at the name (an input named
        # take.npy.manifest.jsonl, a noise recording) was replaced by the first rewrite
        with open_regular(path, follow=False) as file:
            first = file.read(1)
    except OSError:
        return  # as before: the reads that follow say what is wrong
    if first not in (b"", b"{", b"\0"):  # (zeros: a file system's crash left its blocks unwritten)
        raise InputError(
            f"the manifest {str(path)!r} holds other data (not jaxspec's JSON lines), which a run would "
            "replace; move it, or write to another -o"
        )


LOCK_WAIT_S = 30.0
"""How long a run waits for the manifest's lock, in all, before it goes on without it."""

NUMBERS = "2026-12-06b"
"""The revision of the encoder's numbers, in every setting: changed by each release whose draws or
rounding give an output other values for the same config and key rule (a rerun makes its outputs
again; they were kept as up to date): dither draws (2026-12-01), a time shift's rounding (-04), seeds
outside [0, 2**32) without x64 and an ``-o NAME.npy``'s key (-05), a long time warp (-06), Kaldi's
``RemoveDC`` of constant frames and uniform ranges narrower than 2**-100 (-06b)."""

_LOCK_OPEN = os.O_RDWR | os.O_CREAT | os_flags("CLOEXEC", "NONBLOCK", "NOFOLLOW")


@contextlib.contextmanager
def _locked(manifest: Path, wait: float) -> Iterator[float | None]:
    """Holds an exclusive ``flock`` on the manifest file (POSIX), so that the appends and
    rewrites of concurrent runs into one folder take turns; yields ``None`` when it holds
    the lock, else the seconds it waited for it in vain.

    The file itself, opened for writing (NFS takes exclusive locks only on files open for
    writing), not the output folder: a lock there met the ``flock OUT jaxspec encode ...``
    idiom (a parent holding that lock: the run waited for ever). A rewrite replaces the
    file, so a lock won on a file no longer under the name is let go and taken again on
    the new one. Polled for at most ``wait`` seconds: a lock that is not to be had (or a
    file system without one, a lease being broken, a manifest that cannot be opened for
    writing) leaves the call going unlocked, as before, rather than hanging."""
    start = time.monotonic()
    try:
        import fcntl
    except ImportError:
        yield 0.0
        return
    fd = None
    while True:
        try:
            fd = os.open(manifest, _LOCK_OPEN, 0o666)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # held elsewhere (from flock), or a lease being broken (from open)
            if fd is not None:
                os.close(fd)
                fd = None
            if time.monotonic() - start >= wait:
                break
            time.sleep(0.01)
            continue
        except OSError:  # cannot open it for writing, or no flock here: unlocked
            break
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_ino == os.stat(manifest).st_ino:
                break  # the file under the name is the one locked
        os.close(fd)  # rewritten meanwhile: lock the new file
        fd = None
    try:
        yield None if fd is not None else time.monotonic() - start
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _regular(path: Path, flags: int) -> Any:
    """The manifest opened (``_regular.open_regular``, links refused), or ``OSError``: never
    blocks on a special file (a FIFO swapped in during a run hung the rewrite's read), and
    waits for a lease to break (an open with ``O_NONBLOCK`` of a leased manifest failed at
    once, and the records of a whole run were lost)."""
    return open_regular(path, flags, follow=False)


def _parse(path: Path, strict: bool = False, prefer: Any = None) -> tuple[dict[str, dict], dict[str, dict]]:
    """A manifest's settings and latest record per name (none for a file that is not
    there; ``strict``: an ``OSError`` for one that cannot be read, else none either); with
    ``prefer(name, record)``, the latest record it prefers where one is (else the latest).
    Lines that are not a setting or a record are skipped (a line cut by a kill, garbage,
    JSON nested too deep, lines longer than ``MAX_LINE_BYTES``, never held whole)."""
    settings: dict[str, dict[str, Any]] = {}
    records: dict[str, dict[str, Any]] = {}
    try:
        with _regular(path, os.O_RDONLY) as file:
            for line in _lines(file, MAX_LINE_BYTES):
                try:
                    entry = json.loads(line.decode("utf-8", "surrogateescape"))
                except (ValueError, RecursionError):
                    continue
                if not isinstance(entry, dict):
                    continue
                if "config" in entry and isinstance(entry.get("setting"), str):
                    settings[entry["setting"]] = entry
                elif isinstance(entry.get("name"), str) and isinstance(entry.get("setting"), str):
                    name, old = entry["name"], records.get(entry["name"])
                    if prefer is None or old is None or prefer(name, entry) or not prefer(name, old):
                        records[name] = entry
    except FileNotFoundError:
        pass
    except OSError:
        if strict:
            raise
        return {}, {}
    return settings, records


def _lines(file: Any, cap: int) -> Iterator[bytes]:
    """The lines of a binary ``file`` of at most ``cap`` bytes; longer ones are read past in
    pieces and skipped."""
    while line := file.readline(cap + 1):
        if len(line) > cap and not line.endswith(b"\n"):
            while (rest := file.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            continue
        yield line


def _describes(record: dict | None, target: Path | None) -> bool:
    """Whether ``record`` is of the regular file at ``target`` as it is now (size and time in ns)."""
    try:
        info = target.lstat() if record is not None and target is not None else None
    except OSError:
        return False
    return (  # a record of before 2026-12, with no time, is not enough: .npy files of one shape have one size
        info is not None
        and stat.S_ISREG(info.st_mode)
        and info.st_size == record.get("output_bytes")
        and record.get("output_mtime_ns") == info.st_mtime_ns
    )


def _key_name(name: str, key_name: str | None) -> str | None:
    """What a record keeps of the name an output's key was made from: ``None`` when it is ``name``."""
    return None if key_name in (None, name) else key_name


class Manifest:
    """The record of what an output folder (or archive) holds and how it was made.

    An append-only JSON-lines file: a ``{"setting": H, "config": ..., "key_rule": ...}``
    line per setting, then a line per output written (appended after its rename). The
    last line of a killed run may be cut; it is ignored. ``compact`` rewrites it
    atomically with the latest record per name, merged with what concurrent runs into the
    same folder appended meanwhile (appends and rewrites hold a lock on the manifest file:
    ``_locked``). Records hold each output's ``_atomic.stamp``: ``write_npy`` and ``write_npz``
    return the one of the file they wrote, taken before its rename.
    """

    def __init__(self, path: Path, config_json: dict[str, Any], rule: str, recordings: dict | None = None):
        self.path = path
        made = {"config": config_json, "key_rule": rule, "numbers": NUMBERS}
        made |= {"recordings": recordings} if recordings else {}
        text = json.dumps(made, sort_keys=True)
        self.setting = hashlib.sha256(text.encode()).hexdigest()[:32]
        self.header = {"setting": self.setting, **made}
        _check_manifest_path(path)
        self.settings, self.records = _parse(path)
        self._touched: set[str] = set()  # names this run recorded or forgot: its word wins in compact
        self._targets: dict[str, Path] = {}  # their output files, for compact's check of a concurrent run's record
        self._inode: int | None = None  # the file this run's setting line went to
        self._lock_wait = LOCK_WAIT_S  # seconds this run may still wait for the lock

    def up_to_date(self, name: str, target: Path, source: Source | None, key_name: str | None = None) -> bool:
        """True if ``target`` was made from this same input with this setting (and key name: ``add``) and
        is complete."""
        record = self.records.get(name)
        if record is None or source is None or record.get("setting") != self.setting:
            return False
        if record.get("key_name") != _key_name(name, key_name):  # -o take.npy of clips/sub/a.wav, then of sub/a.wav
            return False
        if (record.get("input"), record.get("size"), record.get("mtime_ns")) != (
            source.path,
            source.size,
            source.mtime_ns,
        ):
            return False
        try:
            info = target.stat()
        except OSError:
            return False
        return info.st_size == record.get("output_bytes") and record.get("output_mtime_ns") == info.st_mtime_ns

    def wrote(self, name: str, target: Path) -> bool:
        """True if ``target`` is the regular file recorded as ``name``'s output, as written
        (size and time in ns; any setting): an output of jaxspec's, not a file of the user's."""
        return _describes(self.records.get(name), target)

    def add(
        self, name: str, source: Source | None, output: tuple[int, int], target: Path | None = None, key_name=None
    ) -> None:
        """Records an output just renamed into place (appended at once); ``output`` is its
        ``_atomic.stamp``, ``target`` its path (for ``compact``; ``None`` in an archive);
        ``key_name``: the name its key was made from, where that is not ``name`` (``-o NAME.npy``)."""
        record = {
            "name": name,
            "setting": self.setting,
            "input": None if source is None else source.path,
            "size": None if source is None else source.size,
            "mtime_ns": None if source is None else source.mtime_ns,
            "output_bytes": output[0],
            "output_mtime_ns": output[1],
        } | ({"key_name": _key_name(name, key_name)} if _key_name(name, key_name) else {})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._turn(), _regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT) as file:
            end = file.seek(0, os.SEEK_END)
            cut = end > 0 and file.seek(end - 1) >= 0 and file.read(1) != b"\n"  # a line a kill cut short
            inode = os.fstat(file.fileno()).st_ino
            # this setting's line again when the file is not the one it went to: another run
            # rewrote the manifest since (without it, were this run killed before its own rewrite)
            lines = ([] if inode == self._inode else [self.header]) + [record]
            # after a cut line, a newline first: else the first line would be glued to it and lost
            text = "\n" * cut + "".join(json.dumps(line) + "\n" for line in lines)
            file.write(text.encode("utf-8", "surrogateescape"))
        self._inode = inode
        self.records[name] = record  # once it is in the file
        self._touched.add(name)
        if target is not None:
            self._targets[name] = target

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """``_locked`` within what is left of this run's ``LOCK_WAIT_S`` (a lock held elsewhere
        for long cost 30 s per output, and again after a Ctrl-C)."""
        with _locked(self.path, self._lock_wait) as waited:
            if waited is not None:  # went on unlocked: the waits that failed use up the budget
                self._lock_wait = max(0.0, self._lock_wait - waited)
            yield

    def discard(self, name: str, target: Path) -> None:
        """Drops ``name``'s record after its input failed, and removes ``target`` if the record
        says jaxspec wrote it (``wrote``): an earlier run's output of that input is stale now.
        A file of the user's, a FIFO or a device that happens to have its name is left alone."""
        if self.wrote(name, target):
            with contextlib.suppress(OSError):
                target.unlink()
        self.forget(name)
        self._targets[name] = target

    def forget(self, name: str) -> None:
        """Drops the record of an output that is being replaced or failed."""
        self.records.pop(name, None)
        self._touched.add(name)

    def forget_all(self) -> None:
        """Drops every record (an archive written anew holds only what is added next)."""
        for name in list(self.records):
            self.forget(name)

    def compact(self) -> None:
        """Rewrites the manifest atomically: the settings in use, then one record per name.

        Records of names this run did not touch are taken from the file as it is now, so
        that the rows a concurrent run appended meanwhile are kept (its rewrite, if later,
        keeps this run's rows alike). For a name both wrote, the record that describes the
        output now on disk wins: the other run's rename may have come last (two identical runs
        into one folder left stale records, and the next run made 14-25 of 50 outputs again)."""
        with contextlib.suppress(OSError), self._turn():
            # per name this run wrote, the record of the file on disk if the manifest holds one: the
            # other run may have renamed its file last but appended its record first
            def on_disk(name: str, record: dict) -> bool:
                return name in self._touched and _describes(record, self._targets.get(name))

            settings, records = _parse(self.path, strict=True, prefer=on_disk)  # unreadable: left as it is
            for name in self._touched:
                theirs, ours = records.pop(name, None), self.records.get(name)
                if theirs is not None and theirs != ours and _describes(theirs, self._targets.get(name)):
                    ours = theirs
                if ours is not None:
                    records[name] = ours
            settings = {**settings, **self.settings, self.setting: self.header}
            used = {record.get("setting") for record in records.values()}
            if not records:  # nothing written (every input failed): no empty manifest left behind
                self.path.unlink(missing_ok=True)
            else:
                with atomic_file(self.path, "w") as file:
                    for setting in sorted(s for s in used if s in settings):
                        file.write(json.dumps(settings[setting]) + "\n")
                    for record in records.values():
                        file.write(json.dumps(record) + "\n")
            self.settings, self.records = settings, records
            self._inode = os.stat(self.path).st_ino if self.setting in used else None


def _carried_lines(header: dict, settings: dict, records: dict, names: set[str]) -> list[dict]:
    """A rewrite's first lines: ``header`` (this run's setting), then the ``records`` (and
    ``settings``) of outputs of other names than ``names`` (other runs'), without the fields of
    the run that wrote them, which the rewrite must keep."""
    run_fields = ("status", "seconds", "error")  # of the run that wrote a row, not of the output
    carried = [
        {field: value for field, value in record.items() if field not in run_fields}
        for name, record in records.items()
        if name not in names
    ]
    used = {record["setting"] for record in carried} - {header["setting"]}
    return [header, *(settings[setting] for setting in sorted(used) if setting in settings), *carried]


def job_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of the Beam job that last rewrote the manifest at ``path`` (the lines with a
    ``status``; carried records have none), read as ``_parse`` reads (no special file, long
    lines skipped). Raises ``OSError`` when it cannot be read."""
    rows = []
    with _regular(path, os.O_RDONLY) as file:
        for line in _lines(file, MAX_LINE_BYTES):
            with contextlib.suppress(ValueError, RecursionError):
                row = json.loads(line.decode("utf-8", "surrogateescape"))
                if isinstance(row, dict) and "status" in row:
                    rows.append(row)
    return rows


def replace_with_rows(rows_file: Path, header: dict, names: set[str]) -> None:
    """A Beam job's last step: the manifest beside ``rows_file`` rewritten atomically, under its
    lock, as ``_carried_lines`` of the file as it is now (so the records that concurrent runs
    appended meanwhile are kept) and the job's rows (``rows_file``, a JSON line each; removed).
    A manifest that cannot be read raises ``OSError`` and is left as it is, as is ``rows_file``
    (a non-strict read would have dropped every other run's record)."""
    path = rows_file.parent / MANIFEST_NAME
    with _locked(path, LOCK_WAIT_S):
        settings, records = _parse(path, strict=True)
        with atomic_file(path, "w") as file, open(rows_file, encoding="utf-8") as rows:
            file.writelines(json.dumps(line) + "\n" for line in _carried_lines(header, settings, records, names))
            shutil.copyfileobj(rows, file)
    rows_file.unlink()
