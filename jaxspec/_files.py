"""Opening audio files safely: what is checked before and after soundfile reads one.

- Only regular files are opened (``stat.S_ISREG``): a FIFO, a device or a socket named
  as a file is refused at once instead of blocking a read forever.
- A file that cannot be opened gets the operating system's reason ("Permission
  denied"), not libsndfile's "System error".
- Names that are not valid UTF-8 (bytes from another locale, kept by Python as
  surrogate escapes) are handed to soundfile as the original bytes.
- Header values a decoder would act on are checked against ``jaxspec.limits``
  (rate, channels); a file whose header declares more frames than the file holds (cut
  mid-data, or a lying header: WAV, RF64, Wave64, AIFF, AU, CAF, NIST) warns, naming the path.

Every failure is an ``AudioFileError`` naming the path (``FileNotFoundError`` for a
missing file).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from . import _file_ends, errors, limits
from .errors import AudioFileError, InputError, TruncatedAudioWarning

MAX_CHANNELS = 1024
"""Files declaring more channels than this are refused (a lying header)."""


def display(path: Any) -> str:
    """``path`` for messages: ``quoted`` (a byte that is not UTF-8 as ``\\xNN``, as ``ls -b``)."""
    return quoted(os.fspath(path))


def file_id(path: Any) -> tuple[int, int] | None:
    """``(device, inode)`` of the file ``path`` names (through links), or ``None`` if there is none."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return found.st_dev, found.st_ino


def refuse_overwriting(output: Any, inputs: Any, *, name: str, what: str = "input", recordings: Any = ()) -> None:
    """``InputError`` if writing ``output`` would replace one of ``inputs`` or of a config's
    ``recordings`` (the same file, a link to it included), before anything is read or written:
    ``plot_file(c, "a.wav", "a.wav")`` and ``plot a.wav -o a.wav`` drew over the audio,
    ``config.save("rec.wav")`` put JSON in a recording, ``plot a.wav -o n.png --noise-file n.png``
    a picture. ``name``: the output's parameter (``"-o"``, ``"output"``) for the message."""
    out = file_id(output)
    same = None if out is None else destroyable(inputs, recordings, what).get(out)
    if same is not None:
        raise InputError(f"{name} {display(output)} is {same} itself: writing it would destroy it")


def destroyable(inputs: Any, recordings: Any = (), what: str = "input") -> dict[tuple[int, int], str]:
    """What writing over a file would destroy, by ``file_id`` (files that are there): "the input
    'a.wav'", "the recording 'n.wav'" (an output's ``file_id`` looked up in it: one ``stat`` each)."""
    named = [(path, "recording") for path in recordings] + [(path, what) for path in inputs]
    return {found: f"the {kind} {display(path)}" for path, kind in named if (found := file_id(path)) is not None}


def unreadable(path: Any, error: Exception) -> AudioFileError:
    """The error for a regular file that libsndfile cannot open or decode, naming it. Its MP3
    reader says "File does not exist or is not a regular file (possibly a pipe?)" of any file
    it cannot decode (a PNG named .mp3): checked to be a regular file, it is the format."""
    reason, prefix = str(error), getattr(error, "prefix", "")  # soundfile's "Error opening NAME: " (named above)
    reason = reason[len(prefix) :] if isinstance(prefix, str) and reason.startswith(prefix) else reason
    if "possibly a pipe" in reason:
        reason = "libsndfile cannot decode it (the format is not recognised, or the file is damaged)"
    return AudioFileError(f"cannot read {display(path)}: {reason}")


_UNPRINTABLE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: Any) -> str:
    """``text`` (a path) for a message or a title: backslashes and control characters escaped as ``ls -b``
    shows them (``\\n``, ``\\t``, ``\\x1b``: a name cannot break a line or drive the
    terminal), the bytes of a name that are not UTF-8 (``surrogateescape``) as ``\\xNN``, and
    other lone surrogates (``"\\ud800"`` from a JSON file, which no stream can print) as ``\\ud800``."""

    def one(match: re.Match) -> str:
        code = ord(match.group())
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else repr(match.group())[1:-1]

    return _UNPRINTABLE.sub(one, str(text))


def quoted(path: Any) -> str:
    """``printable(path)`` in quotes, for a message (``repr`` shows a byte that is not UTF-8 as ``\\udcNN``)."""
    return f"'{printable(path)}'"


