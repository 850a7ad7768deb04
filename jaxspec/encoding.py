"""The encoder on the host side: files, ``Audio`` or arrays -> spectrograms.

``encode`` and ``encode_batch`` read and check inputs with NumPy / soundfile (nothing
is traced until the inputs are valid), resample them to ``config.sample_rate``, and
call the jitted pure core on inputs padded to the bucket ladder (``jaxspec.corpus``), so
that new lengths reuse the program of their rung instead of compiling their own.
"""

from __future__ import annotations

import collections
import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np

from . import packing
from ._files import decoded
from ._inputs import check_magnitude, check_peak, check_result_size
from ._key_inputs import check_item_keys, check_key, is_single_key, row_keys
from .augmentation.noise import key_words
from .augmentation.random import fold_in_words
from .config import SpectrogramConfig
from .corpus import bucket_batch_size, bucket_length, encode_alone, encode_one, encode_waves, item_bucket
from .errors import AudioFileError, AudioSamplesError, ConfigError, InputError, config_type_error, warn_low_rate
from .io import (
    Audio,
    capped_rate,
    channels_first,
    float32_and_peak,
    header_rate,
    is_path,
    looks_channels_first,
    read_start,
    to_mono,
)
from .planner import first_frames, plan_file, start_frames
from .resampling import check_resample_peak, output_length, resample_checked
from .spectrum import checked_spectrogram
from .stream import stream_to_array


def prepare(
    config: SpectrogramConfig,
    item: Any,
    sample_rate: int | None = None,
    name: str = "audio",
    *,
    host: bool = False,
    whole: bool = False,
    samples: int | None = None,
) -> Any:
    """Steps 1-2 on the host: load, check, average to mono, resample.

    Args:
      config: the settings (its ``sample_rate`` is the target).
      item: a path, an ``Audio``, or an array ``[n]`` / ``[n, channels]`` with
        ``sample_rate``.
      sample_rate: the rate of an array ``item`` in Hz.
      name: how errors refer to an array item.
      host: return a NumPy array when no resampling was needed (the item stays on the
        host, for callers that pad it into a batch there).
      whole: decode a whole file even when the config's output reads only its start
        (``planner.start_frames``; a plot shows the whole waveform).
      samples: with ``whole``, decode only what gives the first ``samples`` at the config's
        rate (``planner.first_frames``; Grain's ``LoadAudio`` keeps its ``length``).

    Returns:
      float32 ``[shape=(n',)]`` at ``config.sample_rate``,
      ``n' = ceil(n * config.sample_rate / rate)``.
    """
    if not isinstance(config, SpectrogramConfig):
        raise config_type_error(config)
    if not is_path(item):
        samples, rate = _samples_and_rate(item, sample_rate, name)
        wave = _at_target_rate(config, samples, rate, name, host, known_layout=isinstance(item, Audio))
    else:
        if whole:  # the file, or the first samples wanted of it
            start = functools.partial(first_frames, samples, config.sample_rate) if samples else None
        else:  # what the config's output reads (whisper's 30 s)
            start = functools.partial(start_frames, config)
        audio = read_start(item, start)
        name = f"audio file {os.fspath(item)!r}"
        try:
            wave = _at_target_rate(config, audio.samples, audio.sample_rate, name, host, known_layout=True)
        except ConfigError as error:  # the file's rate: a file error, naming the path
            raise AudioFileError(f"cannot encode {os.fspath(item)!r}: {error}") from error
        except InputError as error:  # its samples (NaN, too large): a file error too, naming the path
            raise AudioSamplesError(str(error)) from error
    check_result_size(config, wave.shape[0], name)  # the output's size: an InputError, not a file's
    return wave


