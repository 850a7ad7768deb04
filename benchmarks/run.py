"""jaxspec against its peers: time, ratio and error vs a float64 NumPy reference (issue 6).

Each workload runs in its own fresh subprocess (so memory and compile caches are
isolated); inside it the contenders are warmed up, then timed interleaved over rounds
(the order rotates every round) and the min and median are reported. Peers are
optional: a contender whose package is missing is skipped with a note.

Workloads:
  W1     64 clips x 1 s at 16 kHz, default config (ws 400, hop 133, hann, power 2).
  W2     one 10-minute clip at 16 kHz; plus the peak extra RSS of jaxspec in a fresh process.
  W3     resample 10 s 44.1 kHz -> 16 kHz and 48 kHz -> 16 kHz; SNR on 1 kHz and 7 kHz sines.
  W4     augment (volume, white noise, time shift, 0.3 s impulse response) + spectrogram, 64 x 1 s.
  W5a-c  the presets vs the libraries they reproduce (Whisper 8 x 30 s, Kaldi fbank 64 x 3 s,
         librosa's default mel 64 x 1 s); run by --peer-python, an environment with the peers.
  W6     a ragged corpus (1000 clips, 0.5-6 s): encode_batch cold / warm, keyless and augmented,
         vs a per-clip librosa/NumPy + audiomentations loop, and the CLI's files/s (benchmarks/corpus.py).
  first  the first call (trace + compile + run) of W1 in a fresh process.

Usage::

    python benchmarks/run.py                  # everything (several minutes on 2 cores)
    python benchmarks/run.py --quick          # a smoke test
    python benchmarks/run.py --only W1,first --json out.json
    python benchmarks/run.py --only W5,W6 --peer-python /path/to/peers/venv/bin/python
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SAMPLE_RATE = 16000
WINDOW, HOP = 400, 133  # the default config at 16 kHz
BATCH = 64
LONG_SECONDS = 600
IR_SECONDS = 0.3
TORCH_THREADS = int(os.environ.get("BENCH_TORCH_THREADS", 0)) or (
    len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
)  # one per usable core, as XLA and scipy.fft(workers=-1) use them; $BENCH_TORCH_THREADS overrides
WORKLOADS = ("W1", "W2", "W3", "W4", "W5a", "W5b", "W5c", "W6", "first")
ALIASES = {"W5": ("W5a", "W5b", "W5c")}
ROUNDS = {"W1": 30, "W2": 7, "W3": 20, "W4": 15, "W5a": 7, "W5b": 9, "W5c": 15, "W6": 3, "first": 5}
QUICK_ROUNDS = {"W1": 3, "W2": 2, "W3": 3, "W4": 3, "W5a": 2, "W5b": 2, "W5c": 3, "W6": 1, "first": 1}
TITLES = {
    "W1": f"W1: spectrogram of {BATCH} clips x 1 s at 16 kHz (ws {WINDOW}, hop {HOP}, hann, power 2)",
    "W2": f"W2: spectrogram of one {LONG_SECONDS // 60}-minute clip at 16 kHz",
    "W3": "W3: resample 10 s to 16 kHz",
    "W4": f"W4: augment (volume, noise, shift, {IR_SECONDS} s IR) + spectrogram, {BATCH} x 1 s",
    "W5a": "W5a: Whisper features (presets.whisper(), n_mels 80) of 8 clips x 30 s at 16 kHz",
    "W5b": "W5b: Kaldi fbank (presets.kaldi_fbank(), 23 bins, defaults) of 64 clips x 3 s, int16-scale floats",
    "W5c": "W5c: librosa default melspectrogram (presets.librosa_melspectrogram(sr=16000)) of 64 clips x 1 s",
    "W6": "W6: a ragged corpus, 1000 clips of distinct lengths 0.5-6 s at 16 kHz (benchmarks/corpus.py)",
    "first": "First call (trace + compile + run) of W1 in a fresh process",
}


# ============================================================== float64 references
def hann(size: int) -> np.ndarray:
    """Periodic Hann window, float64 ``[shape=(size,)]`` (as ``scipy.signal.get_window``)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(size) / size)


def num_frames(length: int, hop: int = HOP) -> int:
    """``ceil(L / hop)``: the frame count of SPEC section 3."""
    return -(-length // hop)


def padded_length(length: int, window: int = WINDOW, hop: int = HOP) -> int:
    """Samples that hold all ``ceil(L / hop)`` frames: ``(n - 1) * hop + window``."""
    return (num_frames(length, hop) - 1) * hop + window


def pad_end(x: np.ndarray, length: int) -> np.ndarray:
    """Zero-pads or trims the last axis of ``x`` to ``length``."""
    if x.shape[-1] >= length:
        return x[..., :length]
    return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, length - x.shape[-1])])


