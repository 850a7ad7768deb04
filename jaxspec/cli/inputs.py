"""Command-line inputs: files, folders and globs expanded into named inputs."""

from __future__ import annotations

import collections
import errno
import fnmatch
import glob
import os
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .._files import quoted
from .._output_names import names_folder, refuse_folder
from ..outputs import OUTPUT_SUFFIX, archive_name

_EXTENSION_LIST = (
    ".wav .wave .flac .ogg .oga .opus .mp3 .aif .aiff .aifc .au .snd .caf .w64 .rf64 .voc .sd2 .ircam .sf "
    ".nist .sph .htk .paf .pvf .xi .wve .avr .mpc .mat"
)
AUDIO_EXTENSIONS: frozenset[str] = frozenset(_EXTENSION_LIST.split())
"""File extensions that ``encode`` and ``info`` pick up inside folders and globs."""


@dataclass(frozen=True)
class Input:
    """An audio file to process and the name of its output (relative, no extension)."""

    path: str
    name: str


def _is_audio(path: str) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _strip_extension(relative: str) -> str:
    path = Path(relative)
    return (path.parent / path.stem).as_posix() if path.suffix else path.as_posix()


def _unreadable(problems: list[tuple[str, str]], folder: str, error: OSError) -> None:
    """Records a folder that cannot be read (no permission, a path past ``PATH_MAX``): it was
    skipped silently, and its files were neither encoded nor counted as failed."""
    problems.append((error.filename or folder, f"cannot read the folder: {error.strerror or error}"))


def _walk(folder: str, problems: list[tuple[str, str]]) -> Iterator[tuple[str, list[str]]]:
    """``(root, files)`` for ``folder`` and each folder below it, top-down in sorted order, as
    ``os.walk`` (links to folders not followed) but with a stack, not recursion: Python 3.11's
    ``os.walk`` raised ``RecursionError`` past about 990 levels and the whole run stopped
    (a 1900-level tree is 3.8 kB of path, under ``PATH_MAX``). ``_unreadable`` folders."""
    stack = [folder]
    while stack:
        root = stack.pop()
        try:
            with os.scandir(root) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            _unreadable(problems, root, error)
            continue
        dirs, files = [], []
        for entry in entries:
            try:
                is_dir, linked = entry.is_dir(), entry.is_symlink()
            except OSError:
                is_dir = linked = False
            if not is_dir:
                files.append(entry.name)
            elif not linked:  # a link to a folder is neither walked nor a file (os.walk's rule)
                dirs.append(entry.name)
        yield root, files
        stack.extend(os.path.join(root, name) for name in reversed(dirs))


def _folder_inputs(folder: str, problems: list[tuple[str, str]], prefix: str = "") -> Iterator[Input]:
    """The audio files below ``folder`` (links to folders not followed), sorted; ``_unreadable`` folders."""
    for root, files in _walk(folder, problems):
        for file in files:
            path = os.path.join(root, file)
            if _is_audio(path) and not file.startswith("._"):  # macOS's AppleDouble metadata: no audio, failed each run
                yield Input(path, _strip_extension(os.path.join(prefix, os.path.relpath(path, folder))))


def _glob_base(pattern: str) -> str:
    parts = Path(pattern).parts
    base = []
    for part in parts:
        if glob.has_magic(part):
            break
        base.append(part)
    return os.path.join(*base) if base else "."


