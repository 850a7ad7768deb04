"""jaxspec against torch.stft and torchaudio on an accelerator (issue 6, item 4).

One process; inside it each workload's contenders are warmed up, then timed interleaved
over rounds (order rotating; min and median reported), with the device synchronized
before the clock stops. Errors are against the float64 NumPy reference of
``benchmarks/run.py`` (on the first rows of large batches, to keep the reference cheap).

Workloads:
  G1   spectrogram of B clips x 1 s at 16 kHz, default config, B in (64, 1024, 4096).
  G2   spectrogram of one 10-minute clip.
  G3   resample 10 s at 44.1 kHz and 48 kHz -> 16 kHz, one clip and a batch of 64;
       SNR on 1 kHz and 7 kHz sines.

Targets (issue 6): G1 at 1024 clips >= 1.5x torch.stft; G3 >= 120 dB SNR and faster
than ``torchaudio.transforms.Resample`` (its defaults; its "kaiser_best" settings
are shown too).

Usage (on the lent GPU machine, see benchmarks/README.md for the wheels to carry)::

    python benchmarks/gpu.py                 # torch on cuda when available, else cpu
    python benchmarks/gpu.py --quick --device cpu
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import (  # noqa: E402
    LONG_SECONDS,
    RESAMPLE_HEADER,
    SAMPLE_RATE,
    TIMING,
    Contender,
    check,
    formulations_table,
    interleaved,
    kept,
    reference_spectrogram,
    relative_error,
    resample_cells,
    resample_rows,
    row_of,
    sines_at,
    summarize,
    table,
    test_signal,
    timing_cells,
    torch_contenders,
    valid,
)

BATCHES = (64, 1024, 4096)
REFERENCE_ROWS = 8  # rows of a batch compared with the float64 reference
RATES = (44100, 48000)
RESAMPLE_BATCH = 64
# torchaudio's documented "kaiser_best" settings (librosa's resampy equivalent)
KAISER_BEST = dict(lowpass_filter_width=64, rolloff=0.9475937167399596, resampling_method="sinc_interp_kaiser",
                   beta=14.769656459379492)  # fmt: skip
NOTES = {
    "defaults": "sinc_interp_hann, width 6, rolloff 0.99",
    "kaiser_best": "sinc_interp_kaiser, width 64, rolloff 0.948",
}


def torch_sync(torch: Any, device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


# ------------------------------------------------------------------ spectrogram
def spectrogram_contenders(x: np.ndarray, device: str) -> list[Contender]:
    import jax

    import jaxspec

    fn, config, xj = jax.jit(jaxspec.spectrogram), jaxspec.SpectrogramConfig(), jax.device_put(x)
    first_rows = lambda out: np.asarray(out[..., :REFERENCE_ROWS, :, :] if out.ndim == 3 else out)
    contenders = [
        Contender(
            "jaxspec (jit)", lambda: fn(config, xj).block_until_ready(), first_rows, formulation="jax.jit(spectrogram)"
        )
    ]
    try:
        import torch
    except ImportError:
        return contenders
    # Every torch formulation of run.py (|X|^2 forms, inference_mode, unfold + rfft), on the device.
    peers = torch_contenders(
        x, device, lambda: torch_sync(torch, device), looped=x.shape[0] <= 64 if x.ndim == 2 else False
    )
    for c in peers:
        c.result = lambda out, mapped=c.result: mapped(out[:REFERENCE_ROWS] if out.ndim == 3 else out)
    return contenders + peers


def spectrogram_rows(x: np.ndarray, device: str, rounds: int) -> list[dict[str, Any]]:
    ref = reference_spectrogram(x[:REFERENCE_ROWS] if x.ndim == 2 else x)
    contenders = spectrogram_contenders(x, device)
    rows = [row_of(c, error=relative_error(c.result(c.run()), ref)) for c in contenders]
    times = interleaved(contenders, rounds)
    for row in rows:
        row["times"] = times[row["key"]]
    return rows


# ------------------------------------------------------------------ resampling
def resample_contenders(sines: dict[float, np.ndarray], orig: int, device: str) -> list[Contender]:
    """Each contender's ``apply`` maps a NumPy ``[..., n]`` input to its ``[..., m]`` output."""
    import jax

    import jaxspec

    contenders = []
    staged = {f: jax.device_put(s) for f, s in sines.items()}
    key = next(iter(sines))
    fn = jax.jit(jaxspec.resample, static_argnums=(1, 2))
    contenders.append(
        Contender(
            "jaxspec.resample (jit)",
            lambda: fn(staged[key], orig, SAMPLE_RATE).block_until_ready(),
            apply=lambda s: np.asarray(fn(jax.device_put(s), orig, SAMPLE_RATE)),
        )
    )
    try:
        import torch
        import torchaudio
    except ImportError:
        return contenders
    on_device = {f: torch.from_numpy(s).to(device) for f, s in sines.items()}
    for label, options in (("defaults", {}), ("kaiser_best", KAISER_BEST)):
        transform = torchaudio.transforms.Resample(orig, SAMPLE_RATE, **options).to(device)

        def run(transform: Any = transform) -> Any:
            out = transform(on_device[key])
            torch_sync(torch, device)
            return out

        def apply(s: np.ndarray, transform: Any = transform) -> np.ndarray:
            return transform(torch.from_numpy(s).to(device)).cpu().numpy()

        contenders.append(
            Contender(
                f"torchaudio Resample ({label}, {device})",
                run,
                note=NOTES[label],
                apply=apply,
            )
        )
    return contenders


