"""Prototype: formulations of W1's spectrogram in JAX, timed interleaved (issue 15).

W1 = 64 clips x 1 s at 16 kHz, ws 400, hop 133, periodic Hann, power 2 -> 7744 frames x 201 bins.
Every formulation is jitted, checked against a float64 NumPy reference (SPEC section 6:
relative error < 1e-5), warmed up, then timed round-robin with a rotating order; the table
gives min and median per call. A second table splits jaxspec's own formulation into its
stages (gather, window, transform, |X|^2, dispatch) by timing growing prefixes of it.

    python benchmarks/formulations.py                 # ~1 minute on 2 cores
    python benchmarks/formulations.py --rounds 5      # quicker
    XLA_FLAGS=--xla_cpu_multi_thread_eigen=false python benchmarks/formulations.py --only profile,threads
    taskset -c 0 python benchmarks/formulations.py --only profile,threads   # one core
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

import jaxspec  # noqa: E402

B, L, WS, HOP = 64, 16000, 400, 133
N = -(-L // HOP)  # 121 frames per clip
BINS = WS // 2 + 1
PAD = (N - 1) * HOP + WS
HI = lax.Precision.HIGHEST


def hann64(n: int = WS) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def reference(x: np.ndarray) -> np.ndarray:
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, PAD - L)))
    idx = np.arange(N)[:, None] * HOP + np.arange(WS)
    s = np.fft.rfft(xp[:, idx] * hann64(), axis=-1)
    return s.real**2 + s.imag**2


WINDOW = hann64().astype(np.float32)


# ------------------------------------------------------------------ frame gathers: [B, PAD] -> [B, N, WS]
def gather_slices(xp):
    """jaxspec's: vmap of dynamic_slice at iota * hop (one gather of contiguous windows)."""
    starts = lax.iota(jnp.int32, N) * HOP
    one = lambda row: jax.vmap(lambda s: lax.dynamic_slice(row, (s,), (WS,)))(starts)
    return jax.vmap(one)(xp)


def gather_index(xp):
    """Fancy indexing with a constant [N, WS] index array."""
    return xp[:, np.arange(N)[:, None] * HOP + np.arange(WS)]


