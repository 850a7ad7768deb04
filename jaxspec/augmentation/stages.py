"""The stage table: every augmentation stage declared once.

A stage is its settings class, one ``Stage`` row in ``STAGES`` and one field of
``Augmentation``, all in this module. The row gives its id in the key rule, its
parameters (with their ids, JSON kind and command-line flag), the JSON example shown
in errors, the names of the values it draws, how it draws them, how it applies them
(with the key-free operations of ``ops``) and how a plot describes them.
Serialization, the command line, plots, ``draw`` and the traced pipeline all iterate
over ``STAGES``; none of them lists stages again.

Pipeline order (SPEC sections 4 and 7) is the table's order: Convolution -> Noise ->
TimeShift -> Volume on the waveform, then VTLP (in the mel filterbank) -> time warp ->
frequency masks -> time masks on the features. A row's ``level`` says where its
``apply`` runs (``LEVELS``); the feature-level stages live in ``feature_stages``.
``Augmentation``'s fields keep the SPEC's signature order (volume, noise, time_shift,
convolution, frequency_mask, time_mask, time_warp, vtlp); ``BY_FIELD`` lists the stages so.
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
from ..durations import is_duration_string, parse_duration
from ..errors import ConfigError
from ..io import Audio, is_path
from . import ops, random
from .distributions import LogUniform, Normal, Scaled, Uniform, as_param, sample_param
from .feature_stages import (
    VTLP,
    FrequencyMask,
    TimeMask,
    TimeWarp,
    apply_frequency_mask,
    apply_time_mask,
    apply_time_warp,
    describe_frequency_mask,
    describe_time_mask,
    describe_time_warp,
    describe_vtlp,
    draw_frequency_mask,
    draw_time_mask,
    draw_time_warp,
    draw_vtlp,
    frequency_mask_shorthand,
    parse_mask_flag,
    time_mask_shorthand,
    time_warp_shorthand,
    vtlp_shorthand,
    warp_mel,
)
from .noise import white_noise


# ------------------------------------------------------------------- settings
@pytree_dataclass()
class Volume:
    """Multiply the waveform by ``gain`` (a numeric parameter): ``y = gain * x``."""

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


def _check_signal_leaf(signal: Any, name: str) -> None:
    if signal is None:
        return
    if not (is_signal(signal) or isinstance(signal, (list, tuple))):
        raise ConfigError(
            f"{name}={signal!r} is not a recording; give a path, an Audio, or a NumPy / JAX array of samples"
        )
    if hasattr(signal, "shape") and math.prod(signal.shape) == 0:
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
        amplitude = as_param(amplitude, "Noise amplitude", bounds=(0.0, math.inf), cap=limits.MAX_GAIN)
        object.__setattr__(self, "amplitude", amplitude)  # a negative magnitude is an error
        _check_signal_leaf(self.signal, "Noise signal")

    __repr__ = _signal_repr


@pytree_dataclass()
class TimeShift:
    """Shift the waveform by ``t`` seconds (positive = later), or by ``Scaled(s)``.

    Zeros enter on the side the signal leaves; the length is unchanged.
    """

    t: Any

    def __post_init__(self):
        t = _seconds(self.t)
        if not isinstance(t, Scaled):
            t = as_param(t, "TimeShift t", cap=limits.MAX_SHIFT_SECONDS)
        object.__setattr__(self, "t", t)


def _seconds(t: Any) -> Any:
    """Duration strings (``"100ms"``, a range ``("-100ms", "100ms")``) as seconds; other values as given."""
    if is_duration_string(t):
        return parse_duration(t, "TimeShift t")
    if isinstance(t, (tuple, list)) and len(t) == 2 and any(map(is_duration_string, t)):
        return tuple(parse_duration(v, "TimeShift t") for v in t)
    return t


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


# ------------------------------------------------------------------- shorthands
def _is_range(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
    )


def is_signal(value: Any) -> bool:
    """A path, an ``Audio`` or a NumPy / JAX array of at least one dimension: what a recording may be."""
    if is_path(value) or isinstance(value, Audio):
        return True
    return isinstance(value, (np.ndarray, jax.Array)) and len(value.shape) >= 1


def _is_param(value: Any) -> bool:
    return (
        _is_range(value)
        or isinstance(value, (numbers.Real, Scaled, Uniform, Normal, LogUniform))
        or callable(value)
        or hasattr(value, "sample")
    )


def _param_shorthand(cls: type) -> Callable[[Any, str], Any]:
    def coerce(value: Any, field: str) -> Any:
        if _is_param(value):
            return cls(value)
        raise ConfigError(f"{field}={value!r} is not a valid {cls.__name__} setting")

    return coerce


def _noise_shorthand(value: Any, field: str) -> Noise:
    if is_signal(value):
        return Noise(None, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and is_signal(value[1]):
        return Noise(value[0], value[1])  # the seed's {amp, noise}
    return _param_shorthand(Noise)(value, field)


def _convolution_shorthand(value: Any, field: str) -> Convolution:
    if is_signal(value):
        return Convolution(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and is_signal(value[1]):
        return Convolution(value[1], value[0])  # the seed's {mix, signal}
    raise ConfigError(f"{field}={value!r}: use Convolution(signal, mix), a signal, or (mix, signal)")


# ------------------------------------------------------------------- draws and applications
def param_key(stage_key: jax.Array, param_id: int) -> jax.Array:
    """The key of one draw: ``fold_in(stage_key, param_id)``."""
    return jax.random.fold_in(stage_key, param_id)


def _draw_convolution(setting: Convolution, key: jax.Array, length: int, rate: int) -> dict[str, jax.Array]:
    return {"convolution_mix": jnp.clip(sample_param(setting.mix, param_key(key, 0)), 0.0, 1.0)}


def _apply_convolution(
    setting: Convolution, x: jax.Array, values: dict, key: jax.Array, valid: Any = None
) -> jax.Array:
    mix = values["convolution_mix"]
    return (1.0 - mix) * x + mix * ops.convolve(x, setting.signal)


def _draw_noise(setting: Noise, key: jax.Array, length: Any, rate: int) -> dict[str, jax.Array]:
    amplitude = sample_param(setting.amplitude, param_key(key, 0), limits.MAX_GAIN)
    values = {"noise_amplitude": jnp.maximum(amplitude, 0.0)}  # unbounded distributions: no negative level
    if setting.signal is not None:
        size = setting.signal.shape[0]
        if isinstance(length, int):
            high = size - length + 1 if size >= length else size
        else:  # a traced length (ragged batches): the same integers, chosen in the graph
            high = jnp.where(size >= length, size - length + 1, size)
        values["noise_start"] = random.randint(param_key(key, 1), high)
    return values


def _apply_noise(setting: Noise, x: jax.Array, values: dict, key: jax.Array, valid: Any = None) -> jax.Array:
    size = x.shape[0]
    if setting.signal is None:
        return x + values["noise_amplitude"] * white_noise(param_key(key, 2), size, valid)
    segment = ops.noise_segment(setting.signal, values["noise_start"], size, cyclic=valid is not None)
    return x + values["noise_amplitude"] * segment


def _draw_time_shift(setting: TimeShift, key: jax.Array, length: Any, rate: int) -> dict[str, jax.Array]:
    # floor(seconds * rate + 0.5); for Scaled(s), seconds * rate = s * L exactly.
    t = setting.t
    # The length in float32: a constant when static, converted in the graph when traced (ragged rows).
    span = np.float32(length) if isinstance(length, int) else jnp.asarray(length).astype(jnp.float32)
    if isinstance(t, Scaled):
        samples = sample_param(t.s, param_key(key, 0), limits.MAX_SCALED_SHIFT) * span
    else:
        samples = sample_param(t, param_key(key, 0), limits.MAX_SHIFT_SECONDS) * np.float32(rate)
    samples = jnp.floor(samples + np.float32(0.5))
    return {"time_shift_samples": jnp.clip(samples, -span, span).astype(jnp.int32)}


def _draw_volume(setting: Volume, key: jax.Array, length: int, rate: int) -> dict[str, jax.Array]:
    return {"volume_gain": sample_param(setting.gain, param_key(key, 0), limits.MAX_GAIN)}


# ------------------------------------------------------------------- the table
@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of a stage: its field, its key id, its JSON kind and its flag.

    ``kind``: ``"number"`` (a numeric parameter), ``"shift"`` (a numeric parameter or
    ``Scaled``), ``"signal"`` (a recording, written by path), ``"integer"`` (an int or an
    inclusive ``[lo, hi]`` range of ints), ``"value"`` (a fixed number or name, written
    as it is). ``param_id`` is ``None`` for parameters that draw nothing. ``flag`` is
    ``None`` for parameters set only through their stage's ``flag``.
    """

    name: str
    param_id: int | None
    kind: str
    flag: str | None
    help: str


