"""Streaming: encode long files block by block, in memory bounded by the block size.

The file is read with soundfile in overlapping blocks, resampled in the aligned blocks
that ``resample`` itself uses for long signals (each block's input segment carries the
context its filters reach, so block edges are invisible), framed with the right
overlap, and handed out block by block. The result equals the in-memory ``encode`` of
the same file (no key: augmentation needs the whole signal and is not streamed).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jax
import numpy as np

from . import _file_ends, _files, limits
from ._atomic import atomic_file
from ._file_reader import EndedEarly, FileReader, counting_if_cut
from ._output_names import refuse_folder
from .augmentation.recordings import file_stamps
from .config import SpectrogramConfig
from .errors import AudioFileError, AudioSamplesError, ConfigError, InputError, config_type_error
from .framing import analysis_window, edge_sources, frame_start
from .io import check_file, decoded_frames
from .planner import plan_file, streamable
from .resampling import alignment, block_plan, output_length, resample_block
from .spectrum import spectrogram

_BLOCK_FRAMES = 4096
_RESAMPLE_BLOCK = 1 << 17  # resampled samples per block: bounds the memory of the resampler

_block = jax.jit(resample_block, static_argnums=(1, 2, 3))


class _ResampledReader:
    """Samples ``[a, b)`` of the file resampled to ``rate``, zeros outside ``[0, length)``.

    The resampled signal is computed in the blocks of ``jaxspec.resampling.block_plan``,
    each from its aligned input segment with the context its filters reach, exactly as
    ``resample`` computes a long signal; the last two blocks are kept for the overlap of
    consecutive reads.
    """

    def __init__(self, reader: FileReader, rate: int, block: int):
        self.reader, self.rate, self.block = reader, rate, block
        self.same = reader.rate == rate
        self.length = reader.length if self.same else output_length(reader.length, reader.rate, rate)
        if not self.same:
            self.block_out, context, self.segment = block_plan(reader.rate, rate, block)
            unit_in, unit_out, _ = alignment(reader.rate, rate)
            self.stride = self.block_out // unit_out * unit_in
            self.lead = context * unit_in
            self.cache: dict[int, np.ndarray] = {}

    def _block(self, index: int) -> np.ndarray:
        if index not in self.cache:
            start = index * self.stride - self.lead
            segment = self.reader.read(start, start + self.segment)
            out = _block(segment[None], self.reader.rate, self.rate, self.block_out)
            kept = {i: block for i, block in self.cache.items() if i == index - 1}
            self.cache = {**kept, index: np.asarray(out)[0]}
        return self.cache[index]

    def read(self, a: int, b: int) -> np.ndarray:
        """Resampled samples ``[a, b)``."""
        if self.same:
            out = self.reader.read(a, b)
        else:
            first, last = a // self.block_out, (b - 1) // self.block_out
            blocks = np.concatenate([self._block(i) for i in range(first, last + 1)])
            out = blocks[a - first * self.block_out : b - first * self.block_out].copy()
        if b > self.length:
            out[max(self.length - a, 0) :] = 0.0
        return out


def _at(source: _ResampledReader, index: np.ndarray) -> np.ndarray:
    """``source``'s samples at ``index`` (``-1``: a zero; ``framing.edge_sources``), read as one span."""
    keep = index >= 0
    if not keep.any():
        return np.zeros(index.shape, np.float32)
    lo = int(index[keep].min())
    values = source.read(lo, int(index[keep].max()) + 1)
    return np.where(keep, values[np.where(keep, index, lo) - lo], np.float32(0.0)).astype(np.float32)


def _frames_config(config: SpectrogramConfig) -> SpectrogramConfig:
    """``config`` for blocks of samples that the stream has read as ``config`` frames them
    (``framing.edge_sources``): no normalization or target (the stream applies them), the seed's
    framing over frames of ``frame_samples`` with the analysis window (centred in them when
    ``Centered``)."""
    plain = dataclasses.replace(config, normalization=None, target_length=None, augmentation=None)
    if config.framing is None:
        return plain
    window = analysis_window(config.framing, config.window, config.fft_samples)
    size, hop = config.frame_samples, config.offset_samples  # the hop as it is (an automatic one follows the size)
    return dataclasses.replace(plain, framing=None, window_size=size, offset=hop, window_function=[*map(float, window)])