def _samples_and_rate(item: Any, sample_rate: int | None, name: str) -> tuple[Any, int]:
    """The samples and rate of an ``Audio`` or an array item (``InputError`` for anything else)."""
    audio = isinstance(item, Audio)  # its rate: a file's header, or checked when it was made
    if audio:
        item, sample_rate = item.samples, item.sample_rate  # its samples are checked as an array's
    if item is None:
        raise InputError(f"{name} is None; pass a file path, an Audio or an array of samples")
    if isinstance(item, (list, tuple)) and item and (isinstance(item[0], Audio) or is_path(item[0])):
        raise InputError(
            f"{name} is a {type(item).__name__} of inputs (Audio or paths), not samples; pass one input, "
            "or the list to jaxspec.encode_batch"
        )
    if isinstance(item, jax.core.Tracer):
        raise InputError(f"{name} is a traced value; inside jax.jit call jaxspec.spectrogram on the waveform")
    _refuse_other_containers(item, name)
    if sample_rate is None:
        raise InputError(f"{name} is an array without a rate; pass sample_rate=... (Hz) or an Audio")
    rate = capped_rate("sample_rate", sample_rate)  # as Audio's and a file header's rate
    return item, rate if audio else warn_low_rate("sample_rate", rate)  # typed by the user: 48 for 48 kHz?


def _refuse_other_containers(item: Any, name: str) -> None:
    """``InputError`` saying what to pass for the containers audio arrives in elsewhere: they were
    "an array without a rate" (and with ``sample_rate=``, "a list of clips of several lengths")."""
    pair = isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], (int, float, np.number))
    if pair and hasattr(item[0], "__array__") and getattr(item[0], "ndim", 0) >= 1:  # not 2 samples
        why = "a (samples, rate) pair, as librosa.load returns"
        raise InputError(f"{name} is {why}; pass jaxspec.Audio(y, sr), or y with sample_rate=sr")
    if isinstance(item, Mapping):
        keys = ", ".join(map(repr, list(item)[:6]))
        raise InputError(
            f"{name} is a dict (keys {keys}); pass its samples and rate as jaxspec.Audio(samples, rate) (a "
            "Hugging Face audio dict: Audio(d['array'], d['sampling_rate'])), or a file path"
        )
    if hasattr(item, "read") and not hasattr(item, "__array__"):
        raise InputError(
            f"{name} is an open file ({type(item).__name__}); pass its path, or decode it: {decoded('file')}"
        )


_LADDER_RESAMPLE_SAMPLES = 1 << 24
"""Inputs up to this many samples are resampled at a ladder length (longer: their own length)."""


def _resampled(x: np.ndarray, rate: int, target: int) -> jax.Array:
    """``resample(x, rate, target)`` of a host wave, computed at the next length of the bucket
    ladder (``corpus.bucket_length``) and cut: one resampling program per bucket, not per
    length (a corpus at 44.1 kHz compiled one per file, and a second CLI run over new files
    compiled again). Bit-identical: the resampler's segments are aligned to the start and
    read zeros past the end either way."""
    n = x.shape[0]  # x was scanned for NaN / inf by float32_and_peak: not scanned again
    if n == 0 or n > _LADDER_RESAMPLE_SAMPLES:
        return resample_checked(x, rate, target)
    padded = np.zeros(bucket_length(n), np.float32)
    padded[:n] = x
    # cut on the host: slicing the device array would compile a program per length again
    return np.asarray(resample_checked(padded, rate, target))[: output_length(n, rate, target)]


def _at_target_rate(
    config: SpectrogramConfig, samples: Any, rate: int, name: str, host: bool, known_layout: bool = False
) -> Any:
    """``prepare``'s steps on samples at ``rate``: float32, checked, mono, resampled.
    ``known_layout``: ``[n, channels]`` for sure (a file's, an ``Audio``'s): no channels-first guess."""
    x, peak = float32_and_peak(samples, name, copy=not host)  # host: only read (copied into a batch)
    if not known_layout and channels_first(x.shape):
        raise InputError(
            f"{name} has shape {x.shape}: {looks_channels_first(x.shape)}, but encode "
            "reads [n, channels]; pass the transpose (x.T)"
        )
    channels = x.ndim == 2
    x = to_mono(x)
    # Checked here, on the host (no device program per length), so that the error names the
    # file; resampling's overshoot (a few %) is far inside the cap's margin.
    if channels:
        check_magnitude(config, x, name)  # the channels' average has a peak of its own
    elif x.size:
        check_peak(config, peak, x.shape[0], name)
    if rate != config.sample_rate:
        check_resample_peak(peak, rate, config.sample_rate, name)  # a normalization would have hidden it above
        return _resampled(x, rate, config.sample_rate)
    if host:  # for the bucket batches, padded on the host: no round trip through the device
        return x
    return jax.device_put(x)  # jnp.asarray would compile a copy per new length (jax 0.10)


