"""Audio containers and file reading (host side: NumPy and soundfile, no tracing)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np
import soundfile

from . import _declared, _files, errors, limits
from ._pytree import pytree_dataclass
from .errors import AudioFileError, AudioSamplesError, InputError, PcmScaleWarning, check_rate

PathLike = str | os.PathLike

# Signed integers map to [-1, 1) by 2**(bits - 1); uint8 is offset binary (WAV 8-bit).
_INT_SCALE = {np.dtype(t): float(2 ** (np.dtype(t).itemsize * 8 - 1)) for t in (np.int8, np.int16, np.int32, np.int64)}


def channels_first(shape: tuple[int, ...]) -> bool:
    """True for a ``[n, channels]`` array that is evidently ``[channels, n]``: at most 8 rows and at least 100 times
    as many columns (``encode`` and ``Audio`` refuse it)."""
    return len(shape) == 2 and 1 <= shape[0] <= 8 and shape[1] >= 100 * shape[0]


def looks_channels_first(shape: tuple[int, ...]) -> str:
    """What the errors for a ``channels_first`` shape say of it ("1 channel", "2 channels")."""
    return f"that looks like {shape[0]} channel{'s' if shape[0] > 1 else ''} first ([channels, n])"


def capped_rate(name: str, rate: Any) -> int:
    """``check_rate``, then the cap ``limits.MAX_SAMPLE_RATE`` (``InputError``) for a rate of samples (``Audio``,
    ``encode(x, sample_rate=)``)."""
    rate = check_rate(name, rate)
    if rate > limits.MAX_SAMPLE_RATE:
        raise InputError(f"{name}={rate} is above the cap {limits.MAX_SAMPLE_RATE} Hz (jaxspec.limits)")
    return rate


@pytree_dataclass(data_fields=("samples",))
class Audio:
    """A waveform and its sample rate.

    Attributes:
      samples: ``[shape=(n,)]`` mono or ``[shape=(n, channels)]`` (time first, as
        soundfile returns it). Float in [-1, 1] or an integer PCM type.
      sample_rate: samples per second (positive int; static in the pytree).

    >>> import jaxspec, numpy as np
    >>> jaxspec.Audio(np.zeros(8000, np.float32), 16000).duration
    0.5
    """

    samples: Any
    sample_rate: int

    def __post_init__(self):
        object.__setattr__(self, "sample_rate", capped_rate("Audio sample_rate", self.sample_rate))
        refuse_masked(self.samples, "Audio samples")
        if isinstance(self.samples, (list, tuple)):  # as an array: its layout is checked as an array's
            try:
                object.__setattr__(self, "samples", np.asarray(self.samples))
            except ValueError as error:  # ragged lists
                raise InputError(f"Audio samples cannot be read as an array: {error}") from None
        shape = getattr(self.samples, "shape", None)
        if not isinstance(shape, tuple) or not hasattr(self.samples, "dtype"):
            raise InputError(
                f"Audio samples={self.samples!r:.80} of type {type(self.samples).__name__} is not an array of "
                "samples; use jaxspec.load_audio(path) for a file"
            )
        if isinstance(shape, tuple) and (len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] == 0)):
            raise InputError(f"Audio samples of shape {shape}: expected [n] or [n, channels] with at least one channel")
        if isinstance(shape, tuple) and channels_first(shape):
            raise InputError(
                f"Audio samples of shape {shape}: {looks_channels_first(shape)}, but "
                "Audio holds [n, channels]; pass the transpose (samples.T)"
            )

    @property
    def num_samples(self) -> int:
        """Samples per channel."""
        return int(np.shape(self.samples)[0])

    @property
    def channels(self) -> int:
        return 1 if np.ndim(self.samples) == 1 else int(np.shape(self.samples)[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_samples / self.sample_rate

    def __iter__(self):
        """``samples, rate = audio``, as librosa's and soundfile's ``(y, sr)`` tuples unpack."""
        return iter((self.samples, self.sample_rate))

    def __repr__(self) -> str:
        shape = "x".join(map(str, np.shape(self.samples)))
        dtype = getattr(self.samples, "dtype", "?")
        return f"Audio({dtype}[{shape}], sample_rate={self.sample_rate}, duration={self.duration:.3f}s)"


def _decoded(samples: np.ndarray, rate: int) -> Audio:
    """``Audio`` of a decoded file, whose layout is known (``[frames, channels]``, rate checked
    against the header caps): ``Audio``'s channels-first guess is for arrays, and it refused
    a valid file of 3 frames x 300 channels (which encodes when streamed)."""
    audio = object.__new__(Audio)
    object.__setattr__(audio, "samples", samples)
    object.__setattr__(audio, "sample_rate", rate)
    return audio


def pcm_to_float32(x: Any, name: str = "audio") -> Any:
    """Scales PCM samples to float32 in [-1, 1]; NumPy stays NumPy, JAX stays JAX (traceable).

    Signed integers are divided by ``2**(bits - 1)``; uint8 maps by ``(x - 128) / 128``; floats are cast. bool,
    complex and other unsigned types raise ``InputError``.
    """
    xp = np if isinstance(x, np.ndarray) else jax.numpy
    dtype = np.dtype(x.dtype)
    if not dtype.isnative:  # '>i2' (big-endian PCM, e.g. from AIFF bytes) is int16 too
        dtype = dtype.newbyteorder("=")
        x = x.astype(dtype)
    if dtype == np.uint8:
        return (x.astype(np.float32) - 128.0) / 128.0
    if dtype in _INT_SCALE:
        if xp is np and dtype.itemsize >= 4 and x.size:
            _warn_if_16_bit(x, name)
        # the scale is a power of two: each value is the exact quotient rounded once to float32
        # (for int8-int32, the float64 quotient rounded; int64 went through float64 first and was
        # rounded twice), and NumPy makes no float64 temporary (1 h of int16 at 16 kHz: 440 MB
        # of float64 beside the 220 MB result, an audit)
        scale = np.float32(1.0 / _INT_SCALE[dtype])
        if xp is jax.numpy:
            return x.astype(np.float32) * scale
        out = x.astype(np.float32)
        out *= scale
        return out
    if dtype.kind == "f" or jax.numpy.issubdtype(dtype, jax.numpy.floating):  # bfloat16 is kind "V"
        if dtype.itemsize > 4 and x.size and not isinstance(x, jax.core.Tracer):  # float64 (x64 on, for JAX)
            _check_float32_range(x, name)
        # a copy of float32 NumPy input too: device_put aliases a NumPy array on CPU (jax 0.10)
        # and the computation runs after the call returns, so a caller reusing its buffer
        # would change the input (callers that only read it skip this: to_float32(copy=False))
        return x.astype(np.float32)
    raise InputError(
        f"{name} has dtype {dtype}; expected float or signed integer PCM samples "
        "(int8/16/32/64, or uint8 offset binary)"
    )


def _check_float32_range(x: np.ndarray, name: str) -> None:
    """``InputError`` for finite samples beyond float32's range (the cast would make them inf)."""
    with jax.ensure_compile_time_eval():  # a concrete JAX array inside a user's jit
        peak = float(np.max(np.abs(np.asarray(x))))  # NaN propagates: left to the NaN check after the cast
    if math.isfinite(peak) and peak > float(np.finfo(np.float32).max):
        raise InputError(
            f"{name} has samples up to {peak:.6g} in magnitude, beyond float32's range "
            f"({float(np.finfo(np.float32).max):.4g}); scale it to [-1, 1]"
        )


