"""Opening audio files safely: what is checked before and after soundfile reads one.

- Only regular files are opened (``stat.S_ISREG``): a FIFO, a device or a socket named
  as a file is refused at once instead of blocking a read forever.
- A file that cannot be opened gets the operating system's reason ("Permission
  denied"), not libsndfile's "System error".
- Names that are not valid UTF-8 (bytes from another locale, kept by Python as
  surrogate escapes) are handed to soundfile as the original bytes.
- Header values a decoder would act on are checked against ``jaxspec.limits``
  (rate, channels); a file whose header declares more frames than the file holds (cut
  mid-data, or a lying header: WAV, RF64, Wave64, AIFF, AU, CAF, NIST; ``_declared``) warns,
  naming the path.

Every failure is an ``AudioFileError`` naming the path (``FileNotFoundError`` for a
missing file).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from . import _file_ends, errors, limits
from ._regular import os_flags
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


def decoded(source: str) -> str:
    """How to hand jaxspec a file's samples held in ``source`` (an open file, a buffer), for messages."""
    return f"jaxspec.Audio(*soundfile.read({source}, dtype='float32'))"


def checked_path(path: Any) -> Path:
    """``path`` as a ``Path`` if it names an existing regular file that can be opened.

    Raises:
      InputError: ``path`` is bytes (pass ``os.fsdecode(path)``), not a path, or holds a NUL
        or a lone surrogate.
      FileNotFoundError: nothing is there.
      AudioFileError: a directory, a FIFO, a device or socket, or a file that cannot
        be opened (the OS's reason).
    """
    if isinstance(path, bytes) and (b"\0" in path or len(path) > 4096):  # no name holds NUL or is that long
        raise InputError(
            f"path is {len(path)} bytes of file contents (starting {path[:12]!r}), not a name; decode them: "
            + decoded("io.BytesIO(data)")
        )
    if isinstance(path, bytes):
        raise InputError(
            f"path {path!r} is bytes; pass it as a str: os.fsdecode(path) (names that are not UTF-8 work too)"
        )
    if not isinstance(path, (str, os.PathLike)):
        if hasattr(path, "__array__") or isinstance(path, (list, tuple)):  # encode_to_file(config, x, ...)
            fix = "; this reads a file: for samples in memory call jaxspec.encode or jaxspec.spectrogram"
        elif hasattr(path, "read"):
            fix = f"; pass its path, or decode it: {decoded('file')}"
        else:
            fix = ""
        raise InputError(f"{type(path).__name__} {path!r:.80} is not a path (str or os.PathLike){fix}")
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
    descriptor = os.open(folder or b".", os.O_RDONLY | os_flags("DIRECTORY"))
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


MEASURED_ABOVE = 1 << 24
"""Samples (64 MiB of float32) from which ``read_whole`` measures a FLAC file's audio before reading it."""


def check_whole(shown: str, frames: int) -> None:
    """``AudioFileError`` if a file of ``frames`` frames is too long to be read whole."""
    if frames > limits.MAX_SIGNAL_SAMPLES:
        raise AudioFileError(
            f"cannot read {shown} whole: {frames} frames is above the cap {limits.MAX_SIGNAL_SAMPLES}; "
            "encode(config, path) streams long files (without augmentation)"
        )


def read_whole(file: Any, frames: int, path: Path, kind: str) -> np.ndarray:
    """The file's samples in one read of its header's ``frames`` (fewer when it is cut), shaped as ``SoundFile.read``
    shapes them. ``SoundFile.read`` seeks to where it ended after reading, and that seek fails on a FLAC cut at a
    frame boundary ("Internal psf_fseek() failed", where the count and the truncation warning are due).

    A FLAC header's count is a number written apart from the audio: above ``MEASURED_ABOVE``
    samples the audio is measured by its last frame's header first (``_file_ends.flac_frames``,
    under a millisecond), so a header that overstates it asks for what the file holds (one of
    2e9 frames x 8 channels asked for 59.6 GiB for 220 kB of audio: "Unable to allocate")."""
    if (
        kind == "FLAC"
        and frames * file.channels > MEASURED_ABOVE
        and (held := _file_ends.flac_frames(path)) is not None
    ):
        frames = min(frames, held)
    data = read_on(file, frames)
    return data[:, 0] if data.shape[1] == 1 else data


def read_to_end(file: Any, shown: str, end: int | None = None) -> np.ndarray:
    """The samples of a file whose header has no count (``SoundFile.read`` would size its array from the header's
    2**63 - 1), in blocks up to the cap (or its first ``end`` frames), shaped as ``read`` shapes them."""
    blocks, total = [], 0
    while (block := read_on(file, 1 << 20 if end is None else min(1 << 20, end - total))).shape[0]:
        total += block.shape[0]
        check_whole(shown, total)
        blocks.append(block)
    data = np.concatenate(blocks) if blocks else np.zeros((0, file.channels), np.float32)
    return data[:, 0] if data.shape[1] == 1 else data
