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
from collections.abc import Callable
from typing import Any

import jax

from .._pytree import pytree_dataclass
from . import ops
from .feature_ops import warp_mel
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
)
from .packed_stages import packed_convolution, packed_noise, packed_time_shift, packed_volume
from .waveform_stages import (  # noqa: F401 - the settings classes are re-exported here too
    Convolution,
    Noise,
    TimeShift,
    Volume,
    apply_convolution,
    apply_noise,
    convolution_shorthand,
    draw_convolution,
    draw_noise,
    draw_time_shift,
    draw_volume,
    is_signal,
    noise_shorthand,
    param_key,
    param_shorthand,
    shift_seconds,
)


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
    ``packed(setting, x [S], values, stage_keys [K], stream)``: ``apply`` on ``K`` items
    laid end to end in one signal (``packed_stages.Stream``; ``values`` per item),
    ``None`` for stages a packed corpus cannot run (``jaxspec.packing``).
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
    along_time: bool = False  # a features-level stage acting on whole frames (Kaldi's energy column too)
    flag: StageFlag | None = None
    packed: Callable[..., Any] | None = None

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
        shorthand=convolution_shorthand,
        draw=draw_convolution,
        apply=apply_convolution,
        describe=lambda v, rate: f"mix {float(v['convolution_mix']):.2f}",
        packed=packed_convolution,
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
        shorthand=noise_shorthand,
        draw=draw_noise,
        apply=apply_noise,
        describe=lambda v, rate: f"noise {float(v['noise_amplitude']):.3g}",
        packed=packed_noise,
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
        shorthand=param_shorthand(TimeShift, shift_seconds),
        draw=draw_time_shift,
        apply=lambda setting, x, v, key, valid=None: ops.shift(x, v["time_shift_samples"]),
        describe=lambda v, rate: f"shift {int(v['time_shift_samples']) / rate * 1000:+.0f} ms",
        packed=packed_time_shift,
    ),
    Stage(
        name="volume",
        stage_id=3,
        setting=Volume,
        params=(Param("gain", 0, "number", "--volume", "gain: y = gain * x (e.g. 0.5:1.5)"),),
        example='{"gain": {"uniform": [0.5, 1.5]}}',
        drawn=("volume_gain",),
        shorthand=param_shorthand(Volume),
        draw=draw_volume,
        apply=lambda setting, x, v, key, valid=None: v["volume_gain"] * x,
        describe=lambda v, rate: f"gain {float(v['volume_gain']):.2f}",
        packed=packed_volume,
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
        along_time=True,
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
        along_time=True,
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

    >>> from jaxspec import Augmentation
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