def _warn_if_16_bit(x: np.ndarray, name: str) -> None:
    peak = max(int(x.max()), -int(x.min()))  # Python ints: no int64 copy, and -(-2**63) does not wrap
    if 0 < peak < 2**15:
        errors.warn(
            f"{name} is {x.dtype} but every sample fits in 16 bits (peak {peak}): it is scaled by "
            f"2**{8 * x.dtype.itemsize - 1}, to about {peak / _INT_SCALE[np.dtype(x.dtype)]:.1e}; if it is 16-bit PCM, "
            "pass x.astype(np.int16)",
            PcmScaleWarning,
        )


def to_float32(samples: Any, name: str = "audio", *, copy: bool = True) -> np.ndarray:
    """Converts PCM samples to float32 in [-1, 1] on the host, rejecting bad input.

    Scaling as ``pcm_to_float32``; also rejects more than 2 dimensions and NaN or infinite samples.

    Args:
      samples: array-like ``[shape=(n,)]`` or ``[shape=(n, channels)]``.
      name: how errors refer to the input.
      copy: ``False`` returns a float32 NumPy input itself (for callers that only read it).

    Returns:
      float32 array of the same shape.
    """
    return float32_and_peak(samples, name, copy=copy)[0]


def refuse_masked(samples: Any, name: str, error: type[Exception] = InputError) -> None:
    """``error`` for a NumPy masked array with masked samples, or a list or tuple holding one (rows of a batch):
    ``np.asarray`` reads the data under the mask, so a fully masked array of ones was encoded as ones, silently
    (``error``: ``ConfigError`` for a recording)."""
    for item in samples if isinstance(samples, (list, tuple)) else (samples,):
        if isinstance(item, np.ma.MaskedArray) and np.ma.is_masked(item):
            raise error(
                f"{name} is a masked array with {np.ma.count_masked(item)} masked sample(s), whose values would "
                "be read as they are; fill them first (x.filled(0.0)), or pass x.data to use them"
            )


