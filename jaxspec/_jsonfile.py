"""Reading a JSON config file within ``jaxspec.limits``'s caps (behind ``SpectrogramConfig.load``).

Untrusted config files never abort, hang or eat memory: only regular files are opened
(a FIFO is refused unopened), files above ``MAX_CONFIG_BYTES`` are refused before they
are read, the text must be UTF-8, and nesting deeper than ``MAX_JSON_DEPTH`` is refused
before parsing (Python's parser would raise ``RecursionError``). Every failure is a
``ConfigError`` naming the file (``FileNotFoundError`` for a missing one).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import limits
from ._files import display, unnameable
from ._regular import NotRegularFile, open_regular
from .errors import ConfigError, InputError


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return deepest


_MAX_INT_BITS = 1000
"""An integer of more bits (about 1e301) is beyond every field's cap and float's range."""


def check_plain(value: Any, where: str = "") -> None:
    """``ConfigError`` for a dict / list value (``from_dict``'s, a parsed file's) nested
    deeper than ``limits.MAX_JSON_DEPTH`` or holding an integer beyond float's range, naming
    the place (``augmentation.volume.gain``), without recursion: Python raised
    ``RecursionError``, ``OverflowError`` or a ``ValueError`` of its own while the fields
    were read or a message formatted."""
    stack: list[tuple[Any, tuple]] = [(value, ())]  # the keys / indices down to the item
    while stack:
        item, keys = stack.pop()
        if len(keys) > limits.MAX_JSON_DEPTH:
            cap = limits.MAX_JSON_DEPTH
            raise ConfigError(f"{_place(where, keys)} nests deeper than the cap {cap} (jaxspec.limits)")
        if isinstance(item, int) and not isinstance(item, bool) and item.bit_length() > _MAX_INT_BITS:
            raise ConfigError(
                f"{_place(where, keys)}=<an integer of about {int(item.bit_length() * 0.30103)} digits> is beyond "
                "every cap and float's range"
            )
        if isinstance(item, Mapping):
            stack.extend((child, (*keys, key)) for key, child in item.items())
        elif isinstance(item, (list, tuple)) and not _flat_numbers(item):
            stack.extend((child, (*keys, i)) for i, child in enumerate(item))


def _flat_numbers(items: list | tuple) -> bool:
    """Whether ``items`` are numbers NumPy holds natively (no container, no integer beyond
    int64): nothing inside to walk (a 1M-value window in ~30 ms, not a Python loop)."""
    try:
        return np.asarray(items).dtype.kind in "biuf"
    except (ValueError, TypeError, OverflowError):  # ragged or mixed
        return False


def _place(where: str, keys: tuple) -> str:
    place = (where + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys)).lstrip(".")
    return place or "config"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict; a key given twice is an error (``json`` keeps the last silently)."""
    d: dict[str, Any] = {}
    for key, value in pairs:
        if key in d:
            raise ValueError(f"the key {key!r} is given twice in one object")
        d[key] = value
    return d


def parse_json(path: str | os.PathLike) -> Any:
    """The JSON value of a config file, read within ``jaxspec.limits``'s caps (``ConfigError`` else)."""
    if not isinstance(path, (str, bytes, os.PathLike)):  # os.fspath's TypeError named nothing
        raise ConfigError(f"config file {path!r} must be a path (a str, bytes or os.PathLike)")
    path = os.fsdecode(path)
    if not path:  # Path('') is '.', a folder
        raise ConfigError("config file '' is empty: give a JSON file's name")
    path = Path(path)
    shown = display(path)
    reason = unnameable(path)
    if reason:
        raise ConfigError(f"config file {shown}: the path {reason}; no file can have that name")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"config file {shown} does not exist") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {shown}: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"config file {shown} is not a regular file (a folder, FIFO or device)")
    if info.st_size > limits.MAX_CONFIG_BYTES:
        raise ConfigError(
            f"config file {shown} has {info.st_size} bytes; the cap is {limits.MAX_CONFIG_BYTES} (jaxspec.limits)"
        )
    try:  # a FIFO swapped in after the stat above is refused, not waited on; a lease is waited for
        with open_regular(path) as file:
            data = file.read(limits.MAX_CONFIG_BYTES + 1)
    except NotRegularFile:
        raise ConfigError(f"config file {shown} is not a regular file (a folder, FIFO or device)") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {shown}: {error.strerror or error}") from None
    if len(data) > limits.MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {shown} is larger than the cap {limits.MAX_CONFIG_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (some Windows editors write one) is skipped
    except UnicodeDecodeError as error:
        raise ConfigError(f"config file {shown} is not UTF-8 text: {error}") from None
    # Python's own limits (nesting: RecursionError; huge integers: ValueError) become ConfigErrors.
    nesting = max(text.count("["), text.count("{"))
    if nesting > limits.MAX_JSON_DEPTH and _bracket_depth(text) > limits.MAX_JSON_DEPTH:
        raise ConfigError(f"config file {shown} nests deeper than the cap {limits.MAX_JSON_DEPTH} (jaxspec.limits)")
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise ConfigError(f"config file {shown} is not valid JSON: {error}") from error
    except (RecursionError, ValueError) as error:
        reason = str(error)
        if "integer string conversion" in reason:  # Python's advice (sys.set_int_max_str_digits) is a programmer's
            reason = "it holds an integer of more digits than Python reads (4300); no field needs one"
        raise ConfigError(f"config file {shown} cannot be read as JSON: {reason}") from None
    if _depth(value) > limits.MAX_JSON_DEPTH:
        raise ConfigError(f"config file {shown} nests deeper than the cap {limits.MAX_JSON_DEPTH} (jaxspec.limits)")
    return value


def _bracket_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` outside strings (a bound checked before parsing)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def refuse_replacing_other_data(path: Path, name: str = "path") -> None:
    """``InputError`` if ``path`` (through a link) is a regular file that is not empty and does not
    hold a JSON object (read as ``parse_json`` reads a config: capped, never blocking): ``jaxspec
    config -o a.wav`` replaced the user's audio with a config and said "wrote a.wav" (and a
    ``setup.cfg`` or ``pyproject.toml`` would go as well). A new name, an empty file or a JSON
    object (a config saved again, with a byte-order mark too) may be written over."""
    try:
        info = os.stat(path)
    except OSError:
        return  # nothing there (a new name): the write's own errors
    if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
        return  # a folder or a device: the write's own error
    try:
        ok = isinstance(parse_json(path), dict)
    except (ConfigError, OSError):
        ok = False
    if not ok:
        raise InputError(
            f"{name} {display(path)} is an existing file that does not hold a JSON object; writing the config "
            "would destroy it: give a new name (.json) or remove that file first"
        )


def json_text(value: Any, indent: str = "") -> str:
    """``value`` as JSON text, readable and diff-friendly: what fits stays on one line (ranges,
    distributions); longer objects: a key a line."""
    compact = json.dumps(value, separators=(", ", ": "))
    if not isinstance(value, dict) or not value or (indent and len(indent) + len(compact) <= 88):
        return compact
    inner = indent + "  "
    items = ",\n".join(f"{inner}{json.dumps(k)}: {json_text(v, inner)}" for k, v in value.items())
    return "{\n" + items + "\n" + indent + "}"
