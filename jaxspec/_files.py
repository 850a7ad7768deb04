"""Opening audio files safely: what is checked before and after soundfile reads one.

- Only regular files are opened (``stat.S_ISREG``): a FIFO, a device or a socket named
  as a file is refused at once instead of blocking a read forever.
- A file that cannot be opened gets the operating system's reason ("Permission
  denied"), not libsndfile's "System error".
- Names that are not valid UTF-8 (bytes from another locale, kept by Python as
  surrogate escapes) are handed to soundfile as the original bytes.
- Header values a decoder would act on are checked against ``jaxspec.limits``
  (rate, channels); a RIFF/WAVE file whose ``data`` chunk declares more frames than the
  file holds (cut mid-data, or a lying header) warns, naming the path.

Every failure is an ``AudioFileError`` naming the path (``FileNotFoundError`` for a
missing file).
"""

from __future__ import annotations

import os
import re
import stat
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from . import limits
from .errors import AudioFileError, InputError, TruncatedAudioWarning

MAX_CHANNELS = 1024
"""Files declaring more channels than this are refused (a lying header)."""


def display(path: Any) -> str:
    """``path`` for messages: ``quoted`` (a byte that is not UTF-8 as ``\\xNN``, as ``ls -b``)."""
    return quoted(os.fspath(path))


_UNPRINTABLE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\udc80-\udcff]")


def printable(text: Any) -> str:
    """``text`` (a path) for a message or a title: backslashes and control characters escaped as ``ls -b``
    shows them (``\\n``, ``\\t``, ``\\x1b``: a name cannot break a line or drive the
    terminal), and the bytes of a name that are not UTF-8 (``surrogateescape``) as ``\\xNN``."""

    def one(match: re.Match) -> str:
        code = ord(match.group())
        return f"\\x{code - 0xDC00:02x}" if code >= 0xDC80 else repr(match.group())[1:-1]

    return _UNPRINTABLE.sub(one, str(text))


def quoted(path: Any) -> str:
    """``printable(path)`` in quotes, for a message (``repr`` shows a byte that is not UTF-8 as ``\\udcNN``)."""
    return f"'{printable(path)}'"


def checked_path(path: Any) -> Path:
    """``path`` as a ``Path`` if it names an existing regular file that can be opened.

    Raises:
      InputError: ``path`` is bytes (pass ``os.fsdecode(path)``), not a path, or holds a NUL.
      FileNotFoundError: nothing is there.
      AudioFileError: a directory, a FIFO, a device or socket, or a file that cannot
        be opened (the OS's reason).
    """
    if isinstance(path, bytes):
        raise InputError(
            f"path {path!r} is bytes; pass it as a str: os.fsdecode(path) (names that are not UTF-8 work too)"
        )
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"{path!r} is not a path (str or os.PathLike)")
    if "\0" in os.fspath(path):
        raise InputError(f"path {os.fspath(path)!r} contains a NUL character; no file can have that name")
    if not os.fspath(path):  # Path("") is ".": the message named a folder nobody gave
        raise InputError("path '' is empty; give an audio file's name")
    path = Path(os.fspath(path)).expanduser()
    shown = display(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"audio file {shown} does not exist") from None
    except OSError as error:
        raise AudioFileError(f"cannot read {shown}: {error.strerror or error}") from error
    if stat.S_ISDIR(info.st_mode):
        raise AudioFileError(f"cannot read {shown}: it is a directory")
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "not a regular file (a device or socket)"
        raise AudioFileError(f"cannot read {shown}: it is {kind}; jaxspec reads regular files only")
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise AudioFileError(f"cannot read {shown}: {error.strerror or error}") from error
    return path


