"""The subcommands of ``jaxspec``: encode, demo, plot, info, config."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from ..encoding import encode
from ..io import audio_info, example_path
from ..planner import plan_file
from ..stream import encode_to_file, stream_to_array
from .flags import config_from_args
from .inputs import collisions, find_inputs
from .pipeline import FILE_ERRORS, Long, encode_files, failure_reason, progress_bar

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _stream_file(config, path: str, target: Path | None) -> Any:
    """Streams a long file into ``target`` (returns None) or into an array (``target`` None)."""
    try:
        if target is None:
            return stream_to_array(config, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        encode_to_file(config, path, target)
        return None
    except FILE_ERRORS as error:
        return error


def run_encode(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    inputs, problems = find_inputs(args.paths)
    for pattern, reason in problems:
        print(f"error: {pattern}: {reason}", file=sys.stderr)
    clashes = collisions(inputs)
    if clashes:
        for clash in clashes:
            print(f"error: {clash}; encode them into separate folders", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.output)
    if args.single and out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")
    keys = None
    if args.key is not None:
        if config.augmentation is None:
            print("warning: --key has no effect: the config has no augmentation", file=sys.stderr)
        keys = jax.random.split(jax.random.key(args.key), max(1, len(inputs)))
    start = time.perf_counter()
    bar = progress_bar(len(inputs), args.progress, "encode")
    written, failed, arrays = 0, len(problems), {}
    try:
        for item, result in encode_files(config, inputs, keys, args.workers, bar):
            if isinstance(result, Long):
                result = _stream_file(config, result.path, None if args.single else out / (item.name + ".npy"))
            if isinstance(result, BaseException):
                failed += 1
                bar.write(f"error: {item.path}: {failure_reason(result, item.path)}", file=sys.stderr)
            elif result is None:
                written += 1  # streamed straight into its .npy
            elif args.single:
                arrays[item.name] = result
                written += 1
            else:
                target = out / (item.name + ".npy")
                target.parent.mkdir(parents=True, exist_ok=True)
                np.save(target, result)
                written += 1
            bar.update(1)
    finally:
        bar.close()
    if args.single and arrays:
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez(out, **arrays)
    seconds = time.perf_counter() - start
    rate = (written + failed - len(problems)) / seconds if seconds > 0 else 0.0
    print(f"{written} written, {failed} failed in {seconds:.1f} s ({rate:.1f} files/s) -> {out}")
    return EXIT_FAILED if failed else EXIT_OK


def run_demo(args: argparse.Namespace) -> int:
    from ..plot import plot_file  # matplotlib: imported only to draw

    config = config_from_args(args)
    path = args.path or example_path()
    info = audio_info(path)
    print(
        f"input   {path}\n        {info.duration:.3f} s, {info.samplerate} Hz, {info.channels} channel(s), "
        f"{info.format} {info.subtype}"
    )
    print("config\n  " + config.describe().replace("\n", "\n  "))
    start = time.perf_counter()
    out = jax.block_until_ready(encode(config, path))
    first = time.perf_counter() - start
    start = time.perf_counter()
    out = np.asarray(jax.block_until_ready(encode(config, path)))
    again = time.perf_counter() - start
    print(f"output  float32 {out.shape} = (frames, bins); min {out.min():.3g}, max {out.max():.3g}")
    print(
        f"time    first call {first * 1e3:.0f} ms (trace + compile), then {again * 1e3:.1f} ms on "
        f"{jax.default_backend()}"
    )
    try:
        plot_file(config, path, args.out)
    except ImportError as error:
        print(f"picture skipped: {error}", file=sys.stderr)
    else:
        print(f"picture {args.out}")
    return EXIT_OK


def run_plot(args: argparse.Namespace) -> int:
    from ..plot import plot_file

    config = config_from_args(args)
    output = args.output or Path(args.path).stem + ".png"
    plot_file(config, args.path, output, augment_count=args.augment, seed=args.key, dpi=args.dpi)
    print(f"picture {output}")
    return EXIT_OK


def _info_lines(config, path: str) -> list[str]:
    plan = plan_file(config, path)
    info, length = plan.info, plan.length
    frames, bins = plan.shape
    resampled = (
        ""
        if info.samplerate == config.sample_rate
        else f" after resampling to {length} samples at {config.sample_rate} Hz"
    )
    return [
        path,
        f"  duration  {info.frames / info.samplerate:.3f} s = {info.frames} frames at {info.samplerate} Hz",
        f"  channels  {info.channels}",
        f"  format    {info.format} ({info.format_info}), {info.subtype} ({info.subtype_info})",
        f"  output    float32 ({frames}, {bins}) = (frames, bins){resampled}",
    ]


def run_info(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    inputs, problems = find_inputs(args.paths)
    for pattern, reason in problems:
        print(f"error: {pattern}: {reason}", file=sys.stderr)
    failed = len(problems)
    for item in inputs:
        try:
            print("\n".join(_info_lines(config, item.path)))
        except FILE_ERRORS as error:
            failed += 1
            print(f"error: {item.path}: {failure_reason(error, item.path)}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def run_config(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.output:
        config.save(args.output)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(config.to_json())
    return EXIT_OK
