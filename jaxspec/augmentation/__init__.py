"""Key-driven data augmentation, one module per idea.

- ``distributions``: ``Uniform``, ``Normal``, ``LogUniform``, ``Scaled`` and the
  parsing and sampling of numeric parameters.
- ``stages``: the settings classes (``Volume``, ``Noise``, ``TimeShift``,
  ``Convolution``), ``Augmentation``, and ``STAGES``, the table that declares each
  stage once (key id, parameters, JSON, flags, drawn values, plot text).
- ``feature_stages``: ``FrequencyMask``, ``TimeMask``, ``TimeWarp``, ``VTLP`` (SpecAugment
  and VTLP on the features), their draws and applications; ``feature_ops``: their
  key-free operations (``mask``, ``time_warp``, ``warped_mel_filterbank``).
- ``keys``: the key rule; ``draw`` and ``apply`` over the table; ``feature_chain``.
- ``ops``: key-free signal operations (``convolve``, ``shift``, ``noise_segment``).
- ``noise``: white Gaussian noise from a written-out Threefry rule.
- ``recordings``: host-side loading and resampling of noise / impulse recordings.

Each operation comes as a pair, like dm_pix: ``draw`` picks the values from a key,
and plain functions (``ops.convolve``, ``ops.shift``, ...) apply given values.
"""

from .distributions import LogUniform, Normal, Scaled, Uniform, as_param, sample_param
from .feature_ops import mask, time_warp, vtlp_frequencies, warped_mel_filterbank
from .feature_stages import VTLP, FrequencyMask, TimeMask, TimeWarp
from .keys import apply, draw, draw_values, feature_chain, stage_key
from .noise import threefry_2x32, white_noise
from .ops import convolve, noise_segment, shift
from .recordings import file_stamps, resolve
from .stages import BY_FIELD, STAGE_BY_NAME, STAGES, Augmentation, Convolution, Noise, Stage, TimeShift, Volume
from .waveform_stages import recording_samples

CONVOLUTION, NOISE, TIME_SHIFT, VOLUME = (
    STAGE_BY_NAME[name].stage_id for name in ("convolution", "noise", "time_shift", "volume")
)
FREQUENCY_MASK, TIME_MASK, TIME_WARP, VTLP_STAGE = (
    STAGE_BY_NAME[name].stage_id for name in ("frequency_mask", "time_mask", "time_warp", "vtlp")
)
"""Stage ids folded into the example key (never renumbered)."""

__all__ = [
    "BY_FIELD",
    "CONVOLUTION",
    "FREQUENCY_MASK",
    "NOISE",
    "STAGES",
    "STAGE_BY_NAME",
    "TIME_MASK",
    "TIME_SHIFT",
    "TIME_WARP",
    "VOLUME",
    "VTLP",
    "VTLP_STAGE",
    "Augmentation",
    "Convolution",
    "FrequencyMask",
    "LogUniform",
    "Noise",
    "Normal",
    "Scaled",
    "Stage",
    "TimeMask",
    "TimeShift",
    "TimeWarp",
    "Uniform",
    "Volume",
    "apply",
    "as_param",
    "convolve",
    "draw",
    "draw_values",
    "feature_chain",
    "file_stamps",
    "mask",
    "noise_segment",
    "recording_samples",
    "resolve",
    "sample_param",
    "shift",
    "stage_key",
    "threefry_2x32",
    "time_warp",
    "vtlp_frequencies",
    "warped_mel_filterbank",
    "white_noise",
]
