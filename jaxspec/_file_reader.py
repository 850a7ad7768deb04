"""The decoder side of streaming: a file read front to back in blocks, never sought.

``FileReader`` hands out mono samples by position; ``counting_if_cut`` runs a stream again
with the file's frames counted by decoding when its decoder ended before its header's count.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from . import _declared, _files
from .errors import AudioFileError, AudioSamplesError
from .io import UNKNOWN_FRAMES, check_file, decoded_frames
from .planner import ESTIMATED_HEADERS


class FileReader:
    """Mono float32 samples ``[start, stop)`` of a file, zeros outside it.

    The file is decoded front to back and never seeks: libsndfile's MP3 seeks are not exact
    in every file (mpg123's "fuzzy seeking": a 2 min tone streamed 8 % off the decoded
    file, with no warning), and ``SoundFile.read`` seeks after each read (``_files.read_on``
    does not). The samples of the last read are kept, for the overlap of the next one; a
    read before them reopens the file (the second pass of a normalization). For formats
    whose header only estimates its length (``planner.ESTIMATED_HEADERS``) the length is
    counted by decoding, as ``encode`` sees it.
    """

    def __init__(self, path: str, counted: int | None = None):
        self.path = path
        checked = Path(path)
        try:
            with _files.sndfile_name(checked) as name:
                self.file = soundfile.SoundFile(name)
        except Exception as error:
            raise _files.unreadable(path, error) from error
        self.length, self.rate = self.file.frames, self.file.samplerate
        try:
            _files.check_header(checked, self.rate, self.file.channels, self.length, self.file.format)
            if counted is not None:  # counted by decoding already (a FLAC or Ogg file that ended early)
                self.length = counted
            elif self.file.format in ESTIMATED_HEADERS or self.length >= UNKNOWN_FRAMES:  # a cut MP3; a FLAC
                self.length = decoded_frames(path)  # without a count: both streamed to their decoded length
        except AudioFileError:
            self.file.close()
            raise
        declared = self.file.frames if self.file.frames < UNKNOWN_FRAMES else self.length
        self.declared = _declared.header_frames(checked, declared)  # an MP3's: its header's
        _files.warn_if_truncated(checked, self.length, self.declared, self.file.format, "holds")
        self.position = 0  # the next sample the decoder gives
        self.kept, self.kept_at = np.zeros(0, np.float32), 0  # the last read's samples, and where they start

    def read(self, start: int, stop: int) -> np.ndarray:
        out = np.zeros(stop - start, np.float32)
        lo, hi = max(start, 0), min(stop, self.length)
        if hi > lo:
            mono = self._decoded(lo, hi)
            if mono.shape[0] < hi - lo:  # the output's length came from the header: zeros past the
                # decoder's end would be made up (a 60 kB FLAC whose header claims 2**36 frames
                # streamed zeros for hours towards a 415 GB .npy); counting_if_cut streams it again
                raise EndedEarly(
                    f"cannot read {_files.display(self.path)}: it decoded to {lo + mono.shape[0]} frames but "
                    f"its header declares {self.length} (the file is cut or its header is wrong)"
                )
            out[lo - start : lo - start + mono.shape[0]] = mono
        return out

    def _decoded(self, lo: int, hi: int) -> np.ndarray:
        """Samples ``[lo, hi)`` (fewer where the file ends early), from those kept and then
        the decoder, read on from where it is. ``kept`` holds ``[kept_at, position)``."""
        if lo < self.kept_at:  # before what is kept: from the top again
            self._seek_start()
        while self.position < lo:  # ahead of the decoder: decode and drop, in pieces
            if self._decode(min(lo - self.position, 1 << 16)).size == 0:
                break  # the file ends before lo
        if lo >= self.position:
            self.kept, self.kept_at = np.zeros(0, np.float32), self.position
            if lo > self.position:
                return self.kept
        self.kept, self.kept_at = self.kept[lo - self.kept_at :], lo
        if hi > self.position:
            self.kept = np.concatenate([self.kept, self._decode(hi - self.position)])
        return self.kept[: hi - lo]

    def _decode(self, count: int) -> np.ndarray:
        try:
            data = _files.read_on(self.file, count)
        except Exception as error:  # libsndfile's errors name no file
            raise _files.unreadable(self.path, error) from error
        self.position += data.shape[0]
        mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
        if not np.all(np.isfinite(mono)):
            raise AudioSamplesError(f"audio file {_files.display(self.path)} has NaN or infinite samples")
        return mono

    def _seek_start(self) -> None:
        """Decodes from the top again: the file reopened, not sought (an MP3 seek is fuzzy)."""
        self.file.close()
        checked = check_file(self.path)  # gone or replaced since: the OS's reason, not libsndfile's "System error."
        try:
            with _files.sndfile_name(checked) as name:
                self.file = soundfile.SoundFile(name)
        except Exception as error:
            raise _files.unreadable(self.path, error) from error
        self.position, self.kept, self.kept_at = 0, np.zeros(0, np.float32), 0

    def close(self) -> None:
        self.file.close()


class EndedEarly(AudioFileError):
    """A file's decoder ended before its header's frame count (a FLAC or Ogg file cut at a frame
    boundary): ``encode_to_file`` and ``stream_to_array`` count its frames and stream it again."""


def counting_if_cut(run: Callable[[int | None], Any], path: str | os.PathLike) -> Any:
    """``run(None)`` (the header's count), then ``run(frames)`` with the frames of ``path``
    counted by decoding, once, if the file ended early."""
    try:
        return run(None)
    except EndedEarly:
        pass  # the first pass's buffers go before the second's are made
    return run(decoded_frames(path))