def checked_path(path: Any) -> Path:
    """``path`` as a ``Path`` if it names an existing regular file that can be opened.

    Raises:
      InputError: ``path`` is bytes (pass ``os.fsdecode(path)``), not a path, or holds a NUL
        or a lone surrogate.
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
    reason = unnameable(path)
    if reason:
        raise InputError(f"path {display(path)} {reason}; no file can have that name")
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


def unnameable(path: Any) -> str | None:
    """Why no file can have the name ``path`` (a str), or ``None``: a NUL, or a lone surrogate
    outside ``surrogateescape``'s ``\\udc80-\\udcff`` (``"\\ud800"`` from a JSON file), which the
    file system encoding cannot take (``os.stat`` raised a ``UnicodeEncodeError`` naming neither
    the path nor the file that held it)."""
    text = os.fspath(path)
    if "\0" in text:
        return "contains a NUL character"
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return "holds a lone surrogate"
    return None


_SNDFILE_NAME_MAX = 1024
"""Names of this many bytes and more libsndfile refuses ("Supplied filename too long"), far
below ``PATH_MAX``."""


def soundfile_path(path: Path) -> str | bytes:
    """What to hand soundfile: the str, or its original bytes when it is not valid UTF-8."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


@contextlib.contextmanager
def sndfile_name(path: Path) -> Iterator[str | bytes]:
    """The name to open ``path`` by with soundfile, valid inside the ``with``: ``soundfile_path``,
    or for a name libsndfile refuses as too long (a file deep in a folder tree, readable by the
    OS) ``/proc/self/fd/N/NAME``, through a descriptor of its folder held open meanwhile (where
    ``/proc`` exists): the file's own name stays, whose extension libsndfile reads (headerless
    ``.au``) and beside which it finds a companion file (``.sd2``'s resource fork)."""
    name = soundfile_path(path)
    if len(os.fsencode(name)) < _SNDFILE_NAME_MAX or not os.path.isdir("/proc/self/fd"):
        yield name
        return
    folder, base = os.path.split(os.fsencode(name))
    descriptor = os.open(folder or b".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        short = os.fsencode(f"/proc/self/fd/{descriptor}/") + base
        yield short if isinstance(name, bytes) else os.fsdecode(short)
    finally:
        os.close(descriptor)


def check_header(path: Path, rate: int, channels: int, frames: int, kind: str) -> None:
    """``AudioFileError`` for header values no decoder should act on; ``kind`` is libsndfile's
    name of the format (``soundfile.SoundFile.format``: ``"FLAC"``, ``"MP3"``, ...)."""
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
    lost = _file_ends.lost_audio(path, kind, frames)
    if lost:
        raise AudioFileError(f"cannot read {shown}: {lost}")


def declared_frames(path: Path) -> int | None:
    """Frames a file's header declares, for the formats whose header counts them: RIFF/WAVE
    (RIFX, RF64 / BW64 by their ``ds64`` chunk), Wave64, AIFF / AIFF-C, Sun AU, CAF (PCM) and
    NIST SPHERE. ``None`` for other formats, a header that says "unknown" (a streamed WAV or
    AU), or no header: libsndfile counts a file cut mid-data by its size, silently."""
    try:
        with open(path, "rb") as file:
            head = file.read(16)
            if len(head) < 16:
                return None
            if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
                return _after(file, 12, _aiff_frames)
            if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") and head[8:12] == b"WAVE":
                return _after(file, 12, functools.partial(_wav_frames, order=">" if head[:4] == b"RIFX" else "<"))
            if head[:4] == b"riff" and head[4:16] == _W64_TAIL:
                return _after(file, 40, _w64_frames)
            if head[:4] in (b".snd", b"dns."):
                return _au_frames(head + file.read(8))
            if head[:8] == b"caff\x00\x01\x00\x00":
                return _after(file, 8, _caf_frames)
            if head[:8] == b"NIST_1A\n":
                return _nist_frames(head + file.read(1024 - 16))
    except (OSError, struct.error, ValueError, OverflowError):  # a seek past any offset: a lying size
        return None
    return None


_W64_TAIL = bytes.fromhex("2e91cf11a5d628db04c10000")  # the rest of Wave64's "riff" GUID
_WAV_FRAME_TAGS = (1, 3, 6, 7)  # PCM, IEEE float, A-law, µ-law: one frame per block_align bytes
_AU_BYTES = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 8, 27: 1}  # bytes per sample of AU's PCM / law encodings


def _after(file: Any, offset: int, chunks: Any) -> int | None:
    """``chunks(file)`` with ``file`` at ``offset`` (past the format's own header)."""
    file.seek(offset)
    return chunks(file)


def _chunk_start(file: Any, size: int) -> bytes:
    """The first bytes (at most 64) of a chunk's body of ``size`` bytes, the file left past
    the chunk: a lying size costs a seek, never a read of that size."""
    body = file.read(min(size, 64))
    file.seek(size - len(body), os.SEEK_CUR)
    return body


