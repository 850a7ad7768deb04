"""SpecAugment speed: waveform -> log-mel (dB) -> frequency and time masks, jaxspec vs torchaudio, on CPU.

Workload: 64 clips x 1 s at 16 kHz; torchaudio's ``MelSpectrogram(n_fft=400, hop_length=160,
n_mels=80)`` (centred, reflect padding, HTK mel, power 2) + ``AmplitudeToDB("power", top_db=80)`` +
``FrequencyMasking(27)`` + ``TimeMasking(100)`` (SpecAugment's LB policy, masks drawn per example),
and the same pipeline in jaxspec: ``presets.torchaudio_melspectrogram(...)`` + ``Decibels(top_db=80)``
with ``Augmentation(frequency_mask=FrequencyMask(1, (0, 27)), time_mask=TimeMask(1, (0, 100)))``:
one jitted call for the batch, one key.

torchaudio runs in its fastest form, chosen here: per example (a loop over the 64 clips) or batched
(one ``[64, L]`` tensor, masks with ``iid_masks=True`` so each clip gets its own). torch (CPU, 2
threads, ``OMP_WAIT_POLICY=PASSIVE``) runs in a worker process (it may live in another virtual
environment: ``--torch-python``); the driver times jaxspec here and asks the worker to time one
call of a torch form, interleaved, the order rotating each round. min and median over the rounds.

Usage::

    python benchmarks/specaugment.py --torch-python /path/to/venv-with-torch/bin/python [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's jaxspec

CLIPS, SECONDS, RATE = 64, 1.0, 16000
N_FFT, HOP, N_MELS, TOP_DB = 400, 160, 80, 80.0
FREQ_WIDTH, TIME_WIDTH = 27, 100
TORCH_THREADS = int(os.environ.get("BENCH_TORCH_THREADS", 0)) or (
    len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
)  # one per usable core (run.py's rule)

WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    import numpy as np
    import torch
    torch.set_num_threads(int(os.environ["TORCH_THREADS"]))
    sys.path.insert(0, os.environ["BENCH_DIR"])
    from peers_features import import_torchaudio  # stubs torchaudio's C extension when it does not load
    torchaudio = import_torchaudio()
    import torchaudio.transforms as T

    n_fft, hop, n_mels, top_db, fw, tw = (float(v) if "." in v else int(v) for v in sys.argv[2:8])
    clips = torch.from_numpy(np.load(sys.argv[1]))
    mel = T.MelSpectrogram(16000, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    to_db = T.AmplitudeToDB("power", top_db=top_db)
    freq, time_ = T.FrequencyMasking(fw), T.TimeMasking(tw)
    freq_iid, time_iid = T.FrequencyMasking(fw, iid_masks=True), T.TimeMasking(tw, iid_masks=True)

    def per_example():
        return [time_(freq(to_db(mel(x)))) for x in clips]

    def batched():
        spec = to_db(mel(clips)[:, None])  # [B, 1, n_mels, frames]: top_db per example (a 4-D input)
        return time_iid(freq_iid(spec))

    forms = {"per-example loop": per_example, "batched, iid_masks=True": batched}
    with torch.inference_mode():
        for f in forms.values():
            f()
        print(json.dumps({"torch": torch.__version__, "torchaudio": torchaudio.__version__,
                          "threads": torch.get_num_threads(), "forms": list(forms)}), flush=True)
        for line in sys.stdin:
            name = line.strip()
            start = time.perf_counter()
            forms[name]()
            print(json.dumps(time.perf_counter() - start), flush=True)
    """
)


