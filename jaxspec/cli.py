"""The ``jaxspec`` command line: ``demo``, ``encode``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def _demo(args: argparse.Namespace) -> int:
    import jax

    from .config import SpectrogramConfig
    from .encode import encode
    from .io import audio_info, example_path

    path = args.path or example_path()
    config = SpectrogramConfig()
    info = audio_info(path)
    print(f"input   {path}\n        {info.duration:.3f} s, {info.samplerate} Hz, {info.channels} channel(s), {info.format}")
    print("config\n  " + config.describe().replace("\n", "\n  "))
    start = time.perf_counter()
    out = jax.block_until_ready(encode(config, path))
    first = time.perf_counter() - start
    start = time.perf_counter()
    out = jax.block_until_ready(encode(config, path))
    again = time.perf_counter() - start
    out = np.asarray(out)
    print(f"output  float32 {out.shape} = (frames, bins); min {out.min():.3g}, max {out.max():.3g}")
    print(f"time    first call {first * 1e3:.0f} ms (trace + compile), then {again * 1e3:.1f} ms on {jax.default_backend()}")
    _plot(out, config, args.out, title=Path(path).name)
    print(f"picture {args.out}")
    return 0


def _plot(spec: np.ndarray, config, out: str, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("writing a picture needs matplotlib: pip install 'jaxspec[cli]'") from None
    db = 10 * np.log10(np.maximum(spec, 1e-10))
    seconds = spec.shape[0] * config.offset_samples / config.sample_rate
    fig, ax = plt.subplots(figsize=(8, 3.5), constrained_layout=True)
    image = ax.imshow(
        db.T, origin="lower", aspect="auto", cmap="magma", vmin=db.max() - 80, vmax=db.max(),
        extent=(0, seconds, 0, config.sample_rate / 2),
    )
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)", title=title)
    fig.colorbar(image, ax=ax, label="power (dB)")
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _encode(args: argparse.Namespace) -> int:
    from .config import SpectrogramConfig
    from .encode import encode

    config = SpectrogramConfig()
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    for path in args.paths:
        try:
            spec = np.asarray(encode(config, path))
        except (OSError, ValueError) as error:
            print(f"error: {path}: {error}", file=sys.stderr)
            failures += 1
            continue
        target = out_dir / (Path(path).stem + ".npy")
        np.save(target, spec)
        print(f"{path} -> {target} {spec.shape}")
    print(f"{len(args.paths) - failures} written, {failures} failed")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jaxspec`` command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="jaxspec", description="Audio spectrograms with JAX.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="encode the bundled speech clip, print what it made, write a picture")
    demo.add_argument("path", nargs="?", help="an audio file (default: the bundled clip)")
    demo.add_argument("--out", default="spectrogram.png", help="the picture to write (PNG)")
    demo.set_defaults(run=_demo)
    encode = commands.add_parser("encode", help="write one .npy spectrogram per input file")
    encode.add_argument("paths", nargs="+", help="audio files")
    encode.add_argument("-o", "--output", required=True, help="output folder")
    encode.set_defaults(run=_encode)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