def soundfile_path(path: Path) -> str | bytes:
    """What to hand soundfile: the str, or its original bytes when it is not valid UTF-8."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def check_header(path: Path, rate: int, channels: int, frames: int) -> None:
    """``AudioFileError`` for header values no decoder should act on."""
    shown = display(path)
    if not 0 < rate <= limits.MAX_SAMPLE_RATE:
        raise AudioFileError(
            f"cannot read {shown}: its header declares a sample rate of {rate} Hz (the cap is "
            f"{limits.MAX_SAMPLE_RATE} Hz)"
        )
    if not 0 < channels <= MAX_CHANNELS:
        raise AudioFileError(
            f"cannot read {shown}: its header declares {channels} channels (the cap is {MAX_CHANNELS})"
        )
    if frames < 0:
        raise AudioFileError(f"cannot read {shown}: its header declares {frames} frames")


def declared_frames(path: Path) -> int | None:
    """Frames a RIFF/WAVE file's ``data`` chunk or an AIFF file's ``COMM`` chunk declares
    (``None`` for other formats or no header: libsndfile counts a cut file by its size)."""
    try:
        with open(path, "rb") as file:
            head = file.read(12)
            if len(head) == 12 and head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
                return _aiff_frames(file)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
                return None
            order = "<" if head[:4] == b"RIFF" else ">"
            block_align = None
            for _ in range(64):  # chunks before "data"; a file with more is not worth a warning
                chunk = file.read(8)
                if len(chunk) < 8:
                    return None
                name, size = chunk[:4], struct.unpack(order + "I", chunk[4:])[0]
                if name == b"fmt ":
                    fmt = file.read(size + (size & 1))
                    if len(fmt) < 14:
                        return None
                    block_align = struct.unpack(order + "H", fmt[12:14])[0]
                elif name == b"data":
                    if not block_align or size in (0, 0xFFFFFFFF):  # 0 / -1: streamed WAV, size unknown
                        return None
                    return size // block_align
                else:
                    file.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return None
    return None


def _aiff_frames(file: Any) -> int | None:
    """``numSampleFrames`` of the ``COMM`` chunk of an AIFF / AIFF-C file read past its
    12-byte ``FORM`` header (big-endian chunks, padded to even sizes)."""
    for _ in range(64):
        chunk = file.read(8)
        if len(chunk) < 8:
            return None
        name, size = chunk[:4], struct.unpack(">I", chunk[4:])[0]
        if name == b"COMM":
            comm = file.read(6)
            return struct.unpack(">I", comm[2:6])[0] if len(comm) == 6 else None
        file.seek(size + (size & 1), os.SEEK_CUR)
    return None


def header_frames(path: Path, frames: int) -> int:
    """The frames a file's header declares: libsndfile's count ``frames``, or a WAV ``data``
    or AIFF ``COMM`` chunk's if larger (libsndfile counts a cut WAV or AIFF by its size)."""
    return max(frames, declared_frames(path) or 0)


def warn_if_truncated(path: Path, decoded: int, declared: int | None, what: str = "decoded to") -> None:
    """Warns (``TruncatedAudioWarning``) when fewer frames were decoded than the header declares."""
    if declared is not None and decoded < declared:
        warnings.warn(
            f"audio file {display(path)} {what} {decoded} frames but its header declares {declared}: "
            "the file is truncated (or its header is wrong); encoding the frames it holds",
            TruncatedAudioWarning,
            stacklevel=3,
        )


def read_on(file: Any, count: int) -> np.ndarray:
    """The next ``count`` frames (fewer at the end) of an open ``soundfile.SoundFile``, as
    float32 ``[got, channels]``, read on from where the decoder is, without a seek.

    ``SoundFile.read`` asks libsndfile for its position before each read and seeks to where
    it ended after it; for MP3 (mpg123) such a seek is not exact ("fuzzy seeking" through
    the Xing table of contents), so a file read in blocks that way drifts off its samples
    (a 2 min tone: 0.32 off after 55 000 samples, where one whole read is exact). libsndfile's
    own ``sf_readf_float`` reads on; soundfile's ``read`` is the fallback where its
    low-level handles are missing.
    """
    snd, ffi, handle = getattr(soundfile, "_snd", None), getattr(soundfile, "_ffi", None), getattr(file, "_file", None)
    if snd is None or ffi is None or handle is None or not hasattr(snd, "sf_readf_float"):
        return file.read(count, dtype="float32", always_2d=True)
    out = np.empty((count, file.channels), np.float32)
    got = snd.sf_readf_float(handle, ffi.cast("float *", out.ctypes.data), count)
    if got < 0 or snd.sf_error(handle):
        raise RuntimeError(ffi.string(snd.sf_strerror(handle)).decode("utf-8", "replace"))
    return out[:got]
