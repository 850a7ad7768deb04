"""Sharding a batch over devices (multi-GPU hosts, TPU slices, or CPU test devices).

``spectrogram`` is per-example, so a batch ``[B, L]`` sharded along its first axis can
be computed where it lies. XLA's SPMD partitioner does not partition FFTs (it would
all-gather the frames to every device), so ``sharded_spectrogram`` runs the core under
``jax.shard_map``: each device frames and transforms its own rows, with no gather. The
per-example key rule is unchanged (row i uses ``jax.random.fold_in(key, i)``), so the
result equals the single-device one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jax.typing import ArrayLike

from ._inputs import as_waveform, check_lengths
from ._key_inputs import check_key, is_key_batch, is_single_key, row_keys
from ._xla import numpy_defaults
from .config import SpectrogramConfig
from .errors import InputError
from .spectrum import output_dtype, spectrogram


def batch_sharding(devices: Sequence[jax.Device] | None = None, axis_name: str = "batch") -> NamedSharding:
    """A ``NamedSharding`` splitting the first (batch) axis over ``devices``.

    Args:
      devices: the devices (default: all of ``jax.devices()``).
      axis_name: the mesh axis name.

    Returns:
      ``NamedSharding(Mesh(devices, (axis_name,)), PartitionSpec(axis_name))``; use it
      with ``jax.device_put(x, sharding)`` for ``x [shape=(B, L)]`` with ``B`` a multiple
      of the device count.

    >>> import jax, jaxspec, numpy as np
    >>> sharding = jaxspec.batch_sharding()
    >>> x = jax.device_put(np.zeros((len(jax.devices()) * 2, 16000), np.float32), sharding)
    >>> jaxspec.sharded_spectrogram(jaxspec.SpectrogramConfig(), x, sharding=sharding).shape[1:]
    (121, 201)
    """
    devices = list(jax.devices() if devices is None else _device_list(devices))
    if not isinstance(axis_name, str) or not axis_name:
        raise InputError(f"axis_name={axis_name!r} must be a non-empty string")
    mesh = Mesh(np.asarray(devices), (axis_name,))
    return NamedSharding(mesh, PartitionSpec(axis_name))


def _device_list(devices: Any) -> list:
    """``devices`` as a non-empty list of ``jax.Device`` ("cpu" was read as 3 devices, one per letter)."""
    if isinstance(devices, jax.Device):
        raise InputError(f"devices={devices!r} is one device; pass a list, e.g. [device]")
    if isinstance(devices, np.ndarray):  # a mesh's device array
        devices = list(devices.flat)
    if isinstance(devices, (str, bytes)) or not isinstance(devices, Iterable):
        raise InputError(f"devices={devices!r} must be a list of jax.Device (e.g. jax.devices())")
    devices = list(devices)  # a generator of devices too
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise InputError(f"devices={devices!r} must be a non-empty list of jax.Device (e.g. jax.devices())")
    if len(set(devices)) < len(devices):  # a mesh of [d, d] failed later in JAX with a bare AssertionError
        raise InputError(f"devices={devices!r} names a device twice; each device holds one shard")
    return devices


def sharded_spectrogram(
    config: SpectrogramConfig,
    x: ArrayLike,
    key: ArrayLike | None = None,
    *,
    lengths: Any = None,
    sharding: NamedSharding | None = None,
) -> jax.Array:
    """``spectrogram`` of a batch, computed in place on the devices that hold its rows.

    Args:
      config: the settings.
      x: float ``[shape=(B, L)]``; ``B`` must be a multiple of the number of devices
        on the sharding's batch axis. It is placed with ``sharding`` if it is not already.
      key: ``None``, one key (row i uses ``jax.random.fold_in(key, i)``) or ``B`` keys.
      lengths: ``None`` or int ``[shape=(B,)]``: a ragged batch, as for ``spectrogram``.
      sharding: a ``NamedSharding`` whose spec shards the first axis (default: the mesh axis
        that already splits a sharded ``x``'s rows, else ``batch_sharding()``; a
        ``jax.make_mesh`` mesh with explicit axes too; ``P()`` is an ``InputError``). ``x``, a key
        batch and ``lengths`` committed elsewhere (one device) are placed with it, and the
        config's recordings replicated on its mesh.

    Returns:
      ``[shape=(B, n_frames, config.num_features)]`` (float32; complex64 when ``config.power`` is None), sharded
      like ``x`` (an empty result under ``jax.jit``: unsharded zeros); equal to ``spectrogram(config, x,
      key)``. Works inside ``jax.jit``.

    >>> import jax, jaxspec, numpy as np
    >>> x = np.zeros((len(jax.devices()) * 2, 16000), np.float32)  # B: a multiple of the device count
    >>> spec = jaxspec.sharded_spectrogram(jaxspec.SpectrogramConfig(), x)
    >>> spec.shape[1:], spec.dtype, spec.sharding.is_equivalent_to(jaxspec.batch_sharding(), 3)
    ((121, 201), dtype('float32'), True)
    """
    sharding = _own_rows(x) if sharding is None else sharding
    if not isinstance(sharding, NamedSharding):
        raise InputError(f"sharding={sharding!r} must be a NamedSharding (e.g. jaxspec.batch_sharding())")
    spec = sharding.spec
    axis = spec[0] if len(spec) else None
    if axis is None:  # P() or P(None, ...) copied the whole batch to every device and computed it on each
        raise InputError(
            f"sharding={sharding!r} does not split the first (batch) axis; pass one whose spec names a mesh axis "
            "first, e.g. NamedSharding(mesh, PartitionSpec('data')) or jaxspec.batch_sharding()"
        )
    shards = int(np.prod([sharding.mesh.shape[a] for a in np.atleast_1d(axis)]))
    # a NumPy batch stays on the host until _placed puts each device's rows there (it was
    # copied whole to the default device first: N times the rows that device holds)
    x = as_waveform(x, config, host=True, devices=shards)
    if x.ndim != 2:
        raise InputError(f"sharded_spectrogram needs a batch x [B, L], got shape {x.shape}")
    if x.shape[0] % shards:
        raise InputError(f"batch size B={x.shape[0]} must be a multiple of the {shards} devices of the batch axis")
    rows = NamedSharding(sharding.mesh, PartitionSpec(axis))  # [B] arrays laid out as x's rows
    everywhere = NamedSharding(sharding.mesh, PartitionSpec())
    # a config's recordings committed to one device (a train state put there) are replicated
    config = jax.tree.map(lambda a: _placed(a, everywhere) if isinstance(a, jax.Array) else a, config)
    one_key = False
    if key is not None:
        key = check_key(key)
        one_key = is_single_key(key)
        if not one_key and not is_key_batch(key, x.shape[0]):
            fix = f"pass one key or {x.shape[0]} keys (one per row)"  # not `rows`: the rows' sharding
            raise InputError(f"key of shape {key.shape} does not fit x of shape {x.shape}: {fix}")
        # one key is replicated and each device folds in its own rows' global indices: nothing
        # of size B is built on one device and moved (an explicit mesh refuses that move)
        key = _placed(key, everywhere) if one_key else _placed(row_keys(key, x.shape[0]), rows)
    lengths = _placed(check_lengths(lengths, x), rows)
    frames = config.num_frames(x.shape[1])
    if x.shape[0] == 0 or frames == 0:
        # Nothing to compute, and a jitted program's zero-size sharded output holds the whole
        # batch's shape on every device in jax 0.10 (np.asarray of it then fails to broadcast
        # (2, 0, F) into (1, 0, F)): an eager empty result is placed with the rows' layout instead.
        shape = (x.shape[0], frames, config.num_features)
        if isinstance(x, jax.core.Tracer):  # placing it needs a mesh context under jit on an explicit mesh
            return jnp.zeros(shape, output_dtype(config))
        return _placed(np.zeros(shape, output_dtype(config)), rows)
    mapped = _mapped(sharding.mesh, axis, key is not None, one_key, lengths is not None)
    return mapped(config, _placed(x, NamedSharding(sharding.mesh, PartitionSpec(axis, None))), key, lengths)


def _own_rows(x: Any) -> NamedSharding:
    """The default ``sharding``: the mesh axis that already splits a sharded ``x``'s rows (a batch
    on a ``jax.make_mesh`` mesh was moved to ``batch_sharding()``'s, or failed with its axis name
    as a ``KeyError``), else ``batch_sharding()``."""
    held = getattr(x, "sharding", None) if isinstance(x, jax.Array) else None
    if isinstance(x, jax.core.Tracer):  # under jit: the sharding in its type, where the mesh is explicit
        held = getattr(getattr(jax, "typeof", lambda a: None)(x), "sharding", None)
        if isinstance(held, NamedSharding) and len(held.spec) and held.spec[0] is not None and _explicit(held.mesh):
            raise InputError(
                f"x is split over the axis {held.spec[0]!r} of an explicit mesh; traced (jax.jit, grad), pass that "
                f"mesh's sharding=NamedSharding(mesh, PartitionSpec({held.spec[0]!r})) (static under jit)"
            )
        held = None
    if isinstance(held, NamedSharding) and len(held.spec) and held.spec[0] is not None:
        return NamedSharding(held.mesh, PartitionSpec(held.spec[0]))
    return batch_sharding()


def _placed(a: jax.Array | None, sharding: NamedSharding) -> jax.Array | None:
    """``a`` laid out with ``sharding``: a committed array elsewhere (one device, another mesh)
    or a row array of a mesh with explicit axes is not moved by ``jit`` itself. An array of
    several processes is left to ``jit``; so is one no process could place alone."""
    if a is None:
        return None
    if isinstance(a, jax.core.Tracer):
        return jax.sharding.reshard(a, sharding) if _explicit(sharding.mesh) else a
    if isinstance(a, jax.Array) and a.sharding.is_equivalent_to(sharding, a.ndim):
        # the same layout on another mesh (other axis names, explicit axes) failed in shard_map
        if not isinstance(a.sharding, NamedSharding) or a.sharding.mesh == sharding.mesh:
            return a
    if sharding.is_fully_addressable and (not isinstance(a, jax.Array) or a.is_fully_addressable):
        return jax.device_put(a, sharding)
    return a


def _explicit(mesh: Any) -> bool:
    types = getattr(mesh, "axis_types", ())
    return any(str(t).endswith("Explicit") for t in types)


@numpy_defaults  # the row indices: int32 axis index + arange, int64 under x64
def _local(
    config: SpectrogramConfig,
    rows: jax.Array,
    keys: jax.Array | None,
    lengths: jax.Array | None,
    *,
    axis: Any = None,
    one_key: bool = False,
) -> jax.Array:
    if one_key:  # this device's rows are rows start .. start + n - 1 of the batch
        start = 0 if axis is None else jax.lax.axis_index(axis) * rows.shape[0]
        index = (start + jnp.arange(rows.shape[0])).astype(jnp.uint32)
        keys = jax.vmap(lambda i: jax.random.fold_in(keys, i))(index)
    return spectrogram(config, rows, keys, lengths=lengths)


@functools.lru_cache(maxsize=64)
def _mapped(mesh: Any, axis: Any, keyed: bool, one_key: bool, ragged: bool) -> Any:
    """The jitted ``shard_map`` for a mesh and batch axis, built once: a new closure per call
    compiled 3-8 programs on every eager call."""
    batch = PartitionSpec(axis)
    keys = (PartitionSpec() if one_key else batch) if keyed else None
    specs = (PartitionSpec(), batch, keys, batch if ragged else None)
    local = functools.partial(_local, axis=axis, one_key=one_key)
    return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=batch))
