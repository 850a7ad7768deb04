#!/usr/bin/env python3
"""A reproducible augmentation experiment: one clip, several keys, the drawn values, the same bits again.

Loads the bundled speech clip, augments it with 6 keys split from one seed (convolution with a
synthetic room response, white noise, a time shift, a volume change), prints what each key drew,
saves the clean and the augmented spectrograms side by side, and reruns everything with the same
keys to show that the outputs are bit-identical. The picture needs matplotlib (``pip install
".[cli]"``); without it the rest runs.

Usage (from the repository root)::

    python examples/augmentation_experiment.py --out augmentation_experiment.png --seed 0

Example output (seed 0, abridged)::

    key     mix  noise_amp                   shift    gain
      0   0.343    0.00106   -0.497 s ( -7958 smp)   0.939
      1   0.675    0.00111   +0.289 s ( +4622 smp)   0.956
    ...
    rerun with the same keys: spectrograms bit-identical: True, drawn values bit-identical: True
    one key at a time: drawn values bit-identical: True, spectrograms relative difference 0.0e+00
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxspec

SAMPLE_RATE = 16_000
NUM_KEYS = 6


def room_impulse_response(seconds: float, sample_rate: int, seed: int, decay_db: float = 60.0) -> np.ndarray:
    """A synthetic room response: a direct path, then exponentially decaying Gaussian noise.

    Args:
      seconds: length of the response in seconds.
      sample_rate: samples per second.
      seed: NumPy seed, so the response is the same every run.
      decay_db: the level drop over ``seconds`` (60 dB: a reverberation time of ``seconds``).

    Returns:
      float32 ``[shape=(round(seconds * sample_rate),)]`` with unit energy.
    """
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    envelope = 10.0 ** (-decay_db / 20.0 * t / seconds)
    h = np.random.default_rng(seed).standard_normal(n) * envelope * 0.3
    h[0] = 1.0  # direct path
    return (h / np.sqrt(np.sum(h**2))).astype(np.float32)


def make_config(seed: int) -> jaxspec.SpectrogramConfig:
    augmentation = jaxspec.Augmentation(
        volume=(0.5, 1.5),
        noise=jaxspec.LogUniform(1e-3, 3e-2),
        time_shift=jaxspec.Scaled((-0.2, 0.2)),
        convolution=jaxspec.Convolution(room_impulse_response(0.3, SAMPLE_RATE, seed), mix=(0.3, 0.9)),
    )
    return jaxspec.SpectrogramConfig(sample_rate=SAMPLE_RATE, augmentation=augmentation)


def load_clip(sample_rate: int) -> np.ndarray:
    audio = jaxspec.load_audio(jaxspec.example_path())
    samples = audio.samples if audio.samples.ndim == 1 else audio.samples.mean(axis=1)
    if audio.sample_rate != sample_rate:
        samples = np.asarray(jaxspec.resample(samples, audio.sample_rate, sample_rate))
    return np.asarray(samples, np.float32)


def run(config: jaxspec.SpectrogramConfig, x: np.ndarray, keys: jax.Array):
    """Augmented spectrograms ``[K, frames, bins]`` (row i with keys[i]) and the drawn values."""
    batch = jnp.broadcast_to(jnp.asarray(x), (keys.shape[0], x.shape[0]))
    spectrograms = _spectrogram(config, batch, keys)
    values = jax.vmap(lambda k: jaxspec.draw(config, k, x.shape[0]))(keys)  # what each row drew
    return spectrograms, values


_spectrogram = jax.jit(jaxspec.spectrogram)


def print_values(values: dict[str, jax.Array], sample_rate: int) -> None:
    print(f"{'key':>3}  {'mix':>6}  {'noise_amp':>9}  {'shift':>22}  {'gain':>6}")
    for i in range(values["volume_gain"].shape[0]):
        samples = int(values["time_shift_samples"][i])
        print(
            f"{i:>3}  {float(values['convolution_mix'][i]):6.3f}  {float(values['noise_amplitude'][i]):9.5f}  "
            f"{samples / sample_rate:+7.3f} s ({samples:+6d} smp)  {float(values['volume_gain'][i]):6.3f}"
        )


def to_db(spectrogram: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(np.asarray(spectrogram, np.float64), 1e-12))


def plot(path: str, clean: np.ndarray, augmented: np.ndarray, values: dict, config: jaxspec.SpectrogramConfig) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("clean (key=None)", clean)] + [
        (
            f"key {i}: gain {float(values['volume_gain'][i]):.2f}\n"
            f"noise {float(values['noise_amplitude'][i]):.4f}, mix {float(values['convolution_mix'][i]):.2f}\n"
            f"shift {int(values['time_shift_samples'][i]) / config.sample_rate:+.2f} s",
            augmented[i],
        )
        for i in range(augmented.shape[0])
    ]
    top = max(to_db(s).max() for _, s in panels)
    seconds = clean.shape[0] * config.offset_samples / config.sample_rate
    extent = (0.0, seconds, 0.0, config.sample_rate / 2 / 1000)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.8), sharey=True, constrained_layout=True)
    for ax, (title, s) in zip(axes, panels, strict=True):
        image = ax.imshow(
            to_db(s).T, origin="lower", aspect="auto", extent=extent, vmin=top - 80, vmax=top, cmap="magma"
        )
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("frequency (kHz)")
    fig.colorbar(image, ax=axes, label="power (dB)", shrink=0.9, pad=0.01)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="augmentation_experiment.png", help="where to write the PNG")
    parser.add_argument("--seed", type=int, default=0, help="the seed the keys are split from")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    config = make_config(seed=7)
    x = load_clip(config.sample_rate)
    keys = jax.random.split(jax.random.key(args.seed), NUM_KEYS)
    print(
        f"clip: {x.shape[0]} samples ({x.shape[0] / config.sample_rate:.2f} s); {NUM_KEYS} keys from seed {args.seed}"
    )
    print(config.augmentation)

    augmented, values = run(config, x, keys)
    clean = jaxspec.spectrogram(config, x)  # no key: evaluation, nothing random applied
    print_values(values, config.sample_rate)
    try:
        plot(args.out, np.asarray(clean), np.asarray(augmented), values, config)
        print(f"wrote {args.out}")
    except ImportError:  # the checks below need no picture
        print('no picture: it needs matplotlib (pip install ".[cli]")')

    again, values_again = run(config, x, keys)
    same_out = np.array_equal(np.asarray(augmented).view(np.uint32), np.asarray(again).view(np.uint32))
    same_values = all(np.asarray(values[k]).tobytes() == np.asarray(values_again[k]).tobytes() for k in values)
    print(
        f"rerun with the same keys: spectrograms bit-identical: {same_out}, drawn values bit-identical: {same_values}"
    )

    # one key at a time in a Python loop: the same draws, the same spectrograms up to float rounding
    loop_values = [jaxspec.draw(config, k, x.shape[0]) for k in keys]
    same_loop = all(
        np.asarray(v[k]).tobytes() == np.asarray(values[k][i]).tobytes() for i, v in enumerate(loop_values) for k in v
    )
    single = np.stack([np.asarray(_spectrogram(config, x, k)) for k in keys])
    error = np.linalg.norm(single - np.asarray(augmented)) / np.linalg.norm(np.asarray(augmented))
    print(f"one key at a time: drawn values bit-identical: {same_loop}, spectrograms relative difference {error:.1e}")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0 if same_out and same_values else 1


if __name__ == "__main__":
    raise SystemExit(main())
