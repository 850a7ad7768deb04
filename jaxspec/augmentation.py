"""Key-driven data augmentation: settings, random parameters, and the plain operations.

Pipeline order (SPEC section 4): Convolution -> Noise -> TimeShift -> Volume.

Key rule. Every stage derives its own key from the example's key with
``jax.random.fold_in(key, STAGE_ID)`` (convolution 0, noise 1, time shift 2,
volume 3), and every draw inside a stage folds in its own parameter id
(``fold_in(stage_key, PARAM_ID)``): convolution mix 0; noise amplitude 0, noise
start 1, white-noise samples 2; time shift 0; volume gain 0. Ids are never renumbered,
so adding or removing a stage never changes the draws of another, and no key is used
twice. A batch ``[B, L]`` with one key uses ``jax.random.split(key, B)[i]`` for example i.

Each operation comes as a pair, like dm_pix: ``draw`` picks the values from a key,
and plain functions (``convolve``, ``shift``, ...) apply given values.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._pytree import is_concrete_array, pytree_dataclass
from .errors import ConfigError
from .io import Audio, as_signal, is_path
from .resampling import resample

CONVOLUTION, NOISE, TIME_SHIFT, VOLUME = 0, 1, 2, 3
"""Stage ids folded into the example key (never renumbered)."""
_MIX = 0
_AMPLITUDE, _START, _WHITE = 0, 1, 2
_SHIFT = 0
_GAIN = 0


# --------------------------------------------------------------------- distributions
def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{name}={value!r} must be a finite real number")
    return float(value)


def _check_pair(distribution: Any, rule: Callable[[float, float], bool], requirement: str) -> None:
    """Validates and stores the two float fields of a distribution dataclass."""
    cls = type(distribution).__name__
    names = [f.name for f in dataclasses.fields(distribution)]
    a, b = (_number(getattr(distribution, n), f"{cls} {n}") for n in names)
    if not rule(a, b):
        raise ConfigError(f"{cls}({names[0]}={a}, {names[1]}={b}): {requirement}")
    for name, value in zip(names, (a, b), strict=True):
        object.__setattr__(distribution, name, value)


def _affine(offset: float, scale: float, u: jax.Array) -> jax.Array:
    return jnp.float32(offset) + jnp.float32(scale) * u


@dataclasses.dataclass(frozen=True)
class Uniform:
    """Uniform distribution on ``[low, high]`` (``low <= high``).

    >>> float(Uniform(0.5, 0.5).sample(jax.random.key(0)))
    0.5
    """

    low: float
    high: float

    def __post_init__(self):
        _check_pair(self, lambda low, high: low <= high, "low must be <= high")

    def sample(self, key: jax.Array) -> jax.Array:
        """A float32 scalar drawn with ``key``."""
        return _affine(self.low, self.high - self.low, jax.random.uniform(key, ()))


@dataclasses.dataclass(frozen=True)
class Normal:
    """Normal distribution with ``mean`` and standard deviation ``std >= 0``."""

    mean: float
    std: float

    def __post_init__(self):
        _check_pair(self, lambda mean, std: std >= 0, "std must be >= 0")

    def sample(self, key: jax.Array) -> jax.Array:
        return _affine(self.mean, self.std, jax.random.normal(key, ()))


@dataclasses.dataclass(frozen=True)
class LogUniform:
    """``exp(Uniform(log low, log high))``, for scale-like values; ``0 < low <= high``."""

    low: float
    high: float

    def __post_init__(self):
        _check_pair(self, lambda low, high: 0 < low <= high, "need 0 < low <= high")

    def sample(self, key: jax.Array) -> jax.Array:
        log_low, log_high = math.log(self.low), math.log(self.high)
        return jnp.exp(_affine(log_low, log_high - log_low, jax.random.uniform(key, ())))


Distribution = Uniform | Normal | LogUniform
Param = float | tuple[float, float] | Distribution | Callable[[jax.Array], Any]


def as_param(value: Any, name: str, bounds: tuple[float, float] | None = None) -> Any:
    """Normalizes a numeric parameter: a number, ``(lo, hi)``, a distribution or callable.

    Returns a float (fixed), a ``Uniform`` for ``(lo, hi)``, or the distribution /
    callable itself (which must be hashable: it is part of the jit cache key).
    ``bounds`` checks fixed values and ranges; values drawn from other
    distributions are clipped to it when drawn.
    """
    given = value
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConfigError(f"{name}={value!r}: a range must be (lo, hi)")
        lo, hi = (_number(v, name) for v in value)
        if lo > hi:
            raise ConfigError(f"{name}={tuple(value)!r}: lo={lo} > hi={hi}; a range is (lo, hi) with lo <= hi")
        value = Uniform(lo, hi)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = _number(value, name)
    elif not (hasattr(value, "sample") or callable(value)):
        raise ConfigError(
            f"{name}={value!r} must be a number, a (lo, hi) range, Uniform/Normal/LogUniform, "
            "an object with sample(key), or a callable key -> scalar"
        )
    try:
        hash(value)
    except TypeError as error:
        raise ConfigError(f"{name}={value!r} must be hashable (it is part of the jit cache key)") from error
    if bounds is not None:
        lo, hi = bounds
        low, high = (
            (value, value) if isinstance(value, float) else (getattr(value, "low", lo), getattr(value, "high", hi))
        )
        if not (lo <= low and high <= hi):
            raise ConfigError(f"{name}={given!r} must lie in [{lo}, {hi}]")
    return value


def sample_param(param: Any, key: jax.Array) -> jax.Array:
    """Draws a float32 scalar from a normalized parameter (a fixed float uses no key)."""
    if isinstance(param, float):
        return jnp.float32(param)
    value = param.sample(key) if hasattr(param, "sample") else param(key)
    value = jnp.asarray(value, jnp.float32)
    if value.shape != ():
        raise ConfigError(f"the parameter {param!r} drew a value of shape {value.shape}; it must draw a scalar")
    return value


@dataclasses.dataclass(frozen=True)
class Scaled:
    """A time shift given as a fraction ``s`` of the input duration (``t = s * L / sr``).

    ``s`` is any numeric parameter: ``Scaled(0.1)``, ``Scaled((-0.2, 0.2))``, ...
    """

    s: Any

    def __post_init__(self):
        object.__setattr__(self, "s", as_param(self.s, "Scaled s"))


# ------------------------------------------------------------------- settings
@pytree_dataclass()
class Volume:
    """Multiply the waveform by ``gain`` (a numeric parameter): ``y = gain * x``."""

    gain: Any

    def __post_init__(self):
        object.__setattr__(self, "gain", as_param(self.gain, "Volume gain"))


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


def _check_signal_leaf(signal: Any, name: str) -> None:
    if is_concrete_array(signal) and np.size(signal) == 0:
        raise ConfigError(f"{name} is an empty signal; it needs at least one sample")


@pytree_dataclass(data_fields=("signal",))
class Noise:
    """Add noise: white Gaussian noise, or a random segment of a recording.

    Args:
      amplitude: numeric parameter. Without ``signal``: the standard deviation of
        white noise. With ``signal``: the factor on the recording (default 1).
      signal: ``None``, or a recording (array at the config's rate, ``Audio`` or a
        path), resampled to the config's rate when the config is built. A segment of
        the input's length starts at a uniformly random sample (in ``[0, R - L]``; in
        ``[0, R)`` with the recording repeated when it is shorter than the input).
      source: the file the recording was read from (set when ``signal`` is a path;
        config files write it instead of the samples).
    """

    amplitude: Any = None
    signal: Any = None
    source: str | None = None

    def __post_init__(self):
        amplitude = self.amplitude
        if amplitude is None:
            if self.signal is None:
                raise ConfigError("Noise needs an amplitude (white noise) or a signal (a recording)")
            amplitude = 1.0
        object.__setattr__(self, "amplitude", as_param(amplitude, "Noise amplitude"))
        _check_signal_leaf(self.signal, "Noise signal")

    __repr__ = _signal_repr


@pytree_dataclass()
class TimeShift:
    """Shift the waveform by ``t`` seconds (positive = later), or by ``Scaled(s)``.

    Zeros enter on the side the signal leaves; the length is unchanged.
    """

    t: Any

    def __post_init__(self):
        t = self.t
        if not isinstance(t, Scaled):
            t = as_param(t, "TimeShift t")
        object.__setattr__(self, "t", t)


@pytree_dataclass(data_fields=("signal",))
class Convolution:
    """Convolve with an impulse response: ``y = (1 - mix) x + mix (x * h)[:L]``.

    Args:
      signal: the impulse response ``h`` (array at the config's rate, ``Audio`` or a
        path), resampled to the config's rate when the config is built.
      mix: numeric parameter in ``[0, 1]`` (default 1: fully convolved).
      source: the file the impulse response was read from (set when ``signal`` is a
        path; config files write it instead of the samples).
    """

    signal: Any
    mix: Any = 1.0
    source: str | None = None

    def __post_init__(self):
        if self.signal is None:
            raise ConfigError("Convolution needs a signal (the impulse response)")
        object.__setattr__(self, "mix", as_param(self.mix, "Convolution mix", bounds=(0.0, 1.0)))
        _check_signal_leaf(self.signal, "Convolution signal")

    __repr__ = _signal_repr


def _is_range(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
    )


def _is_signal(value: Any) -> bool:
    return is_path(value) or isinstance(value, Audio) or hasattr(value, "shape")


def _coerce(value: Any, cls: type, field: str) -> Any:
    """Expands the shorthands of ``Augmentation``'s fields into their classes."""
    if value is None or isinstance(value, cls):
        return value
    if cls is Noise and _is_signal(value):
        return Noise(None, value)
    if cls is Convolution:
        if _is_signal(value):
            return Convolution(value)
        if isinstance(value, (tuple, list)) and len(value) == 2 and _is_signal(value[1]):
            return Convolution(value[1], value[0])  # the seed's {mix, signal}
        raise ConfigError(f"convolution={value!r}: use Convolution(signal, mix), a signal, or (mix, signal)")
    if cls is Noise and isinstance(value, (tuple, list)) and len(value) == 2 and _is_signal(value[1]):
        return Noise(value[0], value[1])  # the seed's {amp, noise}
    if (
        _is_range(value)
        or isinstance(value, (numbers.Real, Scaled, Uniform, Normal, LogUniform))
        or callable(value)
        or hasattr(value, "sample")
    ):
        return cls(value)
    raise ConfigError(f"{field}={value!r} is not a valid {cls.__name__} setting")


