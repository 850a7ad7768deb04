"""Prototype, not wired into jaxspec: faster resampling (half-band stages + grouped polyphase).

Measured on the shared 2-core CPU (10 s of audio, min of 40 interleaved runs): 44.1k -> 16k in
1.17 ms (jaxspec.resample 2.08 ms, soxr HQ 1.61 ms) and 48k -> 16k in 1.24 ms (2.25 / 1.46 ms),
with 132 / 127.5 dB (44.1k) and 129 / 129 dB (48k) SNR at 1 / 7 kHz and <= -121 dB stopband.

Why it is not in ``jaxspec/resample.py`` yet: streaming (``jaxspec/stream.py``) computes the
resampled signal block by block with the left/right context of the single-stage polyphase filter,
and must give the in-memory result (relative error < 1e-6); adopting this cascade means giving
streaming and long in-memory inputs one segmented path with this filter's alignment unit
(``scaled M * 2**stages`` input samples) and reach, plus chunking for long inputs (each phase
group copies windows about the size of the input). Its output differs from the current filter's
in the 7.2-8 kHz transition band (up to 0.03 on white noise), as expected of another filter.

    python benchmarks/resample_prototype.py      # speed and SNR against jaxspec.resample and soxr HQ
"""

from __future__ import annotations

import math
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxspec.resample import _resample as _resample_reference
from jaxspec.resample import output_length

_ATTENUATION_DB = 120.0  # final stage (sets the passband ripple and the stopband)
_HALFBAND_DB = 130.0  # half-band stages: their ripple adds to the final stage's
_PASSBAND = 0.9
_GROUP_COLS = 64  # phases per matrix product: narrower products run far below peak speed
_MAX_TABLE = 1 << 21
_HB_ROW = 32  # half-band outputs per matrix row
_HIGHEST = jax.lax.Precision.HIGHEST  # no-op on CPU; on GPUs it stops TF32/bf16 products (-40 dB)


class _Kaiser:
    """Kaiser-windowed sinc low-pass passing ``[0, fp]``, stopping ``[fs, 0.5]`` (cycles per input sample)."""

    def __init__(self, fp: float, fs: float, atten: float):
        self.cutoff = (fp + fs) / 2.0
        self.beta = 0.1102 * (atten - 8.7)
        self.half_width = int(math.ceil((atten - 7.95) / (14.36 * (fs - fp)) / 2.0)) + 1

    def __call__(self, t: np.ndarray) -> np.ndarray:
        k = self.half_width
        u = np.clip(t / k, -1.0, 1.0)
        window = np.i0(self.beta * np.sqrt(1.0 - u * u)) / np.i0(self.beta)
        h = 2.0 * self.cutoff * np.sinc(2.0 * self.cutoff * t) * window
        return np.where(np.abs(t) < k, h, 0.0)


# ---------------------------------------------------------------------------------------------- half-band stage


def _halfband_applies(rate: int, target: int) -> bool:
    """A half-band stage to ``rate / 2`` keeps ``[0, target / 2]`` and removes all that would alias below it."""
    return rate % 2 == 0 and rate > 2 * target


