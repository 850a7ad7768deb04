"""Scaling of the spectrogram (issue 15, item 3): time and peak memory vs batch size and vs length.

For jaxspec (``jax.jit(jaxspec.spectrogram)``, default config) and the fastest fair peers of
W1 and W2 (``run.py``): ``torch.stft`` under ``inference_mode``, |X|^2 from ``view_as_real``
by ``square`` + ``addcmul_``, 2 threads; and numpy + scipy.fft (a batch: strided frames,
``scipy.fft.rfft(workers=-1)``); both blocked as jaxspec is (``form``): one signal above
2 x 2048 frames in blocks of 2048 frames (torch: ``unfold`` + ``rfft`` per block; numpy: the
blocks on a thread per core; W2's kept forms),
a batch above 64 clips in blocks of 64 clips, into a preallocated output. Each
point runs in a fresh process: the input is
made (and jaxspec's program compiled ahead of time), each contender called once on a 0.1 s
input (lazy imports and start-up off the baseline), then the first execution's peak RSS
growth over the RSS just before it is sampled every millisecond by a thread (later calls
reuse what the allocators kept, so this is the memory the work needs), then calls are
timed (min and median over rounds sized to about a second of work).

Sweeps:
  batch    B clips x 1 s at 16 kHz, B = 1 ... 1024
  length   one clip of 1 s ... 1 h
  clip     64 clips of 1, 2, 4, 8 s: the cost per second of audio as clips grow

Prints a Markdown table per sweep with the log-log slope of time and memory over its
upper half (1.0 = linear), writes ``scaling_<sweep>.png`` next to this file (matplotlib; ``--quick``: to the
temporary folder, the committed pictures are full runs)
and, with ``--json``, the raw numbers.

    python benchmarks/scaling.py                 # a few minutes on 2 cores
    python benchmarks/scaling.py --quick         # CI-size smoke run: small points, 3 rounds
    python benchmarks/scaling.py --only length --no-plot
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from run import (  # noqa: E402
    BLOCKS,
    HOP,
    SAMPLE_RATE,
    TORCH_THREADS,
    WINDOW,
    RssSampler,
    current_rss,
    numpy_blocked,
    numpy_spectrogram,
    padded_length,
    table,
    test_signal,
)

SWEEPS = {
    # name: (axis label, points as (batch, seconds)), full and quick
    "batch": ("clips of 1 s", [(b, 1) for b in (1, 4, 16, 64, 256, 1024)], [(b, 1) for b in (1, 8, 64)]),
    "length": (
        "seconds, one clip",
        [(1, s) for s in (1, 10, 60, 600, 3600)],
        [(1, s) for s in (1, 10, 60)],
    ),
    "clip": ("seconds per clip, 64 clips", [(64, s) for s in (1, 2, 4, 8)], [(64, s) for s in (1, 2)]),
}
CONTENDERS = ("jaxspec", "torch", "numpy")


# ------------------------------------------------------------------ worker (fresh process per point)
ROW_BLOCK = 64  # clips per block of a peer's batch above it (as jaxspec's rows are blocked)


def form(contender: str, x: np.ndarray) -> str:
    """The formulation a point uses: the peers' fastest in W1 / W2 for its shape, plus the
    blocking jaxspec itself does (frames of one long signal, rows of a large batch)."""
    if contender == "jaxspec":
        return "jax.jit(spectrogram)"
    if x.ndim == 1 and padded_length(x.shape[0]) // HOP > 2 * BLOCKS[-1]:
        return f"blocks of {BLOCKS[-1]} frames"
    if x.ndim == 2 and x.shape[0] > ROW_BLOCK:
        return f"blocks of {ROW_BLOCK} clips"
    return "whole"


def make(contender: str, x: np.ndarray):
    if contender == "jaxspec":
        import jax

        import jaxspec

        config, xj = jaxspec.SpectrogramConfig(), jax.device_put(x)
        compiled = jax.jit(jaxspec.spectrogram).lower(config, xj).compile()  # compiled before the memory baseline
        return lambda: compiled(config, xj).block_until_ready()
    shape = form(contender, x)
    if contender == "numpy":
        if shape.endswith("frames"):  # W2's kept form: the blocks on a thread per core
            return lambda: numpy_blocked(x, BLOCKS[-1], threaded=True)
        if shape.endswith("clips"):
            out = np.empty((x.shape[0], -(-x.shape[1] // HOP), WINDOW // 2 + 1), np.float32)

            def rows() -> np.ndarray:
                for i in range(0, x.shape[0], ROW_BLOCK):
                    out[i : i + ROW_BLOCK] = numpy_spectrogram(x[i : i + ROW_BLOCK])
                return out

            return rows
        return lambda: numpy_spectrogram(x)
    import torch

    torch.set_num_threads(TORCH_THREADS)
    window = torch.hann_window(WINDOW)
    xt = torch.from_numpy(x)
    extra = padded_length(x.shape[-1]) - x.shape[-1]

    def power(s: Any, out: Any = None) -> Any:
        r = torch.view_as_real(s)
        if out is None:
            return r[..., 0].square().addcmul_(r[..., 1], r[..., 1])
        torch.mul(r[..., 0], r[..., 0], out=out)
        return out.addcmul_(r[..., 1], r[..., 1])

    def whole(rows: Any) -> Any:
        padded = torch.nn.functional.pad(rows, (0, extra))
        return power(torch.stft(padded, WINDOW, HOP, WINDOW, window, center=False, return_complex=True))

    if shape.endswith("frames"):  # run.py's W2 form: unfold + rfft per block, |X|^2 into the output
        framed = torch.nn.functional.pad(xt, (0, extra)).unfold(-1, WINDOW, HOP)
        result = torch.empty((framed.shape[0], WINDOW // 2 + 1))

        def blocked() -> Any:
            with torch.inference_mode():
                for i in range(0, framed.shape[0], BLOCKS[-1]):
                    power(torch.fft.rfft(framed[i : i + BLOCKS[-1]] * window), result[i : i + BLOCKS[-1]])
            return result

        return blocked
    if shape.endswith("clips"):
        frames = -(-x.shape[1] // HOP)
        result = torch.empty((x.shape[0], WINDOW // 2 + 1, frames))

        def rows() -> Any:
            with torch.inference_mode():
                for i in range(0, x.shape[0], ROW_BLOCK):
                    result[i : i + ROW_BLOCK] = whole(xt[i : i + ROW_BLOCK])
            return result

        return rows

    def run() -> Any:
        with torch.inference_mode():
            return whole(xt)

    return run


def worker(
    contender: str, batch: int, seconds: float, budget: float, max_rounds: int, sweep: str = "length"
) -> dict[str, Any]:
    # a batch sweep's 1-clip point is a batch [1, L], as its other points are; the length sweep's one signal [L]
    rows = batch > 1 or sweep != "length"
    shape = (batch, int(seconds * SAMPLE_RATE)) if rows else (int(seconds * SAMPLE_RATE),)
    x = test_signal(shape)
    run = make(contender, x)
    make(contender, test_signal(shape[:-1] + (SAMPLE_RATE // 10,)))()  # lazy imports and start-up off the baseline
    gc.collect()
    base = current_rss()
    with RssSampler() as first:
        start = time.perf_counter()
        out = run()
        first_s = time.perf_counter() - start
    out_bytes = out.nbytes if hasattr(out, "nbytes") else out.numel() * 4
    del out
    rounds = int(max(3, min(max_rounds, budget / max(first_s, 1e-4))))
    times = []
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
        gc.enable()
    return {
        "contender": contender,
        "form": form(contender, x),
        "batch": batch,
        "seconds": seconds,
        "rounds": rounds,
        "min": min(times),
        "median": statistics.median(times),
        "first_call": first_s,
        "peak_extra": first.peak - base,
        "input_bytes": x.nbytes,
        "output_bytes": out_bytes,
    }


def run_point(
    contender: str, batch: int, seconds: float, budget: float, max_rounds: int, sweep: str = "length"
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            f"{contender},{batch},{seconds},{budget},{max_rounds},{sweep}",
            "--result",
            str(out),
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.exists():
            return {"contender": contender, "batch": batch, "seconds": seconds, "failed": proc.stderr.strip()[-1500:]}
        return json.loads(out.read_text())


# ------------------------------------------------------------------ report
def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) vs log(x) over the upper half of the points (at least 2)."""
    k = max(2, (len(xs) + 1) // 2)
    lx, ly = np.log(xs[-k:]), np.log(np.maximum(ys[-k:], 1.0 if max(ys) > 1e3 else 1e-9))
    return float(np.polyfit(lx, ly, 1)[0]) if len(xs) >= 2 else float("nan")


def audio_seconds(r: dict[str, Any]) -> float:
    return r["batch"] * r["seconds"]


def labelled(r: dict[str, Any]) -> str:
    """The contender, with its blocked formulation where the point used one."""
    blocked = r.get("form", "whole") not in ("whole", "jax.jit(spectrogram)")
    return r["contender"] + (f" ({r['form']})" if blocked else "")


def render(name: str, rows: list[dict[str, Any]]) -> str:
    ok = [r for r in rows if "failed" not in r]
    mib = lambda b: f"{b / 2**20:.1f}"
    body = [
        [
            labelled(r),
            str(r["batch"]),
            f"{r['seconds']:g}",
            f"{1e3 * r['min']:.4g}",
            f"{1e3 * r['median']:.4g}",
            f"{1e3 * r['min'] / audio_seconds(r):.3g}",
            mib(r["peak_extra"]),
            mib(r["input_bytes"] + r["output_bytes"]),
            str(r["rounds"]),
        ]
        for r in ok
    ]
    text = table(
        [
            "contender",
            "clips",
            "s per clip",
            "min ms",
            "median ms",
            "min ms per audio s",
            "peak extra RSS MiB",
            "in + out MiB",
            "rounds",
        ],
        body,
    )
    lines = []
    for c in CONTENDERS:
        group = [r for r in ok if r["contender"] == c]
        if len(group) < 2:
            continue
        xs = [audio_seconds(r) for r in group]
        lines.append(
            [
                c,
                f"{slope(xs, [r['min'] for r in group]):.2f}",
                f"{slope(xs, [r['median'] for r in group]):.2f}",
                f"{slope(xs, [max(r['peak_extra'], 1) for r in group]):.2f}",
                f"{1e3 * group[-1]['min'] / xs[-1]:.3g} / {1e3 * group[0]['min'] / xs[0]:.3g}",
            ]
        )
    text += "\n\n" + table(
        ["contender", "time slope (min)", "time slope (median)", "memory slope", "ms per audio s: largest / smallest"],
        lines,
    )
    failed = [r for r in rows if "failed" in r]
    text += "".join(
        f"\n\n- {r['contender']} B={r['batch']} {r['seconds']} s failed: {r['failed'][-300:]}" for r in failed
    )
    return (
        text
        + "\n\n(slopes: least squares of log y on log(audio seconds) over the upper half of the points; 1.00 = linear)"
    )


def plot(name: str, label: str, rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if "failed" not in r]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    for i, (c, marker) in enumerate(zip(CONTENDERS, "os^", strict=True)):
        group = [r for r in ok if r["contender"] == c]
        if not group:
            continue
        xs = [r["batch"] if name == "batch" else r["seconds"] for r in group]
        style = dict(marker=marker, color=f"C{i}")
        ax_t.loglog(xs, [1e3 * r["min"] for r in group], label=f"{c} (min)", **style)
        ax_t.loglog(xs, [1e3 * r["median"] for r in group], ls=":", alpha=0.5, label=f"{c} (median)", **style)
        ax_m.loglog(xs, [max(r["peak_extra"], 2**16) / 2**20 for r in group], label=c, **style)
    if ok:
        group = [r for r in ok if r["contender"] == CONTENDERS[0]]
        xs = [r["batch"] if name == "batch" else r["seconds"] for r in group]
        ax_m.loglog(
            xs, [(r["input_bytes"] + r["output_bytes"]) / 2**20 for r in group], "k--", lw=1, label="input + output"
        )
    ax_t.set(xlabel=label, ylabel="ms per call", title=f"time vs {name}")
    ax_m.set(xlabel=label, ylabel="peak extra RSS, MiB", title=f"peak memory vs {name}")
    for ax in (ax_t, ax_m):
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small points, 3 rounds: a smoke run")
    parser.add_argument("--only", default=",".join(SWEEPS), help=f"comma-separated subset of {', '.join(SWEEPS)}")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timed calls per point (default 1)")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--replot", type=Path, help="redraw the PNGs (and tables) from a --json file; no timing")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        c, b, s, budget, rounds, sweep = args.worker.split(",")
        args.result.write_text(json.dumps(worker(c, int(b), float(s), float(budget), int(rounds), sweep)))
        return 0
    results = {}
    saved = json.loads(args.replot.read_text()) if args.replot else {}
    for name in [w.strip() for w in args.only.split(",") if w.strip()]:
        label, full, quick = SWEEPS[name]
        if args.replot:
            if name in saved:
                print(f"## scaling vs {name} ({label})\n\n{render(name, saved[name])}\n")
                plot(name, label, saved[name], HERE / f"scaling_{name}.png")
            continue
        points = quick if args.quick else full
        rows = []
        for batch, seconds in points:
            for c in CONTENDERS:
                budget, rounds = (0.2, 3) if args.quick else (args.budget, 30)
                rows.append(run_point(c, batch, seconds, budget, rounds, name))
        results[name] = rows
        print(f"## scaling vs {name} ({label})\n\n{render(name, rows)}\n", flush=True)
        if not args.no_plot:
            try:  # a smoke run's picture goes to the temporary folder: the committed ones are full runs
                folder = Path(tempfile.gettempdir()) if args.quick else HERE
                path = folder / f"scaling_{name}{'_quick' if args.quick else ''}.png"
                plot(name, label, rows, path)
                print(f"picture: {path if args.quick else path.relative_to(REPO)}\n")
            except ImportError:
                print("(matplotlib not installed: no picture)\n")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