@dataclasses.dataclass(frozen=True)
class StageFlag:
    """One command-line flag that sets several parameters of a stage at once.

    ``parse(text)`` returns the stage's JSON object (``{param: value}``) or raises
    ``ValueError`` with the reason.
    """

    flag: str
    metavar: str
    help: str
    parse: Callable[[str], dict[str, Any]]


LEVELS = {
    "waveform": "before framing: draw(setting, key, length, sample_rate); "
    "apply(setting, x [L], values, key, valid=None) -> x",
    "mel": "replaces each MelFilterbank feature stage: draw(setting, key, grid); "
    "apply(setting, stage, values) -> stage",
    "features": "after the leading mel / log stages (feature_stages.insertion_point): draw(setting, key, grid); "
    "apply(setting, y [frames, features], values, feature_stages.FeatureInput) -> y",
}
"""Where a stage's ``apply`` runs, and the signatures of its ``draw`` and ``apply`` there."""


@dataclasses.dataclass(frozen=True)
class Stage:
    """One augmentation stage: everything that is per stage, in one row.

    Waveform stages (``level="waveform"``): ``draw(setting, stage_key, length,
    sample_rate)`` returns the drawn values for an input of ``length`` samples (an int,
    or a traced int for ragged batches); ``apply(setting, x, values, stage_key,
    valid=None)`` applies them to ``x [L]``, where ``valid`` is the row's own length
    when ``x`` is a zero-padded row. Mel- and feature-level stages: ``LEVELS``.
    """

    name: str
    stage_id: int
    setting: type
    params: tuple[Param, ...]
    example: str
    drawn: tuple[str, ...]
    shorthand: Callable[[Any, str], Any]
    draw: Callable[..., dict[str, jax.Array]]
    apply: Callable[..., Any]
    describe: Callable[[dict[str, Any], int], str]
    level: str = "waveform"  # a key of LEVELS
    flag: StageFlag | None = None

    @property
    def signal_param(self) -> Param | None:
        """The parameter holding a recording, if the stage takes one."""
        return next((p for p in self.params if p.kind == "signal"), None)


