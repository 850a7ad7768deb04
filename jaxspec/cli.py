"""The ``jaxspec`` command line: ``demo``, ``encode``, ``plot``, ``info``, ``config``.

Every subcommand takes the config flags (``--sample-rate 8000 --window-size 25ms
--volume 0.5:1.5 ...``) and ``--config cfg.json``; flags override the file. Run
``jaxspec SUBCOMMAND --help`` for each one's options.

Exit codes: 0 = done; 1 = some inputs failed (each reported with its path and
reason, the others written); 2 = bad usage or config.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import re
import sys
import textwrap
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_EXTENSION_LIST = (
    ".wav .wave .flac .ogg .oga .opus .mp3 .aif .aiff .aifc .au .snd .caf .w64 .rf64 .voc .sd2 .ircam .sf "
    ".nist .sph .htk .paf .pvf .xi .wve .avr .mpc .mat"
)
AUDIO_EXTENSIONS: frozenset[str] = frozenset(_EXTENSION_LIST.split())
"""File extensions that ``encode`` and ``info`` pick up inside folders and globs."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_PARAM_HELP = "a number, LO:HI (uniform), normal:MEAN,STD, uniform:LO,HI or loguniform:LO,HI"


# ------------------------------------------------------------------ flag values
def _duration_value(text: str) -> int | float | str | None:
    """``400`` -> 400 samples, ``0.025`` -> seconds, ``25ms`` kept, ``auto`` -> None."""
    if text.lower() in ("auto", "none", "default"):
        return None
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text  # a duration string; the config validates it


def _target_value(text: str) -> int | float | str | None:
    return None if text.lower() in ("all", "none") else _duration_value(text)