def _scale(config: SpectrogramConfig, source: _ResampledReader) -> float | None:
    """The normalization factor (float64), from one pass over the resampled signal."""
    if config.normalization is None:
        return None
    kind, level = config.normalization
    peak, energy = 0.0, 0.0
    for a in range(0, source.length, source.block):
        x = _flushed(source.read(a, min(a + source.block, source.length)))
        peak = max(peak, float(np.max(np.abs(x), initial=0.0)))
        energy += float(np.dot(x, x))
    size = peak if kind == "max" else math.sqrt(energy / max(source.length, 1))
    return 0.0 if size == 0 else level / size


def _flushed(x: np.ndarray) -> np.ndarray:
    """``x`` as float64 with its subnormal float32 samples as 0, as XLA reads them when it
    normalizes in memory: kept, a lone 1e-40 sample was the peak, and its float32 scale inf."""
    x = x.astype(np.float64)
    x[np.abs(x) < np.finfo(np.float32).tiny] = 0.0
    return x


def _scaled(x: np.ndarray, scale: float | None) -> np.ndarray:
    """``x * scale`` rounded once to float32 (a float32 ``level / peak`` overflowed for
    peaks under ``level / 3.4e38``, and ``x * scale`` took two roundings)."""
    return x if scale is None else (_flushed(x) * scale).astype(np.float32)


def stream_spectrogram(
    config: SpectrogramConfig,
    path: str | os.PathLike,
    *,
    block_frames: int = _BLOCK_FRAMES,
    progress: Callable[[int, int], None] | None = None,
    count_frames: bool = False,
) -> Iterator[np.ndarray]:
    """Yields the spectrogram of a file in blocks of frames, never decoding it whole.

    Args:
      config: the settings (``normalization`` costs one extra pass over the file).
      path: an audio file (any rate and channel count; channels are averaged).
      block_frames: frames per block (at most the file's); memory grows with
        ``block_frames * window``.
      progress: called as ``progress(frames_done, frames_total)`` after each block.
      count_frames: count the file's frames by decoding it first (one pass more) instead of
        taking its header's count: a FLAC or Ogg file that ends before that count (cut at a
        frame boundary) then streams the frames it holds with a ``TruncatedAudioWarning``;
        without it, an ``AudioFileError`` when the decoder ends (``encode_to_file`` and
        ``encode(stream=True)`` retry so).

    Yields:
      float32 ``[shape=(<= block_frames, config.num_features)]`` blocks (one empty block when the
      output has no frames); concatenated they equal
      ``encode(config, path)`` (the same frame count; a spectrogram bit for bit, a normalized
      one and feature stages within float32 rounding: relative 1e-6, but a log band that holds only rounding
      noise, such as Kaldi bands above the Nyquist frequency of an upsampled file, can
      differ by 2e-3 near the log floor, as two compiled programs round that noise apart).

    Raises (at the first block, as a generator does):
      FileNotFoundError: nothing is at ``path``.
      AudioFileError: ``path`` cannot be read.
      ConfigError: ``config`` cannot be computed block by block (``jaxspec.planner.streamable``).

    >>> import jaxspec, numpy as np
    >>> blocks = jaxspec.stream_spectrogram(jaxspec.SpectrogramConfig(), jaxspec.example_path())
    >>> np.concatenate(list(blocks)).shape
    (328, 201)
    """
    yield from _stream_blocks(config, path, block_frames, progress, True if count_frames else None)


