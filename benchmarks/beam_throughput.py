"""Throughput of the Beam job (DirectRunner, 2 processes) against ``jaxspec encode`` (issue 16).

1000 WAV files of distinct lengths, uniform in 0.5-6 s at 16 kHz, encoded with the default
config, keyless and with a 3-stage augmentation; each command runs in a fresh process, COLD
(an empty compilation cache) then WARM (the cache filled by the cold run). Prints files/s and a
paper estimate for a corpus of 1M such files on N workers, from the measured per-file cost.

    python benchmarks/beam_throughput.py [--files 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

REPO = Path(__file__).resolve().parent.parent
AUGMENT = ["--key", "0", "--volume", "0.5:1.5", "--noise", "0.01", "--time-shift", "-0.1:0.1"]


def make_corpus(folder: Path, files: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    lengths = rng.permutation(np.linspace(8000, 96000, files).astype(int))
    for i, n in enumerate(lengths):
        sub = folder / f"part{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        soundfile.write(sub / f"clip{i:05d}.wav", (rng.standard_normal(n) * 0.1).astype(np.float32), 16000)
    return float(lengths.sum()) / 16000


def timed(command: list[str], cache: Path) -> float:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=str(REPO), OMP_WAIT_POLICY="PASSIVE")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jaxspec-beam-"))
    try:
        audio = make_corpus(work / "corpus", args.files)
        print(f"{args.files} files, {audio:.0f} s of audio; {os.cpu_count()} CPUs\n")
        print("| command | arm | cold s | cold files/s | warm s | warm files/s |")
        print("|---|---|---|---|---|---|")
        per_file = {}
        for name, base in (
            ("jaxspec encode", [sys.executable, "-m", "jaxspec", "encode", str(work / "corpus"), "--no-progress"]),
            (
                f"jaxspec.beam, DirectRunner x{args.workers}",
                [
                    sys.executable,
                    "-m",
                    "jaxspec.beam",
                    "--input",
                    str(work / "corpus"),
                    "--direct_num_workers",
                    str(args.workers),
                    "--direct_running_mode",
                    "multi_processing",
                ],
            ),
        ):
            for arm, extra in (("keyless", []), ("augmented", AUGMENT)):
                cache = work / f"cache-{len(per_file)}"
                runs = []
                for _ in ("cold", "warm"):
                    out = work / "out"
                    shutil.rmtree(out, ignore_errors=True)
                    flag = ["-o", str(out)] if "encode" in base else ["--output", str(out)]
                    runs.append(timed([*base, *flag, *extra], cache))
                per_file[(name, arm)] = runs[1] / args.files
                cold, warm = runs
                print(
                    f"| {name} | {arm} | {cold:.1f} | {args.files / cold:.1f} | {warm:.1f} | {args.files / warm:.1f} |"
                )
        print()
        for (name, arm), seconds in per_file.items():
            if "beam" not in name:
                continue
            cpu_seconds = seconds * args.workers  # per file, on one worker process
            for workers in (10, 100, 1000):
                hours = 1_000_000 * cpu_seconds / workers / 3600
                print(
                    f"paper estimate, {arm}: 1M files of ~3 s on {workers} workers (1 process each, as here): "
                    f"{hours:.1f} h"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