def _wav_frames(file: Any, order: str) -> int | None:
    """A RIFF/WAVE ``data`` chunk's size over ``fmt``'s block align (RF64: the ``ds64``
    chunk's 64-bit size stands for the ``data`` chunk's -1); for compressed formats (ADPCM,
    GSM 6.10, G.72x: a block holds many frames) the ``fact`` chunk's count."""
    block_align, size64, tag, fact = None, None, None, None
    for _ in range(64):  # chunks before "data"; a file with more is not worth a warning
        chunk = file.read(8)
        if len(chunk) < 8:
            return None
        name, size = chunk[:4], struct.unpack(order + "I", chunk[4:])[0]
        if name == b"data":
            if tag not in _WAV_FRAME_TAGS:  # a cut ADPCM file decoded silently short (data / align: blocks)
                return fact
            size = size64 if size == 0xFFFFFFFF and size64 is not None else size
            if not block_align or size in (0, 0xFFFFFFFF):  # 0 / -1: streamed WAV, size unknown
                return None
            return size // block_align
        body = _chunk_start(file, size + (size & 1))
        if name == b"fmt " and len(body) >= 14:
            tag, block_align = struct.unpack(order + "HxxxxxxxxxxH", body[:14])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat's tag
                tag = struct.unpack(order + "H", body[24:26])[0]
        elif name == b"fact" and len(body) >= 4:
            fact = struct.unpack(order + "I", body[:4])[0]
        elif name == b"ds64" and len(body) >= 16:
            size64 = struct.unpack("<Q", body[8:16])[0]
    return None


def _w64_frames(file: Any) -> int | None:
    """Wave64: 16-byte GUID chunk names (the first 4 bytes as RIFF's), 64-bit sizes that
    count the 24-byte chunk header, chunks aligned to 8 bytes."""
    block_align = None
    for _ in range(64):
        chunk = file.read(24)
        if len(chunk) < 24:
            return None
        name, size = chunk[:4], struct.unpack("<Q", chunk[16:])[0]
        if size < 24:
            return None
        if name == b"data":
            return (size - 24) // block_align if block_align else None
        body = _chunk_start(file, size - 24 + -size % 8)
        if name == b"fmt " and len(body) >= 14:
            block_align = struct.unpack("<H", body[12:14])[0]
    return None


def _au_frames(head: bytes) -> int | None:
    """Sun AU: the data size (-1: unknown) over the encoding's bytes per sample x channels."""
    order = ">" if head[:4] == b".snd" else "<"
    _, size, encoding, _, channels = struct.unpack(order + "5I", head[4:24])
    width = _AU_BYTES.get(encoding)
    return None if size == 0xFFFFFFFF or not width or not channels else size // (width * channels)


def _caf_frames(file: Any) -> int | None:
    """CAF: the ``data`` chunk's size (less its 4-byte edit count; -1: unknown) over the
    ``desc`` chunk's bytes per packet (0 for compressed formats: not counted here)."""
    packet = None
    for _ in range(64):
        chunk = file.read(12)
        if len(chunk) < 12:
            return None
        name, size = chunk[:4], struct.unpack(">q", chunk[4:])[0]
        if name == b"data":
            return None if size < 4 or packet is None else (size - 4) // packet[0] * packet[1]
        if size < 0:
            return None
        body = _chunk_start(file, size)
        if name == b"desc" and len(body) >= 24:
            sizes = struct.unpack(">II", body[16:24])
            packet = sizes if all(sizes) else None  # (bytes, frames) per packet
    return None


def _nist_frames(head: bytes) -> int | None:
    """NIST SPHERE: the ``sample_count -i N`` line of the 1024-byte text header (per channel)."""
    match = re.search(rb"^sample_count -i (\d{1,18})\s*$", head, re.MULTILINE)
    return int(match.group(1)) if match else None


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
    """The frames a file's header declares: libsndfile's count ``frames``, or
    ``declared_frames``'s if larger (libsndfile counts a cut file by its size)."""
    return max(frames, declared_frames(path) or 0)


def warn_if_truncated(path: Path, decoded: int, declared: int | None, kind: str, what: str = "decoded to") -> None:
    """Warns (``TruncatedAudioWarning``) when fewer frames were decoded than the header declares,
    or an Ogg file (``kind == "OGG"``, libsndfile's format name) ends without its end-of-stream
    page (cut: libsndfile counts its whole pages)."""
    if declared is not None and decoded < declared:
        why = f"{what} {decoded} frames but its header declares {declared}: the file is truncated (or its header"
        why += " is wrong)"
    elif kind == "OGG" and _file_ends.ogg_cut(path):
        why = f"ends without its Ogg end-of-stream page: the file is cut after {decoded} frames"
    else:
        return
    errors.warn(f"audio file {display(path)} {why}; encoding the frames it holds", TruncatedAudioWarning)


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
