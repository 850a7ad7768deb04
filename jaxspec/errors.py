"""Exception types raised by jaxspec.

Every error a user can cause by passing a bad value is a ``ValueError`` subclass (a
missing file: Python's ``FileNotFoundError``), raised on the host before anything is
traced, and its message names the parameter, the value and the rule.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
import sys
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax import export as jax_export  # (jax 0.7's "import jax" does not load jax.export)

_PACKAGE = __name__.partition(".")[0]


MESSAGE_CHARS = 2000
"""Longest message of a ``JaxspecError``: a longer one keeps its start and its end (where the fix
is), so that a value echoed from an untrusted file stays short (a config file with 500 000
unknown keys made a 5.4 MB message; a 10 MB ``window_function`` string a 10 MB one)."""

_LEFT_OUT = re.compile(r" \.\.\. \[(\d+) characters left out\] \.\.\. ")


def _left_out(count: int) -> str:
    return f" ... [{count} characters left out] ... "


def capped_message(text: str) -> str:
    """``text`` cut to at most ``MESSAGE_CHARS``: the characters before its last quarter are cut
    and counted, or, if it was cut before (a message wrapped in another: "config file ...: "),
    those around the earlier cut, whose count is added (so that pickling, which builds the
    exception again, and wrapping keep the count right).

    >>> from jaxspec.errors import capped_message
    >>> message = capped_message("a" * 3000 + "end")
    >>> len(message), message[1460:1504], message[-3:]
    (2000, 'aaaa ... [1039 characters left out] ... aaaa', 'end')
    """
    if len(text) <= MESSAGE_CHARS:
        return text
    earlier = _LEFT_OUT.search(text)
    if earlier is None:
        count, cut = 0, len(text) - MESSAGE_CHARS // 4
    else:
        count, cut = int(earlier.group(1)), earlier.start()
        text = text[: earlier.start()] + text[earlier.end() :]
    excess = len(text) + len(_left_out(count + len(text))) - MESSAGE_CHARS  # the marker at its longest
    start = max(0, cut - excess)
    return text[:start] + _left_out(count + excess) + text[start + excess :]


class JaxspecError(Exception):
    """Base class of every exception raised by jaxspec itself (messages capped at ``MESSAGE_CHARS``).

    The errors a user's value causes are also ``ValueError`` (``ConfigError``, ``InputError``,
    and the file errors below them).

    >>> import jaxspec
    >>> try:
    ...     jaxspec.SpectrogramConfig(window_size="25 parsecs")
    ... except jaxspec.JaxspecError as error:
    ...     print(type(error).__name__, isinstance(error, ValueError))
    ConfigError True
    """

    def __init__(self, *args: object):
        if len(args) == 1 and isinstance(args[0], str):
            args = (capped_message(args[0]),)
        super().__init__(*args)


class ConfigError(JaxspecError, ValueError):
    """A configuration value (a field of a config or augmentation) is invalid.

    >>> import jaxspec
    >>> jaxspec.SpectrogramConfig(offset=0)
    Traceback (most recent call last):
    ...
    jaxspec.errors.ConfigError: offset=0 is 0 samples at 16000 Hz; it must be a positive number of samples or ...
    >>> issubclass(jaxspec.ConfigError, ValueError)
    True
    """


def did_you_mean(given: str, choices: Sequence[str], synonyms: Mapping[str, str] | None = None) -> str:
    """`` (did you mean X?)`` for the choice closest to a mistyped ``given`` (a known
    synonym's first: librosa's ``hop_length`` is ``offset``), or ``""`` when none is close.

    >>> from jaxspec.errors import did_you_mean
    >>> did_you_mean("n_ffts", ["n_fft", "n_mels"])
    ' (did you mean n_fft?)'
    """
    guess = (synonyms or {}).get(given)
    if guess not in choices:
        close = difflib.get_close_matches(given, choices, 1)
        guess = close[0] if close else None
    return f" (did you mean {guess}?)" if guess else ""


def config_type_error(config: object) -> ConfigError:
    """The error for a ``config`` argument that is not a ``SpectrogramConfig``, saying what to pass."""
    kind = type(config).__name__
    if isinstance(config, dict):
        fix = "build one with jaxspec.SpectrogramConfig.from_dict(d) (or SpectrogramConfig(**d))"
    elif isinstance(config, (int, float)):
        fix = f"a number is not a config: SpectrogramConfig(sample_rate={config!r}) sets the rate"
    elif hasattr(config, "shape"):
        fix = "the arguments are (config, x): the config comes first"
    else:
        fix = "build one with jaxspec.SpectrogramConfig(...) or a preset (jaxspec.presets)"
    return ConfigError(f"config must be a SpectrogramConfig, got {kind}; {fix}")


class InputError(JaxspecError, ValueError):
    """An input signal is invalid: wrong rank, dtype, NaN/inf samples, missing rate.

    >>> import jaxspec, numpy as np
    >>> jaxspec.spectrogram(jaxspec.SpectrogramConfig(), np.array([0.0, np.nan]))
    Traceback (most recent call last):
    ...
    jaxspec.errors.InputError: x has NaN or infinite samples (first at sample 1)
    >>> issubclass(jaxspec.InputError, ValueError)
    True
    """


class AudioFileError(JaxspecError, ValueError, RuntimeError):
    """A file exists but cannot be decoded; the message names the path and the reason.

    >>> import jaxspec, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp(), "notes.wav")
    >>> _ = path.write_text("not audio")
    >>> try:
    ...     jaxspec.load_audio(path)
    ... except jaxspec.AudioFileError as error:
    ...     print(isinstance(error, ValueError), isinstance(error, RuntimeError), "notes.wav" in str(error))
    True True True
    """


class AudioSamplesError(AudioFileError, InputError):
    """A file decodes, but to samples no spectrum can be made of (NaN, inf, or too large):
    both a file error (it names the path) and an input error.

    >>> import jaxspec, numpy as np, pathlib, soundfile, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp(), "nan.wav")
    >>> soundfile.write(path, np.array([0.0, np.nan], np.float32), 16000, subtype="FLOAT")
    >>> try:
    ...     jaxspec.load_audio(path)
    ... except jaxspec.AudioSamplesError as error:
    ...     print(isinstance(error, jaxspec.AudioFileError), isinstance(error, jaxspec.InputError))
    True True
    """


class RecordingFileError(AudioFileError, ConfigError):
    """A noise recording or impulse response file that cannot be read: both a file error
    (it names the path) and a config error (a recording is part of the config).

    >>> import jaxspec, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp(), "room.wav")
    >>> _ = path.write_text("not audio")
    >>> try:
    ...     jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(convolution=path))
    ... except jaxspec.RecordingFileError as error:
    ...     print(isinstance(error, jaxspec.AudioFileError), isinstance(error, jaxspec.ConfigError))
    True True
    """


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside jaxspec (pandas' ``find_stack_level``,
    Python 3.12's ``skip_file_prefixes``): the warning shows the user's line, whichever path inside
    the package led to it (a fixed ``stacklevel`` named a jaxspec line on some of them). Frames are
    told by their module, not their file: a dataclass's generated ``__init__`` runs in "<string>"."""
    frame, level = sys._getframe(1), 2  # level 2: warn's caller
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] == _PACKAGE:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level if frame is not None else 2)


