"""Config files: ``SpectrogramConfig`` <-> plain dicts <-> JSON (behind ``config.to_dict``,
``SpectrogramConfig.from_dict``, ``config.save`` and ``SpectrogramConfig.load``).

The dict has one key per field of ``SpectrogramConfig``, with JSON values only::

    {"sample_rate": 16000, "window_size": "25ms", "offset": null, "window_function": "hann",
     "normalization": ["rms", 0.1], "target_length": 1.0, "power": 2.0, "fft_size": 512,
     "augmentation": {"volume": {"gain": {"uniform": [0.5, 1.5]}},
                      "noise": {"amplitude": 0.01, "signal": "noise/cafe.wav"},
                      "time_shift": {"t": {"scaled": {"normal": [0.0, 0.1]}}},
                      "convolution": {"signal": "rooms/hall.wav", "mix": 0.5}}}

Forms. ``window_size`` / ``offset`` / ``target_length``: an int (samples, or frames
for ``target_length``), a float (seconds) or a string like ``"25ms"``, kept as given.
``window_function``: a name, ``null`` or a list of ``window_size`` numbers.
``normalization``: ``null`` or ``[kind, level]``. ``Window``, ``framing``, ``preprocess``,
``features``: ``jaxspec._stage_json`` (``[{"mel_filterbank": {"n_mels": 80}}]``). A numeric augmentation parameter: a
number, ``{"uniform": [lo, hi]}`` (a bare ``[lo, hi]`` is read as uniform too),
``{"normal": [mean, std]}``, ``{"loguniform": [lo, hi]}``; a time shift may also be
``{"scaled": parameter}``. Integer parameters (mask counts and widths, the time warp's
``max_shift``) are an int or an inclusive ``[lo, hi]``: ``"frequency_mask": {"count": 1,
"width": [0, 27], "fill": 0.0}``. Stages that are off are left out (or ``null``).

Recordings (noise, impulse responses) are written by path: a stage given its recording
as a path keeps that path in its static ``source`` field (``Noise(0.1, "cafe.wav")``,
``SpectrogramConfig.from_dict`` and ``SpectrogramConfig.load`` all do). Otherwise pass
``signals={"noise": path}``; a recording with no known path and fewer than ``INLINE_LIMIT``
samples is written inline as ``{"samples": [...]}`` (at the config's rate, exact), a longer
one is an error (read or written). In a JSON file, relative paths are written relative to the file's folder
(``config.save`` rewrites them and refuses to write over one of them or any file that is not
JSON; ``load`` reads them so), so a config folder can move together with its recordings.

Things that cannot be written (a callable window, a callable or custom distribution, a traced config) raise
``ConfigError`` naming the field and the fix. Stages come from ``jaxspec.augmentation.STAGES`` (names: the keys of
``"augmentation"``; parameters: each stage's keys). This module does not import ``jaxspec.config``: the functions
that build a config take its class.

>>> import jaxspec
>>> config = jaxspec.SpectrogramConfig(offset="10ms", augmentation=jaxspec.Augmentation(volume=(0.5, 1.5)))
>>> jaxspec.SpectrogramConfig.from_dict(config.to_dict()) == config
True
"""

from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

from . import _stage_json
from ._atomic import atomic_file
from ._files import refuse_overwriting
from ._jsonfile import check_plain, json_text, parse_json, refuse_replacing_other_data
from ._output_names import refuse_folder
from ._pytree import SYNONYMS
from .augmentation import BY_FIELD, STAGE_BY_NAME, Augmentation, LogUniform, Normal, Scaled, Uniform, recording_samples
from .augmentation.recordings import file_stamps, holds_its_file
from .errors import ConfigError, did_you_mean

INLINE_LIMIT = 100_000
"""Recordings with fewer samples than this may be written inline when no path is known."""

_DISTRIBUTIONS: dict[str, type] = {"uniform": Uniform, "normal": Normal, "loguniform": LogUniform}
_SIGNAL_STAGES = tuple(stage.name for stage in BY_FIELD if stage.signal_param is not None)


