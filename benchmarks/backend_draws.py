"""Drawn values on this backend against a file of draws made on another (SPEC section 4).

Draws every augmentation parameter of a set of configs (each distribution kind, every waveform
and feature stage) with ``jaxspec.draw`` for N keys, under ``jax.vmap``, and a ``Dither``'s noise
(which ``jaxspec.draw`` does not return: it is drawn per frame inside the pipeline), and either
saves them or compares them with a saved file, field by field: how many keys draw other bits, and
by how many float32 ulps at most. Run it once on CPU and once on the accelerator::

    JAX_PLATFORMS=cpu python benchmarks/backend_draws.py --save draws_cpu.npz
    python benchmarks/backend_draws.py --compare draws_cpu.npz     # on the GPU machine

It also checks the two float32 operations that decide such differences: whether XLA fuses
``a * b + c`` into one rounding (an FMA) on this backend, and how often its ``exp`` and
``erf_inv`` differ from the saved backend's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jaxspec  # noqa: E402
from jaxspec import (  # noqa: E402
    VTLP,
    Augmentation,
    FrequencyMask,
    LogUniform,
    Noise,
    Normal,
    Scaled,
    SpectrogramConfig,
    TimeMask,
    TimeShift,
    TimeWarp,
    Uniform,
    Volume,
    preprocessing,
    presets,
)

LENGTH = 16000
DITHER_FRAMES = 2  # rows 0 and 1: each draws from its own fold_in(fold_in(key, 8), row)


def configs() -> dict[str, SpectrogramConfig]:
    recording = np.random.default_rng(3).standard_normal(40000).astype(np.float32)
    waveform = {
        "uniform": Augmentation(volume=(0.5, 1.5), noise=Uniform(0.001, 0.05)),
        "uniform_odd_span": Augmentation(volume=Uniform(0.3, 1.7), noise=Noise((0.01, 0.3), recording)),
        "normal": Augmentation(volume=Volume(Normal(1.0, 0.2)), time_shift=TimeShift(Normal(0.0, 0.02))),
        "loguniform": Augmentation(volume=LogUniform(0.25, 4.0), noise=LogUniform(1e-4, 1e-1)),
        "scaled_shift": Augmentation(time_shift=Scaled((-0.3, 0.3))),
    }
    out = {name: SpectrogramConfig(augmentation=a) for name, a in waveform.items()}
    features = Augmentation(
        frequency_mask=FrequencyMask((1, 2), (0, 8)),
        time_mask=TimeMask((1, 3), (0, 20), max_fraction=0.3),
        time_warp=TimeWarp(5),
        vtlp=VTLP((0.9, 1.1)),
    )
    out["features"] = presets.kaldi_fbank(num_mel_bins=40, augmentation=features)
    return out


def dither_noise(keys: jax.Array) -> np.ndarray:
    """Each key's dither noise on ``DITHER_FRAMES`` frames of 400 samples (Kaldi's window), as the
    pipeline draws it (``preprocessing.dither``): on zero frames with amount 1 the output is the noise
    itself, bit for bit (``0 + 1 * noise`` is exact); ``jaxspec.draw`` returns nothing for it."""
    zeros = jnp.zeros((DITHER_FRAMES, 400), jnp.float32)
    return np.asarray(jax.jit(jax.vmap(lambda k: preprocessing.dither(zeros, 1.0, k)))(keys))


def draws(n: int) -> dict[str, np.ndarray]:
    keys = jax.random.split(jax.random.key(2026), n)
    out: dict[str, np.ndarray] = {}
    for name, config in configs().items():
        drawn = jax.jit(jax.vmap(lambda k, c=config: jaxspec.draw(c, k, LENGTH)))(keys)
        out.update({f"{name}/{field}": np.asarray(v) for field, v in drawn.items()})
    out["dither/noise"] = dither_noise(keys)
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(1 << 20).astype(np.float32) for _ in range(3))
    out["op/mul_add"] = np.asarray(jax.jit(lambda a, b, c: a * b + c)(a, b, c))
    out["op/exp"] = np.asarray(jax.jit(jnp.exp)(rng.uniform(-2, 2, 1 << 20).astype(np.float32)))
    out["op/erf_inv"] = np.asarray(jax.jit(jax.lax.erf_inv)(rng.uniform(-1, 1, 1 << 20).astype(np.float32)))
    fused = (a.astype(np.float64) * b + c).astype(np.float32)
    one, two = np.mean(out["op/mul_add"] == fused), np.mean(out["op/mul_add"] == a * b + c)
    print(f"a * b + c on {jax.default_backend()}: {one:.4f} equal one rounding (FMA), {two:.4f} two")
    return out


def ulps(a: np.ndarray, b: np.ndarray) -> int:
    """The largest distance in float32 steps (0 for integers that are equal)."""
    if a.dtype.kind != "f":
        return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max(initial=0))
    ia, ib = (np.asarray(v, np.float32).view(np.int32).astype(np.int64) for v in (a, b))
    return int(np.abs(ia - ib).max(initial=0))


def check_keys(parser: argparse.ArgumentParser, path: Path, keys: int) -> None:
    """Refuses a ``--keys`` other than the saved file's: the fields would not broadcast."""
    with np.load(path) as saved:
        field = next(f for f in saved.files if "/" in f and not f.startswith("op/"))
        count = saved[field].shape[0]
    if count != keys:
        parser.error(f"--keys {keys}: --compare {str(path)!r} holds draws for {count} keys; pass --keys {count}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=4096)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="write this backend's draws here (.npz)")
    group.add_argument("--compare", type=Path, help="compare this backend's draws with the file")
    args = parser.parse_args(argv)
    if args.compare:
        check_keys(parser, args.compare, args.keys)
    here = draws(args.keys)
    if args.save:
        np.savez_compressed(args.save, backend=np.asarray(jax.default_backend()), **here)
        print(f"wrote {args.save}: {len(here)} arrays on {jax.default_backend()}")
        return 0
    with np.load(args.compare) as saved:
        other = str(saved["backend"])
        print(f"\n| field | keys | differ from {other} | max ulps |\n|---|---|---|---|")
        for field, value in here.items():
            if field not in saved.files:  # a file saved before this field was drawn
                print(f"| {field} | {value.shape[0]} | not in {args.compare.name} | |")
                continue
            ref = saved[field]
            differ = np.any((value != ref).reshape(value.shape[0], -1), axis=1)
            print(f"| {field} | {value.shape[0]} | {int(differ.sum())} | {ulps(value, ref)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