def jaxspec_call(clips: np.ndarray):
    """The jaxspec side: one jitted call for the batch; returns a zero-argument timed function."""
    import dataclasses

    import jax

    import jaxspec
    from jaxspec import Decibels, FrequencyMask, TimeMask

    config = jaxspec.presets.torchaudio_melspectrogram(sample_rate=RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    config = dataclasses.replace(
        config,
        features=config.features + (Decibels(top_db=TOP_DB),),
        augmentation=jaxspec.Augmentation(
            frequency_mask=FrequencyMask(1, (0, FREQ_WIDTH)), time_mask=TimeMask(1, (0, TIME_WIDTH))
        ),
    )
    x = jax.device_put(clips)
    key = jax.random.key(0)
    run = lambda: jaxspec.spectrogram(config, x, key).block_until_ready()
    run()
    return run, config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", default=sys.executable, help="a python with torch and torchaudio")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    clips = (0.1 * rng.standard_normal((CLIPS, int(SECONDS * RATE)))).astype(np.float32)
    run_jax, config = jaxspec_call(clips)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "clips.npy")
        np.save(path, clips)
        env = dict(
            os.environ,
            OMP_WAIT_POLICY="PASSIVE",
            TORCH_THREADS=str(TORCH_THREADS),
            BENCH_DIR=os.path.dirname(os.path.abspath(__file__)),
        )
        sizes = [N_FFT, HOP, N_MELS, TOP_DB, FREQ_WIDTH, TIME_WIDTH]
        worker = subprocess.Popen(
            [args.torch_python, "-c", WORKER, path, *map(str, sizes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            stderr=(errors := tempfile.TemporaryFile("w+")),  # a file: a pipe could fill and stall the worker
        )
        first = worker.stdout.readline()
        if not first:  # the worker could not start (no torch or torchaudio there): say so, once
            worker.wait()
            errors.seek(0)
            reason = (errors.read().strip().splitlines() or ["no output"])[-1]
            print(
                f"the torch worker ({args.torch_python}) stopped: {reason}; pass --torch-python with a python "
                "that has torch and torchaudio",
                file=sys.stderr,
            )
            return 1
        info = json.loads(first)

        def torch_form(name):
            def call():
                worker.stdin.write(name + "\n")
                worker.stdin.flush()
                return json.loads(worker.stdout.readline())

            return call

        runs = {"jaxspec (one jitted call, per-example masks)": None}
        runs.update({f"torchaudio ({form})": torch_form(form) for form in info["forms"]})
        times: dict[str, list[float]] = {name: [] for name in runs}
        names = list(runs)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                if runs[name] is None:
                    start = time.perf_counter()
                    run_jax()
                    times[name].append(time.perf_counter() - start)
                else:
                    times[name].append(runs[name]())
        worker.stdin.close()
        worker.wait()
    import jax

    print(
        f"waveform -> log-mel ({N_MELS} mels, dB, top_db {TOP_DB:g}) -> 1 frequency mask (0..{FREQ_WIDTH}) + "
        f"1 time mask (0..{TIME_WIDTH}) for {CLIPS} x {SECONDS:g} s at {RATE} Hz -> {config.output_shape(16000)}"
    )
    print(
        f"jax {jax.__version__} ({jax.devices()[0].platform}), torch {info['torch']} / torchaudio "
        f"{info['torchaudio']} ({info['threads']} threads), {os.cpu_count()} CPUs, {args.rounds} interleaved rounds"
    )
    jax_min = min(times[names[0]])
    torch_best = min(names[1:], key=lambda n: min(times[n]))
    print(f"  {'contender':52s} {'min ms':>8s} {'median ms':>10s} {'vs jaxspec':>11s}")
    for name in names:
        lo, med = min(times[name]), statistics.median(times[name])
        mark = "  <- torchaudio's fastest form" if name == torch_best else ""
        print(f"  {name:52s} {lo * 1e3:8.1f} {med * 1e3:10.1f} {lo / jax_min:10.2f}x{mark}")
    speedup = min(times[torch_best]) / jax_min
    # "0.8x faster" read as a win: below 1 say how much slower, as a ratio above 1
    verdict = f"{speedup:.2f}x faster than" if speedup >= 1.0 else f"{1.0 / speedup:.2f}x slower than"
    print(f"jaxspec is {verdict} torchaudio's fastest form ({torch_best}) by the min")


if __name__ == "__main__":
    main()