def _glob(pattern: str, problems: list[tuple[str, str]]) -> list[str]:
    """``glob.glob(pattern, recursive=True)``, sorted, except that ``**`` does not descend
    into links to folders: the standard glob follows them, so two links looping back into
    the tree made ``a/**/*.wav`` list about 2**40 paths (a hang). Folders given as folders
    are walked without following links too. Folders that cannot be read go to ``problems``
    (glob skips them silently)."""
    parts = Path(pattern).parts
    base = _glob_base(pattern)
    found: set[str] = set()
    # a stack of (folder, parts left), not recursion: ``**`` over a tree deeper than about
    # 990 levels raised RecursionError and stopped the whole run
    stack: list[tuple[str, tuple[str, ...]]] = [("", parts) if base == "." else (base, parts[len(Path(base).parts) :])]
    while stack:
        folder, rest = stack.pop()
        if not rest:
            if folder:
                found.add(folder)
            continue
        part, tail = rest[0], rest[1:]
        if not glob.has_magic(part):
            path = os.path.join(folder, part) if folder else part
            if not tail and os.path.lexists(path):
                found.add(path)
            elif tail and os.path.isdir(path):
                stack.append((path, tail))
            continue
        try:  # reversed: popped from the stack in sorted order (problems are reported in it)
            entries = sorted(os.scandir(folder or "."), key=lambda entry: entry.name, reverse=True)
        except FileNotFoundError:  # vanished since it was listed
            continue
        except OSError as error:
            _unreadable(problems, folder or ".", error)
            continue
        if part == "**":
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                path = os.path.join(folder, entry.name)
                if not tail and not (entry.is_symlink() and entry.is_dir()):
                    found.add(path)  # a last ``**``: every file and folder below, but no link to a folder (walked)
                if entry.is_dir(follow_symlinks=False):
                    stack.append((path, rest))
            stack.append((folder, tail))  # zero folders, first
            continue
        for entry in entries:
            if entry.name.startswith(".") and not part.startswith("."):
                continue  # glob's rule: wildcards do not match hidden names
            if fnmatch.fnmatchcase(entry.name, part) and not (entry.is_symlink() and entry.is_dir()):
                # a link to a folder is not walked, as in a folder ('*' matched current -> . and named
                # its files current/...); a literal part (``corpora/*/latest``) still follows one
                path = os.path.join(folder, entry.name)
                if not tail:
                    found.add(path)
                elif entry.is_dir():
                    stack.append((path, tail))
    if pattern.endswith(("/", os.sep)):  # glob's rule: a trailing separator matches folders only
        return sorted(path for path in found if os.path.isdir(path))
    return sorted(found)


def _location(path: str) -> str:
    """Where ``path`` is, its folders' links resolved but not a link at its own name: a file
    given twice (``clips`` and ``clips/a.wav``, or through a linked folder) is one location,
    while ``b.wav -> a.wav`` is another input with its own output (deduplicated by its target,
    ``b`` was silently never written: a Hugging Face snapshot links equal files to one blob)."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(os.path.realpath(folder), name)


def find_inputs(patterns: Iterable[str]) -> tuple[list[Input], list[tuple[str, str]]]:
    """Expands files, folders (recursive, by audio extension) and globs, in order.

    Output names mirror the layout: a file ``a/b.wav`` given alone -> ``b``; inside a
    folder ``a`` given as ``a`` -> ``b`` relative to it; a glob ``a/**/*.wav`` ->
    relative to ``a``, its part before the first wildcard. A file found twice is kept once
    (two links to one file are two inputs).

    Returns:
      ``(inputs, problems)``: problems are ``(pattern, reason)`` for paths that
      match nothing, and ``(folder, reason)`` for folders that cannot be read.
    """
    inputs: list[Input] = []
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(items: Iterable[Input]) -> int:
        """Adds the items not seen yet; returns how many audio files were found (seen or not)."""
        count = 0
        for item in items:
            count += 1  # a file already given by an overlapping path still counts as found
            real = _location(item.path)
            if real not in seen:
                seen.add(real)
                inputs.append(item)
        return count

    for pattern in patterns:
        if os.path.isdir(pattern):
            before = len(problems)
            if not add(_folder_inputs(pattern, problems)) and len(problems) == before:
                problems.append(
                    (pattern, f"folder has no audio files ({', '.join(sorted(AUDIO_EXTENSIONS)[:6])}, ...)")
                )
        elif os.path.lexists(pattern):  # a link that loops or dangles fails with the OS's reason, as in a folder
            add([Input(pattern, _strip_extension(os.path.basename(pattern)))])
        elif glob.has_magic(pattern):
            base, before = _glob_base(pattern), len(problems)
            found = []
            for match in _glob(pattern, problems):
                relative = os.path.relpath(match, base)
                if os.path.isdir(match):
                    found.extend(_folder_inputs(match, problems, relative))
                elif _is_audio(match):
                    found.append(Input(match, _strip_extension(relative)))
            if not add(found) and len(problems) == before:
                problems.append((pattern, "the pattern matches no audio file"))
        else:
            problems.append((pattern, _why_missing(pattern)))
    return inputs, problems


def _why_missing(path: str) -> str:
    """The OS's reason a path that ``lexists`` denies cannot be reached ("Permission denied" for a
    file in a folder that cannot be searched, "File name too long"): it was "no such file or folder"."""
    try:
        os.lstat(path)
    except OSError as error:
        if error.errno != errno.ENOENT and error.strerror:
            return error.strerror
    return "no such file or folder"


def ignores_case(folder: str | os.PathLike) -> bool:
    """Whether the file system of ``folder`` (or of its nearest existing parent) takes a name
    spelled in another case for the same file, as macOS and Windows do by default: the nearest
    existing path whose last name has a cased letter, looked up with its case swapped."""
    path = Path(os.path.abspath(folder))
    for place in (path, *path.parents):
        swapped = place.name.swapcase()
        if swapped != place.name and os.path.lexists(place):
            try:
                return os.path.samefile(place, place.with_name(swapped))
            except OSError:  # no such name: the file system tells case apart
                return False
    return False


def _folded(name: str) -> str:
    """A name as a case-insensitive file system compares it (APFS also ignores the Unicode form)."""
    return unicodedata.normalize("NFD", name).casefold()


def collisions(inputs: Sequence[Input], files: bool = True, folded: bool = False) -> list[str]:
    """Inputs whose outputs would have the same name (as a file, or as a ``--single`` archive
    key) and, with ``files``, an output file whose name is a folder another output needs
    (``in/sub.wav`` -> ``sub.npy`` beside ``in/sub.npy/a.wav`` -> ``sub.npy/a.npy``).

    Names are compared as they are written: file names by their bytes (``os.fsencode``), archive
    keys as ``outputs.archive_name`` stores them. A byte that is not UTF-8 and a literal ``\\xNN``
    print alike, but are two files in a folder (a false clash) and one key in an archive. With
    ``folded`` (outputs on a file system that ignores case, ``ignores_case``), file names are
    compared case-folded: ``Intro.wav`` and ``intro.flac`` were one ``intro.npy`` on macOS, the
    other's features under its name, exit 0 (the portability audit)."""
    real = _folded if folded and files else os.fsencode if files else archive_name
    by_real: dict[str | bytes, list[Input]] = collections.defaultdict(list)
    for item in inputs:
        by_real[real(item.name)].append(item)
    by_name = {group[0].name: [item.path for item in group] for group in by_real.values()}
    case = {group[0].name for group in by_real.values() if len({item.name for item in group}) > 1}
    found = [
        f"{', '.join(map(quoted, paths[:-1]))} and {quoted(paths[-1])} would {'all' if len(paths) > 2 else 'both'} "
        f"be written as {quoted(name)}{_CASE if name in case else ''}{_ADVICE}"
        for name, paths in by_name.items()
        if len(paths) > 1
    ]
    if files:
        written = {real(f"{name}{OUTPUT_SUFFIX}"): paths[0] for name, paths in by_name.items()}
        for name, paths in by_name.items():
            folder = next((f for f in PurePosixPath(name).parents if real(f.as_posix()) in written), None)
            if folder is not None:
                file = written[real(folder.as_posix())]
                found.append(
                    f"{quoted(file)} would be written as the file {quoted(folder.as_posix())}, "
                    f"which {quoted(paths[0])} needs as a folder (for {quoted(name + OUTPUT_SUFFIX)}){_ADVICE}"
                )
    return found


