"""Resampling quality: jaxspec.resample against soxr, scipy and torchaudio, in decibels.

Three measurements per rate pair, all against exact float64 references:

- passband: the worst error of 20 tones from 20 Hz to 0.8 and to 0.9 x the lower Nyquist
  frequency (what jaxspec keeps; soxr's HQ and VHQ passbands end between the two at
  non-integer ratios), relative to the tone's power;
- stopband (downsampling): the worst power left of 20 tones from 1.01 x the target Nyquist
  frequency to 0.99 x the input's, relative to a full-scale tone's (aliasing);
- noise SNR: a periodic band-limited noise (content up to 0.9 x the lower Nyquist), evaluated
  exactly at both rates, plus as much noise again above the target Nyquist frequency when
  downsampling (it must vanish), against the exact band-limited signal at the target rate.

A quarter (SNR) or 0.05 s (tones) of each end is left out: every resampler ramps there.
Peers are optional (skipped when missing); torchaudio's `functional.resample` is its default
sinc (6 zero crossings, rolloff 0.99), scipy's `resample_poly` its default Kaiser window.

    python benchmarks/resample_quality.py            # about a minute
"""

from __future__ import annotations

import math
import os

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # torch spins on shared cores otherwise

PAIRS = [(44100, 16000), (48000, 16000), (48000, 44100), (22050, 16000), (8000, 16000), (16000, 44100)]


def _contenders() -> dict:
    import jaxspec

    out = {"jaxspec": lambda x, o, t: np.asarray(jaxspec.resample(x, o, t))}
    try:
        import soxr

        out["soxr HQ (librosa's default)"] = lambda x, o, t: soxr.resample(x.T, o, t, quality="HQ").T
        out["soxr VHQ"] = lambda x, o, t: soxr.resample(x.T, o, t, quality="VHQ").T
    except ImportError:
        print("soxr not installed: skipped")
    try:
        import scipy.signal

        def poly(x, o, t):
            g = math.gcd(o, t)
            return scipy.signal.resample_poly(x, t // g, o // g, axis=-1)

        out["scipy resample_poly"] = poly
    except ImportError:
        print("scipy not installed: skipped")
    try:
        import torch
        import torchaudio.functional

        torch.set_num_threads(1)
        out["torchaudio resample"] = lambda x, o, t: torchaudio.functional.resample(torch.from_numpy(x), o, t).numpy()
    except Exception as error:  # noqa: BLE001 - a CUDA build's extension that does not load
        print(f"torchaudio not usable: skipped ({type(error).__name__})")
    return out


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, np.float64)
    return y[..., :n] if y.shape[-1] >= n else np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n - y.shape[-1])])


def _db(num: float, den: float) -> float:
    return 10 * math.log10(max(num, 1e-300) / den)


def _tones(freqs: np.ndarray, n: int, rate: int) -> np.ndarray:
    return np.sin(2 * np.pi * freqs[:, None] * np.arange(n) / rate + 0.3)


def _band_limited(o: int, t: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A periodic noise with content up to 0.9 x the lower Nyquist frequency, exact at both rates
    (+ as much noise above the target's Nyquist frequency in the input, when downsampling)."""
    g = math.gcd(o, t)
    period = 2 * g  # 2 s: both rates have a whole number of samples in it
    n_o, n_t = o * period // g, t * period // g
    top = int(0.9 * min(o, t) / 2 * 2)  # bins of 0.5 Hz up to 0.9 x the lower Nyquist
    spectrum = rng.normal(size=top) + 1j * rng.normal(size=top)

    def at(n: int, s: np.ndarray, first: int = 1) -> np.ndarray:
        full = np.zeros(n // 2 + 1, complex)
        full[first : first + len(s)] = s
        return np.fft.irfft(full, n) * n

    x, ref = at(n_o, spectrum), at(n_t, spectrum)
    scale = 4 * np.std(x)
    x, ref = x / scale, ref / scale
    if t < o:
        first = int(t / 2 * 2) + 1
        above = rng.normal(size=n_o // 2 - first) + 1j * rng.normal(size=n_o // 2 - first)
        junk = at(n_o, above, first)
        x = x + junk * np.std(x) / np.std(junk)
    return x, ref


def measure(fn, o: int, t: int, rng_seed: int = 0) -> tuple[tuple[float, float], float | None, float]:
    n, count = o, -(-o * t // o)
    edge = int(0.05 * t)
    lower = min(o, t) / 2
    freqs = np.linspace(20, 0.9 * lower, 20)
    got = _fit(fn(_tones(freqs, n, o).astype(np.float32), o, t), count)
    want = _tones(freqs, count, t)
    inner = slice(edge, count - edge)
    errors = [_db(np.sum((g[inner] - w[inner]) ** 2), np.sum(w[inner] ** 2)) for g, w in zip(got, want, strict=True)]
    worst_pass = (max(e for e, f in zip(errors, freqs, strict=True) if f <= 0.8 * lower), max(errors))
    worst_stop = None
    if t < o:
        stop = _tones(np.linspace(1.01 * t / 2, 0.99 * o / 2, 20), n, o)
        left = _fit(fn(stop.astype(np.float32), o, t), count)
        worst_stop = max(_db(np.mean(y[inner] ** 2), 0.5) for y in left)
    x, ref = _band_limited(o, t, np.random.default_rng(rng_seed))
    y = _fit(fn(x[None].astype(np.float32), o, t), len(ref))[0]
    cut = len(ref) // 4
    snr = -_db(np.sum((y[cut:-cut] - ref[cut:-cut]) ** 2), np.sum(ref[cut:-cut] ** 2))
    return worst_pass, worst_stop, snr


def main() -> None:
    contenders = _contenders()
    head = "passband worst error (dB): to 0.8 / 0.9 x Nyquist | stopband worst (dB) | noise SNR (dB)"
    print(f"\n| pair | resampler | {head} |\n|---|---|---|---|---|")
    for o, t in PAIRS:
        for name, fn in contenders.items():
            passband, stop, snr = measure(fn, o, t)
            shown = "n/a (upsampling)" if stop is None else f"{stop:.1f}"
            print(f"| {o} -> {t} | {name} | {passband[0]:.1f} / {passband[1]:.1f} | {shown} | {snr:.1f} |", flush=True)


if __name__ == "__main__":
    main()
