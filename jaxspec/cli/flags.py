"""Command-line flags: the config flags, and the config they give (their values: ``values``).

The augmentation flags come from the stage table (``jaxspec.augmentation.STAGES``):
each parameter declares its flag and help there.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any

from .. import _serialize, presets
from ..augmentation import BY_FIELD
from ..config import SpectrogramConfig
from ..errors import ConfigError
from .values import (
    KIND_VALUE,
    PARAM_HELP,
    duration_value,
    normalization_value,
    power_value,
    stage_value,
    target_value,
    window_value,
)


def path_text(text: str) -> str:
    """A path argument: an empty one is refused (``-o ''`` wrote into the current folder)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path; give a file or folder name")
    return text


MAX_PLOT_VERSIONS = 64
"""The most augmented versions ``jaxspec plot --augment`` draws (a grid of panels)."""


def plot_versions(text: str) -> int:
    """``--augment N``: 0 to ``MAX_PLOT_VERSIONS``."""
    value = non_negative_int(text)
    if value > MAX_PLOT_VERSIONS:
        raise argparse.ArgumentTypeError(f"{text!r}: draw at most {MAX_PLOT_VERSIONS} versions in one picture")
    return value


MAX_WORKERS = 64
"""The most decoding threads ``jaxspec encode --workers`` starts (each keeps up to two
decoded files ahead: 10 000 threads held 20 000 files in memory at once)."""


def decoding_threads(text: str) -> int:
    """``--workers N``: 1 to ``MAX_WORKERS`` (0 ran one thread, read as "all cores" by xargs users)."""
    value = non_negative_int(text)
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 to {MAX_WORKERS} decoding threads")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:  # argparse would name this function ("invalid non_negative_int value")
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def seed(text: str) -> int:
    """A ``--key`` seed: an integer that ``jax.random.key`` takes (64-bit signed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer seed") from None
    if not -(1 << 63) <= value < 1 << 63:
        raise argparse.ArgumentTypeError(f"{text} is outside the 64-bit seed range [-2**63, 2**63)")
    return value


# Flags whose values may start with "-" (argparse would read "-0.1:0.1" as an option).
SIGNED_FLAGS = tuple(p.flag for s in BY_FIELD for p in s.params if p.kind in ("number", "shift") and p.flag) + (
    "--key",
    "--offset",  # so that "--offset -10ms" reaches the config's own error, not argparse's
    "--window-size",
    "--target-length",
    "--fft-size",
    "--window-function",  # a list of values whose first is negative (a flat-top window's)
)


def join_signed_values(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    out = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in SIGNED_FLAGS and i + 1 < len(argv) and re.match(r"^-[\d.]", argv[i + 1]):
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


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("config (flags override --config)")
    add = _suppressed(group)
    add("--config", metavar="JSON", help="a config file written by 'jaxspec config -o' or by hand")
    add(
        "--preset",
        choices=presets.__all__,
        metavar="NAME",
        help=f"start from a preset of jaxspec.presets with its defaults ({', '.join(presets.__all__)}); "
        "--config and the flags override it",
    )
    add(
        "--sample-rate",
        type=int,
        metavar="HZ",
        help="target rate; inputs are resampled to it (default 16000, or the --preset's / --config file's)",
    )
    add(
        "--window-size",
        type=duration_value,
        metavar="SIZE",
        help="frame length: samples (400), seconds (0.025) or '25ms'; 'auto' = 25 ms",
    )
    add("--offset", type=duration_value, metavar="SIZE", help="hop between frames, same forms; 'auto' = window/3")
    add(
        "--window-function",
        type=window_value,
        metavar="NAME",
        help="hann (default), hamming, blackman, ..., none, or comma-separated values",
    )
    add("--normalization", type=normalization_value, metavar="KIND", help="none, max, max:LEVEL, rms, rms:LEVEL")
    add(
        "--target-length",
        type=target_value,
        metavar="LEN",
        help="all, an int number of frames (98), or a duration (1.0, '1s')",
    )
    add("--power", type=power_value, help="exponent of |X|: 2 = power (default), 1 = magnitude, none = complex STFT")
    add("--fft-size", type=duration_value, metavar="N", help="FFT length >= the window size; 'auto' = window size")
    aug = parser.add_argument_group(f"augmentation (applied with --key; PARAM is {PARAM_HELP})")
    add = _suppressed(aug)
    for stage in BY_FIELD:
        if stage.flag is not None:  # several parameters in one flag, e.g. --freq-mask 1,0:27
            add(stage.flag.flag, type=stage_value(stage.flag.parse), metavar=stage.flag.metavar, help=stage.flag.help)
        for param in stage.params:
            if param.flag is None:
                continue
            if param.kind == "signal":
                add(param.flag, metavar="PATH", help=param.help)
            else:
                metavar = {"integer": "N", "value": "VALUE"}.get(param.kind, "PARAM")
                add(param.flag, type=KIND_VALUE[param.kind], metavar=metavar, help=param.help)
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


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _given(args: argparse.Namespace, name: str) -> bool:
    return hasattr(args, name)


def config_dict_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The config dict (``jaxspec._serialize`` form): ``--preset``, then the ``--config`` file,
    then the flags on top."""
    d = _preset_and_file(args)
    stages = d.get("augmentation")
    if not isinstance(stages, (dict, type(None))) or any(
        not isinstance(v, (dict, type(None))) for v in (stages or {}).values()
    ):
        _check_file_config(args, d)  # the file's own error, naming it (not a merge's TypeError)
    for field in _FIELD_FLAGS:
        if _given(args, field):
            d[field] = getattr(args, field)
    augmentation = None if _given(args, "no_augmentation") else dict(d.get("augmentation") or {})
    for stage in BY_FIELD:
        given = {}
        if stage.flag is not None and _given(args, _dest(stage.flag.flag)):
            given.update(getattr(args, _dest(stage.flag.flag)))
        for param in stage.params:
            if param.flag is not None and _given(args, _dest(param.flag)):
                given[param.name] = getattr(args, _dest(param.flag))
        if given:
            if augmentation is None:
                augmentation = {}
            augmentation[stage.name] = {**(augmentation.get(stage.name) or {}), **given}
    d["augmentation"] = augmentation or None
    return d