_ADVICE = "; encode them into separate folders"
_CASE = " (names that differ only in case or Unicode form are one file where the output goes)"


def refuse_collisions(inputs: Sequence[Input], output: str | os.PathLike, files: bool = True) -> bool:
    """Prints each of ``collisions(inputs, files)`` of outputs in ``output`` as an error (a usage
    error: nothing is encoded, ``jaxspec encode`` and the Beam job alike); True if there was any."""
    clashes = collisions(inputs, files, folded=files and ignores_case(output))
    for clash in clashes:
        print(f"error: {clash}", file=sys.stderr)
    return bool(clashes)


def picture_output(text: str) -> str:
    """``-o`` of ``plot`` and ``demo``, checked before any decoding: a folder name, or an extension
    that is not a format ``plot_file`` writes (``-o x.pgf`` needed xelatex and failed after the
    work, "unexpected error"), is a ``ConfigError`` naming ``-o``. Without matplotlib only the
    folder is checked: ``demo`` skips its picture then, and ``plot`` says what to install."""
    try:
        from .._picture_formats import picture_format  # matplotlib is imported only when a picture is drawn

        picture_format(text, "-o")  # the folder name too
    except ImportError:
        refuse_folder(text, "-o", "clip.png")
    return text


def encode_output(text: str, single: bool) -> tuple[Path, bool]:
    """``encode -o``: ``(path, names a folder)``. A name ending in a separator is the folder to
    write into, whatever its extension (``-o x.npz/`` is a folder named ``x.npz``, not an archive);
    with ``--single`` (one archive) it is a ``ConfigError``."""
    if single:
        refuse_folder(text, "-o", "features.npz", "--single writes one .npz archive")
    return Path(text), names_folder(text)