def reference_spectrogram(x: np.ndarray, window: int = WINDOW, hop: int = HOP, block: int = 4096) -> np.ndarray:
    """SPEC section 3 in float64: ``|rfft(w * frame)|**2``, ``[..., n, window // 2 + 1]``.

    Frames are gathered ``block`` at a time so a 10-minute clip stays within ~100 MB.
    """
    n = num_frames(x.shape[-1], hop)
    x = pad_end(np.asarray(x, np.float64), padded_length(x.shape[-1], window, hop))
    w = hann(window)
    out = np.empty(x.shape[:-1] + (n, window // 2 + 1))
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        spectrum = np.fft.rfft(x[..., rows[:, None] * hop + np.arange(window)] * w, axis=-1)
        out[..., rows, :] = spectrum.real**2 + spectrum.imag**2
    return out


def relative_error(out: Any, ref: np.ndarray) -> float:
    """``||out - ref|| / ||ref||`` in float64."""
    out = np.asarray(out, np.float64)
    if out.shape != ref.shape:
        raise ValueError(f"shape {out.shape} differs from the reference's {ref.shape}")
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


def snr_db(y: Any, frequency: float, rate: int, margin: float = 0.05) -> float:
    """SNR of ``y`` vs ``sin(2 pi f j / rate)`` in dB, skipping ``margin`` seconds at each end."""
    y = np.asarray(y, np.float64)
    j = np.arange(int(margin * rate), y.shape[-1] - int(margin * rate))
    exact = np.sin(2.0 * np.pi * frequency * j / rate)
    return float(10.0 * np.log10(np.sum(exact**2) / np.sum((y[j] - exact) ** 2)))


def shift_zero_fill(x: np.ndarray, samples: int) -> np.ndarray:
    """``x`` delayed by ``samples`` (negative = earlier), zeros entering, length kept."""
    out = np.zeros_like(x)
    if samples >= 0:
        out[samples:] = x[: x.shape[0] - samples]
    else:
        out[:samples] = x[-samples:]
    return out


def reference_augment(x: np.ndarray, ir: np.ndarray, drawn: dict[str, Any]) -> np.ndarray:
    """Convolution -> noise -> shift -> gain in float64 with given drawn values.

    ``drawn``: ``mix``, ``ir_scale`` (audiomentations' peak normalization, else 1),
    ``noise`` (the added noise samples), ``shift`` (samples), ``gain``.
    """
    import scipy.signal

    x = np.asarray(x, np.float64)
    wet = scipy.signal.fftconvolve(x, np.asarray(ir, np.float64))
    wet = wet * drawn.get("ir_scale_of", lambda full: 1.0)(wet)
    y = (1.0 - drawn["mix"]) * x + drawn["mix"] * wet[: x.shape[0]]
    y = y + np.asarray(drawn["noise"], np.float64)
    return drawn["gain"] * shift_zero_fill(y, int(drawn["shift"]))


# ============================================================== timing
class Contender:
    """A named callable to time: one formulation of one contender.

    ``name`` is the contender (a peer, or jaxspec); ``formulation`` says how this
    candidate computes it (a peer has several, all timed in the same interleaved run;
    its table row reports the fastest that computes the same numbers). ``run()`` is the
    timed call; ``result(out)`` maps its output to what the error is computed from;
    ``apply(x)`` (resampling only) runs the same work on another input.
    """

    def __init__(
        self,
        name: str,
        run: Callable[[], Any],
        result: Callable[[Any], Any] = np.asarray,
        note: str = "",
        apply: Callable[[np.ndarray], Any] | None = None,
        formulation: str = "",
    ):
        self.name, self.run, self.result, self.note, self.apply = name, run, result, note, apply
        self.formulation = formulation

    @property
    def key(self) -> str:
        """Unique within a workload: the contender and its formulation."""
        return f"{self.name} | {self.formulation}" if self.formulation else self.name


def interleaved(contenders: list[Contender], rounds: int, warmup: int = 2) -> dict[str, list[float]]:
    """Seconds per call of each contender, timed round-robin (rotating order) after ``warmup`` calls.

    As ``timeit`` does, the garbage collector is off while a round runs and collects
    between rounds: a collection right before each call would time a cold cache after
    a walk over the whole heap, which is no contender's normal state.
    """
    for c in contenders:
        for _ in range(warmup):
            c.run()
    times: dict[str, list[float]] = {c.key: [] for c in contenders}
    for r in range(rounds):
        shift = r % len(contenders)
        gc.collect()
        gc.disable()
        try:
            for c in contenders[shift:] + contenders[:shift]:
                start = time.perf_counter()
                c.run()
                times[c.key].append(time.perf_counter() - start)
        finally:
            gc.enable()
    return times


def available(contenders: list[tuple[str, Callable[[], Any]]]) -> tuple[list[Contender], list[str]]:
    """Builds each contender; a missing package becomes a note instead of a failure."""
    built, notes = [], []
    for name, make in contenders:
        try:
            made = make()
        except ImportError as error:
            notes.append(f"{name}: skipped ({error.name or error} not installed)")
            continue
        built.extend(made if isinstance(made, list) else [made])
    return built, notes


def row_of(c: Contender, **fields: Any) -> dict[str, Any]:
    return {"name": c.name, "formulation": c.formulation, "key": c.key, "note": c.note, **fields}


def measure(contenders: list[Contender], rounds: int, error: Callable[[Any], float]) -> list[dict[str, Any]]:
    """Times ``contenders`` interleaved; the error of each from one extra call."""
    rows = [row_of(c, error=error(c.result(c.run()))) for c in contenders]
    times = interleaved(contenders, rounds)
    for row in rows:
        row["times"] = times[row["key"]]
    return rows


# ============================================================== contenders
def set_torch_threads() -> Any:
    """Imports torch with ``TORCH_THREADS`` threads (``OMP_WAIT_POLICY=PASSIVE`` is set for workers)."""
    import torch

    torch.set_num_threads(TORCH_THREADS)
    return torch


def numpy_power(spectrum: np.ndarray) -> np.ndarray:
    """``re**2 + im**2`` in one output buffer (the fastest NumPy |X|**2 measured)."""
    out = np.square(spectrum.real)
    out += np.square(spectrum.imag)
    return out


def numpy_spectrogram(
    x: np.ndarray, workers: int = -1, dtype: Any = np.float32, framing: str = "strided"
) -> np.ndarray:
    """NumPy framing + ``scipy.fft.rfft``; ``[..., n, bins]``.

    ``framing``: ``"strided"`` (a ``sliding_window_view`` every ``HOP``) or ``"index"``
    (a gather with an ``[n, WINDOW]`` index array). ``dtype`` is the FFT's precision.
    """
    import scipy.fft
    from numpy.lib.stride_tricks import sliding_window_view

    xp = pad_end(x.astype(dtype, copy=False), padded_length(x.shape[-1]))
    if framing == "strided":
        framed = sliding_window_view(xp, WINDOW, axis=-1)[..., ::HOP, :]
    else:
        framed = xp[..., np.arange(num_frames(x.shape[-1]))[:, None] * HOP + np.arange(WINDOW)]
    spectrum = scipy.fft.rfft(framed * hann(WINDOW).astype(dtype), axis=-1, workers=workers)
    return numpy_power(spectrum)


def numpy_fft_spectrogram(x: np.ndarray) -> np.ndarray:
    """As ``numpy_spectrogram`` with ``numpy.fft.rfft`` (single-threaded pocketfft)."""
    from numpy.lib.stride_tricks import sliding_window_view

    xp = pad_end(x, padded_length(x.shape[-1]))
    framed = sliding_window_view(xp, WINDOW, axis=-1)[..., ::HOP, :]
    return numpy_power(np.fft.rfft(framed * hann(WINDOW).astype(np.float32), axis=-1))


TO_NATIVE = "output [..., bins, n]"


def bins_last(out: Any) -> np.ndarray:
    """``[..., bins, n]`` (librosa's, torch's, scipy.signal's layout) -> ``[..., n, bins]`` for the error."""
    out = out.cpu().numpy() if hasattr(out, "cpu") else np.asarray(out)
    return np.swapaxes(out, -1, -2)


BLOCKS = (512, 2048)  # frames per block of the blocked formulations of one long signal (W2)


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_POOLS: dict[int, Any] = {}


def thread_map(fn: Callable[[Any], Any], items: list, threads: int | None = None) -> list:
    """``[fn(item) for item in items]`` on ``threads`` threads (default: one per core), each
    taking a contiguous share of the items, from a pool kept across calls: the threaded form
    of a peer's loop (NumPy, SciPy and torch release the GIL in their kernels), as jaxspec's
    own calls run on worker threads."""
    from concurrent.futures import ThreadPoolExecutor

    threads = threads or cores()
    pool = _POOLS.get(threads) or _POOLS.setdefault(threads, ThreadPoolExecutor(threads, thread_name_prefix="peer"))
    share = -(-len(items) // threads) if items else 1
    parts = pool.map(
        lambda part: [fn(item) for item in part], [items[i : i + share] for i in range(0, len(items), share)]
    )
    return [out for part in parts for out in part]


def numpy_blocked(x: np.ndarray, block: int, workers: int = 1, threaded: bool = False) -> np.ndarray:
    """One long signal in blocks of ``block`` frames (strided view, ``scipy.fft.rfft(workers=workers)``,
    |X|^2 into a preallocated output): the frames of a block stay in cache, as jaxspec's loop does.
    ``threaded``: the blocks shared among one thread per core (``thread_map``)."""
    import scipy.fft
    from numpy.lib.stride_tricks import sliding_window_view

    framed = sliding_window_view(pad_end(x, padded_length(x.shape[-1])), WINDOW)[::HOP]
    window = hann(WINDOW).astype(np.float32)
    out = np.empty((framed.shape[0], WINDOW // 2 + 1), np.float32)

    def one(start: int) -> None:
        spectrum = scipy.fft.rfft(framed[start : start + block] * window, workers=workers)
        part = out[start : start + block]
        np.square(spectrum.real, out=part)
        part += np.square(spectrum.imag)

    starts = list(range(0, framed.shape[0], block))
    if threaded:
        thread_map(one, starts)
    else:
        for start in starts:
            one(start)
    return out


def numpy_contenders(x: np.ndarray) -> list[Contender]:
    """numpy + scipy.fft formulations: strided vs index framing, workers, float32 vs float64, numpy.fft;
    for one long signal also blocks of frames."""
    import scipy  # noqa: F401

    peer = "numpy + scipy.fft"
    blocked = [
        Contender(
            peer, lambda b=b: numpy_blocked(x, b), formulation=f"blocks of {b} frames, scipy.fft.rfft(workers=1), f32"
        )
        for b in BLOCKS
        if x.ndim == 1
    ]
    if x.ndim == 1:
        blocked.append(
            Contender(
                peer,
                lambda: numpy_blocked(x, BLOCKS[-1], -1),
                formulation=f"blocks of {BLOCKS[-1]} frames, scipy.fft.rfft(workers=-1), f32",
            )
        )
        blocked += [
            Contender(
                peer,
                lambda b=b: numpy_blocked(x, b, threaded=True),
                formulation=f"blocks of {b} frames on {cores()} threads, scipy.fft.rfft(workers=1), f32",
            )
            for b in BLOCKS
        ]
    return blocked + [
        Contender(
            peer, lambda: numpy_spectrogram(x, -1), formulation="strided frames, scipy.fft.rfft(workers=-1), f32"
        ),
        Contender(peer, lambda: numpy_spectrogram(x, 1), formulation="strided frames, scipy.fft.rfft(workers=1), f32"),
        Contender(
            peer,
            lambda: numpy_spectrogram(x, -1, np.float64),
            formulation="strided frames, scipy.fft.rfft(workers=-1), f64",
        ),
        Contender(
            peer,
            lambda: numpy_spectrogram(x, -1, framing="index"),
            formulation="index gather, scipy.fft.rfft(workers=-1), f32",
        ),
        Contender(peer, lambda: numpy_fft_spectrogram(x), formulation="strided frames, numpy.fft.rfft, f32"),
    ]


def scipy_signal_contenders(x: np.ndarray) -> list[Contender]:
    """``scipy.signal.ShortTimeFFT.spectrogram`` and the legacy ``scipy.signal.stft`` on the same frames."""
    import scipy.signal

    n = num_frames(x.shape[-1])
    window = hann(WINDOW).astype(np.float32)
    sft = scipy.signal.ShortTimeFFT(window, HOP, SAMPLE_RATE, fft_mode="onesided", mfft=WINDOW, scale_to=None)
    # k_offset = the window's middle: slice p covers x[p * HOP : p * HOP + WINDOW], zeros past the end.
    short_time = lambda: sft.spectrogram(x, p0=0, p1=n, k_offset=sft.m_num_mid)

    def legacy() -> np.ndarray:
        xp = pad_end(x, padded_length(x.shape[-1]))
        _, _, z = scipy.signal.stft(
            xp, window=window, nperseg=WINDOW, noverlap=WINDOW - HOP, boundary=None, padded=False, detrend=False
        )
        return numpy_power(z) * np.float32(window.sum() ** 2)  # undo its 1 / sum(window) scaling

    peer = "scipy.signal"
    return [
        Contender(peer, short_time, bins_last, TO_NATIVE, formulation="ShortTimeFFT.spectrogram(p0=0, p1=n, k_offset)"),
        Contender(
            peer, legacy, bins_last, TO_NATIVE, formulation="scipy.signal.stft(boundary=None, padded=False), rescaled"
        ),
    ]


def librosa_contenders(x: np.ndarray) -> list[Contender]:
    """``librosa.stft(center=False)`` on the padded batch at once or clip by clip; |X|^2 by ``abs2`` or re^2 + im^2."""
    import librosa

    stft = lambda xp: librosa.stft(xp, n_fft=WINDOW, hop_length=HOP, window="hann", center=False)
    padded = lambda: pad_end(x, padded_length(x.shape[-1]))
    peer = "librosa.stft"
    out = [
        Contender(
            peer, lambda: librosa.util.abs2(stft(padded())), bins_last, TO_NATIVE, formulation="batched, util.abs2"
        ),
        Contender(peer, lambda: numpy_power(stft(padded())), bins_last, TO_NATIVE, formulation="batched, re² + im²"),
    ]
    if x.ndim == 2:
        looped = lambda: np.stack([librosa.util.abs2(stft(row)) for row in padded()])
        out.append(Contender(peer, looped, bins_last, TO_NATIVE, formulation="looped over clips, util.abs2"))
    return out


def torch_contenders(
    x: np.ndarray, device: str = "cpu", sync: Callable[[], None] = lambda: None, looped: bool = True
) -> list[Contender]:
    """``torch.stft`` formulations on ``device``: |X|^2 forms x grad mode / ``inference_mode``, unfold + rfft, looped.

    The input is a torch tensor on ``device`` before the clock starts (as jaxspec's is a
    device array); the zero-padding to the frames' span is timed, as jaxspec's is.
    """
    torch = set_torch_threads()
    window = torch.hann_window(WINDOW, device=device)
    xt = torch.from_numpy(x).to(device)
    extra = padded_length(x.shape[-1]) - x.shape[-1]
    pad = lambda t: torch.nn.functional.pad(t, (0, extra))
    stft = lambda t: torch.stft(t, WINDOW, HOP, WINDOW, window, center=False, return_complex=True)

    def vr_index(s: Any) -> Any:
        r = torch.view_as_real(s)
        return r[..., 0] ** 2 + r[..., 1] ** 2

    def vr_addcmul(s: Any) -> Any:
        r = torch.view_as_real(s)
        out = r[..., 0].square()
        return out.addcmul_(r[..., 1], r[..., 1])

    powers = {
        "view_as_real().square().sum(-1)": lambda s: torch.view_as_real(s).square().sum(-1),
        "view_as_real: r[...,0]**2 + r[...,1]**2": vr_index,
        "view_as_real: square + addcmul_": vr_addcmul,
        ".real**2 + .imag**2": lambda s: s.real**2 + s.imag**2,
        "abs().square()": lambda s: s.abs().square(),
    }

    def timed(fn: Callable[[], Any], inference: bool) -> Callable[[], Any]:
        def run() -> Any:
            if inference:
                with torch.inference_mode():
                    out = fn()
            else:
                out = fn()
            sync()
            return out

        return run

    peer = f"torch.stft ({device})" if device != "cpu" else "torch.stft"
    note = f"{TORCH_THREADS} threads, {TO_NATIVE}" if device == "cpu" else TO_NATIVE
    out = []
    for inference in (False, True):
        for name, power in powers.items():
            label = ("inference_mode, " if inference else "") + name
            out.append(
                Contender(peer, timed(lambda p=power: p(stft(pad(xt))), inference), bins_last, note, formulation=label)
            )

    def unfold() -> Any:
        s = torch.fft.rfft(pad(xt).unfold(-1, WINDOW, HOP) * window)
        return s.real**2 + s.imag**2

    out.append(
        Contender(
            peer,
            timed(unfold, True),
            lambda o: o.cpu().numpy(),
            note.replace(TO_NATIVE, "output [..., n, bins]"),
            formulation="inference_mode, unfold + torch.fft.rfft, .real**2 + .imag**2",
        )
    )

    def blocked(block: int) -> Any:
        framed = pad(xt).unfold(-1, WINDOW, HOP)  # a view [n, WINDOW]
        result = torch.empty((framed.shape[0], WINDOW // 2 + 1), device=device)
        for start in range(0, framed.shape[0], block):
            r = torch.view_as_real(torch.fft.rfft(framed[start : start + block] * window))
            torch.mul(r[..., 0], r[..., 0], out=result[start : start + block])
            result[start : start + block].addcmul_(r[..., 1], r[..., 1])
        return result

    if x.ndim == 1:
        for b in BLOCKS:
            out.append(
                Contender(
                    peer,
                    timed(lambda b=b: blocked(b), True),
                    lambda o: o.cpu().numpy(),
                    note.replace(TO_NATIVE, "output [..., n, bins]"),
                    formulation=f"inference_mode, blocks of {b} frames: unfold + torch.fft.rfft, square + addcmul_",
                )
            )
    if x.ndim == 2 and looped:
        loop = lambda: torch.stack([vr_index(stft(row)) for row in pad(xt)])
        out.append(
            Contender(
                peer,
                timed(loop, True),
                bins_last,
                note,
                formulation="inference_mode, looped over clips, r[...,0]**2 + r[...,1]**2",
            )
        )
    return out


def spectrogram_contenders(x: np.ndarray) -> tuple[list[Contender], list[str]]:
    """jaxspec (jitted, input already a device array) and every formulation of each STFT peer on ``x [..., L]``."""

    def make_jaxspec() -> list[Contender]:
        import jax

        import jaxspec

        fn, config, xj = jax.jit(jaxspec.spectrogram), jaxspec.SpectrogramConfig(), jax.device_put(x)
        return [
            Contender("jaxspec (jit)", lambda: fn(config, xj).block_until_ready(), formulation="jax.jit(spectrogram)"),
            Contender(
                "jaxspec (eager call)",
                lambda: jaxspec.spectrogram(config, xj).block_until_ready(),
                note="not a peer: the public call (host checks and dispatch included)",
                formulation="spectrogram(config, x)",
            ),
        ]

    return available(
        [
            ("jaxspec", make_jaxspec),
            ("numpy+scipy", lambda: numpy_contenders(x)),
            ("scipy.signal", lambda: scipy_signal_contenders(x)),
            ("librosa", lambda: librosa_contenders(x)),
            ("torch", lambda: torch_contenders(x)),
        ]
    )


def test_signal(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Band-limited-ish noise, float32, peak about 0.5 (a fixed seed)."""
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)


# ============================================================== workloads (run in workers)
def workload_spectrogram(x: np.ndarray, rounds: int) -> dict[str, Any]:
    ref = reference_spectrogram(x)
    contenders, notes = spectrogram_contenders(x)
    return {"rows": measure(contenders, rounds, lambda out: relative_error(out, ref)), "notes": notes}


def worker_w1(rounds: int) -> dict[str, Any]:
    return workload_spectrogram(test_signal((BATCH, SAMPLE_RATE)), rounds)


def worker_w2(rounds: int) -> dict[str, Any]:
    return workload_spectrogram(test_signal((LONG_SECONDS * SAMPLE_RATE,)), rounds)


def current_rss() -> int:
    """Resident set size of this process in bytes (psutil, else /proc)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def max_rss() -> int:
    """Peak RSS of this process so far in bytes (``ru_maxrss``, KiB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RssSampler:
    """Samples the RSS every ``interval`` seconds in a thread; ``peak`` is the largest seen."""

    def __init__(self, interval: float = 0.001):
        self.interval, self.peak, self._stop = interval, current_rss(), threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, current_rss())
            time.sleep(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss())


def worker_w2rss(rounds: int) -> dict[str, Any]:
    """Peak extra RSS of jitted jaxspec on the 10-minute clip, in a fresh process."""
    import jax
    import jax.numpy as jnp

    import jaxspec

    config = jaxspec.SpectrogramConfig()
    x = jnp.asarray(test_signal((LONG_SECONDS * SAMPLE_RATE,))).block_until_ready()
    gc.collect()
    base = current_rss()
    fn = jax.jit(jaxspec.spectrogram)
    with RssSampler() as first:
        out = fn(config, x).block_until_ready()
    first_upper = max_rss() - base  # an upper bound: ru_maxrss may hold an earlier peak
    out_bytes = out.nbytes
    del out
    gc.collect()
    base2 = current_rss()
    with RssSampler() as steady:
        fn(config, x).block_until_ready()
    return {
        "input_bytes": x.nbytes,
        "output_bytes": out_bytes,
        "first_call_extra": first.peak - base,
        "first_call_extra_maxrss": first_upper,
        "steady_call_extra": steady.peak - base2,
    }


def sines_at(rate: int, seconds: int = 10) -> dict[float, np.ndarray]:
    """Exact 1 kHz and 7 kHz sines at ``rate``, float32 ``[seconds * rate]``."""
    t = np.arange(seconds * rate) / rate
    return {f: np.sin(2.0 * np.pi * f * t).astype(np.float32) for f in (1000.0, 7000.0)}


def resample_rows(
    contenders: list[Contender],
    sines: dict[float, np.ndarray],
    label: str,
    rounds: int,
    output: Callable[[Contender, np.ndarray], np.ndarray] = lambda c, x: c.result(c.apply(x)),
) -> list[dict[str, Any]]:
    """Times resampling ``contenders`` interleaved; each one's SNR on every sine (``output`` picks a signal)."""
    snrs = {c.key: {f: snr_db(output(c, x), f, SAMPLE_RATE) for f, x in sines.items()} for c in contenders}
    times = interleaved(contenders, rounds)
    return [
        {
            **row_of(c),
            "rate": label,
            "times": times[c.key],
            "snr_1k": snrs[c.key][1000.0],
            "snr_7k": snrs[c.key][7000.0],
        }
        for c in contenders
    ]


def worker_w3(rounds: int) -> dict[str, Any]:
    rows, notes = [], []
    for orig in (44100, 48000):
        sines = sines_at(orig)
        contenders, notes = resample_contenders(sines, orig)
        rows += resample_rows(contenders, sines, f"{orig / 1000:g}k -> 16k", rounds)
    return {"rows": rows, "notes": notes}


def resample_contenders(sines: dict[float, np.ndarray], orig: int) -> tuple[list[Contender], list[str]]:
    """jaxspec.resample, soxr HQ/VHQ, resample_poly; timed on the 1 kHz sine."""
    x = sines[1000.0]

    def contender(name: str, fn: Callable[[np.ndarray], Any], note: str = "") -> Contender:
        return Contender(name, lambda: fn(x), note=note, apply=fn)

    def make_jaxspec() -> Contender:
        import jaxspec

        return contender("jaxspec.resample", lambda s: jaxspec.resample(s, orig, SAMPLE_RATE).block_until_ready())

    def make_soxr() -> list[Contender]:
        import soxr

        return [
            contender(f"soxr {q}", lambda s, q=q: soxr.resample(s, orig, SAMPLE_RATE, quality=q)) for q in ("HQ", "VHQ")
        ]

    def make_poly() -> Contender:
        import scipy.signal

        g = math.gcd(orig, SAMPLE_RATE)
        up, down = SAMPLE_RATE // g, orig // g
        return contender(
            "scipy resample_poly", lambda s: scipy.signal.resample_poly(s, up, down), f"{up}/{down}, kaiser 5.0"
        )

    return available([("jaxspec", make_jaxspec), ("soxr", make_soxr), ("scipy", make_poly)])


def impulse_response(seed: int = 1) -> np.ndarray:
    """A room-like 0.3 s impulse response: a direct path then decaying noise, float32."""
    rng = np.random.default_rng(seed)
    n = int(IR_SECONDS * SAMPLE_RATE)
    h = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.06 * SAMPLE_RATE)) * 0.3
    h[0] = 1.0
    return (h / np.sqrt(np.sum(h**2))).astype(np.float32)


def worker_w4(rounds: int) -> dict[str, Any]:
    x, ir = test_signal((BATCH, SAMPLE_RATE)), impulse_response()
    contenders, notes = augment_contenders(x, ir)
    rows = []
    for c in contenders:
        out, drawn = c.result(c.run())  # the augmented batch's spectrogram and the values drawn for it
        ref = np.stack([reference_spectrogram(reference_augment(x[i], ir, d)) for i, d in enumerate(drawn)])
        rows.append(row_of(c, error=relative_error(out, ref)))
    times = interleaved(contenders, rounds)
    for row in rows:
        row["times"] = times[row["key"]]
    return {"rows": rows, "notes": notes}


def augment_contenders(x: np.ndarray, ir: np.ndarray) -> tuple[list[Contender], list[str]]:
    """jaxspec (one jit call, batch + key) vs Python loops over audiomentations.

    Each contender's ``result`` returns ``(spectrogram, drawn values per example)``
    for ``reference_augment``; the timed ``run`` is the plain call.
    """

    def make_jaxspec() -> Contender:
        import jax

        import jaxspec

        augmentation = jaxspec.Augmentation(
            volume=(0.5, 1.5), noise=0.01, time_shift=(-0.1, 0.1), convolution=jaxspec.Convolution(ir, mix=1.0)
        )
        config = jaxspec.SpectrogramConfig(augmentation=augmentation)
        fn, xj = jax.jit(jaxspec.spectrogram), jax.device_put(x)
        keys = iter(jax.random.split(jax.random.key(0), 10_000))
        first_key = jax.random.key(1234)

        def drawn_values() -> list[dict[str, Any]]:
            # The documented key rule: example i uses split(key, B)[i]; white noise uses
            # fold_in(fold_in(key_i, NOISE=1), WHITE=2) and threefry_2x32 of the sample indices.
            values = []
            for k in jax.random.split(first_key, x.shape[0]):
                d = jaxspec.draw(config, k, x.shape[1])
                noise_key = jax.random.fold_in(jax.random.fold_in(k, 1), 2)
                white = jaxspec.augmentation.white_noise(noise_key, x.shape[1])
                values.append(
                    {
                        "mix": float(d["convolution_mix"]),
                        "gain": float(d["volume_gain"]),
                        "shift": int(d["time_shift_samples"]),
                        "noise": float(d["noise_amplitude"]) * np.asarray(white, np.float64),
                    }
                )
            return values

        return Contender(
            "jaxspec (jit, batch + key)",
            lambda: fn(config, xj, next(keys)).block_until_ready(),
            lambda _: (np.asarray(fn(config, xj, first_key)), drawn_values()),
            formulation="jax.jit(spectrogram)",
        )

    def spectrogram_backends() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """The peers' spectrogram of an augmented batch: NumPy, and W1's fastest torch form."""
        spectrograms = {"numpy + scipy.fft spectrogram": numpy_spectrogram}
        try:
            torch = set_torch_threads()
            window = torch.hann_window(WINDOW)

            def torch_spectrogram(batch: np.ndarray) -> np.ndarray:
                # the fastest torch formulation of W1 (see spectrogram_contenders)
                with torch.inference_mode():
                    xt = torch.nn.functional.pad(
                        torch.from_numpy(batch), (0, padded_length(batch.shape[-1]) - batch.shape[-1])
                    )
                    r = torch.view_as_real(
                        torch.stft(xt, WINDOW, HOP, WINDOW, window, center=False, return_complex=True)
                    )
                    return np.swapaxes((r[..., 0] ** 2 + r[..., 1] ** 2).numpy(), -1, -2)

            spectrograms["torch.stft spectrogram"] = torch_spectrogram
        except ImportError:
            pass
        return spectrograms

    def make_numpy_batched() -> list[Contender]:
        """The four stages written by hand over the whole batch (the clips have one length): the
        convolution as one batched rfft product (the IR's spectrum made once), float32 Gaussian
        noise, a zero-filled shift and a gain per clip, drawn from a NumPy Generator (an audit:
        the per-clip loops alone left this faster formulation out)."""
        import scipy.fft

        batch, length = x.shape
        size = scipy.fft.next_fast_len(length + ir.shape[0] - 1, real=True)
        spectrum = scipy.fft.rfft(np.asarray(ir, np.float32), size)
        rng = np.random.default_rng(0)

        def augmented(record: list | None = None) -> np.ndarray:
            wet = scipy.fft.rfft(x, size, axis=-1, workers=-1) * spectrum
            y = scipy.fft.irfft(wet, size, axis=-1, workers=-1)[:, :length].astype(np.float32)
            noise = np.float32(0.01) * rng.standard_normal((batch, length), dtype=np.float32)
            y += noise
            shifts = np.round(rng.uniform(-0.1, 0.1, batch) * SAMPLE_RATE).astype(int)
            gains = rng.uniform(0.5, 1.5, batch).astype(np.float32)
            out = np.stack([shift_zero_fill(row, int(s)) for row, s in zip(y, shifts, strict=True)])
            out *= gains[:, None]
            if record is not None:
                for i in range(batch):
                    record.append({"mix": 1.0, "noise": noise[i], "shift": int(shifts[i]), "gain": float(gains[i])})
            return out.astype(np.float32)

        def instrumented(spectrogram: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, list[dict[str, Any]]]:
            values: list[dict[str, Any]] = []
            return spectrogram(augmented(values)), values

        return [
            Contender(
                "NumPy by hand, batched",
                lambda spec=spec: spec(augmented()),
                lambda _, spec=spec: instrumented(spec),
                "batched rfft convolution (workers=-1), Generator noise, slice shift, gain",
                formulation=label,
            )
            for label, spec in spectrogram_backends().items()
        ]

    def make_augmentations(with_ir_transform: bool) -> list[Contender]:
        import audiomentations as am
        import scipy.signal

        gains_db = (20.0 * math.log10(0.5), 20.0 * math.log10(1.5))
        ir_file = Path(tempfile.mkdtemp()) / "ir.wav"
        if with_ir_transform:
            import soundfile

            soundfile.write(ir_file, ir, SAMPLE_RATE, subtype="FLOAT")
            convolve = lambda clip: clip  # the chain convolves
        else:
            convolve = lambda clip: scipy.signal.fftconvolve(clip, ir)[: clip.shape[0]].astype(np.float32)

        def make_chain() -> list:
            """The transforms (new objects: each keeps its last parameters on itself)."""
            ir_stage = am.ApplyImpulseResponse(ir_path=str(ir_file), p=1.0, leave_length_unchanged=True)
            return [ir_stage] * with_ir_transform + [
                am.AddGaussianNoise(min_amplitude=0.01, max_amplitude=0.01, p=1.0),
                am.Shift(min_shift=-0.1, max_shift=0.1, shift_unit="seconds", rollover=False, fade_duration=0.0, p=1.0),
                am.Gain(min_gain_db=gains_db[0], max_gain_db=gains_db[1], p=1.0),
            ]

        chain = make_chain()
        compose = am.Compose(chain, p=1.0)
        local = threading.local()  # a Compose per thread for the threaded loop

        def augment_one(clip: np.ndarray) -> np.ndarray:
            if not hasattr(local, "compose"):
                local.compose = am.Compose(make_chain(), p=1.0)
            return local.compose(convolve(clip), sample_rate=SAMPLE_RATE)

        spectrograms = spectrogram_backends()

        def instrumented(spectrogram: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, list[dict[str, Any]]]:
            """One pass with the draws recorded, its spectrogram by this contender's own backend."""
            clips, values = [], []
            for clip in x:
                y, d = convolve(clip), {"mix": 1.0}
                for t in chain:
                    state = np.random.get_state()
                    y = t(y, sample_rate=SAMPLE_RATE)
                    if isinstance(t, am.AddGaussianNoise):
                        np.random.set_state(state)  # replays the draw: the state ends where the call left it
                        d["noise"] = t.parameters["amplitude"] * np.random.randn(clip.shape[0]).astype(np.float32)
                    elif isinstance(t, am.Shift):
                        d["shift"] = round(t.parameters["shift_amount"] * SAMPLE_RATE)
                    elif isinstance(t, am.Gain):
                        d["gain"] = t.parameters["amplitude_ratio"]
                    elif isinstance(t, am.ApplyImpulseResponse):
                        d["ir_scale_of"] = lambda full: 0.5 / np.max(np.abs(full))  # its peak normalization
                clips.append(y)
                values.append(d)
            return spectrogram(np.stack(clips)), values

        name = "audiomentations loop" if with_ir_transform else "audiomentations + fftconvolve loop"
        note = "ApplyImpulseResponse (peak-normalizes)" if with_ir_transform else "IR by scipy fftconvolve"
        augmented = lambda: np.stack([compose(convolve(clip), sample_rate=SAMPLE_RATE) for clip in x])
        threaded = lambda: np.stack(thread_map(augment_one, list(x)))
        # Each spectrogram backend, with the clips augmented in a loop or on a thread per core,
        # is a formulation; the error check replays the draws through the same backend.
        return [
            Contender(
                name,
                lambda spec=spec, loop=loop: spec(loop()),
                lambda _, spec=spec: instrumented(spec),
                note,
                formulation=label + suffix,
            )
            for label, spec in spectrograms.items()
            for loop, suffix in ((augmented, ""), (threaded, f", clips on {cores()} threads"))
        ]

    return available(
        [
            ("jaxspec", make_jaxspec),
            ("audiomentations", lambda: make_augmentations(True)),
            ("audiomentations", lambda: make_augmentations(False)),
            ("scipy", make_numpy_batched),
        ]
    )


def worker_first(rounds: int) -> dict[str, Any]:
    """First call of jitted W1 in this (fresh) process, and the lower / compile / run split."""
    start = time.perf_counter()
    import jax
    import jax.numpy as jnp

    import jaxspec

    imported = time.perf_counter() - start
    config, x = jaxspec.SpectrogramConfig(), jnp.asarray(test_signal((BATCH, SAMPLE_RATE))).block_until_ready()
    result: dict[str, Any] = {"import": imported, "cache_dir": str(jax.config.jax_compilation_cache_dir)}
    if os.environ.get("BENCH_SPLIT"):
        start = time.perf_counter()
        lowered = jax.jit(jaxspec.spectrogram).lower(config, x)
        result["lower"] = time.perf_counter() - start
        start = time.perf_counter()
        compiled = lowered.compile()
        result["compile"] = time.perf_counter() - start
        start = time.perf_counter()
        compiled(config, x).block_until_ready()
        result["run"] = time.perf_counter() - start
        return result
    fn = jax.jit(jaxspec.spectrogram)
    start = time.perf_counter()
    fn(config, x).block_until_ready()
    result["first"] = time.perf_counter() - start
    start = time.perf_counter()
    fn(config, x).block_until_ready()
    result["second"] = time.perf_counter() - start
    return result


# ============================================================== W5: the presets vs the libraries they reproduce
# The peers' factories live in peers_features.py (each returns a zero-argument callable doing the
# whole batch). openai-whisper, transformers, torchaudio and kaldi-native-fbank are not in the
# [bench] extra: run.py runs the W5 workers with --peer-python (default: this interpreter), an
# environment that has them plus jax (see benchmarks/README.md, "W5").
W5_PEERS: dict[str, list[tuple[str, str, str, str]]] = {
    # workload: [(peer, formulation, factory in peers_features, note)]
    "W5a": [
        (
            "openai-whisper",
            "log_mel_spectrogram(tensor [8, 480000]), inference_mode",
            "make_openai_whisper_batched",
            "batched: max − 8 floor over the whole batch",
        ),
        ("openai-whisper", "log_mel_spectrogram per clip, inference_mode", "make_openai_whisper_loop", ""),
        ("transformers WhisperFeatureExtractor", "batched, list of clips", "make_transformers_whisper_list", ""),
        ("transformers WhisperFeatureExtractor", "batched, ndarray [8, 480000]", "make_transformers_whisper_array", ""),
        ("transformers WhisperFeatureExtractor", "per clip", "make_transformers_whisper_loop", ""),
        (
            "openai-whisper (code transcribed)",
            "batched tensor, max per clip, abs() ** 2, inference_mode",
            "make_whisper_transcribed_batched",
            "",
        ),
        (
            "openai-whisper (code transcribed)",
            "batched tensor, max per clip, .real**2 + .imag**2, inference_mode",
            "make_whisper_transcribed_batched_re_im",
            "",
        ),
        (
            "openai-whisper (code transcribed)",
            "per clip, .real**2 + .imag**2, inference_mode",
            "make_whisper_transcribed_loop_re_im",
            "",
        ),
    ],
    "W5b": [
        ("kaldi-native-fbank", "OnlineFbank per clip", "make_kaldi_native_fbank", "no batch API"),
        (
            "torchaudio.compliance.kaldi.fbank",
            "per clip, inference_mode",
            "make_torchaudio_kaldi_fbank",
            "takes one waveform; 2 threads",
        ),
        ("torchaudio's kaldi.fbank (code transcribed)", "per clip, re/im", "make_kaldi_transcribed_loop", ""),
        ("torchaudio's kaldi.fbank (code transcribed)", "batched [B, L], re/im", "make_kaldi_transcribed_batched", ""),
    ],
    "W5c": [
        ("librosa.feature.melspectrogram", "batched y=[64, L]", "make_librosa_melspectrogram_batched", ""),
        ("librosa.feature.melspectrogram", "per clip", "make_librosa_melspectrogram_loop", ""),
        (
            "torchaudio MelSpectrogram (librosa's defaults)",
            "batched [64, L], inference_mode",
            "make_torchaudio_melspectrogram_librosa",
            "2 threads",
        ),
        ("torch.stft + librosa's mel filters", "batched, re**2 + im**2", "make_torch_melspectrogram_re_im", ""),
    ],
}
W5_FEATURES_LAST = {"W5a": False, "W5b": True, "W5c": False}  # the peers' native layout
# What to install when no peer ran: none of W5a's and W5b's peers is in the [bench] extra.
W5_INSTALL = {
    "W5a": "openai-whisper (its code transcribed reads the package's mel filters) or transformers, "
    "in the --peer-python interpreter",
    "W5b": "torch, torchaudio or kaldi-native-fbank, in the --peer-python interpreter",
    "W5c": "librosa (the [bench] extra) or torchaudio, in the --peer-python interpreter",
}


def w5_setup(name: str) -> tuple[Any, np.ndarray]:
    """The preset and the clips ``[B, L]`` of a W5 workload (the clips of peers_features)."""
    import peers_features as pf

    from jaxspec import presets

    if name == "W5a":
        return presets.whisper(), pf.whisper_clips()
    if name == "W5b":
        return presets.kaldi_fbank(), pf.kaldi_clips()  # int16-scale float32, as Kaldi sees PCM
    return presets.librosa_melspectrogram(sr=SAMPLE_RATE), pf.librosa_clips()


def peer_features(out: Any, features_last: bool) -> np.ndarray:
    """A peer's output (a tensor / array, or a list of per-clip ones) as float64 ``[B, frames, features]``."""
    items = out if isinstance(out, (list, tuple)) else list(out)
    arr = np.stack([np.asarray(o.detach().cpu().numpy() if hasattr(o, "cpu") else o, np.float64) for o in items])
    arr = arr.reshape(arr.shape[0], *arr.shape[-2:])  # per-clip [1, F, T] -> [F, T]
    return arr if features_last else np.swapaxes(arr, -1, -2)


def w5_error(name: str, out: np.ndarray, ref: np.ndarray) -> tuple[float, bool, str]:
    """jaxspec's output vs a peer's, by the tolerance of SPEC section 7: ``(value, within, text)``."""
    if out.shape != ref.shape:
        return math.inf, False, f"shape {out.shape} vs {ref.shape}"
    diff = np.abs(out - ref)
    if name == "W5a":  # |diff| <= 5e-4
        worst = float(diff.max())
        return worst, worst <= 5e-4, f"max abs {worst:.1e} (≤ 5e-4 {check(worst <= 5e-4)})"
    if name == "W5b":  # log fbank, bands within 12 nats of the frame's max: |diff| <= 5e-3 + 1e-4 |ref|
        bands = ref >= ref.max(axis=-1, keepdims=True) - 12.0
        used = float((diff / (5e-3 + 1e-4 * np.abs(ref)))[bands].max())
        mean = float(diff.mean())
        ok = used <= 1.0
        return (
            used,
            ok,
            f"max abs {diff[bands].max():.1e}, {used:.2f} of tol (≤ 5e-3 + 1e-4·|ref|), mean {mean:.1e} {check(ok)}",
        )
    # librosa mel: |diff| <= 1e-5 * max, per clip
    worst = float((diff.max(axis=(1, 2)) / np.abs(ref).max(axis=(1, 2))).max())
    return worst, worst <= 1e-5, f"max abs / max {worst:.1e} (≤ 1e-5 {check(worst <= 1e-5)})"


def w5_rows(contenders: list, errors: dict, rounds: int) -> list[dict]:
    """The contenders timed in interleaved rounds, each row with its error against jaxspec
    (``errors[c.key] = (value, ok, text)``; jaxspec itself, absent from ``errors``, is the reference)."""
    times = interleaved(contenders, rounds, warmup=1)
    rows = []
    for c in contenders:
        value, ok, text = errors.get(c.key, (0.0, True, "(reference: each peer)"))
        rows.append(row_of(c, error=value, ok=ok, error_text=text, times=times[c.key]))
    return rows


def worker_w5(name: str, rounds: int) -> dict[str, Any]:
    """A W5 workload: jitted jaxspec with the preset vs each peer formulation, interleaved."""
    import jax

    import jaxspec

    config, clips = w5_setup(name)
    fn, xj = jax.jit(jaxspec.spectrogram), jax.device_put(clips)
    contenders = [
        Contender(
            "jaxspec (jit)",
            lambda: fn(config, xj).block_until_ready(),
            note="[B, frames, features]",
            formulation=f"jax.jit(spectrogram)(presets.{config_label(name)}, x{list(clips.shape)})",
        )
    ]
    out = np.asarray(fn(config, xj), np.float64)
    notes, errors = [], {}
    import peers_features as pf

    for peer, formulation, factory, note in W5_PEERS[name]:
        try:
            run = getattr(pf, factory)(clips)
        except ImportError as error:
            notes.append(f"{peer} ({formulation}): skipped ({error.name or error} not installed)")
            continue
        c = Contender(peer, run, note=note, formulation=formulation)
        errors[c.key] = w5_error(name, out, peer_features(run(), W5_FEATURES_LAST[name]))
        contenders.append(c)
    rows = w5_rows(contenders, errors, rounds)
    notes.append(
        f"{rounds} interleaved rounds after 1 warm-up call each; in {sys.executable}: {package_versions(W5_PACKAGES)}"
    )
    return {"rows": rows, "notes": notes}


W5_PACKAGES = ("jax", "torch", "torchaudio", "openai-whisper", "transformers", "kaldi-native-fbank", "librosa")


def package_versions(packages: tuple[str, ...]) -> str:
    import importlib.metadata

    found = []
    for package in packages:
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{package} not installed")
    return ", ".join(found)


def config_label(name: str) -> str:
    return {"W5a": "whisper()", "W5b": "kaldi_fbank()", "W5c": "librosa_melspectrogram(sr=16000)"}[name]


def worker_info(rounds: int) -> dict[str, Any]:
    """The machine and the versions of every contender's package."""
    import importlib.metadata

    import jax

    versions = {"python": platform.python_version()}
    for package in ("jax", "jaxlib", "numpy", "scipy", "librosa", "torch", "soxr", "audiomentations", "psutil"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "versions": versions,
    }


WORKERS: dict[str, Callable[[int], dict[str, Any]]] = {
    "W1": worker_w1,
    "W2": worker_w2,
    "W2rss": worker_w2rss,
    "W3": worker_w3,
    "W4": worker_w4,
    "W5a": lambda rounds: worker_w5("W5a", rounds),
    "W5b": lambda rounds: worker_w5("W5b", rounds),
    "W5c": lambda rounds: worker_w5("W5c", rounds),
    "W6": lambda rounds: __import__("corpus").worker_w6(rounds),
    "first": worker_first,
    "info": worker_info,
}


# ============================================================== the parent process
PEER_PYTHON_WORKLOADS = ("W5a", "W5b", "W5c")  # run by --peer-python (the feature peers' environment)


def run_worker(name: str, rounds: int, env: dict[str, str] | None = None, python: str | None = None) -> dict[str, Any]:
    """Runs ``name`` in a fresh interpreter (``python``, default this one) and returns its JSON
    result (or ``{"failed": ...}``)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        environ = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", **(env or {})}
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
        cmd = [
            python or sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            name,
            "--rounds",
            str(rounds),
            "--result",
            str(out),
        ]
        proc = subprocess.run(cmd, env=environ, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.exists():
            return {"failed": f"worker {name} exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}"}
        return json.loads(out.read_text())


def ms(seconds: float) -> str:
    return f"{1000.0 * seconds:.4g}"


def summarize(times: list[float]) -> tuple[float, float]:
    return min(times), statistics.median(times)


def fmt_ratio(peer: float, base: float | None) -> str:
    return f"{peer / base:.2f}" if base else "n/a"


def timing_cells(times: list[float], base: tuple[float, float] | None) -> list[str]:
    """min and median in ms, and their ratios to ``base`` (jaxspec's min and median; ``None``: n/a)."""
    lo, mid = summarize(times)
    return [ms(lo), ms(mid), fmt_ratio(lo, base and base[0]), fmt_ratio(mid, base and base[1])]


TIMING = ["min ms", "median ms", "ratio (min)", "ratio (median)"]


def check(ok: bool) -> str:
    return "✓" if ok else "✗"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


ERROR_LIMIT = 1e-5  # SPEC section 6: a formulation above it is not doing the same work
INSTALL = "the [bench] extra and the peer libraries"  # what a workload without its own hint asks for


def valid(row: dict[str, Any]) -> bool:
    """Within tolerance: W5's rows carry ``ok`` (SPEC 7 vs the peer); the others are vs float64 (SPEC 6)."""
    return row["ok"] if "ok" in row else row.get("error", 0.0) < ERROR_LIMIT


def error_cell(row: dict[str, Any]) -> str:
    return row.get("error_text") or f"{row['error']:.2e}"


def jaxspec_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The row ratios are taken against: the first jaxspec contender."""
    return next((r for r in rows if r["name"].startswith("jaxspec")), None)


def is_peer(row: dict[str, Any]) -> bool:
    return not row["name"].startswith("jaxspec")


def kept(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per contender, in first-seen order: its fastest formulation by the min
    among those within ``ERROR_LIMIT`` of the reference (the fastest of all if none is)."""
    out = []
    for name in dict.fromkeys(r["name"] for r in rows):
        group = [r for r in rows if r["name"] == name]
        out.append(min([r for r in group if valid(r)] or group, key=lambda r: min(r["times"])))
    return out


def described(row: dict[str, Any]) -> str:
    return f"{row['name']} ({row['formulation']})" if row.get("formulation") else row["name"]


def speedup_target(
    rows: list[dict[str, Any]], factor: float, peers: Callable[[dict], bool], install: str = INSTALL
) -> list[list[str]]:
    """Target lines: ``fastest peer time / jaxspec time >= factor`` on min and on median.

    The fastest peer is the fastest valid formulation of any peer by that statistic; ``install``
    names what to install when no peer ran at all.
    """
    js = jaxspec_row(rows)
    ran = [r for r in rows if is_peer(r) and peers(r)]
    others = [r for r in ran if valid(r)]
    if js is None or not others:
        missing = (
            "no jaxspec row" if js is None
            else f"no peer ran (install {install})" if not ran
            else "no valid peer (every peer is off jaxspec beyond its error bound)"
        )  # fmt: skip
        return [[f"≥ {factor}× fastest peer", f"n/a: {missing}", "✗"]]
    if not valid(js):  # a fast but wrong jaxspec wins nothing
        return [[f"≥ {factor}× fastest peer", f"jaxspec's output is off the reference ({error_cell(js)})", "✗"]]
    eager = next((r for r in rows if r["name"] == "jaxspec (eager call)" and valid(r)), None)
    lines = []
    for row, form in ((js, ""), (eager, ", eager call")) if eager else ((js, ""),):
        for label, pick in (("min", min), ("median", statistics.median)):
            best = min(others, key=lambda r: pick(r["times"]))
            ratio = pick(best["times"]) / pick(row["times"])
            measured = f"{ratio:.2f}× vs {described(best)}"
            lines.append([f"≥ {factor}× fastest peer ({label}{form})", measured, check(ratio >= factor)])
    return lines


def formulations_table(
    rows: list[dict[str, Any]], base: tuple[float, float] | None, error_header: str = "rel. error vs f64"
) -> str:
    """Every formulation timed (in the same interleaved run), the kept one of each contender marked."""
    winners = {id(r) for r in kept(rows)}
    body = [
        [
            r["name"],
            r["formulation"],
            *timing_cells(r["times"], base)[:3],
            error_cell(r),
            "kept" if id(r) in winners else "",
        ]
        for r in rows
    ]
    return table(["contender", "formulation", "min ms", "median ms", "ratio (min)", error_header, ""], body)


def render_speed(
    result: dict[str, Any],
    factor: float,
    peers: Callable[[dict], bool] = lambda r: True,
    error_header: str = "rel. error vs f64",
    install: str = INSTALL,
) -> tuple[str, list]:
    rows = result["rows"]
    js = jaxspec_row(rows)
    base = summarize(js["times"]) if js else None
    body = [
        [r["name"], r["formulation"], *timing_cells(r["times"], base), error_cell(r), r["note"]] for r in kept(rows)
    ]
    text = table(["contender", "kept formulation", *TIMING, error_header, "note"], body)
    text += "\n\nAll formulations (same interleaved run; a contender's row above is its fastest by the min):\n\n"
    text += formulations_table(rows, base, error_header)
    return text, speedup_target(rows, factor, peers, install)


def render_memory(memory: dict[str, Any]) -> tuple[str, list]:
    if "failed" in memory:
        return f"memory worker failed: {memory['failed']}", [["peak extra RSS", "failed", "✗"]]
    mb = lambda b: f"{b / 2**20:.1f} MiB"
    budget = 1.5 * (memory["input_bytes"] + memory["output_bytes"])
    text = table(
        [
            "input",
            "output",
            "budget 1.5×(in+out)",
            "first call extra (sampled)",
            "first call extra (ru_maxrss bound)",
            "steady call extra (sampled)",
        ],
        [
            [
                mb(memory["input_bytes"]),
                mb(memory["output_bytes"]),
                mb(budget),
                mb(memory["first_call_extra"]),
                mb(memory["first_call_extra_maxrss"]),
                mb(memory["steady_call_extra"]),
            ]
        ],
    )
    targets = [
        [
            "peak extra RSS ≤ 1.5×(in+out), steady call",
            mb(memory["steady_call_extra"]),
            check(memory["steady_call_extra"] <= budget),
        ],
        [
            "peak extra RSS ≤ 1.5×(in+out), first call (with compile)",
            mb(memory["first_call_extra"]),
            check(memory["first_call_extra"] <= budget),
        ],
    ]
    return text, targets


RESAMPLE_HEADER = ["rate", "contender", *TIMING, "SNR 1 kHz dB", "SNR 7 kHz dB", "note"]


def resample_cells(rate: str, group: list[dict[str, Any]], js: dict[str, Any] | None) -> list[list[str]]:
    """Table rows of one rate's resampling contenders, timed relative to ``js`` (jaxspec's row)."""
    base = summarize(js["times"]) if js else None
    return [
        [rate, r["name"], *timing_cells(r["times"], base), f"{r['snr_1k']:.1f}", f"{r['snr_7k']:.1f}", r["note"]]
        for r in group
    ]


def render_w3(result: dict[str, Any]) -> tuple[str, list]:
    rows, body, targets = result["rows"], [], []
    for rate in dict.fromkeys(r["rate"] for r in rows):
        group = [r for r in rows if r["rate"] == rate]
        js = jaxspec_row(group)
        body += resample_cells(rate, group, js)
        hq = next((r for r in group if r["name"] == "soxr HQ"), None)
        if js is None:
            targets.append([f"{rate}: ≥ 120 dB at ≤ soxr HQ time", "no jaxspec", "✗"])
            continue
        snr = min(js["snr_1k"], js["snr_7k"])
        targets.append([f"{rate}: SNR ≥ 120 dB (1 and 7 kHz)", f"{snr:.1f} dB", check(snr >= 120.0)])
        if hq is not None:
            for label, pick in (("min", min), ("median", statistics.median)):
                t_js, t_hq = pick(js["times"]), pick(hq["times"])
                targets.append(
                    [f"{rate}: time ≤ soxr HQ ({label})", f"{ms(t_js)} ms vs {ms(t_hq)} ms", check(t_js <= t_hq)]
                )
    return table(RESAMPLE_HEADER, body), targets


def render_first(results: list[dict[str, Any]], splits: list[dict[str, Any]]) -> tuple[str, list]:
    ok = [r for r in results if "failed" not in r]
    if not ok:
        return "all first-call workers failed: " + results[0]["failed"], [["first call ≤ 0.5 s", "failed", "✗"]]
    body = []
    for key, label in (
        ("import", "import jax + jaxspec (s)"),
        ("first", "first call: trace + compile + run (s)"),
        ("second", "second call (s)"),
    ):
        lo, mid = summarize([r[key] for r in ok])
        body.append([label, f"{lo:.3f}", f"{mid:.3f}"])
    good_splits = [s for s in splits if "failed" not in s]
    for key, label in (
        ("lower", "  split: trace + lower (s)"),
        ("compile", "  split: XLA compile (s)"),
        ("run", "  split: first execution (s)"),
    ):
        if good_splits:
            lo, mid = summarize([s[key] for s in good_splits])
            body.append([label, f"{lo:.3f}", f"{mid:.3f}"])
    text = table([f"fresh process (n = {len(ok)})", "min", "median"], body)
    text += f"\n\npersistent compilation cache dir: {ok[0]['cache_dir']}"
    lo, mid = summarize([r["first"] for r in ok])
    return text, [
        ["first call ≤ 0.5 s (min)", f"{lo:.3f} s", check(lo <= 0.5)],
        ["first call ≤ 0.5 s (median)", f"{mid:.3f} s", check(mid <= 0.5)],
    ]


def render(name: str, result: dict[str, Any]) -> tuple[str, list]:
    """Markdown for one workload and its target lines ``[target, measured, ✓/✗]``."""
    if name == "W1":
        return render_speed(result, 1.5)
    if name == "W2":
        text, targets = render_speed(result, 1.5)
        memory_text, memory_targets = render_memory(result.get("memory", {"failed": "not measured"}))
        return (
            text + "\n\nPeak extra RSS of jaxspec (fresh process, jitted, 10-minute clip):\n\n" + memory_text,
            targets + memory_targets,
        )
    if name == "W3":
        return render_w3(result)
    if name == "W4":
        return render_speed(result, 3.0, lambda r: r["name"].startswith("audiomentations"))
    if name in ("W5a", "W5b", "W5c"):
        return render_speed(
            result, 2.0, error_header="jaxspec vs this peer (SPEC 7 tolerance)", install=W5_INSTALL[name]
        )
    if name == "W6":
        import corpus

        return corpus.render(result)
    raise ValueError(name)


def print_machine(info: dict[str, Any]) -> None:
    if "failed" in info:
        print(f"machine info failed: {info['failed']}")
        return
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    load = ", ".join(f"{v:.2f}" for v in info["load"]) if info["load"] else "n/a"
    print(f"Machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), load average {load}")
    print(f"JAX backend: {info['backend']}, devices: {', '.join(info['devices'])}")
    print(f"Versions: {versions}\n")


def write_json(path: Path | None, results: dict[str, Any]) -> None:
    """Rewrites ``path`` (when given) with ``results`` through a temporary file and ``os.replace``,
    so a run killed mid-write leaves the previous whole file, never a truncated one."""
    if path is None:
        return
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(results, indent=1))
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke test")
    parser.add_argument("--only", default=",".join(WORKLOADS), help=f"comma-separated subset of {', '.join(WORKLOADS)}")
    parser.add_argument("--json", type=Path, help="write every raw result to this file")
    parser.add_argument(
        "--peer-python",
        default=os.environ.get("BENCH_PEER_PYTHON", sys.executable),
        help="interpreter for the W5 workers: one with jax plus openai-whisper, transformers, torchaudio and "
        "kaldi-native-fbank (default: $BENCH_PEER_PYTHON, else this one); jaxspec comes from this checkout",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.result.write_text(json.dumps(WORKERS[args.worker](args.rounds)))
        return 0

    chosen = [v for w in args.only.split(",") if w.strip() for v in ALIASES.get(w.strip(), (w.strip(),))]
    unknown = [w for w in chosen if w not in WORKLOADS]
    if unknown:
        parser.error(f"--only {args.only!r}: unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    rounds = QUICK_ROUNDS if args.quick else ROUNDS
    info = run_worker("info", 1)
    print_machine(info)
    results: dict[str, Any] = {"machine": info, "quick": args.quick, "rounds": {w: rounds[w] for w in chosen}}
    all_targets = []
    for name in chosen:
        print(f"## {TITLES[name]}\n", flush=True)
        if name == "first":
            firsts = [run_worker("first", 1) for _ in range(rounds["first"])]
            splits = [run_worker("first", 1, {"BENCH_SPLIT": "1"}) for _ in range(rounds["first"])]
            result = {"runs": firsts, "splits": splits}
            text, targets = render_first(firsts, splits)
        else:
            python = args.peer_python if name in PEER_PYTHON_WORKLOADS else None
            env = {"BENCH_QUICK": "1"} if args.quick and name == "W6" else None
            result = run_worker(name, rounds[name], env, python=python)
            if name == "W2":
                result["memory"] = run_worker("W2rss", 1)  # a fresh process of its own
            if "failed" in result:
                text, targets = result["failed"], [[f"{name}", "worker failed", "✗"]]
            else:
                text, targets = render(name, result)
                text += "".join(f"\n\n- {note}" for note in result.get("notes", []))
        results[name] = result
        write_json(args.json, results)  # after each workload: a run stopped later keeps what it measured
        print(text)
        print("\n" + table(["target", "measured", ""], targets) + "\n", flush=True)
        all_targets += [[f"{name}: {t[0]}", t[1], t[2]] for t in targets]
    print("## Targets\n\n" + table(["target", "measured", ""], all_targets))
    if args.json:
        print(f"\nraw results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
