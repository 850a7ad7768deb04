"""Frozen dataclasses that are pure JAX pytrees and still compare and hash sensibly.

Pure means: flattening and unflattening (``jax.tree.map``, tracing under ``jit``,
``device_put``, ``vmap``'s ``in_axes`` trees) never run the class's constructor.
Unflatten builds the object on ``object.__new__`` and sets its fields, as equinox
does, so validation, parsing and file loading run once, when a user builds the
object, and never on a tree of tracers or placeholders.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, dataclass_transform

import jax
import numpy as np

from .errors import did_you_mean


def _leaf_key(leaf: Any) -> Any:
    if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
        return ("array", tuple(leaf.shape), str(leaf.dtype))
    return leaf


def _leaves_equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, jax.core.Tracer) or isinstance(b, jax.core.Tracer):
        return False
    if hasattr(a, "shape") and hasattr(b, "shape"):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    return a == b


def _eq(self: Any, other: Any) -> bool:
    if type(self) is not type(other):
        return NotImplemented
    leaves_a, tree_a = jax.tree.flatten(self)
    leaves_b, tree_b = jax.tree.flatten(other)
    return tree_a == tree_b and all(map(_leaves_equal, leaves_a, leaves_b))


def _hash(self: Any) -> int:
    leaves, tree = jax.tree.flatten(self)
    return hash((_tree_key(tree), tuple(_leaf_key(leaf) for leaf in leaves)))


def _tree_key(tree: Any) -> Any:
    """A treedef as a hashable key that holds its nodes' static data. ``PyTreeDef``'s own hash
    leaves the node data out, so every config of one structure hashed alike (a set of 2000
    configs of 2000 window sizes took 3.9 s, one hash among them; an audit)."""
    data = tree.node_data()  # None for a leaf; (type, aux) else, a dict's aux being a list of keys
    if data is not None and isinstance(data[1], list):
        data = data[0], tuple(data[1])
    return data, tuple(map(_tree_key, tree.children()))


def _typed(value: Any) -> Any:
    """``value`` as a key that also holds its kind (int or float: samples or seconds) and a
    float's sign, recursively; a NumPy scalar is of its Python kind (``np.int64(320)`` is
    320 samples, as ``320`` is)."""
    if isinstance(value, (tuple, list)):
        return type(value), tuple(map(_typed, value))
    if isinstance(value, (bool, np.bool_)):
        return bool, bool(value)
    if isinstance(value, (int, np.integer)):
        return int, int(value)
    if isinstance(value, (float, np.floating)):
        return float, float(value), math.copysign(1.0, value)
    return type(value), value


class _Static:
    """The static fields of one object, as its treedef holds them: equal only when equal in
    type as well as value. Python's ``1 == 1.0`` is ``True``, but ``window_size=1`` is one
    sample and ``1.0`` one second: with the bare values in the treedef, ``jit`` reused the
    program of one for the other (and ``-0.0`` for ``0.0``: the same values, other sign bits)."""

    __slots__ = ("values", "_key", "_hash")

    def __init__(self, values: tuple[Any, ...]) -> None:
        self.values = values
        self._key = _typed(values)
        self._hash = hash(self._key)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, _Static) and (self is other or self._key == other._key)

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> Any:  # the hash is per process (str hashes): recomputed, never pickled
        return _Static, (self.values,)

    def __repr__(self) -> str:
        return repr(self.values)


_STATIC = "_jaxspec_static"  # where an object keeps its _Static once built (the object is frozen)


def _register(cls: type, data: tuple[str, ...], meta: tuple[str, ...]) -> None:
    keys = tuple(jax.tree_util.GetAttrKey(name) for name in data)

    def static(obj: Any) -> _Static:
        # built once per object: a jit call flattens its config on every call
        aux = obj.__dict__.get(_STATIC)
        if aux is None:
            aux = _Static(tuple(getattr(obj, n) for n in meta))
            object.__setattr__(obj, _STATIC, aux)
        return aux

    def flatten_with_keys(obj: Any) -> tuple[list[tuple[Any, Any]], _Static]:
        return [(k, getattr(obj, n)) for k, n in zip(keys, data, strict=True)], static(obj)

    def flatten(obj: Any) -> tuple[list[Any], _Static]:
        return [getattr(obj, n) for n in data], static(obj)

    def unflatten(aux: _Static, children: Any) -> Any:
        obj = object.__new__(cls)  # no __init__, no __post_init__: nothing runs twice
        for name, value in zip(meta, aux.values, strict=True):
            object.__setattr__(obj, name, value)
        object.__setattr__(obj, _STATIC, aux)
        for name, value in zip(data, children, strict=True):
            object.__setattr__(obj, name, value)
        return obj

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)


# type checkers and IDEs see the generated __init__ (mypy and pyright flagged every
# SpectrogramConfig(window_size=...) as an unexpected keyword and completed no field)
@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def pytree_dataclass(*, data_fields: tuple[str, ...] = ()):
    """Makes ``cls`` a frozen dataclass registered as a pure pytree.

    Fields named in ``data_fields`` are children (array leaves or nested pytrees);
    every other field is static metadata: hashable, part of the treedef and so of
    ``jax.jit``'s cache key. Unflatten runs no constructor. Equality compares the
    treedef and the leaves' values, and the hash uses the treedef and the leaves'
    shapes, so objects holding arrays are hashable too.
    """

    def wrap(cls: type) -> type:
        cls = dataclasses.dataclass(frozen=True, eq=False)(cls)
        names = tuple(f.name for f in dataclasses.fields(cls))
        _register(cls, tuple(data_fields), tuple(n for n in names if n not in data_fields))
        cls.__eq__ = _eq
        cls.__hash__ = _hash
        cls.__init__ = _naming_keywords(cls.__init__, cls.__name__, names)
        return cls

    return wrap


# librosa's and torchaudio's names for the fields of SpectrogramConfig
SYNONYMS = {
    "sr": "sample_rate",
    "n_fft": "fft_size",
    "win_length": "window_size",
    "hop_length": "offset",
    "window": "window_function",
    "window_fn": "window_function",
}


def _naming_keywords(init: Any, name: str, fields: tuple[str, ...]) -> Any:
    """``init`` that refuses a keyword it does not take with the closest field's name (a
    librosa name with jaxspec's: ``hop_length`` -> ``offset``), before the dataclass's bare
    "unexpected keyword argument"."""

    @functools.wraps(init)
    def checked(self: Any, *args: Any, **kwargs: Any) -> None:
        for given in kwargs:
            if given not in fields:
                hint = did_you_mean(given, fields, SYNONYMS)
                raise TypeError(
                    f"{name}() got an unexpected keyword argument {given!r}{hint}; it takes {', '.join(fields)}"
                )
        init(self, *args, **kwargs)

    return checked