def encode(
    config: SpectrogramConfig,
    audio: Any,
    *,
    sample_rate: int | None = None,
    key: jax.Array | None = None,
    stream: bool | None = None,
) -> jax.Array:
    """Encodes one input into a float32 spectrogram (the seed's ``encoder[input]``).

    Args:
      config: the settings.
      audio: a file path, an ``Audio``, or an array ``[shape=(n,)]`` /
        ``[shape=(n, channels)]`` (channels are averaged). Integer PCM is scaled to
        [-1, 1).
      sample_rate: the rate of an array input in Hz (required for arrays; for an ``Audio``
        or a file it must equal its rate or be ``None``).
      key: a PRNG key to apply ``config.augmentation``; ``None`` = no augmentation.
      stream: for a path: ``None`` = stream files above
        ``jaxspec.planner.STREAM_THRESHOLD_SAMPLES`` (frames x channels, or samples at the
        config's rate) when no augmentation is applied; ``True`` / ``False`` force it (``True`` is a
        ``ConfigError`` for a config that cannot be computed block by block: ``power=None``,
        per-example statistics such as ``Decibels(top_db=...)``, ``Deltas``). Streaming never
        holds the decoded file in memory and gives the same result.

    Returns:
      float32 ``[shape=(n_frames, config.num_features)]`` (``fft_size // 2 + 1`` bins for
      a plain spectrogram; complex64 for ``power=None``), ``n_frames =
      config.num_frames(L)`` for ``L`` samples after resampling (``ceil(L / offset)`` with
      the seed's framing; ``target_length`` frames when one is set). Equal to
      ``spectrogram(config, wave, key)`` of the prepared wave (relative 1e-5, the same
      draws): up to ``jaxspec.encoding.LADDER_ENCODE_SAMPLES`` (2**22) samples it is computed padded to its rung of
      the bucket ladder with ``lengths=``, so a loop over new lengths compiles one program
      per rung, not one per length.

    >>> import jaxspec
    >>> jaxspec.encode(jaxspec.SpectrogramConfig(), jaxspec.example_path()).shape[1]
    201
    """
    if stream is not None and not (isinstance(stream, (bool, np.bool_, int)) and stream in (0, 1)):  # "no" streamed
        raise InputError(f"stream={stream!r} must be None (automatic), True or False")
    _check_own_rate(audio, sample_rate)
    if stream is not False and is_path(audio):
        if plan_file(config, audio, augmented=key is not None, stream=stream).stream:
            return jax.device_put(stream_to_array(config, audio))  # jnp.asarray compiled a copy per shape
    if isinstance(key, jax.core.Tracer):  # encode computes on the host (the ladder, NumPy)
        raise InputError("key is a traced value; inside jax.jit call jaxspec.spectrogram on the waveform")
    wave = prepare(config, audio, sample_rate, host=True)
    if key is not None:
        key = check_key(key)
    ladder = wave.shape[0] <= LADDER_ENCODE_SAMPLES and not packing.chunked(config, wave, key)
    if ladder and (key is None or is_single_key(key)):
        return jax.device_put(encode_one(config, wave, key))  # prepare checked it
    return checked_spectrogram(config, wave, key, scan=False)