def _stream_blocks(
    config: SpectrogramConfig, path: Any, block_frames: Any, progress: Any, frames: int | bool | None
) -> Iterator[np.ndarray]:
    """``stream_spectrogram``; ``frames``: the file's frames counted by decoding already (an
    int), to be counted here (``True``), or the header's (``None``)."""
    _check_stream_args(config, block_frames, progress)
    block_frames = int(block_frames)  # a NumPy integer too
    if not streamable(config):
        raise ConfigError(
            f"framing={config.framing!r}, power={config.power!r}, features={config.features!r} cannot be "
            "streamed block by block (complex output, per-example statistics or deltas); "
            "use encode without stream=True, which decodes the file whole"
        )
    path = str(check_file(path))
    hop, window = config.offset_samples, config.frame_samples
    segment = (block_frames - 1) * hop + window
    reader = FileReader(path, decoded_frames(path) if frames is True else frames)
    try:
        try:
            source = _ResampledReader(reader, config.sample_rate, min(segment, _RESAMPLE_BLOCK))
        except ConfigError as error:  # the file's rate cannot be resampled: a file error
            raise AudioFileError(f"cannot encode {_files.display(path)}: {error}") from error
        length = source.length if config.target_samples is None else config.target_samples
        total = config.num_frames(source.length)
        # no block much longer than the file: a block is allocated and computed whole (2**20
        # frames for a 2.7 s file took 11 s and 1.6 GB); a power of two, not the file's own
        # count, so that short files share programs (one per length: 200 files of 200 lengths
        # compiled 187 programs and kept 1.7 MB each, an audit)
        block_frames = max(1, min(block_frames, 1 << max(total - 1, 0).bit_length()))
        segment = (block_frames - 1) * hop + window
        scale = _scale(config, source)
        plain, fft = _frames_config(config), config.fft_samples
        start = frame_start(config.framing, config.window_samples, hop, fft)

        def sources(q: np.ndarray) -> np.ndarray | None:
            return edge_sources(config.framing, q, length, total, config.window_samples, hop, fft)

        whole = None  # an edge wider than the signal, mirrored more than once: computed whole, in memory
        if sources(np.zeros(0, np.int64)) is None:  # (the stream's scale stands for the normalization)
            unscaled = dataclasses.replace(config, normalization=None, augmentation=None)
            # only the samples a target keeps (a 20 ms target of an hour-long file decoded it all)
            whole = _computed(unscaled, source.read(0, min(source.length, length)), scale, path)
        for first in range(0, total, block_frames):
            count = min(block_frames, total - first)
            if whole is not None:
                yield whole[first : first + count]
            else:
                q = np.arange(first * hop + start, first * hop + start + segment)
                yield _computed(plain, _at(source, sources(q)), scale, path)[:count]
            if progress is not None:
                progress(first + count, total)
        if total == 0:  # one empty block, so that concatenating the blocks gives encode's (0, features)
            yield np.zeros((0, config.num_features), np.float32)
            if progress is not None:
                progress(0, 0)
    finally:
        reader.close()


def _computed(config: SpectrogramConfig, x: np.ndarray, scale: float | None, path: str) -> np.ndarray:
    """``spectrogram(config, x * scale)`` as NumPy; samples too large name the file."""
    try:
        return np.asarray(spectrogram(config, _scaled(x, scale)))
    except InputError as error:
        raise AudioSamplesError(f"audio file {_files.display(path)}: {error}") from error


def _check_stream_args(config: object, block_frames: object, progress: object) -> None:
    """``stream_spectrogram``'s arguments, checked before the file is opened."""
    if not isinstance(config, SpectrogramConfig):
        raise config_type_error(config)
    if isinstance(block_frames, bool) or not isinstance(block_frames, numbers.Integral) or block_frames <= 0:
        raise InputError(f"block_frames={block_frames!r} must be a positive integer")
    if progress is not None and not callable(progress):
        raise InputError(f"progress={progress!r} must be None or a function progress(done, total)")


def num_output_frames(config: SpectrogramConfig, path: str | os.PathLike, frames: int | None = None) -> int:
    """Frames ``encode(config, path)`` gives, from the file header (an MP3's, an estimate, is
    counted by decoding: ``planner.ESTIMATED_HEADERS``), or from its ``frames`` if counted."""
    return plan_file(config, path, exact=True, frames=frames).shape[0]