STAGES: tuple[Stage, ...] = (
    Stage(
        name="convolution",
        stage_id=0,
        setting=Convolution,
        params=(
            Param("signal", None, "signal", "--convolution-file", "convolve with this impulse response"),
            Param("mix", 0, "number", "--mix", "convolution mix in [0, 1] (default 1)"),
        ),
        example='{"signal": "room.wav", "mix": 0.5}',
        drawn=("convolution_mix",),
        shorthand=_convolution_shorthand,
        draw=_draw_convolution,
        apply=_apply_convolution,
        describe=lambda v, rate: f"mix {float(v['convolution_mix']):.2f}",
    ),
    Stage(
        name="noise",
        stage_id=1,
        setting=Noise,
        params=(
            Param(
                "amplitude",
                0,
                "number",
                "--noise",
                "white-noise standard deviation, or the factor on --noise-file (e.g. 0.01)",
            ),
            Param("signal", None, "signal", "--noise-file", "add a random segment of this recording"),
        ),
        example='{"amplitude": 0.01}',
        drawn=("noise_amplitude", "noise_start"),  # noise_start: recordings only; white samples use id 2
        shorthand=_noise_shorthand,
        draw=_draw_noise,
        apply=_apply_noise,
        describe=lambda v, rate: f"noise {float(v['noise_amplitude']):.3g}",
    ),
    Stage(
        name="time_shift",
        stage_id=2,
        setting=TimeShift,
        params=(
            Param(
                "t",
                0,
                "shift",
                "--time-shift",
                "shift in seconds, positive = later (e.g. -0.1:0.1), or scaled:PARAM (a fraction of the duration)",
            ),
        ),
        example='{"t": {"uniform": [-0.1, 0.1]}}',
        drawn=("time_shift_samples",),
        shorthand=lambda value, field: _param_shorthand(TimeShift)(_seconds(value), field),
        draw=_draw_time_shift,
        apply=lambda setting, x, v, key, valid=None: ops.shift(x, v["time_shift_samples"]),
        describe=lambda v, rate: f"shift {int(v['time_shift_samples']) / rate * 1000:+.0f} ms",
    ),
    Stage(
        name="volume",
        stage_id=3,
        setting=Volume,
        params=(Param("gain", 0, "number", "--volume", "gain: y = gain * x (e.g. 0.5:1.5)"),),
        example='{"gain": {"uniform": [0.5, 1.5]}}',
        drawn=("volume_gain",),
        shorthand=_param_shorthand(Volume),
        draw=_draw_volume,
        apply=lambda setting, x, v, key, valid=None: v["volume_gain"] * x,
        describe=lambda v, rate: f"gain {float(v['volume_gain']):.2f}",
    ),
    Stage(
        name="vtlp",
        stage_id=7,
        setting=VTLP,
        params=(
            Param("alpha", 0, "number", "--vtlp", "VTLP warp factor of the mel filterbank (e.g. 0.9:1.1)"),
            Param("f_hi", None, "value", "--vtlp-f-hi", "VTLP boundary frequency in Hz (default 4800)"),
        ),
        example='{"alpha": {"uniform": [0.9, 1.1]}, "f_hi": 4800.0}',
        drawn=("vtlp_factor",),
        shorthand=vtlp_shorthand,
        draw=draw_vtlp,
        apply=lambda setting, stage, v: warp_mel(stage, setting, v),
        describe=describe_vtlp,
        level="mel",
    ),
    Stage(
        name="time_warp",
        stage_id=6,
        setting=TimeWarp,
        params=(Param("max_shift", None, "integer", "--time-warp", "SpecAugment time warp W in frames (e.g. 80)"),),
        example='{"max_shift": 80}',
        drawn=("time_warp_centre", "time_warp_shift"),  # ids 0, 1
        shorthand=time_warp_shorthand,
        draw=draw_time_warp,
        apply=apply_time_warp,
        describe=describe_time_warp,
        level="features",
    ),
    Stage(
        name="frequency_mask",
        stage_id=4,
        setting=FrequencyMask,
        params=(
            Param("count", 0, "integer", None, "masks per example"),
            Param("width", 1, "integer", None, "features per mask"),  # starts: id 2; mask j folds in j
            Param("fill", None, "value", None, "0.0 or 'mean'"),
        ),
        example='{"count": 1, "width": [0, 27]}',
        drawn=("frequency_mask_count", "frequency_mask_starts", "frequency_mask_widths"),
        shorthand=frequency_mask_shorthand,
        draw=draw_frequency_mask,
        apply=apply_frequency_mask,
        describe=describe_frequency_mask,
        level="features",
        flag=StageFlag(
            "--freq-mask",
            "COUNT,WIDTH[,fill=mean]",
            "SpecAugment frequency masks: COUNT and WIDTH are ints or LO:HI ranges (LB policy: 1,0:27)",
            parse_mask_flag,
        ),
    ),
    Stage(
        name="time_mask",
        stage_id=5,
        setting=TimeMask,
        params=(
            Param("count", 0, "integer", None, "masks per example"),
            Param("width", 1, "integer", None, "frames per mask"),  # starts: id 2; mask j folds in j
            Param("max_fraction", None, "value", None, "widths clipped to this fraction of the frames"),
            Param("fill", None, "value", None, "0.0 or 'mean'"),
        ),
        example='{"count": 1, "width": [0, 100]}',
        drawn=("time_mask_count", "time_mask_starts", "time_mask_widths"),
        shorthand=time_mask_shorthand,
        draw=draw_time_mask,
        apply=apply_time_mask,
        describe=describe_time_mask,
        level="features",
        flag=StageFlag(
            "--time-mask",
            "COUNT,WIDTH[,max_fraction=P][,fill=mean]",
            "SpecAugment time masks: COUNT and WIDTH are ints or LO:HI ranges (LB policy: 1,0:100)",
            parse_mask_flag,
        ),
    ),
)
"""Every stage, in pipeline order. Stage and parameter ids are never renumbered."""