def float32_and_peak(samples: Any, name: str = "audio", *, copy: bool = True) -> tuple[np.ndarray, float]:
    """``to_float32(samples, name, copy=copy)`` and its ``max|x|`` (0 when empty), found by the same pass over the
    samples that rejects NaN and inf (``encode``'s magnitude check needs it: a second pass cost 10 of the 31 ms
    ``encode_batch`` spent preparing W6's 1000 clips)."""
    if isinstance(samples, (str, bytes, os.PathLike)):
        raise InputError(f"{name}={samples!r} is a path where samples were expected")
    known = isinstance(samples, (np.ndarray, jax.Array, list, tuple, np.generic, int, float))
    if not known and not hasattr(samples, "__array__"):  # (a torch tensor has it, as spectrogram takes)
        raise InputError(f"{name} of type {type(samples).__name__} is not an array of samples")
    refuse_masked(samples, name)
    try:
        x = np.asarray(samples)
    except ValueError as error:  # ragged lists
        raise errors.unreadable_array(name, samples, error) from error
    except Exception as error:  # __array__ of a tensor on an accelerator (torch says to copy it), or any other
        raise InputError(f"{name} of type {type(samples).__name__} cannot be read as a NumPy array: {error}") from None
    if x.ndim == 0:
        raise InputError(f"{name} is a 0-d array (a scalar); expected [n] or [n, channels]")
    if x.ndim > 2:
        raise InputError(f"{name} has shape {x.shape}; expected [n] or [n, channels]")
    if x.ndim == 2 and x.shape[1] == 0:
        raise InputError(f"{name} has shape {x.shape}: [n, 0] has no channels to average; expected [n, channels]")
    if x.shape[0] > limits.MAX_SIGNAL_SAMPLES:
        raise InputError(f"{name} has {x.shape[0]} samples; the cap is {limits.MAX_SIGNAL_SAMPLES}")
    x = x if not copy and x.dtype == np.float32 else pcm_to_float32(x, name)
    # max and min propagate NaN and hold any inf: no boolean temporary the size of x
    high, low = (float(x.max()), float(x.min())) if x.size else (0.0, 0.0)
    if not (math.isfinite(high) and math.isfinite(low)):
        bad = int(np.flatnonzero(~np.isfinite(x.reshape(-1)))[0])
        raise InputError(f"{name} has NaN or infinite samples (first at flat index {bad})")
    return x, max(high, -low)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Averages ``[n, channels]`` to ``[n]``; ``[n]`` passes through."""
    return samples if samples.ndim == 1 else samples.mean(axis=1, dtype=np.float32)


def check_file(path: PathLike) -> Path:
    """``path`` as a ``Path`` if it names an existing regular file that can be opened.

    ``FileNotFoundError`` if nothing is there; ``AudioFileError`` (naming the path) for
    a folder, a FIFO or device (refused without opening it), or no permission;
    ``InputError`` for a bytes path (pass ``os.fsdecode(path)``).
    """
    return _files.checked_path(path)


def audio_info(path: PathLike) -> soundfile._SoundFileInfo:
    """soundfile's header information (rate, frames, channels, format) for ``path``.

    The header's rate and channels are checked against ``jaxspec.limits``.
    """
    path, info = _header(path)
    if info.frames >= UNKNOWN_FRAMES:  # a FLAC whose total is 0 ("unknown", piped encoders): count it
        _files.check_header(path, info.samplerate, info.channels, 0, info.format)
        info.frames = decoded_frames(path)
        info.duration = info.frames / info.samplerate
    _files.check_header(path, info.samplerate, info.channels, info.frames, info.format)
    return info


def header_rate(path: PathLike) -> int:
    """The sample rate ``path``'s header declares, read from the header alone (``audio_info``
    also counts the frames of a FLAC whose header does not give them, by decoding it)."""
    return int(_header(path)[1].samplerate)


def _header(path: PathLike) -> tuple[Path, soundfile._SoundFileInfo]:
    """``path`` checked, and soundfile's information from its header, unchecked."""
    path = check_file(path)
    try:
        with _files.sndfile_name(path) as name:
            return path, soundfile.info(name)
    except Exception as error:
        raise _files.unreadable(path, error) from error