class TruncatedAudioWarning(UserWarning):
    """A file decoded to fewer frames than its header declares (cut mid-data, or a lying header).

    >>> import jaxspec, numpy as np, pathlib, soundfile, tempfile, warnings
    >>> path = pathlib.Path(tempfile.mkdtemp(), "cut.wav")
    >>> soundfile.write(path, np.zeros(1600, np.int16), 16000)
    >>> _ = path.write_bytes(path.read_bytes()[:-1000])  # 500 of its 1600 int16 frames cut off
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     jaxspec.load_audio(path).samples.shape
    (1100,)
    >>> [w.category.__name__ for w in caught]
    ['TruncatedAudioWarning']
    """


def is_finite(value: numbers.Real) -> bool:
    """``math.isfinite`` that is ``False`` for an int beyond float's range (not an ``OverflowError``)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_rate(name: str, rate: object) -> int:
    """``rate`` as an int if it is a positive whole number of samples per second (``44100.0`` too)."""
    if isinstance(rate, numbers.Real) and not isinstance(rate, (bool, numbers.Integral)) and float(rate).is_integer():
        rate = int(rate)  # a float that is a whole number, as users write 44100.0
    if isinstance(rate, bool) or not isinstance(rate, numbers.Integral) or rate <= 0:
        traced = isinstance(rate, jax.core.Tracer)  # a rate passed through jax.jit as an argument
        static = "; rates set shapes, so they are static under jax.jit (static_argnums)" if traced else ""
        raise ConfigError(f"{name}={rate!r} must be a positive integer number of samples per second (Hz){static}")
    return int(rate)


_SEEN: set = set()
_SEEN_LOCK = threading.Lock()  # check and add as one step: two threads asking at once both got True


def first_time(key: object) -> bool:
    """True the first time this process asks about ``key`` (hashable): for the warnings that come
    once per process, as the configs jaxspec derives from a user's (``dataclasses.replace`` in
    ``planner``, ``stream``, ``presets``) would repeat them, from a line of ``dataclasses.py``."""
    with _SEEN_LOCK:
        if key in _SEEN:
            return False
        _SEEN.add(key)
        return True


def warn_low_rate(name: str, rate: int) -> int:
    """``rate``, with a warning when a user's rate is under 1 kHz: most often kHz written as Hz
    (``sample_rate=48`` gave a 40101-frame spectrogram of 1 s, 16 a 1-sample window); once per
    process and rate (``first_time``)."""
    if rate < 1000 and first_time(("low rate", name, rate)):
        guess = f"; for {rate} kHz write {rate * 1000}" if rate <= 192 else " (audio is rarely under 8000 Hz)"
        warn(f"{name}={rate} Hz is below 1 kHz{guess}")
    return rate


def length_list(name: str, values: list | tuple) -> np.ndarray:
    """A list of lengths in samples as an integer array (``[]`` as int64, where ``np.asarray([])``
    is float64); a bool in it is an ``InputError`` (``np.asarray([True, 400])`` read it as 1)."""
    if any(isinstance(n, (bool, np.bool_)) for n in values):
        raise InputError(f"{name}={values!r} holds a bool; give integer numbers of samples")
    return np.asarray(values, np.int64) if len(values) == 0 else np.asarray(values)


class PcmScaleWarning(UserWarning):
    """Wide integer samples (int32 / int64) whose values all fit in 16 bits: they are scaled
    by ``2**31`` / ``2**63`` as SPEC section 3 says, which leaves them at about 1e-5 or less
    (32767 / 2**31) if they are really 16-bit PCM (``x.astype(np.int16)`` says so).

    >>> import jaxspec, numpy as np, warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = jaxspec.spectrogram(jaxspec.SpectrogramConfig(), np.full(1600, 1000, np.int32))
    >>> [w.category.__name__ for w in caught]
    ['PcmScaleWarning']
    """


def unreadable_array(name: str, samples: object, error: ValueError) -> InputError:
    """The error for samples NumPy cannot read as one array; a list of clips (of several lengths:
    NumPy's "inhomogeneous shape") is told what takes it."""
    if isinstance(samples, (list, tuple)) and any(isinstance(v, (list, tuple)) or np.ndim(v) for v in samples):
        fix = "use jaxspec.encode_batch, or pad them to x [B, Lmax] and pass lengths="
        fix = "give each clip as an item of its own" if re.fullmatch(r"audio \d+", name) else fix  # (encode_batch's)
        return InputError(f"{name} is a list of clips of several lengths, not one array: {fix} (NumPy: {error})")
    return InputError(f"{name} cannot be read as an array: {error}")


def symbolic_length(subject: str) -> InputError:
    """The error for a length that is a symbolic dimension of ``jax.export`` (``subject``: "x's
    length l"): the frame count, the padding and the overflow bound need the number of samples."""
    return InputError(
        f"{subject} is a symbolic dimension (jax.export), but jaxspec needs the number of samples when it "
        "traces. Export at the longest length with a symbolic batch, x [b, Lmax], and pass lengths= [b] "
        "(each row's own samples): every row equals its own spectrogram, frames past it are zeros"
    )


def check_sample_count(name: str, length: Any) -> None:
    """``InputError`` for a ``length`` that is not a count of samples (a float, a string, a bool,
    a negative value, a symbolic dimension of ``jax.export``); traced values cannot be checked."""
    if isinstance(length, numbers.Integral) and not isinstance(length, bool):  # one count: no NumPy pass
        if length < 0:
            raise InputError(f"{name}={length!r} must be a number of samples, not negative")
        if length > 1 << 62:  # past int64 arithmetic (an OverflowError)
            raise InputError(f"{name}={length} samples is too large")
        return
    dtype = getattr(length, "dtype", None)
    if dtype is None or not np.issubdtype(dtype, np.integer):
        if jax_export.is_symbolic_dim(length):  # (a symbolic dimension has no dtype)
            raise symbolic_length(f"{name}={length}")
        raise InputError(f"{name}={length!r} must be a number of samples: an int or an integer array")
    if not isinstance(length, jax.core.Tracer) and np.size(length) and np.min(np.asarray(length)) < 0:
        raise InputError(f"{name}={length!r} must be a number of samples, not negative")
