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
from ..errors import ConfigError, InputError
from ..io import as_signal, is_path
from ..resampling import resample
from .stages import Augmentation


def load_recording(signal: Any, sample_rate: int, name: str) -> jax.Array:
    """A recording (path, ``Audio``, array) as float32 ``[shape=(n,)]`` at ``sample_rate``.

    Arrays are taken to be at ``sample_rate`` already; a traced array (a config built
    inside ``jax.jit``) is used as it is.
    """
    if isinstance(signal, jax.core.Tracer):
        return signal
    try:
        samples, rate = as_signal(signal, name)
    except InputError as error:  # a recording is part of the config
        raise ConfigError(str(error)) from error
    if samples.shape[0] == 0:
        raise ConfigError(f"{name} is an empty signal; it needs at least one sample")
    if samples.shape[0] > limits.MAX_RECORDING_SAMPLES:
        raise ConfigError(
            f"{name} has {samples.shape[0]} samples; the cap is {limits.MAX_RECORDING_SAMPLES} (jaxspec.limits)"
        )
    peak = float(np.max(np.abs(samples)))
    if peak > limits.MAX_SIGNAL_VALUE:
        raise ConfigError(f"{name} has samples up to {peak:.6g} in magnitude; the cap is {limits.MAX_SIGNAL_VALUE:g}")
    if rate is not None and rate != sample_rate:
        return resample(samples, rate, sample_rate)
    return jnp.asarray(samples)


def resolve(augmentation: Augmentation | None, sample_rate: int) -> Augmentation | None:
    """``augmentation`` with its recordings loaded and resampled to ``sample_rate``.

    A stage given its recording by path keeps the absolute path in ``source`` (config
    files write it instead of the samples).
    """
    if augmentation is None:
        return None
    changes = {}
    for stage, setting in augmentation.active():
        param = stage.signal_param
        signal = None if param is None else getattr(setting, param.name)
        if signal is None:
            continue
        loaded = load_recording(signal, sample_rate, f"{type(setting).__name__} {param.name}")
        source = os.path.abspath(os.fspath(signal)) if is_path(signal) else setting.source
        changes[stage.name] = dataclasses.replace(setting, **{param.name: loaded, "source": source})
    return dataclasses.replace(augmentation, **changes) if changes else augmentation
