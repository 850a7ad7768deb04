"""What ``jaxspec encode`` and ``python -m jaxspec.beam`` write: paths inside ``-o``, atomic files, keys, the manifest.

- Every output is written under a temporary name in its folder and renamed when complete
  (``jaxspec._atomic``): a killed run leaves no partial file under a final name. Output names come
  from the inputs' relative names; a name that would leave ``-o`` (``..``, absolute) fails that item.
- ``--single`` writes one ``.npz`` archive with ``zipfile`` and ``np.lib.format.write_array``
  (any name, ``file`` and ``allow_pickle`` included).
- Key rule (SPEC section 4): a file's key is ``jaxspec.corpus.file_key(SEED, NAME)``, made
  from a hash of its relative output name only (see there), so adding a file or splitting
  the work changes no other file's output. ``jaxspec encode`` and ``jaxspec.beam`` share this.
- The manifest (``jaxspec.manifest``) records what was written and how, so that a rerun skips
  what is up to date.
"""

from __future__ import annotations

import ast
import errno
import math
import os
import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ._atomic import atomic_file
from ._files import file_id

KEY_RULE_NONE = "no key (no augmentation)"


def key_rule(seed: int | None) -> str:
    """The key rule recorded in the manifest, with its seed."""
    if seed is None:
        return KEY_RULE_NONE
    # a seed outside [0, 2**32) names its 64-bit words: without x64 it drew other keys until
    # 2026-12-05 (JAX kept its low 32 bits), so outputs recorded under the old rule are made again
    shown = f"{seed}" if 0 <= seed < 2**32 else f"{seed}: words {seed % 2**64 >> 32}, {seed % 2**32}"
    return f"fold_in(fold_in(key({shown}), h >> 32), h & 0xFFFFFFFF), h = blake2b-64(name) little-endian"


def escapes(name: str) -> bool:
    """True if the output name would be written outside the output folder."""
    path = Path(name)
    return path.is_absolute() or bool(path.drive) or ".." in path.parts or name in ("", ".")


OUTPUT_SUFFIX = ".npy"
"""What an output file's name adds to its input's relative name."""


def refused_output(target: Path, ids: dict) -> str | None:
    """Why an item's output ``target`` may not be written: it is one of the files ``ids`` (``_files.destroyable``:
    an input, a recording of the config) itself; else ``None``. One ``stat`` (``jaxspec encode``, the Beam job)."""
    same = ids.get(file_id(target))
    return None if same is None else f"its output is {same} itself; give another output folder"


def target_path(out: Path, name: str, suffix: str = OUTPUT_SUFFIX) -> Path:
    """``out / (name + suffix)``, checked to stay inside ``out`` (``ValueError`` else)."""
    if escapes(name):
        raise ValueError(f"its output name {name!r} would be written outside {str(out)!r}; it is skipped")
    target = out / (name + suffix)
    # Links resolved (a folder already inside -o may be a link to elsewhere); the final name
    # itself is not followed (the rename replaces a link there).
    root = os.path.realpath(out)
    if os.path.commonpath([root, os.path.realpath(target.parent)]) != root:
        raise ValueError(f"its output {str(target)!r} would be outside {str(out)!r} (through a link); it is skipped")
    return target


def write_npy(path: Path, array: np.ndarray) -> tuple[int, int]:
    """Writes ``array`` to ``path`` atomically; returns the file's ``_atomic.stamp``."""
    array = np.ascontiguousarray(array)
    stamps: list = []
    try:
        with atomic_file(path, stamps=stamps) as file:
            np.lib.format.write_array(file, array, allow_pickle=False)
    except OSError as error:
        # NumPy reports a short write as "N requested and M written", with no errno: say why
        free = None if error.errno is not None else shutil.disk_usage(path.parent).free
        if free is None or free >= array.nbytes:
            raise
        reason = f"No space left on device ({free} bytes free, {array.nbytes} needed)"
        raise OSError(errno.ENOSPC, reason, str(path)) from error
    return stamps[0]


def whole_npy(path: Path) -> bool:
    """Whether ``path`` holds a whole ``.npy`` file: its size is what its header says.

    Outputs are renamed into place without ``fsync`` (as ``np.save`` writes them: 0.6 ms a
    file on this ext4, a third of the command line's time per file): after a power cut or a
    crash of the machine (not of the process) one can be empty or cut under its final name.
    """
    # The header is read here, not by NumPy's reader, which warns of Python 2 headers: silencing
    # it took warnings.catch_warnings, which swaps the process's filters (threads: "ignore all" left)
    try:
        with open(path, "rb") as file:
            magic = file.read(8)  # b"\x93NUMPY", major and minor version
            if magic[:6] != b"\x93NUMPY" or magic[6] not in (1, 2, 3):
                return False
            size = int.from_bytes(file.read(2 if magic[6] == 1 else 4), "little")
            if size > 1 << 16:
                return False
            header = ast.literal_eval(file.read(size).decode("latin1"))
            dtype = np.lib.format.descr_to_dtype(header["descr"])
            shape = tuple(int(n) for n in header["shape"])
            return os.fstat(file.fileno()).st_size == file.tell() + math.prod(shape) * dtype.itemsize
    except Exception:  # noqa: BLE001 - any header that is not a plain dict of these: not whole
        return False


def archive_name(name: str) -> str:
    """The key of ``name`` in a ``--single`` archive: itself, with bytes that are not UTF-8 as ``\\xNN``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def write_npz(path: Path, arrays: Iterable[tuple[str, np.ndarray]]) -> tuple[int, int]:
    """Writes one ``.npz`` archive (entry ``NAME.npy`` per array) atomically; returns its ``_atomic.stamp``.

    The archive is built with ``zipfile`` directly: names are never passed as keyword
    arguments (``np.savez(file, **arrays)`` loses arrays named ``file`` or ``allow_pickle``).
    Names are stored as ``archive_name`` gives them (zip entries are UTF-8).
    """
    stamps: list = []
    with (
        atomic_file(path, stamps=stamps) as file,
        zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive,
    ):
        for name, array in arrays:
            with archive.open(archive_name(name) + ".npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.ascontiguousarray(array), allow_pickle=False)
    return stamps[0]
