"""Host-side loading of the recordings that stages use (noise, impulse responses).

Runs once, when a ``SpectrogramConfig`` is built: paths are read, ``Audio`` and
arrays are checked, and everything is resampled to the config's rate. Nothing here
runs on unflatten or under tracing.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import limits
from .._files import display
from ..errors import AudioFileError, ConfigError, InputError, RecordingFileError
from ..io import Audio, as_signal, audio_info, is_path, refuse_masked
from ..resampling import output_length, resample
from .loaded import loaded_rate, remember
from .stages import Augmentation
from .waveform_stages import recording_samples


def load_recording(signal: Any, sample_rate: int, name: str) -> jax.Array:
    """A recording (path, ``Audio``, array) as float32 ``[shape=(n,)]`` at ``sample_rate``.

    Arrays are taken to be at ``sample_rate`` already; a traced array (a config built
    inside ``jax.jit``) is used as it is. ``name`` (e.g. ``"Noise signal"``) starts every
    message, with the path for a file. A file is checked against
    ``limits.MAX_RECORDING_SAMPLES`` from its header, at its rate and at ``sample_rate``,
    before it is decoded; one that cannot be read is a ``RecordingFileError``.
    """
    if isinstance(signal, jax.core.Tracer):
        return signal
    if is_path(signal):
        name = f"{name} {display(signal)}"
        try:
            info = audio_info(signal)
        except AudioFileError as error:
            raise RecordingFileError(f"{name}: {error}") from error
        except InputError as error:  # a path no file can have (a NUL)
            raise ConfigError(f"{name}: {error}") from error
        except FileNotFoundError as error:
            raise FileNotFoundError(f"{name}: {error}") from None
        _check_length(name, info.frames, info.samplerate, sample_rate)
    try:
        samples, rate = as_signal(signal, name)
    except AudioFileError as error:
        raise RecordingFileError(f"{name}: {error}") from error
    except InputError as error:  # a recording is part of the config (named once)
        raise ConfigError(str(error) if str(error).startswith(name) else f"{name}: {error}") from error
    if samples.shape[0] == 0:
        raise ConfigError(f"{name} is an empty signal; it needs at least one sample")
    _check_length(name, samples.shape[0], rate, sample_rate)
    peak = float(np.max(np.abs(samples)))
    if peak > limits.MAX_SIGNAL_VALUE:
        raise ConfigError(f"{name} has samples up to {peak:.6g} in magnitude; the cap is {limits.MAX_SIGNAL_VALUE:g}")
    if rate is not None and rate != sample_rate:
        try:
            return resample(samples, rate, sample_rate)
        except ConfigError as error:
            raise ConfigError(f"{name}: {error}") from None
    return jnp.asarray(samples)


def _check_length(name: str, n: int, rate: int | None, sample_rate: int) -> None:
    """``ConfigError`` if a recording of ``n`` samples at ``rate`` exceeds the cap, at its
    rate or resampled to ``sample_rate`` (a short file at a low rate would grow past it)."""
    at_config = n if rate is None or rate == sample_rate else output_length(n, rate, sample_rate)
    if max(n, at_config) > limits.MAX_RECORDING_SAMPLES:
        also = "" if at_config == n else f" ({at_config} at the config's {sample_rate} Hz)"
        raise ConfigError(f"{name} has {n} samples{also}; the cap is {limits.MAX_RECORDING_SAMPLES} (jaxspec.limits)")


def resolve(augmentation: Augmentation | None, sample_rate: int) -> Augmentation | None:
    """``augmentation`` with its recordings loaded and resampled to ``sample_rate``.

    A stage given its recording by path keeps the absolute path in ``source`` (config
    files write it instead of the samples). An array is at its ``signal_rate`` (``None``:
    the config's), except one a config loaded (``jaxspec.augmentation.loaded``): it is at
    that config's rate, so the setting put in a config of another ``sample_rate``
    (``dataclasses.replace(config, sample_rate=8000)``, a built ``Augmentation`` reused) is
    read again from its file, or resampled. A loaded setting's ``signal_rate`` is ``None``.
    """
    if augmentation is None:
        return None
    changes = {}
    for stage, setting in augmentation.active():
        param = stage.signal_param
        signal = None if param is None else getattr(setting, param.name)
        if signal is None or isinstance(signal, jax.core.Tracer):
            continue
        name = f"{type(setting).__name__} {param.name}"
        refuse_masked(signal, name, ConfigError)  # before np.asarray below drops the mask
        rate, source = loaded_rate(signal), setting.source  # a source comes with its samples (kept_source)
        if rate is None and not is_path(signal):  # a config JAX rebuilt: new arrays, the rate it kept
            rate = setting.source_rate
        if setting.signal_rate is not None:  # an array at its own rate (the user's)
            signal = Audio(np.asarray(signal), setting.signal_rate)
        elif rate != sample_rate and source is not None and not is_path(signal):
            signal = _at_rate(source, signal, rate, sample_rate, name)  # a rate unknown: a config JAX rebuilt
        elif rate not in (None, sample_rate):  # this very array, loaded at rate
            signal = Audio(np.asarray(signal), rate)
        loaded = load_recording(signal, sample_rate, name)
        # "~/noise.wav" as it was read (its source was "<cwd>/~/noise.wav", a file never stat'ed)
        source = os.path.abspath(os.path.expanduser(os.fspath(signal))) if is_path(signal) else source
        remember(loaded, sample_rate)
        loaded_setting = {param.name: loaded, "source": source, "signal_rate": None, "source_rate": sample_rate}
        changes[stage.name] = dataclasses.replace(setting, **loaded_setting)
    return dataclasses.replace(augmentation, **changes) if changes else augmentation


def _at_rate(source: str, signal: Any, rate: int | None, sample_rate: int, name: str) -> Any:
    """What to load for a recording a config loaded from ``source`` at ``rate`` (its
    ``source_rate`` for a config JAX rebuilt; ``None``: not known), in a config of another
    ``sample_rate``: its file while it can be read (a fresh config's samples, ``from_dict``
    equal), else the samples held, at their rate (unknown: the config's)."""
    try:
        return load_recording(source, sample_rate, name)
    except (OSError, RecordingFileError):  # moved or deleted since: the samples held
        return signal if rate is None else Audio(np.asarray(signal), rate)


def holds_its_file(setting: Any, sample_rate: int, name: str) -> bool:
    """Whether a setting with a ``source`` still holds that file's samples at ``sample_rate``, as
    its stage reads them: the very array a config loaded, or equal values (a config JAX rebuilt,
    a jit output). A tree map that changed them (``x * 0.5``) made them the user's: ``save``
    wrote the file's path, and the config read back was another one. A file that can no longer
    be read counts as held (its path is all there is); a traced signal is the caller's to refuse."""
    signal = setting.signal
    if loaded_rate(signal) is not None or is_path(signal) or isinstance(signal, jax.core.Tracer):
        return True
    try:
        loaded = load_recording(setting.source, sample_rate, name)
    except (OSError, RecordingFileError):
        return True
    return np.array_equal(np.asarray(recording_samples(setting)), np.asarray(loaded))


def file_stamps(config: Any) -> dict[str, list[int] | None]:
    """``{path: [size, mtime_ns]}`` of each recording file ``config`` read (a stage's
    ``source``), for an output ``Manifest``'s setting: a recording changed under the same path is
    another setting (outputs made with the old one were kept as up to date)."""
    stamps: dict[str, list[int] | None] = {}
    for _, setting in () if config.augmentation is None else config.augmentation.active():
        source = getattr(setting, "source", None)
        if source:
            try:
                info = os.stat(source)
            except OSError:
                stamps[source] = None
            else:
                stamps[source] = [info.st_size, info.st_mtime_ns]
    return stamps