def first_output_row(c: Contender, x: np.ndarray) -> np.ndarray:
    """The first signal of a contender's (possibly batched) output."""
    y = np.asarray(c.apply(x))
    return y.reshape(-1, y.shape[-1])[0]


def resampling_rows(rounds: int, device: str, batch: int) -> list[dict[str, Any]]:
    rows = []
    for orig in RATES:
        sines = sines_at(orig)
        if batch > 1:
            sines = {f: np.broadcast_to(s, (batch, s.shape[0])).copy() for f, s in sines.items()}
        contenders = resample_contenders(sines, orig, device)
        rows += resample_rows(contenders, sines, f"{orig / 1000:g}k -> 16k, {batch} x 10 s", rounds, first_output_row)
    return rows


# ------------------------------------------------------------------ report
def speed_table(rows: list[dict[str, Any]], label: str) -> str:
    """One row per contender: its fastest valid formulation (all of them listed below it)."""
    base = summarize(rows[0]["times"])
    body = [
        [label, r["name"], r["formulation"], *timing_cells(r["times"], base), f"{r['error']:.2e}", r["note"]]
        for r in kept(rows)
    ]
    text = table(["workload", "contender", "kept formulation", *TIMING, "rel. error", "note"], body)
    return text + f"\n\nAll formulations, {label}:\n\n" + formulations_table(rows, base)


def resample_table(rows: list[dict[str, Any]]) -> tuple[str, list[list[str]]]:
    body, targets = [], []
    for rate in dict.fromkeys(r["rate"] for r in rows):
        group = [r for r in rows if r["rate"] == rate]
        js = group[0]
        body += resample_cells(rate, group, js)
        snr = min(js["snr_1k"], js["snr_7k"])
        targets.append([f"{rate}: jaxspec SNR ≥ 120 dB", f"{snr:.1f} dB", check(snr >= 120.0)])
        default = next((r for r in group if "defaults" in r["name"]), None)
        if default is not None:
            ratio = min(default["times"]) / min(js["times"])
            targets.append([f"{rate}: faster than torchaudio Resample (min)", f"{ratio:.2f}×", check(ratio > 1.0)])
    return table(RESAMPLE_HEADER, body), targets


def machine(device: str) -> str:
    import importlib.metadata

    import jax

    versions = []
    for package in ("jax", "jaxlib", "torch", "torchaudio", "numpy"):
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    line = f"JAX devices: {', '.join(str(d) for d in jax.devices())}; torch device: {device}"
    try:
        import torch

        if device.startswith("cuda"):
            line += f" ({torch.cuda.get_device_name()})"
    except ImportError:
        pass
    return line + "\nVersions: " + ", ".join(versions)


def pick_device(requested: str | None) -> str:
    if requested:
        return requested
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--quick", action="store_true", help="few rounds and the smallest batches: a smoke test")
    parser.add_argument("--json", type=Path, help="write every raw result to this file")
    args = parser.parse_args(argv)
    device = pick_device(args.device)
    rounds = 3 if args.quick else 20
    batches = BATCHES[:1] if args.quick else BATCHES
    print(machine(device) + "\n", flush=True)
    results: dict[str, Any] = {"device": device}
    targets = []

    print("## G1/G2: spectrogram (default config: ws 400, hop 133, hann, power 2)\n", flush=True)
    texts = []
    for batch in batches:
        rows = spectrogram_rows(test_signal((batch, SAMPLE_RATE)), device, rounds)
        results[f"G1 {batch}"] = rows
        texts.append(speed_table(rows, f"{batch} × 1 s"))
        if batch == 1024 and len(rows) > 1:
            best = min((r for r in rows[1:] if valid(r)), key=lambda r: min(r["times"]))
            ratio = min(best["times"]) / min(rows[0]["times"])
            label = f"{ratio:.2f}× vs {best['formulation']}"
            targets.append(["G1 1024 clips: ≥ 1.5× fastest torch.stft (min)", label, check(ratio >= 1.5)])
    long_rows = spectrogram_rows(test_signal((LONG_SECONDS * SAMPLE_RATE,)), device, max(3, rounds // 3))
    results["G2"] = long_rows
    texts.append(speed_table(long_rows, f"{LONG_SECONDS // 60} min"))
    print("\n\n".join(texts) + "\n", flush=True)

    print("## G3: resample 10 s to 16 kHz\n", flush=True)
    resample_batches = (1,) if args.quick else (1, RESAMPLE_BATCH)
    rows = [row for batch in resample_batches for row in resampling_rows(rounds, device, batch)]
    results["G3"] = rows
    text, resample_targets = resample_table(rows)
    targets += resample_targets
    print(text + "\n")
    print("## Targets\n\n" + table(["target", "measured", ""], targets))
    if args.json:
        args.json.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