LADDER_ENCODE_SAMPLES = 1 << 22
"""``encode`` pads inputs up to this many samples (4.4 min at 16 kHz) to their rung of the
bucket ladder (``corpus.bucket_length``) and computes them with ``lengths=``: one program per
rung, not per length (40 distinct lengths of 0.5-8 s compiled 40 programs, 13.7 s with a key
on 2 cores, against 10 now). Longer inputs compute at their own length, where a compile is
small beside the work and the ladder's padding (up to 50 %) is not."""


def with_index(error: Exception, index: int, item: Any, what: str = "item") -> Exception:
    """``error`` of the same class, its message led by ``what`` and ``index`` (and the path)."""
    where = f"{what} {index}" + (f" ({str(item)!r})" if is_path(item) else "")
    try:
        wrapped = type(error)(f"{where}: {error}")
    except Exception:  # noqa: BLE001 - an exception type with another signature
        wrapped = InputError(f"{where}: {error}")
    return wrapped


def _item_keys(key: jax.Array, count: int) -> Any:
    """The keys of ``count`` items (``fold_in(key, i)``, or ``key`` itself when it holds one per
    item), as host words for a Threefry key: no device program per corpus size."""
    words = key_words(key)  # None for a batch of keys (their data is [count, 2]) or another kind
    if words is None or isinstance(words, jax.core.Tracer):
        return row_keys(key, count)
    return fold_in_words(np.asarray(words), np.arange(count, dtype=np.uint32))


def _check_own_rate(audio: Any, sample_rate: Any) -> None:
    """``InputError`` for a ``sample_rate`` other than the rate a file or an ``Audio`` carries."""
    if isinstance(audio, Audio) and sample_rate is not None and sample_rate != audio.sample_rate:
        raise InputError(
            f"sample_rate={sample_rate!r} contradicts the Audio's own rate {audio.sample_rate}; "
            "sample_rate is for array inputs (pass Audio(samples, rate) or the array with its rate)"
        )
    if is_path(audio) and sample_rate is not None:
        rate = header_rate(audio)  # no count: a FLAC without one was decoded twice more
        if sample_rate != rate:
            raise InputError(
                f"sample_rate={sample_rate!r} contradicts the rate of {os.fspath(audio)!r} ({rate} Hz); "
                "sample_rate is for array inputs (a file carries its own rate)"
            )