def encode_to_file(
    config: SpectrogramConfig,
    path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    block_frames: int = _BLOCK_FRAMES,
    progress: Callable[[int, int], None] | None = None,
    stamps: list | None = None,
) -> tuple[int, int]:
    """Streams the spectrogram of ``path`` into a ``.npy`` file, block by block.

    Blocks are appended with plain writes (no memmap, whose dirty pages would count
    towards the process's memory), so memory stays bounded by ``block_frames``. The
    file is written under a temporary name in the same folder and renamed when it is
    complete: an interrupted or failed run leaves no partial ``out_path``.

    Args:
      config, path, block_frames, progress: as ``stream_spectrogram``'s.
      out_path: the ``.npy`` file to write (its folder is created), float32
        ``[shape=(frames, features)]``, equal to ``encode(config, path)``.
      stamps: ``None``, or a list that gets the written file's ``(size in bytes,
        modification time in ns)``, taken before its rename (the command line's manifest
        records them, so another process replacing the file right after is noticed).

    Returns:
      The shape written, ``(frames, features)``.

    Raises:
      FileNotFoundError: nothing is at ``path``.
      AudioFileError: ``path`` cannot be read.
      ConfigError: ``config`` cannot be computed block by block (``power=None``, per-example
        statistics, ``Deltas``: ``jaxspec.planner.streamable``).
      OSError: ``out_path`` cannot be written (a folder, a FIFO, no permission).
      InputError: ``out_path`` is ``path`` itself (or a link to it).

    Warns:
      TruncatedAudioWarning: the file holds fewer frames than its header declares; the frames
        it holds are written (a FLAC or Ogg file is then counted by decoding and streamed again:
        ``progress`` starts again, with the counted total).

    >>> import jaxspec, numpy as np, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "speech.npy")
    >>> jaxspec.encode_to_file(jaxspec.SpectrogramConfig(), jaxspec.example_path(), out)
    (328, 201)
    >>> np.load(out).dtype
    dtype('float32')
    """
    _check_stream_args(config, block_frames, progress)
    if not isinstance(out_path, (str, os.PathLike)) or not os.fspath(out_path):
        raise InputError(f"out_path={out_path!r} must be a file name (str or os.PathLike)")
    refuse_folder(out_path, "out_path", "speech.npy")  # "out/": Path drops the "/" and wrote a file named out
    if stamps is not None and not callable(getattr(stamps, "append", None)):
        raise InputError(f"stamps={stamps!r} must be None or a list (it gets the file's size and time)")
    # the CLI's -o INPUT test (a link to it too), and -o RECORDING's
    _files.refuse_overwriting(out_path, [path], name="out_path", recordings=file_stamps(config))

    def run(counted: int | None) -> tuple[int, int]:
        shape = (num_output_frames(config, path, counted), config.num_features)
        done = 0
        with atomic_file(out_path, stamps=stamps) as out:
            np.lib.format.write_array_header_1_0(out, {"descr": "<f4", "fortran_order": False, "shape": shape})
            blocks = _stream_blocks(config, path, block_frames, progress, counted)
            for block in blocks:
                out.write(np.ascontiguousarray(block, "<f4").tobytes())
                done += block.shape[0]
            if done != shape[0]:
                raise _not_promised(path, done, shape[0])
        return shape

    return counting_if_cut(run, path)


def stream_to_array(
    config: SpectrogramConfig,
    path: str | os.PathLike,
    *,
    block_frames: int = _BLOCK_FRAMES,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """The streamed spectrogram gathered into one array (input never fully decoded)."""
    return counting_if_cut(lambda counted: _gathered(config, path, counted, block_frames, progress), path)


def _gathered(
    config: SpectrogramConfig, path: Any, counted: int | None, block_frames: Any, progress: Any
) -> np.ndarray:
    frames = num_output_frames(config, path, counted)
    if frames * config.num_features > limits.MAX_RESULT_VALUES:
        held = _file_ends.flac_frames(Path(path)) if counted is None else None
        if held is not None and num_output_frames(config, path, held) * config.num_features <= limits.MAX_RESULT_VALUES:
            raise EndedEarly(f"{_files.display(path)}: its header overstates its frames")  # counted, then gathered
        raise AudioFileError(
            f"cannot encode {os.fspath(path)!r} in memory: {frames} frames x {config.num_features} features is above "
            f"the cap {limits.MAX_RESULT_VALUES} values; stream it to a file with jaxspec.encode_to_file"
        )
    out = np.empty((frames, config.num_features), np.float32)
    done = 0
    for block in _stream_blocks(config, path, block_frames, progress, counted):
        if done + block.shape[0] > frames:  # a file still being written: NumPy's "could not broadcast"
            raise _not_promised(path, None, frames)
        out[done : done + block.shape[0]] = block
        done += block.shape[0]
    if done != frames:
        raise _not_promised(path, done, frames)
    return out


def _not_promised(path: Any, done: int | None, frames: int) -> AudioFileError:
    """The error of a file that gave other than the spectrogram frames its header's length gave
    when it was opened first (``done`` None: more): it grew or shrank between the two opens."""
    gave = "more than" if done is None else str(done)
    return AudioFileError(
        f"{_files.display(path)} gave {gave} spectrogram frames where its header's length gives {frames} "
        "(the file changed while it was read?)"
    )
