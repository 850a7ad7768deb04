#!/usr/bin/env python3
"""Feeding audio files to a JAX training loop: Grain, or a plain Python generator.

Two ways to place the encoder:

A. **On the device, in the train step** (fastest; what ``train_keyword_spotting.py`` does):
   the loader only decodes files into fixed-length waveforms (``jaxspec.grain.LoadAudio``
   or ``jaxspec.encoding.prepare``), and the jitted step computes the augmented spectrograms
   with ``jaxspec.spectrogram(config, waves, key)`` (one key per step; row i of the batch
   uses ``jax.random.fold_in(key, i)``, equal to ``split(key, B)[i]`` under JAX's default).
B. **In the loader** (the step receives spectrograms): ``jaxspec.grain.EncodeAudio(config,
   seed)`` encodes each record with the key ``fold_in(jax.random.key(seed), index)``.

tf.data: the plain generator below plugs into ``tf.data.Dataset.from_generator`` unchanged
(``output_signature`` = float32 ``[B, L]`` and int32 ``[B]``); keep the JAX keys on the JAX
side (derive them from the step number, as here), not in the tf.data pipeline.

Runs in a few seconds on ``examples/data/keywords``. The Grain parts need ``grain``
(``pip install grain``) and are skipped with a note without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jax
import numpy as np

import jaxspec
from jaxspec.encoding import prepare

DATA = Path(__file__).resolve().parent / "data" / "keywords"
CONFIG = jaxspec.SpectrogramConfig(
    window_size="25ms", offset="10ms", augmentation=jaxspec.Augmentation(volume=(0.6, 1.4), noise=0.003)
)


def labelled_files(root: Path = DATA) -> list[dict]:
    """``[{"audio": path, "label": int}]`` for every ``<word>/*.flac`` (words sorted)."""
    words = sorted(p.name for p in root.iterdir() if p.is_dir())
    return [
        {"audio": str(path), "label": i}
        for i, word in enumerate(words)
        for path in sorted((root / word).glob("*.flac"))
    ]


def one_second(path: str) -> np.ndarray:
    """A clip's first second at 16 kHz, float32 ``[16000]``: trimmed, or zero-padded at its end
    (Speech Commands holds clips shorter than 1 s; ``np.stack`` needs one shape)."""
    wave = np.asarray(prepare(CONFIG, path))[: CONFIG.sample_rate]
    return np.pad(wave, (0, CONFIG.sample_rate - wave.shape[0]))


def generator_batches(
    records: list[dict], batch_size: int, seed: int, epoch: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A plain Python loader: shuffled batches of ``(waves [B, 16000], labels [B])`` (way A).

    Shuffling uses a NumPy generator seeded by ``(seed, epoch)``, so every epoch has its own
    reproducible order; the last partial batch is dropped (one compiled shape).
    """
    order = np.random.default_rng([seed, epoch]).permutation(len(records))
    for start in range(0, len(order) - batch_size + 1, batch_size):
        chosen = [records[i] for i in order[start : start + batch_size]]
        waves = np.stack([one_second(r["audio"]) for r in chosen])
        yield waves, np.asarray([r["label"] for r in chosen], np.int32)


@jax.jit
def features_in_step(waves: jax.Array, key: jax.Array) -> jax.Array:
    """What a train step does first (way A): augmented spectrograms of the batch, on the device."""
    return jaxspec.spectrogram(CONFIG, waves, key)  # row i uses fold_in(key, i)


def with_generator(records: list[dict]) -> None:
    step_key = jax.random.key(0)
    for step, (waves, labels) in enumerate(generator_batches(records, batch_size=16, seed=0, epoch=0)):
        feats = features_in_step(waves, jax.random.fold_in(step_key, step))
        if step == 0:
            print(f"generator: waves {waves.shape}, labels {labels.shape} -> features {feats.shape}")
        if step == 2:
            break


def with_grain(records: list[dict]) -> None:
    try:
        import grain
    except ImportError:
        print("grain is not installed (pip install grain): skipping the Grain pipelines")
        return
    from jaxspec.grain import EncodeAudio, LoadAudio

    # Way A: Grain decodes fixed-length waveforms; the step computes the spectrograms.
    waves_ds = (
        grain.MapDataset.source(records)
        .shuffle(seed=0)
        .map(LoadAudio(CONFIG, length="1s"))  # {"audio": float32 [16000], "label": int}
        .batch(16, drop_remainder=True)
    )
    batch = waves_ds[0]
    feats = features_in_step(batch["audio"], jax.random.key(1))
    print(f"grain, way A: waves {batch['audio'].shape}, labels {batch['label'].shape} -> features {feats.shape}")

    # Way B: Grain encodes; record i of the shuffled, repeated stream uses fold_in(key(seed), i).
    spec_ds = (
        grain.MapDataset.source(records)
        .shuffle(seed=0)
        .repeat(2)  # before the transform: epoch 2 has new indices and so new augmentations
        .map_with_index(EncodeAudio(CONFIG, seed=1))  # {"audio": float32 [100, 201], "label": int}
        .batch(16, drop_remainder=True)
    )
    loader = spec_ds.to_iter_dataset(grain.ReadOptions(num_threads=2, prefetch_buffer_size=4))
    first = next(iter(loader))
    print(f"grain, way B: features {first['audio'].shape}, labels {first['label'].shape}")
    again = spec_ds[0]["audio"]
    print("same seed, same spectrograms:", bool(np.array_equal(first["audio"], again)))


def main() -> None:
    records = labelled_files()
    print(f"{len(records)} labelled clips in {DATA}")
    with_generator(records)
    with_grain(records)


if __name__ == "__main__":
    main()
