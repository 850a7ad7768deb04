"""Frozen dataclasses that are JAX pytrees and still compare and hash sensibly."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np


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
    return hash((tree, tuple(_leaf_key(leaf) for leaf in leaves)))


def pytree_dataclass(*, data_fields: tuple[str, ...] = ()):
    """Makes ``cls`` a frozen dataclass registered as a pytree.

    Fields named in ``data_fields`` are children (array leaves or nested pytrees);
    every other field is static metadata: hashable, part of the treedef and so of
    ``jax.jit``'s cache key. Equality compares the treedef and the leaves' values,
    and the hash uses the treedef and the leaves' shapes, so objects holding arrays
    are hashable too.
    """

    def wrap(cls: type) -> type:
        cls = dataclasses.dataclass(frozen=True, eq=False)(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        meta = [n for n in names if n not in data_fields]
        jax.tree_util.register_dataclass(cls, data_fields=list(data_fields), meta_fields=meta)
        cls.__eq__ = _eq
        cls.__hash__ = _hash
        return cls

    return wrap


def is_concrete_array(x: Any) -> bool:
    """True for a NumPy or JAX array whose values can be read on the host now."""
    return isinstance(x, (np.ndarray, jax.Array)) and not isinstance(x, jax.core.Tracer)