def _window_value(text: str) -> str | list[float] | None:
    """A window name, ``none``, or comma-separated values."""
    if text.lower() in ("none", "rectangular"):
        return None
    if "," in text:
        try:
            return [float(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: window values must be comma-separated numbers") from None
    return text


def _normalization_value(text: str) -> list[Any] | None:
    """``none``, ``max``, ``max:V`` or ``rms:V``."""
    if text.lower() == "none":
        return None
    kind, _, level = text.partition(":")
    if not level:
        if kind.lower() == "rms":
            raise argparse.ArgumentTypeError(f"{text!r}: rms needs a level, e.g. rms:0.1")
        return [kind, 1.0]
    try:
        return [kind, float(level)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write max, max:LEVEL or rms:LEVEL (e.g. rms:0.1)") from None


def _param_value(text: str, allow_scaled: bool = False) -> Any:
    """A numeric augmentation parameter in the JSON form of ``jaxspec.serialize``."""
    kind, _, rest = text.partition(":")
    if kind.lower() == "scaled" and allow_scaled:
        return {"scaled": _param_value(rest)}
    try:
        if kind.lower() in ("uniform", "normal", "loguniform"):
            numbers = [float(v) for v in re.split(r"[,:]", rest)]
            if len(numbers) != 2:
                raise ValueError
            return {kind.lower(): numbers}
        if rest:
            return {"uniform": [float(kind), float(rest)]}
        return float(text)
    except ValueError:
        scaled = ", or scaled:PARAM (a fraction of the duration)" if allow_scaled else ""
        raise argparse.ArgumentTypeError(f"{text!r} is not a parameter; use {_PARAM_HELP}{scaled}") from None


def _shift_value(text: str) -> Any:
    return _param_value(text, allow_scaled=True)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


# Flags whose values may start with "-" (argparse would read "-0.1:0.1" as an option).
_SIGNED_FLAGS = ("--volume", "--noise", "--time-shift", "--mix", "--key")


def _join_signed_values(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    out = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in _SIGNED_FLAGS and i + 1 < len(argv) and re.match(r"^-[\d.]", argv[i + 1]):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _suppressed(group: Any) -> Any:
    # No default: an attribute exists only when its flag was given, so "--offset auto"
    # (None) still overrides the --config file.
    return lambda *names, **kwargs: group.add_argument(*names, default=argparse.SUPPRESS, **kwargs)


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("config (flags override --config)")
    add = _suppressed(group)
    add("--config", metavar="JSON", help="a config file written by 'jaxspec config -o' or by hand")
    add("--sample-rate", type=int, metavar="HZ", help="target rate; inputs are resampled to it (default 16000)")
    add(
        "--window-size",
        type=_duration_value,
        metavar="SIZE",
        help="frame length: samples (400), seconds (0.025) or '25ms'; 'auto' = 25 ms",
    )
    add("--offset", type=_duration_value, metavar="SIZE", help="hop between frames, same forms; 'auto' = window/3")
    add(
        "--window-function",
        type=_window_value,
        metavar="NAME",
        help="hann (default), hamming, blackman, ..., none, or comma-separated values",
    )
    add("--normalization", type=_normalization_value, metavar="KIND", help="none, max, max:LEVEL or rms:LEVEL")
    add(
        "--target-length",
        type=_target_value,
        metavar="LEN",
        help="all, an int number of frames (98), or a duration (1.0, '1s')",
    )
    add("--power", type=float, help="exponent of |X|: 2 = power spectrum (default), 1 = magnitude")
    add("--fft-size", type=_duration_value, metavar="N", help="FFT length >= the window size; 'auto' = window size")
    aug = parser.add_argument_group(f"augmentation (applied with --key; PARAM is {_PARAM_HELP})")
    add = _suppressed(aug)
    add("--volume", type=_param_value, metavar="PARAM", help="gain: y = gain * x (e.g. 0.5:1.5)")
    add(
        "--noise",
        type=_param_value,
        metavar="PARAM",
        help="white-noise standard deviation, or the factor on --noise-file (e.g. 0.01)",
    )
    add("--noise-file", metavar="PATH", help="add a random segment of this recording")
    add(
        "--time-shift",
        type=_shift_value,
        metavar="PARAM",
        help="shift in seconds, positive = later (e.g. -0.1:0.1), or scaled:PARAM (a fraction of the duration)",
    )
    add("--convolution-file", metavar="PATH", help="convolve with this impulse response")
    add("--mix", type=_param_value, metavar="PARAM", help="convolution mix in [0, 1] (default 1)")
    add("--no-augmentation", action="store_true", help="drop the augmentation of --config")


# ------------------------------------------------------------------ config from flags
_FIELD_FLAGS = (
    "sample_rate",
    "window_size",
    "offset",
    "window_function",
    "normalization",
    "target_length",
    "power",
    "fft_size",
)


def _given(args: argparse.Namespace, name: str) -> bool:
    return hasattr(args, name)


def config_dict_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The config dict (``jaxspec.serialize`` form): ``--config`` file, then the flags on top."""
    from .serialize import read_config_dict

    d = read_config_dict(args.config) if _given(args, "config") else {}
    for field in _FIELD_FLAGS:
        if _given(args, field):
            d[field] = getattr(args, field)
    augmentation = None if _given(args, "no_augmentation") else dict(d.get("augmentation") or {})
    stages = {
        ("volume", "gain"): "volume",
        ("noise", "amplitude"): "noise",
        ("noise", "signal"): "noise_file",
        ("time_shift", "t"): "time_shift",
        ("convolution", "signal"): "convolution_file",
        ("convolution", "mix"): "mix",
    }
    for (stage, param), flag in stages.items():
        if _given(args, flag):
            if augmentation is None:
                augmentation = {}
            entry = dict(augmentation.get(stage) or {})
            entry[param] = getattr(args, flag)
            augmentation[stage] = entry
    d["augmentation"] = augmentation or None
    return d


def config_from_args(args: argparse.Namespace):
    """The ``SpectrogramConfig`` in effect for parsed arguments."""
    from .serialize import config_from_dict

    return config_from_dict(config_dict_from_args(args))


# ------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class Input:
    """An audio file to process and the name of its output (relative, no extension)."""

    path: str
    name: str


def _is_audio(path: str) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _strip_extension(relative: str) -> str:
    path = Path(relative)
    return (path.parent / path.stem).as_posix() if path.suffix else path.as_posix()


def _folder_inputs(folder: str, prefix: str = "") -> Iterator[Input]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for file in sorted(files):
            path = os.path.join(root, file)
            if _is_audio(path):
                yield Input(path, _strip_extension(os.path.join(prefix, os.path.relpath(path, folder))))


def _glob_base(pattern: str) -> str:
    parts = Path(pattern).parts
    base = []
    for part in parts:
        if glob.has_magic(part):
            break
        base.append(part)
    return os.path.join(*base) if base else "."


def find_inputs(patterns: Iterable[str]) -> tuple[list[Input], list[tuple[str, str]]]:
    """Expands files, folders (recursive, by audio extension) and globs, in order.

    Output names mirror the layout: a file ``a/b.wav`` given alone -> ``b``; inside a
    folder ``a`` given as ``a`` -> ``b`` relative to it; a glob ``a/**/*.wav`` ->
    relative to ``a``, its part before the first wildcard. A file found twice is kept once.

    Returns:
      ``(inputs, problems)``: problems are ``(pattern, reason)`` for paths that
      match nothing.
    """
    inputs: list[Input] = []
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(items: Iterable[Input]) -> int:
        count = 0
        for item in items:
            real = os.path.realpath(item.path)
            if real not in seen:
                seen.add(real)
                inputs.append(item)
                count += 1
        return count

    for pattern in patterns:
        if os.path.isdir(pattern):
            if not add(_folder_inputs(pattern)):
                problems.append(
                    (pattern, f"folder has no audio files ({', '.join(sorted(AUDIO_EXTENSIONS)[:6])}, ...)")
                )
        elif os.path.exists(pattern):
            add([Input(pattern, _strip_extension(os.path.basename(pattern)))])
        elif glob.has_magic(pattern):
            base = _glob_base(pattern)
            found = []
            for match in sorted(glob.glob(pattern, recursive=True)):
                relative = os.path.relpath(match, base)
                if os.path.isdir(match):
                    found.extend(_folder_inputs(match, relative))
                elif _is_audio(match):
                    found.append(Input(match, _strip_extension(relative)))
            if not add(found):
                problems.append((pattern, "the pattern matches no audio file"))
        else:
            problems.append((pattern, "no such file or folder"))
    return inputs, problems


def _collisions(inputs: Sequence[Input]) -> list[str]:
    by_name: dict[str, list[str]] = collections.defaultdict(list)
    for item in inputs:
        by_name[item.name].append(item.path)
    return [
        f"{' and '.join(map(repr, paths))} would both be written as {name!r}"
        for name, paths in by_name.items()
        if len(paths) > 1
    ]


# ------------------------------------------------------------------ progress
class _NoBar:
    """Stands in for tqdm when it is not installed or the bar is off."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    @staticmethod
    def write(message: str, file: Any = None) -> None:
        print(message, file=file or sys.stderr)


def _progress_bar(total: int, enabled: bool, description: str) -> Any:
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit="file", desc=description, file=sys.stderr, dynamic_ncols=True)


# ------------------------------------------------------------------ encode
_FILE_ERRORS = (OSError, ValueError, RuntimeError)


@dataclass(frozen=True)
class _Long:
    """A file too long to decode whole: it is streamed into its output instead."""

    path: str


def _load(path: str, streamable: bool) -> Any:
    from .io import audio_info, load_audio
    from .stream import STREAM_THRESHOLD_SAMPLES

    if streamable:
        info = audio_info(path)
        if info.frames * info.channels > STREAM_THRESHOLD_SAMPLES:
            return _Long(path)
    return load_audio(path)


def _encode_files(config, inputs: Sequence[Input], keys: Any, workers: int, bar: Any) -> Iterator[tuple[Input, Any]]:
    """Yields ``(input, spectrogram or exception)`` in input order.

    Files are decoded by ``workers`` threads (soundfile releases the GIL) a few files
    ahead, while the main thread dispatches the device; each result is read back one
    step later, so decoding, device work and writing overlap.
    """
    from .encoding import encode
    from .stream import streamable as blockwise

    # augmentation needs the whole signal, and so do centred frames and per-example statistics
    streamable = (keys is None or config.augmentation is None) and blockwise(config)
    ahead = max(2, 2 * workers)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="jaxspec-decode") as pool:
        queue: collections.deque[tuple[int, Future]] = collections.deque()
        submitted = 0

        def refill() -> None:
            nonlocal submitted
            while submitted < len(inputs) and len(queue) < ahead:
                queue.append((submitted, pool.submit(_load, inputs[submitted].path, streamable)))
                submitted += 1

        refill()
        pending: tuple[Input, Any] | None = None
        while queue:
            i, future = queue.popleft()
            refill()
            try:
                loaded = future.result()
                key = None if keys is None else keys[i]
                dispatched: Any = loaded if isinstance(loaded, _Long) else encode(config, loaded, key=key)
            except _FILE_ERRORS as error:
                dispatched = error
            if pending is not None:
                yield _materialize(*pending)
            pending = (inputs[i], dispatched)
        if pending is not None:
            yield _materialize(*pending)


def _materialize(item: Input, result: Any) -> tuple[Input, Any]:
    if isinstance(result, (BaseException, _Long)):
        return item, result
    try:
        return item, np.asarray(result)
    except _FILE_ERRORS as error:
        return item, error


def _reason(error: BaseException, path: str) -> str:
    text = str(error) or type(error).__name__
    # load_audio already names the path; say it once.
    for quoted in (repr(path), repr(str(Path(path).expanduser()))):
        text = text.replace(f"cannot read {quoted}: ", "").replace(f"audio file {quoted} ", "")
    return text


def _stream_file(config, path: str, target: Path | None) -> Any:
    """Streams a long file into ``target`` (returns None) or into an array (``target`` None)."""
    from .stream import encode_to_file, stream_to_array

    try:
        if target is None:
            return stream_to_array(config, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        encode_to_file(config, path, target)
        return None
    except _FILE_ERRORS as error:
        return error


def _run_encode(args: argparse.Namespace) -> int:
    import jax

    config = config_from_args(args)
    inputs, problems = find_inputs(args.paths)
    for pattern, reason in problems:
        print(f"error: {pattern}: {reason}", file=sys.stderr)
    clashes = _collisions(inputs)
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
    bar = _progress_bar(len(inputs), args.progress, "encode")
    written, failed, arrays = 0, len(problems), {}
    try:
        for item, result in _encode_files(config, inputs, keys, args.workers, bar):
            if isinstance(result, _Long):
                result = _stream_file(config, result.path, None if args.single else out / (item.name + ".npy"))
            if isinstance(result, BaseException):
                failed += 1
                bar.write(f"error: {item.path}: {_reason(result, item.path)}", file=sys.stderr)
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


# ------------------------------------------------------------------ other commands
def _run_demo(args: argparse.Namespace) -> int:
    import jax

    from .encoding import encode
    from .io import audio_info, example_path
    from .plot import plot_file

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


def _run_plot(args: argparse.Namespace) -> int:
    from .plot import plot_file

    config = config_from_args(args)
    output = args.output or Path(args.path).stem + ".png"
    plot_file(config, args.path, output, augment_count=args.augment, seed=args.key, dpi=args.dpi)
    print(f"picture {output}")
    return EXIT_OK


def _info_lines(config, path: str) -> list[str]:
    from .io import audio_info
    from .resampling import output_length

    info = audio_info(path)
    length = (
        info.frames
        if info.samplerate == config.sample_rate
        else output_length(info.frames, info.samplerate, config.sample_rate)
    )
    frames, bins = config.output_shape(length)
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


def _run_info(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    inputs, problems = find_inputs(args.paths)
    for pattern, reason in problems:
        print(f"error: {pattern}: {reason}", file=sys.stderr)
    failed = len(problems)
    for item in inputs:
        try:
            print("\n".join(_info_lines(config, item.path)))
        except _FILE_ERRORS as error:
            failed += 1
            print(f"error: {item.path}: {_reason(error, item.path)}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _run_config(args: argparse.Namespace) -> int:
    from .serialize import config_to_json, save_config

    config = config_from_args(args)
    if args.output:
        save_config(config, args.output)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(config_to_json(config))
    return EXIT_OK


# ------------------------------------------------------------------ parser
_EPILOG = """\
examples:
  jaxspec demo
  jaxspec info clips/
  jaxspec encode clips/ 'more/**/*.flac' -o features/ --window-size 25ms --offset 10ms
  jaxspec encode clips/ -o train.npz --single --volume 0.5:1.5 --noise 0.01 --key 0
  jaxspec plot jaxspec/data/speech.flac -o speech.png --time-shift -0.1:0.1 --augment 3 --key 0
  jaxspec config --sample-rate 8000 --normalization rms:0.1 -o cfg.json
  jaxspec encode clips/ -o out/ --config cfg.json
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``jaxspec`` (one subparser per command)."""
    parser = argparse.ArgumentParser(
        prog="jaxspec",
        description="Audio spectrograms with JAX: encode files, draw them, write config files.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"jaxspec {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        paragraphs = "\n\n".join(textwrap.fill(p, 88) for p in description.split("\n\n"))
        return commands.add_parser(
            name, help=summary, description=paragraphs, formatter_class=argparse.RawDescriptionHelpFormatter
        )

    demo = command(
        "demo",
        "encode the bundled speech clip (or PATH), print what it made, draw it",
        "Encodes an audio file (default: the speech clip shipped with jaxspec), prints the input, the "
        "config in effect (window and offset in samples and ms), the output shape and the time taken, "
        "and draws the spectrogram.",
    )
    demo.add_argument("path", nargs="?", help="an audio file (default: the bundled clip)")
    demo.add_argument("--out", default="spectrogram.png", help="the picture to write (default: spectrogram.png)")
    demo.set_defaults(run=_run_demo)

    encode = command(
        "encode",
        "write one .npy spectrogram per audio file (or one .npz)",
        "Encodes files, folders (recursive, by audio extension) and globs. Writes OUT/<name>.npy per "
        "input, mirroring the folders below each given folder (or one .npz with --single, keyed by "
        "<name>). An unreadable file is reported with its reason; the others are still written and "
        "the exit code is 1.\n\nWith --key SEED, file i of the N inputs (in the order listed: folders "
        "sorted) is augmented with jax.random.split(jax.random.key(SEED), N)[i], as encode_batch does.",
    )
    encode.add_argument("paths", nargs="+", metavar="PATH", help="audio files, folders or globs (quote globs)")
    encode.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder (or .npz with --single)")
    encode.add_argument("--single", action="store_true", help="write one .npz file with every spectrogram")
    encode.add_argument("--key", type=int, metavar="SEED", help="apply the configured augmentation with this seed")
    encode.add_argument("--workers", type=_positive_int, default=4, help="decoding threads (default 4)")
    encode.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    encode.set_defaults(run=_run_encode)

    plot = command(
        "plot",
        "draw the waveform and spectrogram (dB) of a file, and augmented versions",
        "Draws the waveform the encoder sees above its spectrogram in dB (time in s, frequency in Hz, "
        "a colour bar). --augment N adds N augmented versions in a grid; version i uses "
        "jax.random.split(jax.random.key(SEED), N)[i] and its title shows the drawn values.",
    )
    plot.add_argument("path", metavar="PATH", help="an audio file")
    plot.add_argument(
        "-o", "--output", metavar="IMAGE", help="picture to write, .png/.svg/.pdf (default: PATH's name .png)"
    )
    plot.add_argument("--augment", type=_positive_int, default=0, metavar="N", help="augmented versions to draw")
    plot.add_argument("--key", type=int, default=0, metavar="SEED", help="seed of the augmentation keys (default 0)")
    plot.add_argument("--dpi", type=int, default=110, help="resolution of a PNG (default 110)")
    plot.set_defaults(run=_run_plot)

    info = command(
        "info",
        "print duration, rate, channels, format and the output shape of files",
        "Prints each file's duration, frames, rate, channels, format and subtype, and the output shape "
        "the config in effect gives. PATH may be files, folders or globs.",
    )
    info.add_argument("paths", nargs="+", metavar="PATH", help="audio files, folders or globs")
    info.set_defaults(run=_run_info)

    config = command(
        "config",
        "print or write the JSON config in effect",
        "Prints the config that the flags (and --config) give, as JSON; -o writes it to a file that "
        "--config reads back. Recordings are written by path (relative to the JSON file's folder).",
    )
    config.add_argument("-o", "--output", metavar="JSON", help="write to this file instead of printing")
    config.set_defaults(run=_run_config)

    for sub in (demo, encode, plot, info, config):
        _add_config_flags(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jaxspec`` command; returns the exit code.

    >>> main(["config", "--offset", "10ms"])  # doctest: +ELLIPSIS
    {
      "sample_rate": 16000,
    ...
    0
    """
    from .errors import JaxspecError

    parser = build_parser()
    argv = _join_signed_values(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (JaxspecError, ValueError, OSError, ImportError) as error:
        print(f"jaxspec {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
