"""The input planner: what encoding a file will do, decided once from its header.

``encode``, ``jaxspec encode`` and ``jaxspec info`` all ask ``plan_file`` whether a
file is streamed (decoded block by block) or decoded whole, and what length and
output shape it gives, so the rule lives in one place.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from .config import SpectrogramConfig
from .errors import AudioFileError, ConfigError, InputError
from .features import UseEnergy, is_framewise
from .framing import Centered, Kaldi, uses_key
from .io import audio_info, decoded_frames
from .resampling import alignment, check_rates, output_length

STREAM_THRESHOLD_SAMPLES = 1 << 25
"""Files whose frames x channels, or whose length at the config's rate, exceed this (32 Mi
samples) are streamed when no augmentation applies."""


def blockwise(config: SpectrogramConfig) -> bool:
    """Whether blocks of frames give the whole's result, so the config can be streamed.

    True for the seed's or Kaldi's ``snip_edges`` framing, a real spectrum, and
    framewise feature stages only (no per-example statistic such as ``top_db``, no
    deltas; ``UseEnergy`` places each frame's own energy). Other configs are computed in memory.

    >>> import jaxspec.planner
    >>> jaxspec.planner.blockwise(jaxspec.SpectrogramConfig()), jaxspec.planner.blockwise(jaxspec.presets.whisper())
    (True, False)
    """
    framing_ok = config.framing is None or (isinstance(config.framing, Kaldi) and config.framing.snip_edges)
    # UseEnergy places each frame's own log energy: per frame too (Kaldi's use_energy)
    framewise = all(is_framewise(stage) or isinstance(stage, UseEnergy) for stage in config.features)
    return framing_ok and config.power is not None and framewise


def streamable(config: SpectrogramConfig) -> bool:
    """Whether ``stream_spectrogram`` computes the config block by block: ``blockwise``, or
    centred frames (librosa's, torchaudio's) or Kaldi's mirrored ones (``snip_edges=False``, as
    lhotse sets it) with a real spectrum and framewise stages, whose padded edges the stream
    reads itself (``framing.edge_sources``). Packing (``jaxspec.packing``) takes ``blockwise`` only.

    >>> import jaxspec
    >>> from jaxspec.planner import streamable
    >>> streamable(jaxspec.presets.librosa_melspectrogram(sr=16000)), streamable(jaxspec.presets.whisper())
    (True, False)
    """
    if isinstance(config.framing, (Centered, Kaldi)):
        config = dataclasses.replace(config, framing=None, augmentation=None)  # checked once: no warning again
    return blockwise(config)


def start_frames(config: SpectrogramConfig, rate: int, frames: int) -> int | None:
    """How many of a file's first ``frames`` (at ``rate`` Hz) decide the output, when fewer:
    a ``target_length`` keeps only the start, and nothing reads the whole signal (no
    normalization, no key-driven stage: ``Scaled`` shifts and noise segments use its
    duration). ``None``: the whole file. Whisper's 30 s of a 20 min file decoded all of it
    (808 MB for 44.1 kHz stereo).

    The count covers the frames ``target_length`` keeps (its samples, or ``m`` frames: ``m + 1``
    hops and two windows, for any framing) and the resampler's ``reach`` around them.

    >>> import jaxspec.planner
    >>> jaxspec.planner.start_frames(jaxspec.presets.whisper(), 16000, 10**8)
    480000
    """
    if config.normalization is not None or uses_key(config) or config.target_length is None:
        return None
    needed = config.target_samples
    if needed is None:
        needed = (config.target_frames + 1) * config.offset_samples + 2 * config.fft_samples
    return first_frames(needed, config.sample_rate, rate, frames)


def first_frames(samples: int, target_rate: int, rate: int, frames: int) -> int | None:
    """How many of a file's first ``frames`` (at ``rate`` Hz) give its first ``samples`` at
    ``target_rate`` exactly (the resampler's ``reach`` included), when fewer; ``None``: all."""
    needed = samples
    if rate != target_rate:
        needed = -(-needed * rate // target_rate) + alignment(rate, target_rate)[2] + 1
    return needed if needed < frames else None


@dataclasses.dataclass(frozen=True)
class FilePlan:
    """How one file will be encoded.

    Attributes:
      path: the file.
      info: soundfile's header information (rate, frames, channels, format).
      frames: samples per channel at the file's rate (the header's count, the decoded
        count when planned with ``exact=True``, or the count the caller gave as ``frames=``).
      length: samples after resampling to the config's rate.
      shape: the output shape ``(frames, bins)`` the config gives for ``length``.
      stream: True if the file is decoded and encoded block by block.
    """

    path: str
    info: Any
    frames: int
    length: int
    shape: tuple[int, int]
    stream: bool


ESTIMATED_HEADERS = ("MP3",)
"""Formats whose header frame count is an estimate (libsndfile's MP3): streams count them by decoding."""

COUNTED_WHEN_EXACT = (*ESTIMATED_HEADERS, "FLAC", "OGG")
"""Formats ``jaxspec info`` counts by decoding: an MP3's header estimates, and a cut or
damaged FLAC or Ogg file fails to decode as ``encode`` fails (a WAV's count comes from its
size). Streaming counts only MP3s (a long FLAC decoded twice would cost a second pass)."""


def plan_file(
    config: SpectrogramConfig,
    path: str | os.PathLike,
    *,
    augmented: bool = False,
    stream: bool | None = None,
    exact: bool | tuple[str, ...] = False,
    frames: int | None = None,
) -> FilePlan:
    """Plans the encoding of ``path`` from its header alone.

    Args:
      config: the settings.
      path: an audio file.
      augmented: True when a key applies ``config.augmentation`` or a dither
        (``framing.uses_key``: it needs the whole signal, so the file is not streamed).
      stream: ``None`` = stream when frames x channels or the length at the config's rate
        exceed ``STREAM_THRESHOLD_SAMPLES``, nothing is augmented and the config is
        ``blockwise``; ``True`` / ``False`` force it.
      exact: ``True``: an MP3's frames are counted by decoding (``ESTIMATED_HEADERS``);
        a tuple of formats: those (``COUNTED_WHEN_EXACT``, for ``jaxspec info``).
      frames: the file's frames counted by decoding already (then ``exact`` is not used).

    Raises:
      InputError: ``stream=True`` with a key that augments or dithers.
      AudioFileError: a file counted by decoding that does not decode (a cut FLAC).

    >>> import jaxspec.planner
    >>> jaxspec.planner.plan_file(jaxspec.SpectrogramConfig(), jaxspec.example_path()).stream
    False
    """
    augmented = augmented and uses_key(config)
    if stream and augmented:
        raise InputError(
            "stream=True cannot apply augmentation or dither (a key draws over the whole signal); pass key=None"
        )
    info = audio_info(path)
    rate = info.samplerate
    try:
        check_rates(rate, config.sample_rate)
    except ConfigError as error:  # the file's rate: a file error, naming the path (as encode says)
        raise AudioFileError(f"cannot encode {os.fspath(path)!r}: {error}") from error
    counted = ESTIMATED_HEADERS if exact is True else exact or ()
    if frames is None:
        frames = decoded_frames(path) if info.format in counted else info.frames
    length = frames if rate == config.sample_rate else output_length(frames, rate, config.sample_rate)
    if stream is None:
        # the decoded file, or the signal at the config's rate (1 h at 8 kHz: 28.8 M, 57.6 M at 16 kHz)
        held = max(frames * info.channels, length)
        stream = not augmented and streamable(config) and held > STREAM_THRESHOLD_SAMPLES
    return FilePlan(os.fspath(path), info, frames, length, config.output_shape(length), bool(stream))