@pytree_dataclass(data_fields=("volume", "noise", "time_shift", "convolution"))
class Augmentation:
    """Which augmentations to apply (each ``None`` = off), applied only with a key.

    Each field takes its class or a shorthand: a number or ``(lo, hi)`` range
    (``volume=(0.5, 1.5)``, ``noise=0.01``, ``time_shift=(-0.1, 0.1)``), a signal
    for ``noise`` / ``convolution`` (array, ``Audio`` or path), or the seed's pairs
    ``(amplitude, signal)`` / ``(mix, signal)``.

    >>> Augmentation(volume=(0.5, 1.5)).volume
    Volume(gain=Uniform(low=0.5, high=1.5))
    """

    volume: Any = None
    noise: Any = None
    time_shift: Any = None
    convolution: Any = None

    def __post_init__(self):
        for field, cls in (
            ("volume", Volume),
            ("noise", Noise),
            ("time_shift", TimeShift),
            ("convolution", Convolution),
        ):
            object.__setattr__(self, field, _coerce(getattr(self, field), cls, field))


# ------------------------------------------------------------------ resolution
def _resolve_signal(signal: Any, sample_rate: int, name: str) -> Any:
    """A recording as float32 ``[n]`` at ``sample_rate``; traced leaves pass through."""
    # Only user inputs are resolved: JAX rebuilds the pytree with tracers or with
    # placeholders (in_axes, PartitionSpecs, ...) that must pass through untouched.
    user_input = is_path(signal) or isinstance(signal, (Audio, np.ndarray, jax.Array)) or type(signal) in (list, tuple)
    if isinstance(signal, jax.core.Tracer) or not user_input:
        return signal
    samples, rate = as_signal(signal, name)
    if samples.shape[0] == 0:
        raise ConfigError(f"{name} is an empty signal; it needs at least one sample")
    if rate is not None and rate != sample_rate:
        return resample(samples, rate, sample_rate)
    return jnp.asarray(samples)


