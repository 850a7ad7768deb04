"""Writes ``tests/fixtures/draws.npz``: keys -> drawn values and augmented spectrograms.

Made once, before the architecture refactor (issue 10), so that ``test_draws_fixture.py``
proves that later changes keep every drawn value bit-identical and every spectrogram
equal (bit-identical where the compiled program is unchanged, else within relative 1e-6).
Rerun only when a change of the draws is intended (and say so in the commit)::

    python tests/make_draws_fixture.py
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

import jaxspec
from jaxspec import Augmentation, Convolution, LogUniform, Noise, Normal, Scaled, SpectrogramConfig, TimeShift, Volume

LENGTH = 2000
SEEDS = (0, 1, 12345)
FIXTURE = Path(__file__).parent / "fixtures" / "draws.npz"


def recording(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32) * np.float32(0.1)


def signal() -> np.ndarray:
    t = np.arange(LENGTH) / 16000
    return (0.5 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)


def configs() -> dict[str, SpectrogramConfig]:
    ir = recording(7, 300) * np.exp(-np.arange(300) / 60).astype(np.float32)
    return {
        "volume_range": SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 1.5))),
        "volume_loguniform": SpectrogramConfig(augmentation=Augmentation(volume=LogUniform(0.25, 4.0))),
        "white_noise": SpectrogramConfig(augmentation=Augmentation(noise=(0.001, 0.05))),
        "noise_long_recording": SpectrogramConfig(
            augmentation=Augmentation(noise=Noise((0.1, 0.5), recording(3, 5000)))
        ),
        "noise_short_recording": SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.3, recording(4, 700)))),
        "shift_seconds": SpectrogramConfig(augmentation=Augmentation(time_shift=TimeShift(Normal(0.0, 0.02)))),
        "shift_scaled": SpectrogramConfig(augmentation=Augmentation(time_shift=Scaled((-0.3, 0.3)))),
        "convolution": SpectrogramConfig(augmentation=Augmentation(convolution=Convolution(ir, mix=(0.2, 0.9)))),
        "all_rms_hop160": SpectrogramConfig(
            offset=160,
            normalization=("rms", 0.1),
            fft_size=512,
            augmentation=Augmentation(
                volume=Volume((0.5, 2.0)),
                noise=0.01,
                time_shift=(-0.05, 0.05),
                convolution=Convolution(ir, mix=0.5),
            ),
        ),
    }


def main() -> None:
    x = signal()
    arrays: dict[str, np.ndarray] = {"signal": x}
    for name, config in configs().items():
        for seed in SEEDS:
            key = jax.random.key(seed)
            for field, value in jaxspec.draw(config, key, LENGTH).items():
                arrays[f"{name}/{seed}/draw/{field}"] = np.asarray(value)
            arrays[f"{name}/{seed}/spectrogram"] = np.asarray(jaxspec.spectrogram(config, x, key))
        batch = np.stack([x, x[::-1].copy(), 0.5 * x])
        arrays[f"{name}/batch/spectrogram"] = np.asarray(jaxspec.spectrogram(config, batch, jax.random.key(99)))
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(FIXTURE, **arrays)
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