@lru_cache(maxsize=32)
def _halfband_taps(rate: int, target: int) -> np.ndarray:
    """``g[d-1] = h(2d - 1)``, d >= 1: the nonzero odd taps of the half-band filter (float64).

    Pass edge ``target / 2``, stop edge ``rate / 2 - target / 2`` (symmetric about ``rate / 4``),
    so the even taps are zero except ``h(0) = 1/2``.
    """
    fs = 0.5 - target / (2.0 * rate)
    kern = _Kaiser(0.5 - fs, fs, _HALFBAND_DB)
    t = 2.0 * np.arange(1, kern.half_width // 2 + 2) - 1.0
    g = kern(t)
    return g[g != 0.0]


def _halfband(x: jax.Array, rate: int, target: int) -> jax.Array:
    """``x [B, n]`` at ``rate`` -> ``[B, n1]`` at ``rate / 2``; sample ``i`` is the filtered input at ``2i``.

    ``y[i] = x[2i] / 2 + sum_d g[d] (x[2i - 2d + 1] + x[2i + 2d - 1])``. The odd-sample sum is a Toeplitz
    matrix product on rows of ``_HB_ROW`` outputs, split into products with consecutive rows (no window copy).
    It must be a matrix product: XLA would fuse an elementwise filter into every slice the next stage takes
    of it, recomputing it once per phase group (measured about 1.6x slower overall). ``n1`` covers the filter
    tail (``ceil(n / 2) + D``), rounded up to a multiple of ``_HB_ROW``.
    """
    g = _halfband_taps(rate, target)
    taps = len(g)
    row = _HB_ROW
    n = x.shape[-1]
    n1 = -(-(-(-n // 2) + taps) // row) * row
    rows = n1 // row
    kernel = np.concatenate([g[::-1], g])  # y[i] - x[2i]/2 = sum_j kernel[j] x[2(i - taps + j) + 1]
    blocks = -(-(row + 2 * taps - 1) // row)
    table = np.zeros((blocks * row, row), np.float32)
    for r in range(row):
        table[r : r + 2 * taps, r] = kernel
    pairs = jnp.pad(x, ((0, 0), (0, 2 * n1 - n))).reshape(x.shape[0], n1, 2)
    odd = jnp.pad(pairs[:, :, 1], ((0, 0), (taps, (blocks - 1) * row - taps)))
    grid = odd.reshape(x.shape[0], rows + blocks - 1, row)
    y = sum(
        jnp.einsum("bqu,ur->bqr", grid[:, j : j + rows], table[j * row : (j + 1) * row], precision=_HIGHEST)
        for j in range(blocks)
    )
    return 0.5 * pairs[:, :, 0] + y.reshape(x.shape[0], n1)


# ---------------------------------------------------------------------------------------------- polyphase stage


class _Geometry:
    """Phases ``L = s * up`` split into groups of consecutive phases; each group is one matrix product.

    Group ``g`` (phases ``[r0, r1)``) of row ``q`` reads ``W`` input samples from ``q*M + offset_g`` of the
    input padded with ``K - 1`` zeros in front. ``s`` is chosen so that ``W <= M``: the windows are then
    plain slices of the input reshaped to ``[rows, M]`` (no overlapping copies).
    """

    def __init__(self, up: int, down: int, kern: _Kaiser):
        k = kern.half_width
        scale = 1
        while True:
            L, M = scale * up, scale * down
            groups = max(1, round(L / _GROUP_COLS))
            bounds = [(g * L // groups, (g + 1) * L // groups) for g in range(groups)]
            offsets = [(r0 * M) // L for r0, _ in bounds]
            width = max(((r1 - 1) * M) // L - o + 2 * k for (_, r1), o in zip(bounds, offsets))
            if width <= M or L * width > _MAX_TABLE:
                break
            scale += 1
        self.L, self.M, self.K, self.width = L, M, k, width
        self.bounds, self.offsets = bounds, offsets
        self.fits = width <= M and L * width <= _MAX_TABLE
        self.tables = [
            kern(np.arange(r0, r1)[None, :] * M / L - o + k - 1 - np.arange(width)[:, None]).astype(np.float32)
            for (r0, r1), o in zip(bounds, offsets)
        ]


@lru_cache(maxsize=32)
def _geometry(rate: int, target: int) -> _Geometry:
    g = math.gcd(rate, target)
    nyquist = min(rate, target) / (2.0 * rate)
    return _Geometry(target // g, rate // g, _Kaiser(_PASSBAND * nyquist, nyquist, _ATTENUATION_DB))


def _polyphase(x: jax.Array, rate: int, target: int, n_out: int) -> jax.Array:
    """``x [B, n]`` -> ``[B, n_out]``, output ``j`` = filtered input at ``j * rate / target`` input samples."""
    geo = _geometry(rate, target)
    L, M, K, W = geo.L, geo.M, geo.K, geo.width
    rows = -(-n_out // L)
    batch = x.shape[0]
    span = (rows + 1) * M
    xpad = jnp.pad(x, ((0, 0), (K - 1, 0)))
    xpad = jnp.pad(xpad, ((0, 0), (0, max(0, span + M - xpad.shape[-1]))))
    outs = []
    for (r0, r1), offset, table in zip(geo.bounds, geo.offsets, geo.tables):
        windows = xpad[:, offset : offset + rows * M].reshape(batch, rows, M)[:, :, :W]
        outs.append(jnp.einsum("bqu,ur->bqr", windows, table, precision=_HIGHEST))
    return jnp.concatenate(outs, axis=2).reshape(batch, rows * L)[:, :n_out]


# ---------------------------------------------------------------------------------------------- entry point


def fast_applies(rate: int, target: int) -> bool:
    while _halfband_applies(rate, target):
        rate //= 2
    return rate != target and _geometry(rate, target).fits


@partial(jax.jit, static_argnums=(1, 2))
def resample_fast(x: jax.Array, orig_rate: int, target_rate: int) -> jax.Array:
    """Same contract as ``jaxspec.resample._resample`` (float32 ``[..., n]``, rates static)."""
    n = x.shape[-1]
    n_out = output_length(n, orig_rate, target_rate)
    if n == 0 or not fast_applies(orig_rate, target_rate):
        return _resample_reference(x, orig_rate, target_rate)
    batch = x.shape[:-1]
    y = x.reshape(-1, n)
    rate = orig_rate
    while _halfband_applies(rate, target_rate):
        y = _halfband(y, rate, target_rate)
        rate //= 2
    y = _polyphase(y, rate, target_rate, n_out)
    return y.reshape(*batch, n_out)


def _snr_db(fn, rate: int, target: int, freq: float) -> float:
    x = np.sin(2 * np.pi * freq * np.arange(rate) / rate).astype(np.float32)
    y = np.asarray(fn(x[None]))[0].astype(np.float64)
    ref = np.sin(2 * np.pi * freq * np.arange(y.size) / target)
    edge = int(0.05 * target)
    error = y[edge:-edge] - ref[edge:-edge]
    return -10 * np.log10(np.sum(error**2) / np.sum(ref[edge:-edge] ** 2))


def main() -> None:
    import time

    import jaxspec

    target = 16000
    for rate in (44100, 48000):
        contenders = {
            "jaxspec.resample": jax.jit(lambda x, rate=rate: jaxspec.resample(x, rate, target)),
            "prototype": jax.jit(lambda x, rate=rate: resample_fast(x, rate, target)),
        }
        x = np.random.default_rng(0).standard_normal((1, 10 * rate)).astype(np.float32)
        times = {name: [] for name in [*contenders, "soxr HQ"]}
        for fn in contenders.values():
            jax.block_until_ready(fn(x))
        try:
            import soxr
        except ImportError:
            soxr = None
            del times["soxr HQ"]
        for _ in range(30):
            for name, fn in contenders.items():
                start = time.perf_counter()
                jax.block_until_ready(fn(x))
                times[name].append(time.perf_counter() - start)
            if soxr is not None:
                start = time.perf_counter()
                soxr.resample(x[0], rate, target, quality="HQ")
                times["soxr HQ"].append(time.perf_counter() - start)
        for name, values in times.items():
            snr = ""
            if name in contenders:
                snrs = [_snr_db(contenders[name], rate, target, f) for f in (1000, 7000)]
                snr = f"SNR {snrs[0]:.1f} dB at 1 kHz, {snrs[1]:.1f} dB at 7 kHz"
            print(f"{rate} -> {target}  {name:17s} min {1e3 * min(values):.2f} ms  {snr}")


if __name__ == "__main__":
    main()
