"""Streaming benchmark: a long 44.1 kHz stereo file -> .npy, peak RSS growth and real-time factor.

    python benchmarks/stream.py --minutes 60        # the issue's 1-hour target
    python benchmarks/stream.py --minutes 5 --check # also compares with the in-memory path

Prints the peak RSS growth over the imported process (target <= 128 MB) and the speed
in multiples of real time (target >= 200x on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS: now, VmHWM: peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def write_long_file(path: str, minutes: float, rate: int = 44100, channels: int = 2) -> None:
    """A chirp plus noise, written in 10 s blocks so the writer never holds it whole."""
    rng = np.random.default_rng(0)
    block = rate * 10
    total = int(minutes * 60 * rate)
    with soundfile.SoundFile(path, "w", rate, channels, subtype="PCM_16") as out:
        for start in range(0, total, block):
            n = min(block, total - start)
            t = (start + np.arange(n)) / rate
            tone = 0.3 * np.sin(2 * np.pi * (200 + 50 * np.sin(2 * np.pi * t / 30)) * t)
            data = tone[:, None] + 0.01 * rng.standard_normal((n, channels))
            out.write(data.astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--check", action="store_true", help="compare with the in-memory encode (needs RAM)")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runs from a checkout, like run.py
    import jax

    import jaxspec

    config = jaxspec.SpectrogramConfig()
    with tempfile.TemporaryDirectory() as folder:
        wav, npy = os.path.join(folder, "long.wav"), os.path.join(folder, "long.npy")
        write_long_file(wav, args.minutes)
        warm = os.path.join(folder, "warm.wav")
        write_long_file(warm, 0.5)
        jaxspec.encode_to_file(config, warm, npy)  # compile once, outside the measurement
        os.remove(npy)
        base = _status_mb("VmRSS")
        _reset_peak()
        start = time.perf_counter()
        shape = jaxspec.encode_to_file(config, wav, npy)
        seconds = time.perf_counter() - start
        growth = _status_mb("VmHWM") - base
        audio_seconds = args.minutes * 60
        print(f"| input | {args.minutes:g} min, 44.1 kHz stereo PCM_16 WAV ({os.path.getsize(wav) / 2**20:.0f} MiB) |")
        print(f"| output | {shape} float32 .npy ({os.path.getsize(npy) / 2**20:.0f} MiB) |")
        print(f"| time | {seconds:.2f} s = {audio_seconds / seconds:.0f}x real time (target >= 200x) |")
        print(f"| peak RSS growth | {growth:.0f} MB (target <= 128 MB) |")
        print(f"| backend | {jax.default_backend()}, {os.cpu_count()} cores |")
        if args.check:
            streamed = np.load(npy, mmap_mode="r")
            memory = np.asarray(jaxspec.encode(config, wav, stream=False))
            error = np.linalg.norm(streamed - memory) / np.linalg.norm(memory)
            print(f"| in-memory vs streamed | shapes {memory.shape} / {streamed.shape}, relative error {error:.2e} |")


if __name__ == "__main__":
    main()
