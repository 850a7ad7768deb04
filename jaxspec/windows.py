"""Window functions, computed on the host in float64 NumPy.

A named window (a string) is *periodic* (DFT-even), as ``scipy.signal.get_window(name, n)``
returns it: the symmetric window of length ``n + 1`` without its last sample. This
is the convention of librosa and torch.stft for spectral analysis. ``"povey"`` (Kaldi's
window, Hann to the power 0.85) is the exception: it is symmetric, as Kaldi defines it.
``Window(name, symmetric=True)`` asks for the symmetric form (denominator ``n - 1``) of
any name, as Kaldi and ``scipy.signal.get_window(name, n, fftbins=False)`` build them.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from .errors import ConfigError

# Generalized cosine windows: w[k] = sum_j (-1)**j a_j cos(2 pi j k / n).
_COSINE_COEFFICIENTS = {
    "hann": (0.5, 0.5),
    "hamming": (0.54, 0.46),
    "blackman": (0.42, 0.5, 0.08),
    "blackmanharris": (0.35875, 0.48829, 0.14128, 0.01168),
    "nuttall": (0.3635819, 0.4891775, 0.1365995, 0.0106411),
    "flattop": (0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368),
}
_RECTANGULAR = ("rectangular", "boxcar", "ones")
_OTHER = ("bartlett", "cosine")
_ALIASES = {"hanning": "hann"}  # Kaldi's name
_POVEY_EXPONENT = 0.85

WINDOW_NAMES: tuple[str, ...] = tuple(_COSINE_COEFFICIENTS) + _OTHER + _RECTANGULAR + ("povey", "hanning")
"""Every window name accepted by ``SpectrogramConfig(window_function=...)``."""


@dataclasses.dataclass(frozen=True)
class Window:
    """A named window in its periodic (default) or symmetric form.

    Args:
      name: one of ``WINDOW_NAMES`` (``"povey"`` = Hann ** 0.85, ``"hanning"`` = ``"hann"``).
      symmetric: ``True`` = denominator ``n - 1`` (Kaldi, ``np.hanning``,
        ``torch.hann_window(n, periodic=False)``); ``False`` = periodic (denominator ``n``).
        The name ``"povey"`` alone is Kaldi's window, ``Window("povey", symmetric=True)``.

    >>> from jaxspec.windows import Window, window_values
    >>> window_values(Window("hann", symmetric=True), 5)
    array([0. , 0.5, 1. , 0.5, 0. ])
    """

    name: str
    symmetric: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or self.name.lower() not in WINDOW_NAMES:
            raise ConfigError(f"Window(name={self.name!r}) is not a known window; use one of {', '.join(WINDOW_NAMES)}")
        if not isinstance(self.symmetric, (bool, np.bool_)):
            raise ConfigError(f"Window(symmetric={self.symmetric!r}) must be True or False")
        object.__setattr__(self, "name", self.name.lower())
        object.__setattr__(self, "symmetric", bool(self.symmetric))


WindowSpec = str | Window | Callable[[int], Any] | Sequence[float] | None


def check_window_function(window: Any) -> Any:
    """The ``window_function`` setting in its stored form, or a ``ConfigError``."""
    if isinstance(window, (np.ndarray, jax.Array)):
        if isinstance(window, jax.core.Tracer) or window.ndim != 1:
            raise ConfigError(
                f"window_function of shape {window.shape}: a window given as an array must be concrete and 1-D, "
                "[window_size]"
            )
        window = list(np.asarray(window, dtype=object))
    if isinstance(window, (list, tuple)):
        bad = [v for v in window if not isinstance(v, numbers.Real) or isinstance(v, (bool, np.bool_))][:1]
        if not window or bad:
            what = f"holds {bad[0]!r} (of type {type(bad[0]).__name__})" if bad else "is empty"
            raise ConfigError(
                f"window_function (a sequence of {len(window)} values) {what}: a window given as values must be "
                "a non-empty sequence of window_size real numbers"
            )
        return tuple(float(w) for w in window)
    if isinstance(window, str):
        name = window.lower()  # "HANN" is "hann": one config, one compiled program
        return None if name in ("rectangular", "none") else name
    if window is None or isinstance(window, Window) or callable(window):
        return window
    raise ConfigError(
        f"window_function={window!r} is not valid; use a name like 'hann', Window('hann', symmetric=True), None, "
        "a callable n -> array[n], "
        "or a sequence of window_size numbers"
    )


def _cosine_window(coefficients: tuple[float, ...], n: int, period: int | None = None) -> np.ndarray:
    phase = 2.0 * np.pi * np.arange(n) / (n if period is None else period)
    return sum((-1) ** j * a * np.cos(j * phase) for j, a in enumerate(coefficients))


def _symmetric_window(name: str, m: int) -> np.ndarray:
    k = np.arange(m)
    if name == "bartlett":
        return 1.0 - np.abs(2.0 * k / (m - 1) - 1.0)
    return np.sin(np.pi * (k + 0.5) / m)  # "cosine"


def named_window(name: str, n: int, symmetric: bool | None = None) -> np.ndarray:
    """The window ``name`` of ``n`` samples, periodic unless ``symmetric``.

    Args:
      name: one of ``WINDOW_NAMES`` (case-insensitive).
      n: window length in samples, ``n >= 1``.
      symmetric: ``None`` = the name's own convention (periodic; symmetric for
        ``"povey"``).

    Returns:
      float64 ``[shape=(n,)]``, equal to ``scipy.signal.get_window(name, n)`` (periodic)
      or ``get_window(name, n, fftbins=False)`` (symmetric).

    >>> from jaxspec.windows import named_window
    >>> named_window("hann", 4)
    array([0. , 0.5, 1. , 0.5])
    """
    key = _ALIASES.get(name.lower(), name.lower())
    if key == "povey":
        return named_window("hann", n, True if symmetric is None else symmetric) ** _POVEY_EXPONENT
    if symmetric and n > 1 and key in WINDOW_NAMES:
        return _symmetric(key, n)
    if key in _RECTANGULAR or (n == 1 and key in WINDOW_NAMES):
        return np.ones(n)  # scipy's convention for a one-sample window
    if key in _COSINE_COEFFICIENTS:
        return _cosine_window(_COSINE_COEFFICIENTS[key], n)
    if key in _OTHER:
        return _symmetric_window(key, n + 1)[:n]
    raise ConfigError(
        f"window_function={name!r} is not a known window; use one of {', '.join(WINDOW_NAMES)}, "
        "None, a callable n -> array[n], or a sequence of window_size numbers"
    )


def _symmetric(key: str, n: int) -> np.ndarray:
    if key in _RECTANGULAR:
        return np.ones(n)
    if key in _OTHER:
        return _symmetric_window(key, n)
    return _cosine_window(_COSINE_COEFFICIENTS[key], n, period=n - 1)


def window_values(spec: WindowSpec, n: int) -> np.ndarray:
    """Resolves a ``window_function`` setting to float64 values ``[shape=(n,)]``.

    Args:
      spec: ``None`` (no window), a name, a callable ``n -> array[n]``, or a
        sequence of exactly ``n`` numbers.
      n: the window size in samples.
    """
    if spec is None:
        return np.ones(n)
    if isinstance(spec, str):
        return named_window(spec, n)
    if isinstance(spec, Window):
        return named_window(spec.name, n, spec.symmetric)
    if callable(spec):
        try:
            # Eager even inside a trace: a config rebuilt by JAX's unflatten has no cached window, and a
            # jax.numpy callable (jnp.hanning) traced there failed in np.asarray on every call.
            with jax.ensure_compile_time_eval():
                values = np.asarray(spec(n))
            if values.dtype.kind in "cb":  # complex values lost their imaginary part in a float cast
                raise TypeError(f"it returned {values.dtype} values; a window's values are real numbers")
            values = values.astype(np.float64)
        except Exception as error:
            raise ConfigError(f"window_function={spec!r} failed when called with n={n}: {error}") from error
        what = f"window_function={spec!r} returned"
    else:
        values = np.asarray(spec, dtype=np.float64)
        what = "window_function is"
    if values.shape != (n,):
        raise ConfigError(f"{what} an array of shape {values.shape}; it must have exactly window_size={n} values")
    if not np.all(np.isfinite(values)):
        raise ConfigError(
            f"window_function={shown_window(spec)} gives non-finite values; every window value must be finite"
        )
    return values


def shown_window(window: Any) -> str:
    """A window for messages: values as their count (a 2**20-value window was a 10 MB message)."""
    return f"<{len(window)} values>" if isinstance(window, (tuple, list, np.ndarray)) else repr(window)