STAGE_BY_NAME: dict[str, Stage] = {stage.name: stage for stage in STAGES}


@pytree_dataclass(data_fields=("volume", "noise", "time_shift", "convolution"))
class Augmentation:
    """Which augmentations to apply (each ``None`` = off), applied only with a key.

    Each field takes its class or a shorthand: a number or ``(lo, hi)`` range
    (``volume=(0.5, 1.5)``, ``noise=0.01``, ``time_shift=(-0.1, 0.1)``), a signal
    for ``noise`` / ``convolution`` (array, ``Audio`` or path), or the seed's pairs
    ``(amplitude, signal)`` / ``(mix, signal)``. Feature-level stages (SPEC section 7):
    ``frequency_mask=FrequencyMask(count, width)`` or ``(count, width)``,
    ``time_mask=TimeMask(count, width, max_fraction)`` or ``(count, width)``,
    ``time_warp=TimeWarp(max_shift)`` or an int, ``vtlp=VTLP(alpha, f_hi)`` or ``alpha``.

    >>> Augmentation(volume=(0.5, 1.5)).volume
    Volume(gain=Uniform(low=0.5, high=1.5))
    """

    volume: Any = None
    noise: Any = None
    time_shift: Any = None
    convolution: Any = None
    frequency_mask: Any = None
    time_mask: Any = None
    time_warp: Any = None
    vtlp: Any = None

    def __post_init__(self):
        for stage in STAGES:
            value = getattr(self, stage.name)
            if value is not None and not isinstance(value, stage.setting):
                object.__setattr__(self, stage.name, stage.shorthand(value, stage.name))

    def active(self, level: str | None = None) -> tuple[tuple[Stage, Any], ...]:
        """``(stage, setting)`` for each stage that is on (at ``level``, or all), in pipeline order."""
        return tuple(
            (s, getattr(self, s.name)) for s in STAGES if getattr(self, s.name) is not None and level in (None, s.level)
        )


BY_FIELD: tuple[Stage, ...] = tuple(STAGE_BY_NAME[f.name] for f in dataclasses.fields(Augmentation))
"""``STAGES`` in the order of ``Augmentation``'s fields (the order of JSON objects and flags)."""
