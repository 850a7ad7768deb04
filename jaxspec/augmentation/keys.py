"""The key rule, and drawing and applying every stage of an ``Augmentation``.

Key rule. Stage ``s`` of the table derives its key from the example's key with
``fold_in(key, s.stage_id)`` (convolution 0, noise 1, time shift 2, volume 3), and
every draw inside a stage folds in its own parameter id (``fold_in(stage_key, id)``):
convolution mix 0; noise amplitude 0, noise start 1, white-noise samples 2; time
shift 0; volume gain 0. Ids are never renumbered, so adding or removing a stage never
changes the draws of another, and no key is used twice. A batch ``[B, L]`` with one
key uses ``jax.random.fold_in(key, i)`` for example i (``jax.random.split(key, B)[i]``
under JAX's default ``jax_threefry_partitionable``). Every draw is made from explicit
uint32 words (``augmentation.random``), so neither ``jax_enable_x64`` nor
``jax_threefry_partitionable`` changes a drawn value.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _xla
from ..errors import ConfigError
from .recordings import resolve
from .stages import Augmentation


def stage_key(key: jax.Array, stage_id: int) -> jax.Array:
    """The key of one stage: ``fold_in(key, stage_id)``."""
    return jax.random.fold_in(key, stage_id)


def _draw_values(augmentation: Augmentation, key: jax.Array, length: Any, sample_rate: int) -> dict[str, jax.Array]:
    """The values ``augmentation`` draws with ``key`` for an input of ``length`` samples
    (an int, or a traced int: the draws are the same)."""
    values: dict[str, jax.Array] = {}
    for stage, setting in augmentation.active():
        values.update(stage.draw(setting, stage_key(key, stage.stage_id), length, sample_rate))
    return values


draw_values = _xla.compiled(_draw_values, static_argnums=(2, 3))
_draw_values_at = _xla.compiled(_draw_values, static_argnums=(3,))  # a length given as an array
draw_values.__doc__ = (
    """``draw_values(augmentation, key, length, sample_rate)``: the drawn values (resolved augmentation)."""
)


def apply(
    augmentation: Augmentation, x: jax.Array, key: jax.Array, sample_rate: int, length: jax.Array | None = None
) -> jax.Array:
    """Augments one waveform ``x [shape=(L,)]`` with one key (the traced core).

    ``length``: ``None``, or a traced int when ``x`` is a zero-padded row whose first
    ``length`` samples are the signal: the row is augmented as the signal alone would
    be (its draws, its duration), and every stage's output is cut at ``length``.
    """
    if x.shape[0] == 0:
        return x
    valid = None if length is None else jnp.arange(x.shape[0]) < length
    values = _draw_values(augmentation, key, x.shape[0] if length is None else length, sample_rate)
    for stage, setting in augmentation.active():
        x = stage.apply(setting, x, values, stage_key(key, stage.stage_id), length)
        if valid is not None:
            x = jnp.where(valid, x, 0.0)  # a stage's tail past the row's end never reaches the next stage
    return x


def draw(setting: Any, key: jax.Array, length: int, *, sample_rate: int | None = None) -> dict[str, jax.Array]:
    """The values an augmentation draws with ``key`` for an input of ``length`` samples.

    The same values that ``spectrogram(config, x, key)`` applies to an ``x`` of that
    length (use ``jax.vmap`` over ``fold_in(key, i)`` for a batch). Log them to
    make an experiment auditable.

    Args:
      setting: a ``SpectrogramConfig`` (its ``augmentation`` and ``sample_rate``) or an
        ``Augmentation`` (then ``sample_rate``, default 16000, converts seconds).
      key: a PRNG key for one example.
      length: the input length in samples: an int, or a traced int (inside ``jit``, for
        rows of a ragged batch).
      sample_rate: only with an ``Augmentation``.

    Returns:
      A dict of float32 / int32 scalars, with the keys of the configured stages:
      ``convolution_mix``, ``noise_amplitude``, ``noise_start`` (recordings only),
      ``time_shift_samples``, ``volume_gain``.

    >>> draw(Augmentation(volume=2.0), jax.random.key(0), 16000)
    {'volume_gain': Array(2., dtype=float32)}
    """
    augmentation = getattr(setting, "augmentation", setting)
    rate = getattr(setting, "sample_rate", None) or sample_rate or 16000
    if augmentation is None:
        return {}
    if not isinstance(augmentation, Augmentation):
        raise ConfigError(f"draw needs a SpectrogramConfig or an Augmentation, got {type(setting).__name__}")
    if augmentation is setting:
        augmentation = resolve(augmentation, rate)  # recordings' lengths are needed
    if isinstance(length, jax.Array):
        return _draw_values_at(augmentation, key, length.astype(jnp.int32), int(rate))
    return draw_values(augmentation, key, int(length), int(rate))