def resolve(augmentation: Augmentation | None, sample_rate: int) -> Augmentation | None:
    """Loads and resamples the recordings of ``augmentation`` to ``sample_rate`` (host side)."""
    if augmentation is None:
        return None
    changes = {}
    for field in ("noise", "convolution"):
        setting = getattr(augmentation, field)
        if setting is not None and setting.signal is not None:
            signal = _resolve_signal(setting.signal, sample_rate, f"{type(setting).__name__} signal")
            source = os.path.abspath(os.fspath(setting.signal)) if is_path(setting.signal) else setting.source
            changes[field] = dataclasses.replace(setting, signal=signal, source=source)
    return dataclasses.replace(augmentation, **changes) if changes else augmentation


# ------------------------------------------------------------------ operations
def fast_fft_length(n: int) -> int:
    """The smallest ``2**a * 3**b * 5**c >= n`` (sizes every FFT library does fast)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < 2 * n:
        p35 = p5
        while p35 < 2 * n:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def convolve(x: jax.Array, h: jax.Array) -> jax.Array:
    """``(x * h)[:L]``: linear convolution cut to the input length, by FFT.

    Args:
      x: float ``[shape=(..., L)]``.
      h: float ``[shape=(R,)]`` impulse response.

    Returns:
      float32 ``[shape=(..., L)]``.
    """
    length = x.shape[-1]
    h = h[:length]  # taps past L cannot reach the first L outputs
    n = fast_fft_length(length + h.shape[0] - 1)
    spectrum = jnp.fft.rfft(x, n) * jnp.fft.rfft(h, n)
    return jnp.fft.irfft(spectrum, n)[..., :length].astype(jnp.float32)


def shift(x: jax.Array, samples: jax.Array) -> jax.Array:
    """Delays ``x [shape=(L,)]`` by ``samples`` (negative = earlier), filling with zeros."""
    length = x.shape[-1]
    samples = jnp.clip(samples, -length, length)
    padded = jnp.pad(x, (length, length))
    return lax.dynamic_slice(padded, (length - samples,), (length,))


_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_THREEFRY_PARITY = 0x1BD11BDA


def _threefry_2x32(key: jax.Array, count: jax.Array) -> jax.Array:
    """The Threefry-2x32 hash (20 rounds; Salmon et al. 2011) of ``count`` under ``key``.

    Args:
      key: uint32 ``[shape=(2,)]``, the key words.
      count: uint32 ``[shape=(n,)]``.

    Returns:
      uint32 ``[shape=(n,)]``: the counts, zero-padded to even length, are split into
      halves ``x0, x1`` that are hashed as pairs; the result is ``concat(y0, y1)[:n]``.
      This is the layout of ``jax.extend.random.threefry_2x32`` (and so of
      ``jax.random.bits`` with ``jax_threefry_partitionable`` off), written out here so
      that the words are fixed by this definition whatever jax version or flag is used.
    """
    n = count.shape[0]
    if n % 2:
        count = jnp.concatenate([count, jnp.zeros((1,), jnp.uint32)])
    x0, x1 = jnp.split(count, 2)
    ks = (key[0], key[1], key[0] ^ key[1] ^ np.uint32(_THREEFRY_PARITY))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for block in range(5):
        for r in _THREEFRY_ROTATIONS[block % 2]:
            x0 = x0 + x1
            x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
        x0 = x0 + ks[(block + 1) % 3]
        x1 = x1 + ks[(block + 2) % 3] + np.uint32(block + 1)
    return jnp.concatenate([x0, x1])[:n]


def _white_bits(key: jax.Array, length: int) -> jax.Array:
    """``length`` random uint32 words: ``_threefry_2x32(key_data(key), [0, 1, ..., length - 1])``.

    One hash per two words, like jax's original random-bits scheme; the partitionable
    scheme that ``jax.random.bits`` uses by default spends a hash per word (measured 2x
    slower), and a config flag would change the samples. Keys of another
    implementation (``rbg``) use ``jax.random.bits``.
    """
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    data = jax.random.key_data(key) if typed else key
    if data.shape != (2,) or (typed and str(jax.random.key_impl(key)) != "threefry2x32"):
        return jax.random.bits(key, (length,), jnp.uint32)
    return _threefry_2x32(data, lax.iota(jnp.uint32, length))


def white_noise(key: jax.Array, length: int) -> jax.Array:
    """Standard normal samples ``[shape=(length,)]``: ``sqrt(2) * erfinv(u)``.

    ``u`` is uniform in ``(-1, 1)``, made from the words ``b = _threefry_2x32(key_data(key),
    [0, ..., length - 1])`` (see ``_white_bits``): ``f = float32 bits (b >> 9) | 0x3F800000,
    minus 1`` (in ``[0, 1)``), then ``u = max(lo, f * (1 - lo) + lo)`` with
    ``lo = nextafter(-1, 0)``: the transform of ``jax.random.normal``, written out so the
    samples stay fixed by this rule whatever a later jax does.

    The transform runs in a two-step loop on purpose: a loop's output is materialized,
    so XLA cannot fuse the costly inverse erf into a consumer that reads each sample
    through a gather (the time shift), where it runs unvectorized (measured 2.4x slower).
    """
    bits = _white_bits(key, length)
    half = -(-length // 2)
    bits = jnp.pad(bits, (0, 2 * half - length))
    low = np.nextafter(np.float32(-1.0), np.float32(0.0))

    def transform(i, out):
        chunk = lax.dynamic_slice(bits, (i * half,), (half,))
        f = lax.bitcast_convert_type((chunk >> 9) | np.uint32(0x3F800000), jnp.float32) - 1.0
        u = jnp.maximum(low, f * (np.float32(1.0) - low) + low)
        return lax.dynamic_update_slice(out, np.float32(np.sqrt(2.0)) * lax.erf_inv(u), (i * half,))

    # zeros_like(bits) rather than zeros(...): under shard_map the carry must be "varying" like bits.
    return lax.fori_loop(0, 2, transform, jnp.zeros_like(bits, jnp.float32))[:length]


def noise_segment(recording: jax.Array, start: jax.Array, length: int) -> jax.Array:
    """``length`` samples of ``recording`` from ``start``, repeating it when it is shorter."""
    if recording.shape[0] >= length:
        return lax.dynamic_slice(recording, (start,), (length,))
    return recording[(start + lax.iota(jnp.int32, length)) % recording.shape[0]]


# ------------------------------------------------------------------ draws
def _stage_key(key: jax.Array, stage: int, param: int) -> jax.Array:
    return jax.random.fold_in(jax.random.fold_in(key, stage), param)


def _shift_samples(t: Any, key: jax.Array, length: int, sample_rate: int) -> jax.Array:
    # floor(seconds * rate + 0.5); for Scaled(s), seconds * rate = s * L exactly.
    if isinstance(t, Scaled):
        samples = sample_param(t.s, key) * length
    else:
        samples = sample_param(t, key) * sample_rate
    samples = jnp.floor(samples + 0.5)
    return jnp.clip(samples, -length, length).astype(jnp.int32)


def _draw_values(augmentation: Augmentation, key: jax.Array, length: int, sample_rate: int) -> dict[str, jax.Array]:
    """The values ``augmentation`` draws with ``key`` for an input of ``length`` samples (traced)."""
    values: dict[str, jax.Array] = {}
    a = augmentation
    if a.convolution is not None:
        values["convolution_mix"] = jnp.clip(
            sample_param(a.convolution.mix, _stage_key(key, CONVOLUTION, _MIX)), 0.0, 1.0
        )
    if a.noise is not None:
        values["noise_amplitude"] = sample_param(a.noise.amplitude, _stage_key(key, NOISE, _AMPLITUDE))
        if a.noise.signal is not None:
            size = a.noise.signal.shape[0]
            high = size - length + 1 if size >= length else size
            values["noise_start"] = jax.random.randint(_stage_key(key, NOISE, _START), (), 0, high, jnp.int32)
    if a.time_shift is not None:
        values["time_shift_samples"] = _shift_samples(
            a.time_shift.t, _stage_key(key, TIME_SHIFT, _SHIFT), length, sample_rate
        )
    if a.volume is not None:
        values["volume_gain"] = sample_param(a.volume.gain, _stage_key(key, VOLUME, _GAIN))
    return values


# Compiled also when called eagerly, so that the values equal those computed inside
# jitted programs bit for bit (XLA contracts a * b + c into an FMA in compiled code).
draw_values = jax.jit(_draw_values, static_argnums=(2, 3))
draw_values.__doc__ = (
    """``draw_values(augmentation, key, length, sample_rate)``: the drawn values (resolved augmentation)."""
)


def apply(augmentation: Augmentation, x: jax.Array, key: jax.Array, sample_rate: int) -> jax.Array:
    """Augments one waveform ``x [shape=(L,)]`` with one key (the traced core)."""
    length = x.shape[0]
    if length == 0:
        return x
    a = augmentation
    v = _draw_values(a, key, length, sample_rate)
    if a.convolution is not None:
        mix = v["convolution_mix"]
        x = (1.0 - mix) * x + mix * convolve(x, a.convolution.signal)
    if a.noise is not None:
        if a.noise.signal is None:
            white = white_noise(_stage_key(key, NOISE, _WHITE), length)
            x = x + v["noise_amplitude"] * white
        else:
            x = x + v["noise_amplitude"] * noise_segment(a.noise.signal, v["noise_start"], length)
    if a.time_shift is not None:
        x = shift(x, v["time_shift_samples"])
    if a.volume is not None:
        x = v["volume_gain"] * x
    return x


def draw(setting: Any, key: jax.Array, length: int, *, sample_rate: int | None = None) -> dict[str, jax.Array]:
    """The values an augmentation draws with ``key`` for an input of ``length`` samples.

    The same values that ``spectrogram(config, x, key)`` applies to an ``x`` of that
    length (use ``jax.vmap`` over ``jax.random.split(key, B)`` for a batch). Log them to
    make an experiment auditable.

    Args:
      setting: a ``SpectrogramConfig`` (its ``augmentation`` and ``sample_rate``) or an
        ``Augmentation`` (then ``sample_rate``, default 16000, converts seconds).
      key: a PRNG key for one example.
      length: the input length in samples (static).
      sample_rate: only with an ``Augmentation``.

    Returns:
      A dict of float32 / int32 scalars, with the keys of the configured stages:
      ``convolution_mix``, ``noise_amplitude``, ``noise_start`` (recordings only),
      ``time_shift_samples``, ``volume_gain``.

    >>> draw(Augmentation(volume=2.0), jax.random.key(0), 16000)
    {'volume_gain': Array(2., dtype=float32)}
    """
    augmentation = getattr(setting, "augmentation", setting)
    rate = getattr(setting, "sample_rate", None) or sample_rate or 16000
    if augmentation is None:
        return {}
    if not isinstance(augmentation, Augmentation):
        raise ConfigError(f"draw needs a SpectrogramConfig or an Augmentation, got {type(setting).__name__}")
    if augmentation is setting:
        augmentation = resolve(augmentation, rate)  # recordings' lengths are needed
    return draw_values(augmentation, key, int(length), int(rate))