def _plain(value: Any) -> Any:
    """Other numbers (NumPy scalars, ``Fraction``: sizes accept any real) as Python ints and floats (for JSON)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, float)):
        return float(value)
    return value


def _param_to_json(value: Any, name: str) -> Any:
    if isinstance(value, Scaled):
        return {"scaled": _param_to_json(value.s, f"{name}.s")}
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    for key, cls in _DISTRIBUTIONS.items():
        if type(value) is cls:
            return {key: [float(getattr(value, f.name)) for f in dataclasses.fields(cls)]}
    raise ConfigError(
        f"{name}={value!r} cannot be written to a config file; use a number, [lo, hi], "
        "Uniform, Normal, LogUniform (or Scaled of one of these for a time shift)"
    )


def _signal_to_json(setting: Any, name: str, path: str | os.PathLike | None, rate: int) -> Any:
    if path is not None:
        return os.fspath(path)
    if setting.source is not None and holds_its_file(setting, rate, name):
        return setting.source
    if isinstance(setting.signal, jax.core.Tracer):
        raise ConfigError(f"{name} is a traced value; write the config outside jax.jit / jax.vmap")
    samples = np.asarray(recording_samples(setting)).reshape(-1)  # a tree-mapped int16 leaf: scaled
    if samples.size >= INLINE_LIMIT:
        stage, held = name.split(".")[1], "samples unlike its file (a tree map changed them)" if setting.source else ""
        raise ConfigError(
            f"{name} has {samples.size} {held or 'samples and no known file'}; pass signals={{{stage!r}: "
            "'path.wav'} (a file holding them), or give the stage its recording by path (it is then kept "
            f"in its `source` field). Recordings under {INLINE_LIMIT} samples are written inline"
        )
    return {"samples": [float(v) for v in samples]}


def _augmentation_to_dict(augmentation: Augmentation, signals: Mapping[str, Any], rate: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage in BY_FIELD:
        setting = getattr(augmentation, stage.name)
        if setting is None:
            continue
        entry = {}
        for param in stage.params:
            value = getattr(setting, param.name)
            name = f"augmentation.{stage.name}.{param.name}"
            if param.kind == "signal":
                if value is not None or signals.get(stage.name) is not None:
                    entry[param.name] = _signal_to_json(setting, name, signals.get(stage.name), rate)
            elif param.kind == "integer":  # an int or an inclusive [lo, hi] range
                entry[param.name] = list(value) if isinstance(value, tuple) else int(value)
            elif param.kind == "value":  # a fixed number or name
                entry[param.name] = value
            else:
                entry[param.name] = _param_to_json(value, name)
        out[stage.name] = entry
    return out


def _window_to_json(window: Any) -> Any:
    window = _stage_json.window_to_json(window)
    if window is None or isinstance(window, (str, dict)):
        return window
    if isinstance(window, (tuple, list)):
        return [float(w) for w in window]
    raise ConfigError(
        f"window_function={window!r} is a callable and cannot be written to a config file; use a name "
        "(e.g. 'hann'), None, or its values: dataclasses.replace(config, window_function=tuple(config.window))"
    )


def to_dict(config: Any, *, signals: Mapping[str, str | os.PathLike] | None = None) -> dict[str, Any]:
    """Every field of ``config`` as a dict of JSON values (see the module docstring).

    Args:
      config: the ``SpectrogramConfig`` to write.
      signals: optional paths of the recordings, ``{"noise": path, "convolution": path}``;
        they take precedence over the stages' ``source`` paths and inline samples.

    Returns:
      ``{field: value}`` for every field of the config, in field order.

    Raises:
      ConfigError: a value cannot be written (callable window or parameter, a long
        recording with no known path, a traced config).
    """
    signals = dict(signals or {})
    unknown = sorted(set(signals) - set(_SIGNAL_STAGES))
    if unknown:
        raise ConfigError(f"signals has unknown stage(s) {unknown}; use {list(_SIGNAL_STAGES)}")
    out: dict[str, Any] = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if field.name in _stage_json.TABLES and not value:
            continue  # new fields at their default are left out: older files and readers stay valid
        if field.name == "window_function":
            value = _window_to_json(value)
        elif field.name == "normalization":
            value = None if value is None else [value[0], float(value[1])]
        elif field.name == "augmentation":
            value = None if value is None else _augmentation_to_dict(value, signals, config.sample_rate)
        elif field.name in _stage_json.TABLES:
            value = _stage_json.field_to_json(field.name, value)
        out[field.name] = _plain(value)
    return out


# ------------------------------------------------------------------ from dict
def _check_keys(d: Any, valid: tuple[str, ...], where: str) -> None:
    if not isinstance(d, Mapping):
        raise ConfigError(f"{where} must be a JSON object (dict) with keys among {list(valid)}, got {d!r}")
    unknown = [k for k in d if k not in valid]
    if unknown:  # librosa's names get jaxspec's, as the constructor gives them ({"n_fft": 512}: fft_size)
        hint = did_you_mean(str(unknown[0]), valid, SYNONYMS)
        raise ConfigError(f"{where} has unknown key(s) {unknown}{hint}; valid keys are {list(valid)}")


def _param_from_json(value: Any, name: str, allow_scaled: bool = False) -> Any:
    if isinstance(value, Mapping):
        kinds = tuple(_DISTRIBUTIONS) + (("scaled",) if allow_scaled else ())
        _check_keys(value, kinds, name)
        if len(value) != 1:
            raise ConfigError(f"{name}={value!r} must have exactly one of the keys {list(kinds)}")
        ((kind, args),) = value.items()
        if kind == "scaled":
            return Scaled(_param_from_json(args, f"{name}.scaled"))
        if not isinstance(args, (list, tuple)) or len(args) != 2:
            raise ConfigError(f"{name}={value!r}: {kind} takes a list of two numbers, e.g. {{{kind!r}: [0.5, 1.5]}}")
        try:
            return _DISTRIBUTIONS[kind](*args)
        except ConfigError as error:  # name where it stands in the file
            raise ConfigError(f"{name}: {error}") from None
    if isinstance(value, (list, tuple)):
        return tuple(value)  # [lo, hi]: uniform, checked by the augmentation class
    return value


def _signal_from_json(value: Any, name: str, base: Path | None) -> tuple[Any, str | None]:
    """The signal to build the stage with, and the path it came from (if any)."""
    if value is None:
        return None, None
    if isinstance(value, Mapping):
        _check_keys(value, ("path", "samples"), name)
        if len(value) != 1:
            raise ConfigError(f"{name}={value!r} must have exactly one of the keys ['path', 'samples']")
        if "samples" in value:
            listed = value["samples"]
            if isinstance(listed, list) and any(isinstance(v, bool) for v in listed):
                raise ConfigError(f"{name}.samples must be a list of numbers, not true / false")
            try:
                samples = np.asarray(listed, np.float64)  # the stage checks float32's range and converts
            except (ValueError, TypeError) as error:
                raise ConfigError(f"{name}.samples must be a list of numbers: {error}") from None
            frames = samples.shape[0] if samples.ndim else 1  # [n, channels] is averaged: n, as written
            if frames >= INLINE_LIMIT:  # read here, it could be neither encoded nor saved by jaxspec
                raise ConfigError(
                    f"{name}.samples holds {frames} samples; inline recordings hold fewer than {INLINE_LIMIT}: "
                    "write them to an audio file and give its path"
                )
            return samples, None
        value = value["path"]
    if not isinstance(value, str) or not value:  # "": the config file's own folder was read as the recording
        raise ConfigError(f"{name}={value!r} must be a path (string), {{'path': ...}} or {{'samples': [...]}}")
    relative = base is not None and str(base) not in ("", ".") and not os.path.isabs(os.path.expanduser(value))
    path = os.path.normpath(os.path.join(base, value)) if relative else value
    return path, path


def _augmentation_from_dict(d: Any, base: Path | None) -> tuple[Augmentation | None, dict[str, str]]:
    if d is None:
        return None, {}
    _check_keys(d, tuple(stage.name for stage in BY_FIELD), "augmentation")
    stages: dict[str, Any] = {}
    paths: dict[str, str] = {}
    for name, entry in d.items():
        if entry is None:
            continue
        stage = STAGE_BY_NAME[name]
        params = {param.name: param for param in stage.params}
        where = f"augmentation.{name}"
        _check_keys(entry, tuple(params), where)
        kwargs = {}
        for param, value in entry.items():
            if params[param].kind == "signal":
                kwargs[param], path = _signal_from_json(value, f"{where}.{param}", base)
                if path is not None:
                    paths[name] = path
            else:
                kwargs[param] = _param_from_json(value, f"{where}.{param}", allow_scaled=params[param].kind == "shift")
        cls = stage.setting
        required = [
            f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING and f.name not in kwargs
        ]
        if required:
            raise ConfigError(f"{where}={entry!r} needs {' and '.join(map(repr, required))}, e.g. {stage.example}")
        try:
            stages[name] = cls(**kwargs)
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}") from None
    return Augmentation(**stages), paths


def from_dict(cls: type, d: Mapping[str, Any], *, base: str | os.PathLike | None = None) -> Any:
    """Builds a ``cls`` (``SpectrogramConfig``) from the dict ``to_dict`` writes.

    Missing keys take their defaults; recordings given by path are loaded (and their
    path kept in the stage's ``source``, so writing the config again writes it).

    Args:
      cls: the config class.
      d: ``{field: value}`` (see the module docstring for the forms).
      base: the folder relative recording paths are relative to (``None`` = the
        current folder); ``load`` passes the JSON file's folder.

    Raises:
      ConfigError: an unknown key (the message lists the valid ones) or a bad value.
      FileNotFoundError: a recording's file does not exist.
    """
    check_plain(d)  # before any field is read (nesting, huge integers)
    _check_keys(d, tuple(f.name for f in dataclasses.fields(cls)), "config")
    base_path = None if base is None else Path(base)
    kwargs = {k: v for k, v in d.items() if k not in ("augmentation", "window_function", "normalization")}
    for field in _stage_json.TABLES:
        if field in d:
            kwargs[field] = _stage_json.field_from_json(field, d[field])
    if "window_function" in d:
        window = d["window_function"]
        kwargs["window_function"] = tuple(window) if isinstance(window, list) else _stage_json.window_from_json(window)
    if "normalization" in d:
        norm = d["normalization"]
        kwargs["normalization"] = tuple(norm) if isinstance(norm, list) else norm
    augmentation, _ = _augmentation_from_dict(d.get("augmentation"), base_path)
    return cls(**kwargs, augmentation=augmentation)


# ------------------------------------------------------------------ JSON files
def _config_folder(path: Path) -> Path:
    """The folder a config file's relative recording paths start from: its own, as written (a
    linked folder's lexical ``..`` included, as configs have always been read), or where the file
    really is when ``path`` itself is a link (``save`` writes through it)."""
    return Path(os.path.realpath(path)).parent if path.is_symlink() else path.parent


def _relative_to(path: str, folder: Path) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), os.path.abspath(folder))
    except ValueError:  # another drive on Windows
        return os.path.abspath(path)


def to_json(config: Any, *, signals: Mapping[str, str | os.PathLike] | None = None) -> str:
    """``to_dict`` as indented JSON text (recording paths as given)."""
    return json_text(to_dict(config, signals=signals)) + "\n"


def save(
    config: Any, path: str | os.PathLike, *, signals: Mapping[str, str | os.PathLike] | None = None, name: str = "path"
) -> Path:
    """Writes ``config`` as JSON to ``path`` (through a link), recording paths relative to its ``_config_folder``;
    returns it (its folder made). ``InputError``, calling ``path`` ``name`` (the CLI's ``-o``), if it is one of the
    config's recordings (or a link to one) or a file that does not hold a JSON object, before anything is written."""
    refuse_folder(path, name, "config.json")  # "out/": Path drops the "/" and wrote a file named out
    path, d = Path(path), to_dict(config, signals=signals)
    refuse_overwriting(path, [*file_stamps(config), *(signals or {}).values()], name=name, what="recording")
    refuse_replacing_other_data(path, name)
    folder = _config_folder(path)
    for entry in (d["augmentation"] or {}).values():
        if isinstance(entry.get("signal"), str):
            entry["signal"] = _relative_to(entry["signal"], folder)
    with atomic_file(path, "w", through_links=True) as file:  # a file the user named
        file.write(json_text(d) + "\n")
    return path


def read_dict(path: str | os.PathLike) -> dict[str, Any]:
    """The dict of a JSON config file, with relative recording paths made relative to the current folder.

    Use it to edit a file's settings before building the config (the ``jaxspec``
    command puts its flags on top of it); ``load`` = ``from_dict`` of it.

    Raises:
      FileNotFoundError: ``path`` does not exist.
      ConfigError: the file is not valid JSON (line and column named), not UTF-8, not an
        object, larger than ``limits.MAX_CONFIG_BYTES`` or nested deeper than
        ``limits.MAX_JSON_DEPTH``, or not a regular file (a FIFO is refused unopened).
    """
    d = parse_json(path)
    path = Path(os.fsdecode(path))
    if not isinstance(d, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a JSON object {{field: value}}, got {type(d).__name__}")
    augmentation = d.get("augmentation")
    if isinstance(augmentation, dict):
        for name, entry in augmentation.items():
            stage = STAGE_BY_NAME.get(name)
            param = None if stage is None else stage.signal_param
            if param is not None and isinstance(entry, dict) and param.name in entry:
                signal, where = entry[param.name], f"augmentation.{name}.{param.name}"
                if isinstance(signal, dict) and set(signal) == {"path"} and isinstance(signal["path"], str):
                    signal = signal["path"]
                if isinstance(signal, str) and signal:  # "" is from_dict's to refuse (naming the file)
                    entry[param.name] = _signal_from_json(signal, where, _config_folder(path))[1]
    return d


def load(cls: type, path: str | os.PathLike) -> Any:
    """Reads a JSON config written by ``save`` (or by hand) into a ``cls``; relative recording paths
    are read relative to the JSON file's folder (``_config_folder``).

    Raises:
      FileNotFoundError: ``path``, or a recording it names, does not exist.
      ConfigError: the file is not valid JSON (line and column named), or a key or
        value is invalid (``RecordingFileError`` for a recording that cannot be read).
    """
    d = read_dict(path)
    try:
        return from_dict(cls, d)
    except ConfigError as error:  # its class kept: a RecordingFileError is a file error too
        raise type(error)(f"config file {os.fsdecode(path)!r}: {error}") from error
    except FileNotFoundError as error:  # a recording it names
        raise FileNotFoundError(f"config file {os.fsdecode(path)!r}: {error}") from None