def encode_batch(
    config: SpectrogramConfig, audios: Sequence[Any], *, sample_rate: int | None = None, key: jax.Array | None = None
) -> list[jax.Array]:
    """Encodes a list of inputs of any lengths; each result equals encoding it alone.

    Item ``i`` uses the key ``jax.random.fold_in(key, i)`` (equal to
    ``jax.random.split(key, len(audios))[i]`` under JAX's default flags), or ``key[i]``
    when ``key`` holds one key per item (as ``spectrogram`` reads a batch of keys). Items are
    packed end to end into fixed chunks (``jaxspec.packing``, for configs whose frames depend
    on nothing but their own samples) or padded to the fixed geometric ladder of
    ``jaxspec.corpus`` and computed in batches of a fixed size per bucket with
    ``spectrogram(..., lengths=...)``: new lengths never compile a new program. A call of a few
    short items, which would cost less alone than the padded chunk or batch, encodes each alone
    on its rung (``encode``'s programs).

    Args:
      config: the settings.
      audios: paths, ``Audio`` objects or arrays (arrays need ``sample_rate``).
      sample_rate: the rate of the array items in Hz; files and ``Audio`` items keep their own
        (a list of those alone with another ``sample_rate`` is an ``InputError``, as in ``encode``).
      key: a PRNG key, or ``None`` for no augmentation.

    Returns:
      a list of float32 arrays ``[shape=(config.num_frames(L_i), config.num_features)]``
      (complex64 for ``power=None``), in input order.

    Raises:
      ConfigError: ``config`` is not a ``SpectrogramConfig``.
      InputError: ``audios`` is one input (a path, bytes, an ``Audio``, an array) or a dict.
      Otherwise the error of the first bad item, its message naming the index (and path).

    >>> import jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(window_size=400, offset=160)
    >>> out = jaxspec.encode_batch(config, [np.zeros(16000), np.zeros(800), jaxspec.example_path()], sample_rate=16000)
    >>> [spec.shape for spec in out]  # ceil(L / 160) frames each
    [(100, 201), (5, 201), (273, 201)]
    """
    if not isinstance(config, SpectrogramConfig):
        raise config_type_error(config)
    if isinstance(audios, (str, bytes, os.PathLike, Audio, np.ndarray, jax.Array)):
        folder = isinstance(audios, (str, os.PathLike)) and os.path.isdir(audios)  # encode reads no folder either
        fix = (
            "list its files: sorted(pathlib.Path(d).rglob('*.wav')), or run jaxspec encode DIR -o OUT" if folder else ""
        )
        raise InputError(f"encode_batch takes a list of inputs; {fix or 'use encode for a single one'}")
    if isinstance(audios, Mapping):  # its keys would be read as the inputs
        raise InputError("encode_batch takes a list of inputs, not a dict; pass list(d.values())")
    try:
        items = list(audios)
    except TypeError as error:
        raise InputError(f"audios={audios!r} is not a list of inputs (paths, Audio objects or arrays)") from error
    keys = None if key is None else _item_keys(check_item_keys(key, len(items), "inputs"), len(items))
    if sample_rate is not None and all(is_path(item) or isinstance(item, Audio) for item in items):
        for i, item in enumerate(items):  # a rate given for no array: the user meant it for these
            try:
                _check_own_rate(item, sample_rate)
            except (ValueError, OSError) as error:
                raise with_index(error, i, item) from error
    waves, streamed = {}, {}  # by index: a long file is streamed as encode streams it (a 15-minute
    for i, item in enumerate(items):  # 44.1 kHz stereo file took 605 MB decoded whole, 153 MB so)
        try:
            if is_path(item) and plan_file(config, item, augmented=key is not None).stream:
                streamed[i] = jax.device_put(stream_to_array(config, item))
            else:
                waves[i] = prepare(config, item, sample_rate, name=f"audio {i}", host=True)
        except (ValueError, OSError) as error:
            raise with_index(error, i, item) from error
    if keys is not None and streamed:  # (a streamed file draws nothing: plan_file streams no augmentation)
        keys = keys[np.asarray(list(waves), np.int64)]
    if _few(config, [int(w.shape[0]) for w in waves.values()], keys is not None):  # keys[j]: waves' j-th
        alone = encode_alone(config, list(waves.values()), keys)
        results = {i: jax.device_put(out) for i, out in zip(waves, alone, strict=True)}
    else:
        results = dict(zip(waves, encode_waves(config, list(waves.values()), keys, checked=True), strict=True))
    return [results[i] if i in results else streamed[i] for i in range(len(items))]


def _few(config: SpectrogramConfig, lengths: list[int], keyed: bool) -> bool:
    """True when encoding each item alone on its rung (``corpus.encode_one``, ``encode``'s
    programs) costs less than the work ``encode_waves`` would do: a packed chunk of
    ``packing.pack_frames`` frames, or each bucket's batch of ``bucket_batch_size`` rows, padding
    rows included. A call alone costs its work plus about 8192 samples' (64 frames') worth of
    dispatch. Measured on 2 cores (the latency audit): one 1 s clip took 3.4 ms in a chunk, 0.5 ms
    alone; 4 clips 2.3-2.7 ms packed, 1.4 ms alone; 500 clips of 100 samples 42 ms packed, 73 ms
    alone; one 30 s clip with ``presets.whisper()`` 56 ms in its bucket's 2-row batch, 7.8 ms alone
    (2026-12-06, on a busy host)."""
    if packing.packable(config, keyed):
        return 2 * sum(int(config.num_frames(n)) + 64 for n in lengths) <= packing.pack_frames(config)
    buckets = collections.Counter(item_bucket(config, n) for n in lengths)
    return all(count * (b + 8192) <= bucket_batch_size(b, config) * b for b, count in buckets.items())
