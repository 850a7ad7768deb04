"""Host-side matrices of the feature stages, in float64 NumPy: mel filterbanks, DCT-II,
lifters and derivative filters.

They are built once per (stage, sizes) and cached (``functools.cache``); the traced
code only multiplies by them. Every function here names the reference it follows.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .errors import first_time, warn

SCALES = ("slaney", "htk", "kaldi")
"""Mel scales: librosa's Slaney (linear below 1 kHz, log above), HTK ``2595 log10(1 + f/700)``,
Kaldi ``1127 ln(1 + f/700)`` (the same curve; Kaldi also builds its triangles in mel space)."""

_F_SP = 200.0 / 3  # Slaney: Hz per mel below 1 kHz
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray, scale: str) -> np.ndarray:
    """Mels of frequencies ``hz`` (any shape, Hz) on ``scale`` (librosa / Kaldi formulas).

    >>> from jaxspec._melscale import hz_to_mel
    >>> round(float(hz_to_mel(1000.0, "slaney")), 6), round(float(hz_to_mel(1000.0, "htk")), 3)
    (15.0, 999.986)
    """
    hz = np.asarray(hz, np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    if scale == "kaldi":
        return 1127.0 * np.log(1.0 + hz / 700.0)
    linear = hz / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(hz >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mel: np.ndarray, scale: str) -> np.ndarray:
    """The inverse of ``hz_to_mel``: Hz of mels ``mel`` (any shape) on ``scale``.

    >>> from jaxspec._melscale import mel_to_hz
    >>> round(float(mel_to_hz(15.0, "slaney")), 6)
    1000.0
    """
    mel = np.asarray(mel, np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    if scale == "kaldi":
        return 700.0 * (np.exp(mel / 1127.0) - 1.0)
    linear = _F_SP * mel
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, log, linear)


def bin_frequencies(sample_rate: int, fft_size: int, kind: str) -> np.ndarray:
    """Frequencies in Hz of the ``fft_size // 2 + 1`` bins: ``"rfft"`` (librosa:
    ``k * sr / fft_size``) or ``"linspace"`` (torchaudio: ``linspace(0, sr // 2, bins)``)."""
    if kind == "linspace":
        return np.linspace(0.0, sample_rate // 2, fft_size // 2 + 1)
    return np.arange(fft_size // 2 + 1) * sample_rate / fft_size


def _linspace32(start: float, stop: float, count: int) -> np.ndarray:
    """``torch.linspace(start, stop, count)`` in float32: a float32 step, the first half
    counted up from ``start`` and the rest down from ``stop``, each point one fused
    multiply-add (the float64 product of two float32 values is exact, so one rounding)."""
    start32, stop32 = np.float32(start), np.float32(stop)
    if count == 1:
        return np.array([start32])
    step = np.float64((stop32 - start32) / np.float32(count - 1))
    i = np.arange(count)
    up = np.float64(start32) + step * i
    down = np.float64(stop32) - step * (count - 1 - i)
    return np.where(i < count // 2, up, down).astype(np.float32)


def _mel_to_hz32(mel: np.ndarray, scale: str) -> np.ndarray:
    """``mel_to_hz`` as torchaudio's ``_mel_to_hz`` computes it on a float32 tensor (the
    powers and exponentials rounded once; torch's own may differ by an ulp)."""
    f32 = np.float32
    if scale == "htk":
        return f32(700.0) * ((10.0 ** (mel / f32(2595.0)).astype(np.float64)).astype(f32) - f32(1.0))
    linear = f32(_F_SP) * mel
    step = (f32(_LOGSTEP) * (mel - f32(_MIN_LOG_MEL))).astype(np.float64)
    log = f32(_MIN_LOG_HZ) * np.exp(step).astype(f32)
    return np.where(mel >= f32(_MIN_LOG_MEL), log, linear)


def torchaudio_built(frequencies: str, scale: str) -> bool:
    """True for torchaudio's filterbanks (``linspace`` bins on its HTK or Slaney scale), built in
    float32 as it builds them."""
    return frequencies == "linspace" and scale != "kaldi"


def empty_sides(rising: np.ndarray, falling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A filterbank's two triangle sides with 0 where coinciding edges gave 0 / 0 or two
    infinite sides (a filter narrower than the arithmetic resolves: empty), so that every
    ``max(0, min(rising, falling))`` is finite; one infinite side leaves the other to decide."""
    empty = np.isnan(rising) | np.isnan(falling) | (np.isinf(rising) & np.isinf(falling))
    zero = rising.dtype.type(0.0)
    return np.where(empty, zero, rising), np.where(empty, zero, falling)


def filter_points(
    n_mels: int, fmin: float, fmax: float, scale: str, sample_rate: int, fft_size: int, frequencies: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bins_hz [bins], edges_mel [n_mels + 2], edges_hz [n_mels + 2])``: the bin frequencies
    and the filters' edges, ``n_mels + 2`` evenly spaced in mel from ``fmin`` to ``fmax``.
    ``frequencies="linspace"`` on torchaudio's scales (HTK, Slaney): as its ``melscale_fbanks``
    makes them, in float32."""
    if torchaudio_built(frequencies, scale):
        freqs = _linspace32(0.0, sample_rate // 2, fft_size // 2 + 1)
        edges_mel = _linspace32(float(hz_to_mel(fmin, scale)), float(hz_to_mel(fmax, scale)), n_mels + 2)
        return freqs, edges_mel, _mel_to_hz32(edges_mel, scale)
    edges_mel = np.linspace(hz_to_mel(fmin, scale), hz_to_mel(fmax, scale), n_mels + 2)
    return bin_frequencies(sample_rate, fft_size, frequencies), edges_mel, mel_to_hz(edges_mel, scale)


def empty_filters(
    n_mels: int, fmin: float, fmax: float, scale: str, sample_rate: int, fft_size: int, frequencies: str
) -> int:
    """How many filters no bin falls strictly inside (``mel_filterbank``'s all-zero columns),
    from the edges alone: building the filterbank to count them took 6 s and 2.5 GB for 1000
    mels on a 2**17-point FFT, at every config made."""
    freqs, edges_mel, edges_hz = filter_points(n_mels, fmin, fmax, scale, sample_rate, fft_size, frequencies)
    if scale == "kaldi":  # triangles in mel, on the first fft_size // 2 bins only
        points, edges = hz_to_mel(freqs[: fft_size // 2], scale), edges_mel
    else:
        points, edges = freqs, edges_hz
    inside = np.searchsorted(points, edges[2:], "left") - np.searchsorted(points, edges[:-2], "right")
    return int((inside <= 0).sum())


def check_bands(banks: list, rate: int, fft_size: int) -> None:
    """Checks the edges of ``banks`` (``features.MelFilterbank`` stages) at ``rate``
    (``fmin < fmax``), and warns of empty filters as librosa and torchaudio do: a top edge
    above Nyquist, or bands narrower than the FFT's bins (``n_mels`` too high for
    ``fft_size``); once per process, not on every call."""
    for stage in banks:
        fmin, fmax = stage.edges(rate)
        if not first_time(("empty mel filters", stage, rate, fft_size)):  # checked (and warned of) already
            continue
        if fmax > rate / 2:
            above = f"above the Nyquist frequency ({rate / 2:g} Hz at {rate} Hz): its top bands are empty"
            message = f"the mel filters' top edge fmax={stage.fmax:g} Hz (a preset's fmax or f_max) is {above}"
        elif empty := empty_filters(stage.n_mels, fmin, fmax, stage.scale, rate, fft_size, stage.frequencies):
            message = (
                f"{empty} of the {stage.n_mels} mel filters of {stage!r} are empty at sample_rate={rate}, "
                f"fft_size={fft_size} (no FFT bin falls in their band; they always give 0): raise fft_size "
                "or lower n_mels"
            )
        else:
            continue
        warn(message)


def torchaudio_ramps(
    n_mels: int, fmin: float, fmax: float, scale: str, norm: str | None, sample_rate: int, fft_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The two sides of torchaudio's triangles, float32 ``[shape=(fft_size // 2 + 1, n_mels)]``
    each: ``(f - left) / (centre - left)`` and ``(right - f) / (right - centre)`` in float32 as
    its ``melscale_fbanks`` computes them, times its Slaney norm (a positive factor: it
    commutes with the min and max that make the filters). 0 where coinciding float32 edges
    give 0 / 0 or two infinite sides (a filter narrower than float32 resolves; torchaudio
    gives NaN or inf there), so every weight is finite."""
    f32 = np.float32
    freqs, _, edges = filter_points(n_mels, fmin, fmax, scale, sample_rate, fft_size, "linspace")
    widths = edges[1:] - edges[:-1]
    ramps = edges[None, :] - freqs[:, None]  # [bins, n_mels + 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_by = f32(2.0) / (edges[2:] - edges[:-2]) if norm == "slaney" else np.ones(n_mels, f32)
        rising = (f32(-1.0) * ramps[:, :-2]) / widths[:-1] * scale_by
        falling = ramps[:, 2:] / widths[1:] * scale_by
    return empty_sides(rising, falling)


def torchaudio_filterbank(
    n_mels: int, fmin: float, fmax: float, scale: str, norm: str | None, sample_rate: int, fft_size: int
) -> np.ndarray:
    """torchaudio's ``melscale_fbanks(fft_size // 2 + 1, fmin, fmax, n_mels, sample_rate,
    norm, scale)``: float32 ``[shape=(fft_size // 2 + 1, n_mels)]``, built in float32 as
    torchaudio builds it. Its float32 rounding (the slopes ``f - edge`` cancel) moves the
    weights by up to ~5e-5 of the exact ones, which would alone put a spectrogram 1e-5 off
    torchaudio's (1 s of noise at the defaults); this construction is within ~1e-6."""
    rising, falling = torchaudio_ramps(n_mels, fmin, fmax, scale, norm, sample_rate, fft_size)
    return np.maximum(np.float32(0.0), np.minimum(rising, falling))


_SHARED_KEPT = 32


def _shared(fn):
    """A cache of ``fn`` whose arrays are read-only: one array is handed to every caller in the
    process (``MelFilterbank.matrix`` is public), and a caller that scaled it in place
    (``fb /= fb.sum(0)``) changed the features of every config traced after it. The last
    ``_SHARED_KEPT`` arguments' arrays are kept: unbounded, a sweep over 40 mel configs kept
    160 MB after the configs were gone (4.2 MB each at 256 mels of a 4096-point FFT; an audit)."""

    @functools.wraps(fn)
    def built(*args, **kwargs):
        value = fn(*args, **kwargs)
        for array in value if isinstance(value, tuple) else (value,):
            array.setflags(write=False)
        return value

    return functools.lru_cache(maxsize=_SHARED_KEPT)(built)


@_shared
def mel_filterbank(
    n_mels: int,
    fmin: float,
    fmax: float,
    scale: str,
    norm: str | None,
    sample_rate: int,
    fft_size: int,
    frequencies: str = "rfft",
) -> np.ndarray:
    """Triangular mel filters, float64 ``[shape=(fft_size // 2 + 1, n_mels)]`` (bins x mels).

    ``scale="slaney"`` / ``"htk"``: librosa's ``filters.mel`` (``n_mels + 2`` edges evenly
    spaced in mel between ``fmin`` and ``fmax`` Hz, triangles in Hz; ``norm="slaney"``
    scales filter i by ``2 / (f[i+2] - f[i])``). With ``frequencies="linspace"``, torchaudio's
    ``melscale_fbanks``, the same filters on ``linspace(0, sr // 2, bins)``, built in float32
    as torchaudio does (``torchaudio_filterbank``). ``scale="kaldi"``: Kaldi's
    ``MelBanks`` (triangles in mel space over the first ``fft_size // 2`` bins; the
    Nyquist bin gets weight 0).

    >>> from jaxspec._melscale import mel_filterbank
    >>> fb = mel_filterbank(40, 0.0, 8000.0, "slaney", "slaney", 16000, 512)
    >>> fb.shape
    (257, 40)
    """
    if torchaudio_built(frequencies, scale):
        return torchaudio_filterbank(n_mels, fmin, fmax, scale, norm, sample_rate, fft_size).astype(np.float64)
    freqs, edges_mel, edges_hz = filter_points(n_mels, fmin, fmax, scale, sample_rate, fft_size, frequencies)
    if scale == "kaldi":
        mel = hz_to_mel(freqs, scale)[:, None]
        left, center, right = edges_mel[:-2], edges_mel[1:-1], edges_mel[2:]
        up = (mel - left) / (center - left)
        down = (right - mel) / (right - center)
        weights = np.maximum(0.0, np.minimum(up, down))
        weights[fft_size // 2 :] = 0.0  # Kaldi uses the first fft/2 bins only
    else:
        widths = np.diff(edges_hz)
        ramps = edges_hz[:, None] - freqs[None, :]  # [n_mels + 2, bins]
        lower = -ramps[:-2] / widths[:-1, None]
        upper = ramps[2:] / widths[1:, None]
        weights = np.maximum(0.0, np.minimum(lower, upper)).T
    if norm == "slaney":
        weights = weights * (2.0 / (edges_hz[2:] - edges_hz[:-2]))[None, :]
    return weights


def column_bands(matrix: np.ndarray) -> list[tuple[int, int, slice]]:
    """``(first_row, end_row, columns)`` of up to 8 groups of adjacent columns of a filterbank
    ``[shape=(bins, filters)]``, each with the rows where any of its columns is nonzero
    (empty when multiplying by bands would not save half the products)."""
    columns = matrix.shape[1]
    count = min(8, columns // 8)
    if count < 2:
        return []
    groups = []
    for cols in np.array_split(np.arange(columns), count):
        rows = np.flatnonzero((matrix[:, cols] != 0).any(axis=1))
        first, end = (int(rows[0]), int(rows[-1]) + 1) if rows.size else (0, 0)
        groups.append((first, end, slice(int(cols[0]), int(cols[-1]) + 1)))
    banded = sum((end - first) * (cols.stop - cols.start) for first, end, cols in groups)
    return groups if banded <= matrix.size // 2 else []


@_shared
def dct_matrix(n_in: int, n_out: int, norm: str | None) -> np.ndarray:
    """DCT-II as a matrix, float64 ``[shape=(n_in, n_out)]``: ``y = x @ D`` keeps the
    first ``n_out`` coefficients of ``scipy.fft.dct(x, type=2, norm=norm)``.

    >>> import numpy as np
    >>> from jaxspec._melscale import dct_matrix
    >>> bool(np.allclose(dct_matrix(4, 4, "ortho").T @ dct_matrix(4, 4, "ortho"), np.eye(4)))
    True
    """
    n = np.arange(n_in)[:, None]
    k = np.arange(n_out)[None, :]
    d = 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2 * n_in))
    if norm == "ortho":
        d = d * np.sqrt(1.0 / (2 * n_in))
        d[:, 0] /= np.sqrt(2.0)
    return d / (2 * n_in) if norm == "forward" else d


def lifter(n: int, lifter_length: float, kind: str) -> np.ndarray:
    """Cepstral lifter weights ``[shape=(n,)]``: librosa ``1 + (L/2) sin(pi (i+1) / L)``,
    Kaldi ``1 + (L/2) sin(pi i / L)`` for coefficient ``i``; ones when ``L == 0``.

    >>> from jaxspec._melscale import lifter
    >>> lifter(3, 0, "librosa")
    array([1., 1., 1.])
    """
    if lifter_length == 0:
        return np.ones(n)
    i = np.arange(n) + (1.0 if kind == "librosa" else 0.0)
    return 1.0 + 0.5 * lifter_length * np.sin(np.pi * i / lifter_length)


def derivative_row(width: int, order: int, deriv: int, position: int) -> np.ndarray:
    """Savitzky-Golay weights ``[shape=(width,)]``: the ``deriv``-th derivative at sample
    ``position`` of the degree-``order`` least-squares polynomial through ``width``
    samples (``scipy.signal.savgol_coeffs``'s fit, in sample order).

    >>> from jaxspec._melscale import derivative_row
    >>> derivative_row(5, 1, 1, 2).round(6) + 0.0  # (+ 0.0: a -1e-17 from pinv's BLAS rounds to -0.)
    array([-0.2, -0.1,  0. ,  0.1,  0.2])
    """
    if deriv > order:
        return np.zeros(width)
    t = np.arange(width, dtype=np.float64) - position
    vandermonde = t[:, None] ** np.arange(order + 1)[None, :]
    return math.factorial(deriv) * np.linalg.pinv(vandermonde)[deriv]


@_shared
def savgol_edges(n: int, width: int, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """librosa ``feature.delta(mode="interp")`` = ``savgol_filter(deriv=order, polyorder=order)``:
    the interior kernel ``[width]`` and the edge maps ``[half, width]`` (first and last
    ``half = width // 2`` outputs from the first and last ``width`` inputs). With
    ``n < width`` the whole signal is one fit: the "edge" map is ``[n, n]``."""
    if n < width:
        full = np.stack([derivative_row(n, min(order, n - 1), order, p) for p in range(n)])
        return np.zeros(0), full, full
    half = width // 2
    kernel = derivative_row(width, order, order, half)
    first = np.stack([derivative_row(width, order, order, p) for p in range(half)])
    last = np.stack([derivative_row(width, order, order, width - half + p) for p in range(half)])
    return kernel, first, last