UNKNOWN_FRAMES = 1 << 62
"""A header count from here up is libsndfile's "unknown" (``SF_COUNT_MAX``), not a length."""


def decoded_frames(path: PathLike) -> int:
    """Samples per channel of ``path``, counted by decoding it in blocks (bounded memory)."""
    # read_on returns what was decoded; blocks() pads its sizes to the header's count on a
    # short read (a cut MP3 counted 94241 frames where 64559 decode, as encode gets)
    total, checked = 0, check_file(path)
    try:
        with _files.sndfile_name(checked) as name, soundfile.SoundFile(name) as file:
            while (got := _files.read_on(file, 1 << 16).shape[0]) > 0:  # no seek between blocks: MP3's are fuzzy
                total += got
    except Exception as error:  # a decoder's error (a cut FLAC's "lost sync"): a file error, naming it
        raise _files.unreadable(checked, error) from error
    return total


def load_audio(path: PathLike) -> Audio:
    """Reads an audio file with soundfile (WAV, FLAC, OGG/Vorbis, Opus, MP3, ...).

    Args:
      path: file path (``str`` or ``os.PathLike``; names that are not UTF-8 work).
        Every format of the installed libsndfile works (``soundfile.available_formats()``).

    Returns:
      ``Audio`` with float32 ``samples [shape=(n,)]`` for mono files or
      ``[shape=(n, channels)]`` otherwise, and the file's ``sample_rate``.

    Raises:
      FileNotFoundError: ``path`` does not exist.
      AudioFileError: the file exists but cannot be decoded, or is not a regular file
        (the message names the path and the reason); ``AudioSamplesError`` (also an
        ``InputError``) when it decodes to NaN or infinite samples.

    Warns:
      TruncatedAudioWarning: the file decoded to fewer frames than its header declares.

    >>> import jaxspec
    >>> jaxspec.load_audio(jaxspec.example_path()).sample_rate
    16000
    """
    return read_start(path, None)


