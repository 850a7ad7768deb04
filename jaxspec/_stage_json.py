"""JSON forms of the framing, preprocessing and feature stages (used by ``jaxspec.serialize``).

A stage is ``{name: {field: value}}`` with ``name`` from its table
(``jaxspec.framing.FRAMINGS`` / ``PREPROCESS``, ``jaxspec.features.FEATURES``) and only the
fields that differ from their defaults; a chain is a list of stages; a ``Window`` is
``{"name": "hann", "symmetric": true}``.

>>> from jaxspec._stage_json import stages_from_json, stages_to_json
>>> from jaxspec.features import FEATURES, MelFilterbank
>>> stages_to_json((MelFilterbank(n_mels=80),), FEATURES)
[{'mel_filterbank': {'n_mels': 80}}]
>>> stages_from_json([{"mel_filterbank": {"n_mels": 80}}], FEATURES, "features")
(MelFilterbank(n_mels=80, fmin=0.0, fmax=None, scale='slaney', norm='slaney', frequencies='rfft'),)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from . import features as _features
from . import framing as _framing
from .errors import ConfigError
from .windows import Window

TABLES: dict[str, dict[str, type]] = {
    "framing": _framing.FRAMINGS,
    "preprocess": _framing.PREPROCESS,
    "features": _features.FEATURES,
}
"""Config field -> its table of stage classes by JSON name."""


def stage_to_json(stage: Any, table: Mapping[str, type]) -> dict[str, Any]:
    """``{name: {field: value}}`` of one stage (fields at their default are left out)."""
    names = {cls: name for name, cls in table.items()}
    out = {}
    for f in dataclasses.fields(stage):
        value = getattr(stage, f.name)
        if value != f.default:
            out[f.name] = value
    return {names[type(stage)]: out}


def stage_from_json(value: Any, table: Mapping[str, type], where: str) -> Any:
    """The stage written by ``stage_to_json``; a ``ConfigError`` names ``where`` and the value."""
    if isinstance(value, str) and value in table:
        value = {value: {}}
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in table:
        raise ConfigError(f"{where}={value!r} must be {{name: {{field: value}}}} with name one of {list(table)}")
    ((name, fields),) = value.items()
    cls = table[name]
    fields = {} if fields is None else fields
    valid = [f.name for f in dataclasses.fields(cls)]
    if not isinstance(fields, Mapping) or any(k not in valid for k in fields):
        raise ConfigError(f"{where}.{name}={fields!r} must be an object with keys among {valid}")
    try:
        return cls(**fields)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}.{name}={dict(fields)!r}: {error}") from error


def stages_to_json(stages: tuple, table: Mapping[str, type]) -> list[dict[str, Any]]:
    """A chain of stages as a JSON list."""
    return [stage_to_json(stage, table) for stage in stages]


def stages_from_json(value: Any, table: Mapping[str, type], where: str) -> tuple:
    """The chain ``stages_to_json`` wrote (``null`` = empty)."""
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}={value!r} must be a list of stages like [{{{next(iter(table))!r}: {{}}}}]")
    return tuple(stage_from_json(v, table, f"{where}[{i}]") for i, v in enumerate(value))


def field_to_json(field: str, value: Any) -> Any:
    """JSON of the ``framing`` / ``preprocess`` / ``features`` fields (``None`` stays ``None``)."""
    if field == "framing":
        return None if value is None else stage_to_json(value, TABLES[field])
    return stages_to_json(value, TABLES[field])


def field_from_json(field: str, value: Any) -> Any:
    """The ``framing`` / ``preprocess`` / ``features`` value of its JSON."""
    if field == "framing":
        return None if value is None else stage_from_json(value, TABLES[field], field)
    return stages_from_json(value, TABLES[field], field)


def window_to_json(window: Any) -> Any:
    """``{"name": ..., "symmetric": ...}`` of a ``Window`` (any other value unchanged)."""
    if not isinstance(window, Window):
        return window
    return {"name": window.name, "symmetric": window.symmetric}


def window_from_json(value: Any) -> Any:
    """The ``Window`` of ``{"name": ..., "symmetric": ...}`` (any other value unchanged)."""
    if not isinstance(value, Mapping):
        return value
    if set(value) - {"name", "symmetric"} or "name" not in value:
        raise ConfigError(f"window_function={dict(value)!r} must be {{'name': str, 'symmetric': bool}}")
    return Window(value["name"], value.get("symmetric", False))
