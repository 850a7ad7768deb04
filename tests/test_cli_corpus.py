"""The command line on a ragged corpus: bucketed batches and the persistent compilation cache."""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import numpy as np
import soundfile

import jaxspec
from jaxspec.corpus import file_key

DRIVER = """
import collections, sys, jax.monitoring
seen = collections.Counter()
jax.monitoring.register_event_duration_secs_listener(lambda name, *a, **k: seen.update([name]))
jax.monitoring.register_event_listener(lambda name, *a, **k: seen.update([name]))
from jaxspec.cli import main
code = main(sys.argv[1:])
# XLA compilations: with the persistent cache, requests that missed it; without, every backend compile.
requests, hits = seen["/jax/compilation_cache/compile_requests_use_cache"], seen["/jax/compilation_cache/cache_hits"]
compiles = requests - hits if requests else seen["/jax/core/compile/backend_compile_duration"]
print("COMPILES", compiles, "CODE", code)
"""


def _clips(folder, lengths, seed, rate=16000):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i, n in enumerate(lengths):
        soundfile.write(folder / f"clip{i}.wav", (rng.standard_normal(n) * 0.1).astype(np.float32), rate)


def _run(args, cache_home):
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_COMPILATION_CACHE_DIR", "JAXSPEC_COMPILE_CACHE")}
    env["XDG_CACHE_HOME"] = str(cache_home)
    done = subprocess.run([sys.executable, "-c", DRIVER, *map(str, args)], env=env, capture_output=True, text=True)
    line = [x for x in done.stdout.splitlines() if x.startswith("COMPILES")]
    assert line, done.stdout + done.stderr
    _, compiles, _, code = line[-1].split()
    return int(compiles), int(code), done.stderr


def test_second_run_over_new_files_compiles_nothing(tmp_path):
    augment = ["--volume", "0.5:1.5", "--noise", "0.01", "--key", "0", "--no-progress"]
    _clips(tmp_path / "first", [9000, 9500, 12000, 17000, 17500], seed=0)
    _clips(tmp_path / "second", [9100, 11000, 16900, 17900], seed=1)  # new lengths, the same rungs
    compiles, code, stderr = _run(["encode", tmp_path / "first", "-o", tmp_path / "out1", *augment], tmp_path / "c")
    assert code == 0 and compiles > 0, stderr
    assert any((tmp_path / "c" / "jaxspec" / "xla").iterdir())
    compiles, code, stderr = _run(["encode", tmp_path / "second", "-o", tmp_path / "out2", *augment], tmp_path / "c")
    assert code == 0 and compiles == 0, stderr
    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01))
    for i in range(4):
        out = np.load(tmp_path / "out2" / f"clip{i}.npy")
        alone = jaxspec.encode(config, str(tmp_path / "second" / f"clip{i}.wav"), key=file_key(0, f"clip{i}"))
        np.testing.assert_allclose(out, np.asarray(alone), rtol=1e-5, atol=1e-6 * float(np.max(alone)))


def test_no_compile_cache_writes_nothing(tmp_path):
    _clips(tmp_path / "in", [4000], seed=2)
    compiles, code, _ = _run(["encode", tmp_path / "in", "-o", tmp_path / "out", "--no-compile-cache"], tmp_path / "c")
    assert code == 0 and compiles > 0
    assert not (tmp_path / "c" / "jaxspec").exists()


def test_compiled_programs_grow_with_buckets_not_lengths(tmp_path):
    lengths = np.unique(np.geomspace(8000, 64000, 40).astype(int))
    _clips(tmp_path / "in", lengths.tolist(), seed=3)
    compiles, code, stderr = _run(["encode", tmp_path / "in", "-o", tmp_path / "out", "--no-compile-cache"], tmp_path)
    assert code == 0, stderr
    rungs = len({jaxspec.corpus.bucket_length(n) for n in lengths})
    assert compiles <= rungs + 8, (compiles, rungs)  # one program per rung, a few small helpers
    x, rate = soundfile.read(tmp_path / "in" / "clip7.wav", dtype="float32")
    expected = jaxspec.spectrogram(jaxspec.SpectrogramConfig(), x)
    np.testing.assert_allclose(np.load(tmp_path / "out" / "clip7.npy"), np.asarray(expected), rtol=1e-5, atol=1e-7)
    assert jax.random.key_data(file_key(0, "a")).shape == (2,)


def test_second_run_over_new_files_at_another_rate_compiles_nothing(tmp_path):
    # resampling compiled one program per input length (12 new 44.1 kHz files: 12 programs);
    # it runs at the ladder's lengths now (these all fall in the rung of 32768 samples)
    _clips(tmp_path / "first", [24000, 26000, 30000], seed=0, rate=44100)
    _clips(tmp_path / "second", [25000, 27500, 31000], seed=1, rate=44100)
    compiles, code, stderr = _run(
        ["encode", tmp_path / "first", "-o", tmp_path / "out1", "--no-progress"], tmp_path / "c"
    )
    assert code == 0 and compiles > 0, stderr
    compiles, code, stderr = _run(
        ["encode", tmp_path / "second", "-o", tmp_path / "out2", "--no-progress"], tmp_path / "c"
    )
    assert code == 0 and compiles == 0, stderr
    config = jaxspec.SpectrogramConfig()
    for i in range(3):
        path = tmp_path / "second" / f"clip{i}.wav"
        x, _ = soundfile.read(path, dtype="float32")
        alone = jaxspec.spectrogram(config, jaxspec.resample(x, 44100, 16000))  # at its own length
        out = np.load(tmp_path / "out2" / f"clip{i}.npy")
        np.testing.assert_allclose(out, np.asarray(alone), rtol=1e-5, atol=1e-6 * float(np.max(alone)))