def read_start(path: PathLike, first: Any) -> Audio:
    """``load_audio``, reading only the first ``first(rate, frames)`` frames when that callable
    gives a count (``None``: the whole file): the rest of the file is not decoded or counted;
    a WAV-like header declaring more frames than the file's size holds still warns
    (``TruncatedAudioWarning``), a truncation only decoding would find does not."""
    path = check_file(path)
    shown = _files.display(path)
    try:
        with _files.sndfile_name(path) as name, soundfile.SoundFile(name) as file:
            frames, rate, kind = file.frames, file.samplerate, file.format
            unknown = frames >= UNKNOWN_FRAMES  # read to its end once, not counted first
            _files.check_header(path, rate, file.channels, 0 if unknown else frames, kind)
            cut = None if unknown or first is None else first(rate, frames)
            if not unknown:  # at once: a header above the cap is refused before anything is decoded
                _files.check_whole(shown, frames if cut is None else cut)
            # read on in blocks where one read cannot be sized from the header: an unknown count,
            # a file libsndfile cannot seek (GSM 6.10 WAV: "frames must be specified"), a start
            blocks = unknown or not file.seekable() or cut is not None
            samples = _files.read_to_end(file, shown, cut) if blocks else _files.read_whole(file, frames, path, kind)
            frames = samples.shape[0] if unknown else frames
            double = file.subtype == "DOUBLE"  # finite values past float32's range read as inf
    except AudioFileError:
        raise
    except Exception as error:
        raise _files.unreadable(path, error) from error
    if cut is None or samples.shape[0] < cut:
        _files.warn_if_truncated(path, samples.shape[0], _declared.header_frames(path, frames), kind)
    else:  # a WAV-like header against the size libsndfile counts: no decoding past the cut
        _files.warn_if_truncated(path, frames, _declared.declared_frames(path), kind, "holds")
    try:
        return _decoded(to_float32(samples, f"audio file {shown}"), int(rate))
    except InputError as error:  # NaN / inf samples: a file error too, naming the path
        why = " (or float64 samples beyond float32's range, 3.4e38)" if double else ""
        raise AudioSamplesError(f"{error}{why}") from error


def example_path() -> str:
    """Path of the short speech clip shipped with jaxspec (16 kHz mono FLAC).

    >>> import jaxspec
    >>> jaxspec.load_audio(jaxspec.example_path()).samples.shape  # 2.7 s at 16 kHz
    (43589,)
    """
    return str(Path(__file__).parent / "data" / "speech.flac")


def is_path(x: Any) -> bool:
    """True for a ``str``, ``bytes`` or ``os.PathLike``: what jaxspec takes as a file name.

    (A bytes name is refused with a message saying to pass ``os.fsdecode(path)``.)
    """
    return isinstance(x, (str, bytes, os.PathLike))


def as_signal(value: Any, name: str) -> tuple[np.ndarray, int | None]:
    """A path, ``Audio`` or array as mono float32 samples and their rate (None if unknown)."""
    if is_path(value):
        audio = load_audio(value)
        return to_mono(audio.samples), audio.sample_rate
    if isinstance(value, Audio):
        return to_mono(to_float32(value.samples, name)), value.sample_rate
    if isinstance(value, jax.core.Tracer):
        raise InputError(f"{name} must be a concrete array, a path or Audio, not a traced value")
    shape = np.shape(value)
    if channels_first(shape):  # torchaudio's and librosa's layout: averaged, a 1- or 2-sample recording
        raise InputError(
            f"{name} of shape {shape}: {looks_channels_first(shape)}, but a "
            "recording is [n] or [n, channels]; pass the transpose (.T)"
        )
    return to_mono(to_float32(value, name)), None
