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
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ._inputs import as_waveform, check_key, check_lengths, row_keys
from .config import SpectrogramConfig
from .errors import InputError
from .spectrum import spectrogram


def batch_sharding(devices: Sequence[jax.Device] | None = None, axis_name: str = "batch") -> NamedSharding:
    """A ``NamedSharding`` splitting the first (batch) axis over ``devices``.

    Args:
      devices: the devices (default: all of ``jax.devices()``).
      axis_name: the mesh axis name.

    Returns:
      ``NamedSharding(Mesh(devices, (axis_name,)), PartitionSpec(axis_name))``; use it
      with ``jax.device_put(x, sharding)`` for ``x [shape=(B, L)]`` with ``B`` a multiple
      of the device count.

    >>> sharding = batch_sharding()
    >>> x = jax.device_put(np.zeros((len(jax.devices()) * 2, 16000), np.float32), sharding)
    >>> import jaxspec
    >>> sharded_spectrogram(jaxspec.SpectrogramConfig(), x, sharding=sharding).shape[1:]
    (121, 201)
    """
    devices = list(jax.devices() if devices is None else devices)
    mesh = Mesh(np.asarray(devices), (axis_name,))
    return NamedSharding(mesh, PartitionSpec(axis_name))


def sharded_spectrogram(
    config: SpectrogramConfig,
    x: jax.Array,
    key: jax.Array | None = None,
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
      sharding: a ``NamedSharding`` whose spec shards the first axis (default:
        ``batch_sharding()``).

    Returns:
      float32 ``[shape=(B, n_frames, bins)]`` sharded like ``x``; equal to
      ``spectrogram(config, x, key)``. Works inside ``jax.jit``.
    """
    sharding = batch_sharding() if sharding is None else sharding
    spec = sharding.spec
    axis = spec[0] if len(spec) else None
    x = as_waveform(x, config)
    if x.ndim != 2:
        raise InputError(f"sharded_spectrogram needs a batch x [B, L], got shape {x.shape}")
    shards = 1 if axis is None else int(np.prod([sharding.mesh.shape[a] for a in np.atleast_1d(axis)]))
    if x.shape[0] % shards:
        raise InputError(f"batch size B={x.shape[0]} must be a multiple of the {shards} devices of the batch axis")
    if key is not None:
        key = row_keys(check_key(key), x.shape[0])
    lengths = check_lengths(lengths, x)
    return _mapped(sharding.mesh, axis, key is not None, lengths is not None)(config, x, key, lengths)


def _local(config: SpectrogramConfig, rows: jax.Array, keys: jax.Array | None, lengths: jax.Array | None) -> jax.Array:
    return spectrogram(config, rows, keys, lengths=lengths)


@functools.lru_cache(maxsize=64)
def _mapped(mesh: Any, axis: Any, keyed: bool, ragged: bool) -> Any:
    """The jitted ``shard_map`` for a mesh and batch axis, built once: a new closure per call
    compiled 3-8 programs on every eager call."""
    batch = PartitionSpec(axis)
    specs = (PartitionSpec(), batch, batch if keyed else None, batch if ragged else None)
    return jax.jit(jax.shard_map(_local, mesh=mesh, in_specs=specs, out_specs=batch))