def gather_blocks(xp):
    """Gather-free: hop-sized blocks [N + 3, 133], frame i = blocks i..i+2 and the first sample of i+3."""
    k = -(-WS // HOP)  # 4 blocks span a frame
    xb = jnp.pad(xp, ((0, 0), (0, (N + k - 1) * HOP - PAD))).reshape(B, N + k - 1, HOP)
    parts = [xb[:, j : j + N] for j in range(k)]
    return jnp.concatenate(parts, axis=-1)[..., :WS]


def gather_conv(xp):
    """conv_general_dilated with an identity kernel [WS, 1, WS], stride hop (a 400x400 matmul per frame)."""
    eye = jnp.eye(WS, dtype=jnp.float32)[:, None, :]
    y = lax.conv_general_dilated(xp[:, None, :], eye, (HOP,), "VALID", precision=HI)  # [B, WS, N]
    return jnp.swapaxes(y, 1, 2)


def pad(x):
    return jnp.pad(x, ((0, 0), (0, PAD - L)))


# ------------------------------------------------------------------ transforms: windowed frames -> power
def power_rfft(f):
    s = jnp.fft.rfft(f * WINDOW)
    return jnp.square(s.real) + jnp.square(s.imag)


def dft_matrix(window: bool = True) -> np.ndarray:
    """[WS, 2 * BINS] float32: cos | -sin columns (optionally times the window), built in float64."""
    k = np.arange(WS)[:, None]
    f = np.arange(BINS)[None, :]
    ang = 2.0 * np.pi * ((k * f) % WS) / WS
    w = hann64()[:, None] if window else 1.0
    return np.concatenate([w * np.cos(ang), -w * np.sin(ang)], axis=1).astype(np.float32)


DFT_W = dft_matrix(True)
DFT_PLAIN = dft_matrix(False)


def power_matmul(f, fused=True):
    y = jnp.matmul(f if fused else f * WINDOW, DFT_W if fused else DFT_PLAIN, precision=HI)
    return jnp.square(y[..., :BINS]) + jnp.square(y[..., BINS:])


def power_two_factor(f):
    """400 = 16 x 25 Cooley-Tukey as small real matrix products.

    n = 25 * a + b (a < 16, b < 25); k = k1 + 16 * k2 (k1 < 16, k2 < 25).
    Stage 1: 16-point DFT over a (real input -> complex, [.., 25, 16] @ [16, 16]).
    Twiddle exp(-2 pi i b k1 / 400). Stage 2: 25-point DFT over b.
    """
    xw = (f * WINDOW).reshape(f.shape[:-1] + (16, 25))  # [.., a, b]
    a = np.arange(16)
    c16 = np.exp(-2j * np.pi * np.outer(a, a) / 16)
    ys = jnp.einsum("...ab,ak->...kb", xw, c16.real.astype(np.float32), precision=HI)
    yc = jnp.einsum("...ab,ak->...kb", xw, c16.imag.astype(np.float32), precision=HI)
    b = np.arange(25)
    tw = np.exp(-2j * np.pi * np.outer(a, b) / 400)  # [k1, b]
    re = ys * tw.real.astype(np.float32) - yc * tw.imag.astype(np.float32)
    im = ys * tw.imag.astype(np.float32) + yc * tw.real.astype(np.float32)
    c25 = np.exp(-2j * np.pi * np.outer(b, b) / 25)  # [b, k2]
    cr, ci = c25.real.astype(np.float32), c25.imag.astype(np.float32)
    zr = jnp.einsum("...kb,bm->...km", re, cr, precision=HI) - jnp.einsum("...kb,bm->...km", im, ci, precision=HI)
    zi = jnp.einsum("...kb,bm->...km", re, ci, precision=HI) + jnp.einsum("...kb,bm->...km", im, cr, precision=HI)
    p = jnp.square(zr) + jnp.square(zi)  # [.., k1, k2], bin k1 + 16 k2
    p = jnp.swapaxes(p, -1, -2).reshape(f.shape[:-1] + (WS,))
    return p[..., :BINS]


def power_packed(f):
    """Two real frames as one complex FFT: z = a + i b, A = (Z_k + conj Z_{-k}) / 2, B = (Z_k - conj Z_{-k}) / 2i."""
    fw = (f * WINDOW).reshape(-1, 2, WS)
    z = jnp.fft.fft(lax.complex(fw[:, 0], fw[:, 1]))
    zr = jnp.conj(jnp.roll(z[:, ::-1], 1, axis=-1))  # conj Z_{-k}
    a = 0.5 * (z + zr)
    b = -0.5j * (z - zr)
    pa = jnp.square(a.real) + jnp.square(a.imag)
    pb = jnp.square(b.real) + jnp.square(b.imag)
    return jnp.stack([pa, pb], axis=1)[..., :BINS].reshape(f.shape[:-1] + (BINS,))


def power_rfft_flat(f):
    """rfft on a flat [B * N, WS] batch (one batch dimension)."""
    return power_rfft(f.reshape(-1, WS)).reshape(f.shape[:-1] + (BINS,))


def power_conv_dft(xp):
    """Gather + window + DFT in one conv: kernel [2 * BINS, 1, WS] = window * (cos | -sin), stride hop."""
    k = jnp.asarray(DFT_W.T[:, None, :])
    y = lax.conv_general_dilated(xp[:, None, :], k, (HOP,), "VALID", precision=HI)  # [B, 2 BINS, N]
    y = jnp.swapaxes(y, 1, 2)
    return jnp.square(y[..., :BINS]) + jnp.square(y[..., BINS:])


def formulations():
    cfg = jaxspec.SpectrogramConfig()
    return {
        "jaxspec.spectrogram (jit)": lambda x: jaxspec.spectrogram(cfg, x),
        "slices + rfft (jaxspec's parts)": lambda x: power_rfft(gather_slices(pad(x))),
        "index + rfft": lambda x: power_rfft(gather_index(pad(x))),
        "blocks (gather-free) + rfft": lambda x: power_rfft(gather_blocks(pad(x))),
        "slices + rfft flat [B*N, WS]": lambda x: power_rfft_flat(gather_slices(pad(x))),
        "slices + packed complex fft": lambda x: power_packed(gather_slices(pad(x))),
        "slices + DFT matmul (window fused)": lambda x: power_matmul(gather_slices(pad(x))),
        "slices + DFT matmul (window apart)": lambda x: power_matmul(gather_slices(pad(x)), fused=False),
        "slices + 16x25 two-factor matmuls": lambda x: power_two_factor(gather_slices(pad(x))),
        "conv identity gather + rfft": lambda x: power_rfft(gather_conv(pad(x))),
        "conv DFT (gather+window+DFT fused)": lambda x: power_conv_dft(pad(x)),
    }


def profile_stages():
    """Growing prefixes of jaxspec's formulation; each stage's cost is the difference."""
    starts = None

    def g(x):
        return gather_slices(pad(x))

    return {
        "dispatch (jit of x[:, :1])": lambda x: x[:, :1],
        "+ pad + gather": lambda x: g(x),
        "+ window": lambda x: g(x) * WINDOW,
        "+ rfft (complex out)": lambda x: jnp.fft.rfft(g(x) * WINDOW),
        "+ |X|^2 (full)": lambda x: power_rfft(g(x)),
    }, starts


def fft_alone():
    """The transform alone on materialized windowed frames [7744, 400] (input is the frames)."""
    return {
        "rfft alone [7744, 400] -> complex": lambda f: jnp.fft.rfft(f),
        "rfft + |X|^2 alone": lambda f: (lambda s: jnp.square(s.real) + jnp.square(s.imag))(jnp.fft.rfft(f)),
        "DFT matmul alone [7744,400]@[400,402]": lambda f: jnp.matmul(f, DFT_PLAIN, precision=HI),
    }


def timed(fns: dict, arg, rounds: int, warmup: int = 3) -> dict[str, list[float]]:
    jitted = {k: jax.jit(v) for k, v in fns.items()}
    for f in jitted.values():
        for _ in range(warmup):
            jax.block_until_ready(f(arg))
    times = {k: [] for k in jitted}
    names = list(jitted)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        gc.collect()
        gc.disable()
        for k in order:
            t = time.perf_counter()
            jax.block_until_ready(jitted[k](arg))
            times[k].append(time.perf_counter() - t)
        gc.enable()
    return times


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--only", default="formulations,profile,fft", help="any of formulations,profile,fft,threads")
    p.add_argument("--torch-threads", type=int, default=2, help="torch's intra-op threads for --only threads")
    args = p.parse_args()
    which = args.only.split(",")
    x = (0.1 * np.random.default_rng(0).standard_normal((B, L))).astype(np.float32)
    xj = jax.device_put(x)
    ref = reference(x)
    import os

    print(f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}, jax {jax.__version__}, {os.cpu_count()} cores\n")
    if "formulations" in which:
        fns = formulations()
        errs = {}
        for k, f in fns.items():
            out = np.asarray(jax.jit(f)(xj), np.float64)
            errs[k] = float(np.linalg.norm(out - ref) / np.linalg.norm(ref))
        times = timed(fns, xj, args.rounds)
        base = min(times["jaxspec.spectrogram (jit)"])
        print("| formulation | min ms | median ms | min vs jaxspec | rel. error vs f64 | < 1e-5 |")
        print("|---|---|---|---|---|---|")
        for k, t in times.items():
            print(
                f"| {k} | {1e3 * min(t):.3f} | {1e3 * statistics.median(t):.3f} | {min(t) / base:.2f} "
                f"| {errs[k]:.2e} | {'✓' if errs[k] < 1e-5 else '✗'} |"
            )
        print()
    if "profile" in which:
        stages, _ = profile_stages()
        times = timed(stages, xj, args.rounds)
        print("| stage (prefix of jaxspec's formulation) | min ms | median ms | stage min ms | stage median ms |")
        print("|---|---|---|---|---|")
        prev = (0.0, 0.0)
        for k, t in times.items():
            lo, mid = 1e3 * min(t), 1e3 * statistics.median(t)
            print(f"| {k} | {lo:.3f} | {mid:.3f} | {lo - prev[0]:.3f} | {mid - prev[1]:.3f} |")
            prev = (lo, mid)
        print()
    if "threads" in which:
        # jaxspec beside torch's fastest W1 formulation at --torch-threads intra-op threads,
        # interleaved (torch.set_num_threads once: switching it per call rebuilds its pool).
        import torch

        torch.set_num_threads(args.torch_threads)

        window = torch.hann_window(WS)
        xt = torch.from_numpy(x)

        def torch_at():
            def run(_):
                with torch.inference_mode():
                    s = torch.stft(torch.nn.functional.pad(xt, (0, PAD - L)), WS, HOP, WS, window, center=False,
                                   return_complex=True)  # fmt: skip
                    return s.real**2 + s.imag**2

            return run

        cfg = jaxspec.SpectrogramConfig()
        jitted = jax.jit(lambda x: jaxspec.spectrogram(cfg, x))
        fns = {
            "jaxspec (jit)": lambda a: jitted(a).block_until_ready(),
            f"torch, {args.torch_threads} threads": torch_at(),
        }
        for f in fns.values():
            for _ in range(3):
                f(xj)
        times = {k: [] for k in fns}
        for r in range(args.rounds):
            names = list(fns)[r % 2 :] + list(fns)[: r % 2]
            for k in names:
                t = time.perf_counter()
                fns[k](xj)
                times[k].append(time.perf_counter() - t)
        print("| W1, threads | min ms | median ms |")
        print("|---|---|---|")
        for k, t in times.items():
            print(f"| {k} | {1e3 * min(t):.3f} | {1e3 * statistics.median(t):.3f} |")
        print()
    if "fft" in which:
        f = jax.device_put((np.asarray(gather_index(pad(xj))) * WINDOW).reshape(-1, WS))
        times = timed(fft_alone(), f, args.rounds)
        print("| transform alone | min ms | median ms |")
        print("|---|---|---|")
        for k, t in times.items():
            print(f"| {k} | {1e3 * min(t):.3f} | {1e3 * statistics.median(t):.3f} |")
        print()


if __name__ == "__main__":
    main()
