"""The waveform-level stages: settings, shorthands, draws and applications.

``Volume``, ``Noise``, ``TimeShift`` and ``Convolution`` act on the waveform before
framing (stage ids 0-3); their rows in ``stages.STAGES`` point at the functions here.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import limits
from .._pytree import pytree_dataclass
from ..durations import is_duration_string, parse_duration, warn_long_seconds
from ..errors import ConfigError, InputError
from ..io import Audio, capped_rate, is_path, pcm_to_float32
from . import loaded, ops, random
from .distributions import LogUniform, Normal, Scaled, Uniform, as_param, sample_param, scalar_of
from .noise import white_noise
from .rounding import floor_product


# ------------------------------------------------------------------- settings
@pytree_dataclass()
class Volume:
    """Multiply the waveform by ``gain`` (a numeric parameter): ``y = gain * x``.

    >>> import jax, jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=jaxspec.Volume(0.5)))
    >>> jaxspec.augment(config, np.ones(2), jax.random.key(0)).tolist(), jaxspec.augment(config, np.ones(2)).tolist()
    ([0.5, 0.5], [1.0, 1.0])
    """

    gain: Any

    def __post_init__(self):
        object.__setattr__(self, "gain", as_param(self.gain, "Volume gain", cap=limits.MAX_GAIN))


def _signal_repr(self: Any) -> str:
    fields = []
    for f in dataclasses.fields(self):
        value = getattr(self, f.name)
        if f.name == "signal" and hasattr(value, "shape") and hasattr(value, "dtype"):
            text = f"{np.dtype(value.dtype).name}[{','.join(map(str, value.shape))}]"
        else:
            text = repr(value)
        fields.append(f"{f.name}={text}")
    return f"{type(self).__name__}({', '.join(fields)})"


def _signal_rate(setting: Any, name: str) -> int | None:
    """``setting.signal_rate`` checked: a positive int, for an array signal only (a path or ``Audio`` has its own)."""
    rate = setting.signal_rate
    if rate is None:
        return None
    if is_path(setting.signal) or isinstance(setting.signal, Audio):
        raise ConfigError(
            f"{name} signal_rate={rate!r} is for an array signal; a path or an Audio has its own rate (leave it None)"
        )
    try:
        return capped_rate(f"{name} signal_rate", rate)
    except InputError as error:  # the cap: a config's error
        raise ConfigError(str(error)) from None


def _checked_signal(signal: Any, name: str) -> Any:
    """``signal`` checked; a list or tuple of samples as a read-only array (a list kept as
    given could change under a frozen, hashed setting)."""
    if signal is None:
        return None
    if isinstance(signal, (list, tuple)):
        try:
            signal = np.asarray(signal)
        except ValueError as error:  # ragged lists
            raise ConfigError(f"{name} cannot be read as an array of samples: {error}") from None
        if signal.dtype == object:  # strings, None, or integers beyond float's range
            raise ConfigError(f"{name} holds values that are not numbers of samples (or are beyond float's range)")
        signal.setflags(write=False)
    if not is_signal(signal):
        raise ConfigError(
            f"{name}={signal!r} is not a recording; give a path, an Audio, or a NumPy / JAX array of samples"
        )
    if hasattr(signal, "shape") and math.prod(signal.shape) == 0:
        raise ConfigError(f"{name} is an empty signal; it needs at least one sample")
    return signal


def recording_samples(setting: Any) -> Any:
    """A ``Noise`` or ``Convolution`` setting's ``signal`` as float32 samples ``[shape=(R,)]``
    (``None`` when it has none): what every stage reads.

    A built config holds float32 already. A leaf that ``jax.tree.map`` or a trace put in is
    read as a constructor reads an array (``io.pcm_to_float32``): integer PCM scaled to [-1, 1),
    other floats cast (int16 was used unscaled, float64 made the output float64). bool, complex,
    unsigned types but uint8, shapes but ``[n]`` and ``[0]`` (noise failed in a gather, a convolution
    gave 0) are a ``ConfigError`` naming the field, raised while tracing, as the constructor raises it.

    >>> import numpy as np
    >>> from jaxspec.augmentation import Noise, recording_samples
    >>> recording_samples(Noise(0.1, np.array([16384, -32768], np.int16)))
    array([ 0.5, -1. ], dtype=float32)
    """
    signal = setting.signal
    if signal is not None and (signal.ndim != 1 or signal.shape[0] == 0):  # [n, channels] was used as is
        name, shape = type(setting).__name__, tuple(signal.shape)
        fix = "build the stage from the array to average its channels" if signal.ndim != 1 else "give it samples"
        raise ConfigError(f"{name} signal has shape {shape}; a leaf put in later must be [n], n > 0: {fix}")
    if signal is None or signal.dtype == np.float32:
        return signal
    try:
        return pcm_to_float32(signal, f"{type(setting).__name__} signal")
    except InputError as error:  # a recording is part of the config
        raise ConfigError(str(error)) from None


@pytree_dataclass(data_fields=("signal",))
class Noise:
    """Add noise: white Gaussian noise, or a random segment of a recording.

    Args:
      amplitude: numeric parameter. Without ``signal``: the standard deviation of
        white noise. With ``signal``: the factor on the recording (default 1).
      signal: ``None``, or a recording (an array at ``signal_rate``, ``Audio`` or a path), resampled to the config's
        rate when the config is built. A segment of the input's length starts at a uniformly random sample (in
        ``[0, R - L]``; in ``[0, R)`` with the recording repeated when it is shorter than the input).
      signal_rate: the rate of an array ``signal`` in Hz (``None``: the config's; a path or an ``Audio`` has its own).
        The config's loaded recording has ``None``; the config remembers the rate it loaded it at, so the setting in a
        config of another rate (``dataclasses.replace(config, sample_rate=8000)``) is resampled again (from ``source``
        when it came from a file).
      source: keyword-only, set by the config: the file the recording was read from (when ``signal`` is a path; kept
        while the config holds the samples read from it; config files write it instead of the samples).
      source_rate: keyword-only, set by the config: the rate the samples held are at (a config JAX rebuilt knows it).

    >>> import jax, jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(noise=jaxspec.Noise(0.1)))
    >>> round(float(jaxspec.augment(config, np.zeros(16000), jax.random.key(0)).std()), 2)  # white noise, std 0.1
    0.1
    """

    amplitude: Any = None
    signal: Any = None
    source: str | None = dataclasses.field(default=None, kw_only=True)  # the config's: not the 3rd argument
    source_rate: int | None = dataclasses.field(default=None, kw_only=True)  # the config's too (loaded.kept_rate)
    signal_rate: int | None = None

    def __post_init__(self):
        amplitude = self.amplitude
        if amplitude is None:
            if self.signal is None:
                raise ConfigError("Noise needs an amplitude (white noise) or a signal (a recording)")
            amplitude = 1.0
        amplitude = as_param(amplitude, "Noise amplitude", bounds=(0.0, math.inf), cap=limits.MAX_GAIN)
        object.__setattr__(self, "amplitude", amplitude)  # a negative magnitude is an error
        object.__setattr__(self, "signal", _checked_signal(self.signal, "Noise signal"))
        object.__setattr__(self, "signal_rate", _signal_rate(self, "Noise"))
        object.__setattr__(self, "source", loaded.kept_source(self))  # with the samples read from it only
        object.__setattr__(self, "source_rate", loaded.kept_rate(self))

    __repr__ = _signal_repr
    __getstate__ = loaded.state  # pickle, copy: the rate a config loaded the signal at goes along
    __setstate__ = loaded.restore


@pytree_dataclass()
class TimeShift:
    """Shift the waveform by ``t`` seconds (positive = later), or by ``Scaled(s)``.

    ``t`` is a numeric parameter in seconds, an int too (``TimeShift(160)`` is 160 s, where
    ``window_size=160`` is 160 samples), or a duration (``"10ms"``, ``("-100ms", "100ms")``).
    Zeros enter on the side the signal leaves; the length is unchanged.

    >>> import jax, jaxspec
    >>> jaxspec.draw(jaxspec.Augmentation(time_shift=jaxspec.TimeShift(0.01)), jax.random.key(0), 16000)
    {'time_shift_samples': Array(160, dtype=int32)}
    """

    t: Any

    def __post_init__(self):
        t = shift_seconds(self.t)
        if not isinstance(t, Scaled):  # checked, then warned of (a range's bounds too: the CLI's 'LO:HI')
            t = as_param(t, "TimeShift t", cap=limits.MAX_SHIFT_SECONDS)
            bounds = (t.low, t.high) if isinstance(t, (Uniform, LogUniform)) else t
            warn_long_seconds(bounds, "TimeShift t", written=self.t if isinstance(self.t, tuple) else (self.t,))
        object.__setattr__(self, "t", t)


def shift_seconds(t: Any) -> Any:
    """Duration strings (``"100ms"``, a range ``("-100ms", "100ms")``) as seconds; other values as given."""
    if is_duration_string(t):
        return parse_duration(t, "TimeShift t", None)
    if isinstance(t, (tuple, list)) and len(t) == 2 and any(map(is_duration_string, t)):
        return tuple(parse_duration(v, "TimeShift t", None) for v in t)
    return t


@pytree_dataclass(data_fields=("signal",))
class Convolution:
    """Convolve with an impulse response: ``y = (1 - mix) x + mix (x * h)[:L]``.

    Args:
      signal: the impulse response ``h`` (an array at ``signal_rate``, ``Audio`` or a
        path), resampled to the config's rate when the config is built.
      mix: numeric parameter in ``[0, 1]`` (default 1: fully convolved).
      signal_rate: the rate of an array ``signal`` in Hz (``None``: the config's); see ``Noise``.
      source, source_rate: keyword-only, set by the config: the file the impulse response was read
        from and the rate it was read at (as ``Noise``'s).

    >>> import jax, jaxspec, numpy as np
    >>> late = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(convolution=jaxspec.Convolution([0.0, 1.0])))
    >>> np.allclose(jaxspec.augment(late, np.array([1.0, 2.0, 3.0]), jax.random.key(0)), [0.0, 1.0, 2.0], atol=1e-6)
    True
    """

    signal: Any
    mix: Any = 1.0
    source: str | None = dataclasses.field(default=None, kw_only=True)  # the config's: not the 3rd argument
    source_rate: int | None = dataclasses.field(default=None, kw_only=True)  # the config's too (loaded.kept_rate)
    signal_rate: int | None = None

    def __post_init__(self):
        if self.signal is None:
            raise ConfigError("Convolution needs a signal (the impulse response)")
        object.__setattr__(self, "mix", as_param(self.mix, "Convolution mix", bounds=(0.0, 1.0)))
        object.__setattr__(self, "signal", _checked_signal(self.signal, "Convolution signal"))
        object.__setattr__(self, "signal_rate", _signal_rate(self, "Convolution"))
        object.__setattr__(self, "source", loaded.kept_source(self))  # with the samples read from it only
        object.__setattr__(self, "source_rate", loaded.kept_rate(self))

    __repr__ = _signal_repr
    __getstate__ = loaded.state  # pickle, copy: the rate a config loaded the signal at goes along
    __setstate__ = loaded.restore


# ------------------------------------------------------------------- shorthands
def _is_range(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(scalar_of(v), numbers.Real) and not isinstance(scalar_of(v), bool) for v in value)
    )


def is_signal(value: Any) -> bool:
    """A path, an ``Audio`` or a NumPy / JAX array of at least one dimension: what a recording may be."""
    if is_path(value) or isinstance(value, Audio):
        return True
    return isinstance(value, (np.ndarray, jax.Array)) and len(value.shape) >= 1


def _is_param(value: Any) -> bool:
    return (
        _is_range(value)
        or isinstance(scalar_of(value), (numbers.Real, Scaled, Uniform, Normal, LogUniform))
        or callable(value)
        or hasattr(value, "sample")
    )


def param_shorthand(cls: type, read: Callable[[Any], Any] = lambda v: v) -> Callable[[Any, str], Any]:
    def coerce(value: Any, field: str) -> Any:  # the setting gets the value as given, ``read`` says if it is one
        if _is_param(read(value)):
            return cls(value)
        why = ""
        try:  # the setting's own reason: (0.5, 1.0, 1.5) "must be (lo, hi)", 'loud' lists the valid forms
            cls(value)
        except (ConfigError, TypeError, ValueError) as error:
            why = f": {error}"
        raise ConfigError(f"{field}={value!r} is not a valid {cls.__name__} setting{why}")

    return coerce


def noise_shorthand(value: Any, field: str) -> Noise:
    if is_signal(value):
        return Noise(None, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and is_signal(value[1]):
        return Noise(value[0], value[1])  # the seed's {amp, noise}
    return param_shorthand(Noise)(value, field)


def convolution_shorthand(value: Any, field: str) -> Convolution:
    if is_signal(value):
        return Convolution(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and is_signal(value[1]):
        return Convolution(value[1], value[0])  # the seed's {mix, signal}
    raise ConfigError(f"{field}={value!r}: use Convolution(signal, mix), a signal, or (mix, signal)")


# ------------------------------------------------------------------- draws and applications
def param_key(stage_key: jax.Array, param_id: int) -> jax.Array:  # the key of one draw
    return jax.random.fold_in(stage_key, param_id)


def draw_convolution(setting: Convolution, key: jax.Array, length: int, rate: int) -> dict[str, jax.Array]:
    # a NaN drawn by a callable is 0: the dry signal (jnp.clip passes NaN on to every sample)
    return {"convolution_mix": sample_param(setting.mix, param_key(key, 0), name="Convolution mix", bounds=(0, 1, 0))}


def apply_convolution(setting: Convolution, x: jax.Array, values: dict, key: jax.Array, valid: Any = None) -> jax.Array:
    mix = values["convolution_mix"]
    return (1.0 - mix) * x + mix * ops.convolve(x, recording_samples(setting))


def draw_noise(setting: Noise, key: jax.Array, length: Any, rate: int) -> dict[str, jax.Array]:
    amplitude = sample_param(setting.amplitude, param_key(key, 0), limits.MAX_GAIN, "Noise amplitude")
    values = {"noise_amplitude": jnp.maximum(amplitude, 0.0)}  # unbounded distributions: no negative level
    signal = recording_samples(setting)  # its dtype checked here too (jaxspec.draw)
    if signal is not None:
        size = signal.shape[0]
        if isinstance(length, int):
            high = size - length + 1 if size >= length else size
        else:  # a traced length (ragged batches): the same integers, chosen in the graph
            high = jnp.where(size >= length, size - length + 1, size)
        values["noise_start"] = random.randint(param_key(key, 1), high)
    return values


def apply_noise(setting: Noise, x: jax.Array, values: dict, key: jax.Array, valid: Any = None) -> jax.Array:
    size = x.shape[0]
    if setting.signal is None:
        return x + values["noise_amplitude"] * white_noise(param_key(key, 2), size, valid)
    segment = ops.noise_segment(recording_samples(setting), values["noise_start"], size, cyclic=valid is not None)
    return x + values["noise_amplitude"] * segment


def draw_time_shift(setting: TimeShift, key: jax.Array, length: Any, rate: int) -> dict[str, jax.Array]:
    # floor(seconds * rate + 0.5) as float64 gives it (float32 made Scaled(0.65) of 90 samples 58)
    t = setting.t
    span, most = jnp.asarray(length, jnp.int32), limits.MAX_SIGNAL_SAMPLES  # static, or traced (ragged rows)
    if isinstance(t, float):  # fixed: rounded exactly (float64, on the host), as window sizes are
        samples = jnp.int32(max(-most, min(most, math.floor(t * rate + 0.5))))
    elif isinstance(t, Scaled):  # |s| <= 1 shifts by at most L: clipped first, the same result
        s = t.s if isinstance(t.s, float) else sample_param(t.s, param_key(key, 0), limits.MAX_SCALED_SHIFT, "Scaled s")
        samples = floor_product(max(-1.0, min(1.0, s)) if isinstance(s, float) else jnp.clip(s, -1.0, 1.0), span, 0.5)
    else:  # a drawn t: under 2**31 samples either way before the clip to +-L
        t, reach = sample_param(t, param_key(key, 0), limits.MAX_SHIFT_SECONDS, "TimeShift t"), (2**31 - 1024) / rate
        samples = floor_product(jnp.clip(t, -np.float32(reach), np.float32(reach)), rate, 0.5)
    return {"time_shift_samples": jnp.clip(samples, -span, span)}


def draw_volume(setting: Volume, key: jax.Array, length: int, rate: int) -> dict[str, jax.Array]:
    return {"volume_gain": sample_param(setting.gain, param_key(key, 0), limits.MAX_GAIN, "Volume gain")}