def config_from_args(args: argparse.Namespace):
    """The ``SpectrogramConfig`` in effect for parsed arguments; a ``ConfigError`` about an
    augmentation stage names the flags given for it (``--volume: ...``)."""
    try:
        return SpectrogramConfig.from_dict(config_dict_from_args(args))
    except FileNotFoundError as error:  # a recording the --config file names
        if _given(args, "config") and not str(error).startswith("config file"):
            raise FileNotFoundError(f"config file {str(args.config)!r}: {error}") from None
        raise
    except ConfigError as error:
        flags = _stage_flags_named(str(error), args)
        if flags:
            raise ConfigError(f"{', '.join(flags)}: {error}{_missing_flags_hint(str(error))}") from None
        sources = " and ".join(f"--{name}" for name in ("preset", "config") if _given(args, name))
        window_only = _given(args, "window_size") and not _given(args, "fft_size")
        if sources and window_only and str(error).startswith("fft_size="):
            raise ConfigError(f"{error}; --window-size keeps the fft_size of {sources}: give --fft-size too") from None
        if _given(args, "config") and not str(error).startswith("config file"):
            _check_file_config(args, _preset_and_file(args))  # a file the flags did not complete: its own error
        raise


def _preset_and_file(args: argparse.Namespace) -> dict[str, Any]:
    """The config dict of ``--preset`` with the ``--config`` file on top (no flags)."""
    file = _serialize.read_dict(args.config) if _given(args, "config") else {}
    rate = args.sample_rate if _given(args, "sample_rate") else file.get("sample_rate")
    d = _preset(args.preset, rate).to_dict() if _given(args, "preset") else {}
    d.update(file)
    return d


_PRESET_RATES = {"kaldi": "sample_frequency", "librosa": "sr", "torchaudio": "sample_rate"}


def _preset(name: str, rate: Any) -> SpectrogramConfig:
    """``--preset NAME``, built at ``rate`` (``--sample-rate``, or the ``--config`` file's) when
    one is given: its window, hop, FFT size and mel edges are set from the rate (a rate put on
    top of the 16 kHz preset kept 400 samples, 50 ms at 8 kHz, and mel bands above Nyquist)."""
    build = getattr(presets, name)
    if rate is None:
        return build()
    keyword = _PRESET_RATES.get(name.split("_")[0])
    if keyword is None and rate != 16000:
        raise ConfigError(f"--preset {name} is at 16000 Hz only (no other sample_rate: files are resampled)")
    return build() if keyword is None else build(**{keyword: rate})


def _check_file_config(args: argparse.Namespace, d: dict[str, Any]) -> None:
    """Builds ``d`` (``_preset_and_file``); its ``ConfigError`` names the ``--config`` file."""
    try:
        SpectrogramConfig.from_dict(d)
    except ConfigError as error:  # its class kept (a RecordingFileError is a file error too)
        raise type(error)(f"config file {str(args.config)!r}: {error}") from None


def _stage_flags_named(message: str, args: argparse.Namespace) -> list[str]:
    """The flags given for the augmentation stage an error message names (``augmentation.NAME``)."""
    for stage in BY_FIELD:
        if message.startswith(f"augmentation.{stage.name}"):
            flags = [stage.flag.flag] if stage.flag is not None else []
            flags += [param.flag for param in stage.params if param.flag is not None]
            return [flag for flag in flags if _given(args, _dest(flag))]
    return []


def _missing_flags_hint(message: str) -> str:
    """``; give --convolution-file`` when the message says a stage ``needs 'signal'``: the
    flag that sets it (the JSON example alone sent a CLI user to write a config file)."""
    needs = message.partition(" needs ")[2].partition(", e.g.")[0]
    stage = next((s for s in BY_FIELD if message.startswith(f"augmentation.{s.name}")), None)
    if stage is None or not needs:
        return ""
    flags = [p.flag for p in stage.params if p.flag is not None and repr(p.name) in needs]
    return f"; give {' and '.join(flags)}" if flags else ""
