"""Caps on sizes and magnitudes: untrusted configs and inputs stay within work they describe.

Every cap lives here, once; ``config``, ``_serialize``, ``augmentation``, ``features`` and ``io`` read
them. A value above a size cap, or a magnitude above a magnitude cap, is a
``ConfigError`` when the config is built (naming the field, the value and the cap);
concrete samples too large for the spectrum to stay finite are an ``InputError``.

Sizes (samples at the config's rate):

==========================  ===============  =====================================================
cap                         value            what it bounds
==========================  ===============  =====================================================
``MAX_SAMPLE_RATE``         4,000,000 Hz     ``sample_rate``, and the rate of ``Audio``
``MAX_WINDOW_SAMPLES``      1,048,576        ``window_size`` (2**20)
``MAX_FFT_SIZE``            1,048,576        ``fft_size`` (2**20)
``MAX_OFFSET_SAMPLES``      1,048,576        ``offset`` (2**20)
``MAX_TARGET_SAMPLES``      1,073,741,824    ``target_length`` as a duration (2**30)
``MAX_OUTPUT_VALUES``       268,435,456      ``target_length`` frames x bins (2**28: 1 GiB float32)
``MAX_SIGNAL_SAMPLES``      2,147,483,647    an input held in memory, and frames x offset (int32)
``MAX_RESULT_VALUES``       2,147,483,647    frames x features of one input's output in memory, a
                                             batch's rows together (an ``InputError``: 8 GiB of
                                             float32; longer audio streams to a file with
                                             ``encode_to_file``)
``MAX_RECORDING_SAMPLES``   67,108,864       a recording (noise, impulse response), at its rate and the config's (2**26)
``MAX_CONFIG_BYTES``        16,777,216       a JSON config file (16 MiB)
``MAX_JSON_DEPTH``          32               nesting of a JSON config
==========================  ===============  =====================================================

Magnitudes:

==========================  ===============  =====================================================
``MAX_GAIN``                10,000           ``Volume`` gain and ``Noise`` amplitude: the largest
                                             value a parameter can draw (range bounds,
                                             ``LogUniform`` high, ``|mean| + 6 std`` of a
                                             ``Normal``; values drawn by callables are clipped)
``MAX_LEVEL``               10,000           the level of ``normalization``
``MAX_SHIFT_SECONDS``       1,000,000        ``|t|`` of a time shift in seconds
``MAX_SCALED_SHIFT``        1,000            ``|s|`` of ``Scaled(s)``
``MAX_WINDOW_VALUE``        10,000           a window's values
``MAX_PRE_EMPHASIS``        1e10             ``|coefficient|`` of ``PreEmphasis`` (``MAX_GAIN``: ``Dither``'s amount)
``MAX_SIGNAL_VALUE``        10,000           samples of a recording given as an array
``MAX_POWER``               8                ``power``
``MAX_MEL_BANDS``           16,384           ``MelFilterbank(n_mels)``
``MAX_MATRIX_VALUES``       67,108,864       a feature stage's matrix, inputs x outputs: a mel
                                             filterbank's bins x ``n_mels``, a ``DCT``'s (2**26:
                                             512 MiB as built in float64), and a chain's
                                             matrices together
``MAX_FEATURE_STAGES``      64               stages in ``features``
``MAX_DELTA_WIDTH``         101              ``Deltas(width)``, frames (librosa's default 9,
                                             torchaudio's 5; 2001 asked XLA for 24 GB)
``MAX_FEATURES``            2,097,152        features a frame after any stage (2**21: a
                                             2**20-point FFT's bins with stacked deltas)
``MAX_DISTRIBUTION_VALUE``  1e30             any parameter of ``Uniform``/``Normal``/``LogUniform``
``MAX_FEATURE_CONSTANT``    1e30             a feature stage's constants: ``Log`` floor and offset,
                                             ``Decibels`` multiplier, ref and amin, ``DCT`` lifter, a mask's fill
``MAX_FREQUENCY``           4,000,000 Hz     ``MelFilterbank`` fmin / fmax, ``VTLP`` f_hi
``MAX_DPI``                 600              ``plot_file``'s ``dpi`` (a 4-panel PNG at 2000 dpi took 3.4 GB)
==========================  ===============  =====================================================

And one rule over all of them, ``worst_case``: the largest value any float32 step of
the pipeline can reach, computed from the config's own values, must stay below
``FLOAT32_BUDGET`` (1e36, under float32's 3.4e38) for a full-scale input (``|x| <= 1``)
of ``MAX_SIGNAL_SAMPLES`` samples; otherwise the config is a ``ConfigError``. A concrete
input whose samples make ``worst_case`` exceed the budget is an ``InputError``; one so quiet
that its spectrum underflows float32 (``underflow``) is warned of.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .errors import ConfigError

MAX_SAMPLE_RATE = 4_000_000
MAX_WINDOW_SAMPLES = 1 << 20
MAX_FFT_SIZE = 1 << 20
MAX_OFFSET_SAMPLES = 1 << 20
MAX_TARGET_SAMPLES = 1 << 30
MAX_OUTPUT_VALUES = 1 << 28
MAX_SIGNAL_SAMPLES = (1 << 31) - 1
MAX_RESULT_VALUES = (1 << 31) - 1
MAX_RECORDING_SAMPLES = 1 << 26
MAX_CONFIG_BYTES = 16 << 20
MAX_JSON_DEPTH = 32

MAX_GAIN = 10_000.0
MAX_LEVEL = 10_000.0
MAX_SHIFT_SECONDS = 1_000_000.0
MAX_SCALED_SHIFT = 1_000.0
MAX_WINDOW_VALUE = 10_000.0
MAX_PRE_EMPHASIS = 1e10
MAX_SIGNAL_VALUE = 10_000.0
MAX_POWER = 8.0
MAX_MEL_BANDS = 1 << 14
MAX_MATRIX_VALUES = 1 << 26
MAX_FEATURE_STAGES = 64
MAX_DELTA_WIDTH = 101
MAX_FEATURES = 1 << 21
MAX_DISTRIBUTION_VALUE = 1e30
MAX_FEATURE_CONSTANT = 1e30
MAX_FREQUENCY = 4_000_000.0
MAX_DPI = 600

FLOAT32_BUDGET = 1e36
"""The largest intermediate value the pipeline may reach (float32's max is 3.4e38)."""

FLOAT32_TINY = float(np.finfo(np.float32).tiny)
"""float32's smallest normal number, 1.18e-38: XLA on CPU flushes smaller (subnormal) values to 0."""

QUIET_MARGIN = 32.0
"""``sum|w| * peak`` (a constant signal's loudest bin) over a typical signal's: white noise's
loudest bin is about 20 times under it, a sine's 2 times (``underflow``)."""

NORMAL_REACH = 6.0
"""``|z|`` of a drawn standard normal never exceeds 5.42 (float32 uniform bits; see ``random``)."""


def check_chain(stage: Any, count: int, matrix: tuple[int, int], matrices: int, features: int) -> int:
    """``features``, once the feature chain up to ``stage`` (its ``count``-th, with a
    ``matrix`` of ``(inputs, outputs)``; ``(0, 0)`` for none) is within ``MAX_FEATURE_STAGES``,
    its matrices together within ``MAX_MATRIX_VALUES`` and its output within ``MAX_FEATURES``.
    Checked before any matrix is built: 16384 mels on a 2**20-point FFT asked for 64 GiB,
    30 DCTs of 8192 built 30 x 256 MB, 20 stacked ``Deltas`` asked for 7e11 features a frame
    and aborted the process."""
    if count > MAX_FEATURE_STAGES:
        raise ConfigError(f"features has more than {MAX_FEATURE_STAGES} stages, the cap (jaxspec.limits)")
    if matrices > MAX_MATRIX_VALUES:
        own = f"{stage!r} on {matrix[0]} input features needs a {matrix[0]} x {matrix[1]} matrix; "
        raise ConfigError(
            f"features: {own}the matrices up to {stage!r} hold {matrices} values together, above the cap "
            f"{MAX_MATRIX_VALUES} (jaxspec.limits); use a smaller fft_size, fewer outputs or fewer stages"
        )
    if features > MAX_FEATURES:
        raise ConfigError(f"features: {stage!r} gives {features} features a frame, above the cap {MAX_FEATURES}")
    return features


def param_reach(param: Any) -> float:
    """The largest ``|value|`` a normalized numeric parameter can draw.

    A fixed float is itself; ``Uniform`` / ``LogUniform`` their larger bound;
    ``Normal`` ``|mean| + 6 std``; other distributions and callables ``math.inf``
    (their draws are clipped where a cap applies).
    """
    from .augmentation.distributions import LogUniform, Normal, Uniform  # the caps are imported by them

    if isinstance(param, float):
        return abs(param)
    if type(param) in (Uniform, LogUniform):
        return max(abs(param.low), abs(param.high))
    if type(param) is Normal:
        return abs(param.mean) + NORMAL_REACH * param.std
    return math.inf


def worst_case(config: Any, amplitude: float, length: int) -> tuple[float, str]:
    """The largest value a float32 step can reach for ``length`` samples of ``|x| <= amplitude``.

    Follows the pipeline with bounds that hold for every key: the normalization's output
    (``level * sqrt(L)`` for rms; it divides by the peak first, so the input's own
    magnitude no longer matters past it), the convolution's FFT
    (``L * peak * sum|h|``) and output, the noise, the gain, the frame preprocessing (a
    dither, DC removal, pre-emphasis, the frame energy), the windowed DFT
    (``sum|w| * peak``), ``|X|**power`` (bounded by ``(2 |X|**2) ** (power / 2)``; ``power=None``
    stops at the DFT; other powers than 2 never square ``|X|``: see ``spectrum.power_spectrum``)
    and each feature stage (a mel filter sums up to every bin, a DCT every band, a log compresses).

    Returns:
      ``(bound, step)``: the first step in pipeline order whose bound passes ``FLOAT32_BUDGET``
      (where the overflow starts: a 1e30 dither was blamed on the mel filterbank after it), else
      the largest bound and its step.
    """
    return _worst(_reaches(config, amplitude, length))


def levels(config: Any, amplitude: float, length: int) -> tuple[tuple[float, str], tuple[float, str] | None]:
    """``(worst_case(...), underflow(...))`` from one walk over the steps: the check of every
    input (``_inputs.check_peak``) asks both."""
    steps = _reaches(config, amplitude, length)
    return _worst(steps), _underflow(config, amplitude, steps)


def _worst(steps: dict[str, float]) -> tuple[float, str]:
    """``worst_case`` of the bounds ``_reaches`` gave."""
    step = next((name for name, bound in steps.items() if not bound <= FLOAT32_BUDGET), None)
    step = max(steps, key=steps.get) if step is None else step
    return steps[step], step


def underflow(config: Any, amplitude: float, length: int) -> tuple[float, str] | None:
    """``(value, step)`` where ``length`` samples of peak ``amplitude`` are too quiet for float32,
    else ``None``: the augmented waveform's reach under ``FLOAT32_TINY`` (XLA on CPU reads smaller
    values as 0), or the loudest bin of ``|X|**power`` (``|X|`` for ``power=None``) under it, that
    ``|X|`` taken as ``worst_case``'s DFT bound (``sum|w| * peak``, a constant signal's) over
    ``QUIET_MARGIN``: the whole spectrum reads as 0. Silence is ``None``, and so is an input whose
    samples are all under ``FLOAT32_TINY``: XLA on CPU reads it as silence.
    """
    return _underflow(config, amplitude, _reaches(config, amplitude, length) if amplitude >= FLOAT32_TINY else {})


def _underflow(config: Any, amplitude: float, steps: dict[str, float]) -> tuple[float, str] | None:
    """``underflow`` of the bounds ``_reaches`` gave."""
    if not amplitude >= FLOAT32_TINY:
        return None
    if steps["the augmented waveform"] < FLOAT32_TINY:
        return steps["the augmented waveform"], "the augmented waveform"
    loudest = steps["the DFT"] / QUIET_MARGIN
    value = loudest if config.power is None else loudest**config.power  # a Python float: 0.0, no error
    if value < FLOAT32_TINY:
        return value, "|X|" if config.power is None else f"|X|**{config.power:g}"
    return None


def _reaches(config: Any, amplitude: float, length: int) -> dict[str, float]:
    """``worst_case``'s bound of each step, by name, in pipeline order."""
    length = max(int(length), 1)
    steps: dict[str, float] = {}
    peak = float(amplitude)
    if config.normalization is not None:
        kind, level = config.normalization
        peak = level if kind == "max" else level * math.sqrt(length)
    augmentation = config.augmentation
    if augmentation is not None:
        from .augmentation import recording_samples  # (it reads these caps)

        conv = augmentation.convolution
        if conv is not None:
            total = _abs_sum(recording_samples(conv))
            steps["the convolution's FFT"] = length * peak * max(total, 1.0)
            peak *= max(1.0, total)
        noise = augmentation.noise
        if noise is not None:
            reach = min(param_reach(noise.amplitude), MAX_GAIN)
            source = NORMAL_REACH if noise.signal is None else _abs_max(recording_samples(noise))
            peak += reach * source
        volume = augmentation.volume
        if volume is not None:
            peak *= min(param_reach(volume.gain), MAX_GAIN)
    steps["the augmented waveform"] = peak
    from .framing import Dither, LogEnergy, PreEmphasis, RemoveDC  # (framing's fields are checked with these caps)

    for stage in getattr(config, "preprocess", ()):
        if isinstance(stage, Dither):  # amount * N(0, 1) added to each frame's samples
            peak += float(stage.amount) * NORMAL_REACH
            steps[f"the dithered frames ({stage!r})"] = peak
        elif isinstance(stage, RemoveDC):  # x - mean(x)
            peak *= 2.0
        elif isinstance(stage, PreEmphasis):  # x[k] - c * x[k - 1]
            peak *= 1.0 + abs(float(stage.coefficient))
            steps[f"the pre-emphasized frames ({stage!r})"] = peak
        elif isinstance(stage, LogEnergy):  # sum(frame ** 2)
            steps["the frame energy"] = config.frame_samples * peak * peak
    spectrum = _abs_sum(config.window) * peak
    steps["the DFT"] = spectrum
    energy = 2.0 * spectrum * spectrum
    if config.power is not None:  # None: the complex STFT itself, bounded by the DFT step
        try:
            steps[f"|X|**{config.power:g}"] = energy ** (config.power / 2.0) if energy > 0 else 0.0
        except OverflowError:
            steps[f"|X|**{config.power:g}"] = math.inf
    value, size = steps.get(f"|X|**{config.power:g}", 0.0) if config.power is not None else 0.0, config.num_bins
    for stage in getattr(config, "features", ()):
        value = _feature_reach(stage, value, size, config.sample_rate, config.fft_samples)
        size = stage.size(size, config.sample_rate, config.fft_samples)
        steps[repr(stage)] = value
    return steps


def _feature_reach(stage: Any, value: float, size: int, rate: int, fft_size: int) -> float:
    """The largest ``|output|`` of a feature stage whose ``size`` inputs are within ``value``
    (an unnormalized mel filter sums up to every bin: 1e4-valued windows on a 2**20-point FFT
    passed |X|**8's bound and gave inf)."""
    from . import features  # (it reads these caps)

    log = math.log
    if isinstance(stage, features.MelFilterbank):
        return value * size * _mel_top(stage, rate, fft_size)
    if isinstance(stage, features.Log):  # log(max(x, floor) + offset), floor + offset >= float32's tiny
        return max(abs(log(stage.floor + stage.offset)), abs(log(max(value, stage.floor) + stage.offset)))
    if isinstance(stage, features.Decibels):
        shift = abs(math.log10(max(stage.amin, stage.ref)))
        return stage.multiplier * (max(abs(math.log10(stage.amin)), abs(math.log10(max(value, stage.amin)))) + shift)
    if isinstance(stage, features.WhisperLog):
        return (max(10.0, abs(math.log10(max(value, 1e-10)))) + 4.0) / 4.0
    if isinstance(stage, features.DCT):  # |entries| <= 2 (norm None), <= 1 otherwise; the lifter's <= 1 + |L| / 2
        return value * size * (2.0 if stage.norm is None else 1.0) * (1.0 + abs(stage.lifter) / 2.0)
    if isinstance(stage, features.Deltas):  # sum |weights| of a derivative fit: at most 2 (order 1), 4 (order 2)
        return value * 2.0**stage.order
    if isinstance(stage, features.SubtractMean):
        return 2.0 * value
    return max(value, 200.0)  # UseEnergy: a log energy (|log| of float32 values is under 104)


@functools.lru_cache(maxsize=64)
def _mel_top(stage: Any, rate: int, fft_size: int) -> float:
    """The largest weight of a mel filterbank: the triangles' peak, 1, which Slaney's area
    norm scales by 2 / the filter's width in Hz (cached: 22 us a call, and inputs are checked
    one by one)."""
    from . import _melscale

    if stage.norm != "slaney":
        return 1.0
    fmin, fmax = stage.edges(rate)
    hz = _melscale.filter_points(stage.n_mels, fmin, fmax, stage.scale, rate, fft_size, stage.frequencies)[2]
    return float(np.max(2.0 / np.maximum(hz[2:] - hz[:-2], 1e-300)))


def _abs_sum(values: Any) -> float:
    import numpy as np

    try:
        return float(np.sum(np.abs(np.asarray(values, np.float64))))
    except Exception:  # noqa: BLE001 - a traced recording: no bound can be read
        return 0.0


def _abs_max(values: Any) -> float:
    import numpy as np

    try:
        return float(np.max(np.abs(np.asarray(values, np.float64)), initial=0.0))
    except Exception:  # noqa: BLE001 - a traced recording
        return 0.0
