"""The key rule, and drawing and applying every stage of an ``Augmentation``.

Feature-level stages (``feature_stages``, SPEC section 7) follow the same rule: frequency
mask 4, time mask 5, time warp 6, VTLP 7 (dither, in ``framing``, is 8); masks: count 0,
widths 1, starts 2 (mask j folds j into the widths / starts key); time warp: centre 0,
shift 1; VTLP factor 0. Levels (``stages.LEVELS``): ``apply`` runs the waveform stages;
``feature_chain`` splices the mel- and feature-level stages of one example into its
feature chain; ``draw`` reports all of them.

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

import numbers
from typing import Any

import jax
import jax.numpy as jnp

from .. import _xla
from .. import features as _features
from .._inputs import as_index, is_concrete_array
from .._key_inputs import check_key, is_single_key
from ..errors import ConfigError, InputError
from ..io import capped_rate
from ..limits import MAX_SIGNAL_SAMPLES
from . import feature_stages
from .recordings import resolve
from .stages import Augmentation


def stage_key(key: jax.Array, stage_id: int) -> jax.Array:
    """The key of one stage: ``fold_in(key, stage_id)``."""
    return jax.random.fold_in(key, stage_id)


def traced_draw_values(
    augmentation: Augmentation,
    key: jax.Array,
    length: Any,
    sample_rate: int,
    grid: feature_stages.FeatureGrid | None = None,
) -> dict[str, jax.Array]:
    """The values ``augmentation`` draws with ``key`` for an input of ``length`` samples
    (an int, or a traced int: the draws are the same), uncompiled: for use inside a
    program being traced (``apply``, packed corpora); ``draw_values`` is its compiled twin.

    Waveform stages always; mel- and feature-level stages only with ``grid`` (the
    example's frames and features).
    """
    values: dict[str, jax.Array] = {}
    for stage, setting in augmentation.active():
        k = stage_key(key, stage.stage_id)
        if stage.level == "waveform":
            values.update(stage.draw(setting, k, length, sample_rate))
        elif grid is not None:
            values.update(stage.draw(setting, k, grid))
    return values


draw_values = _xla.compiled(traced_draw_values, static_argnums=(2, 3, 4))
_draw_values_at = _xla.compiled(traced_draw_values, static_argnums=(3,))  # a length given as an array
draw_values.__doc__ = """``draw_values(augmentation, key, length, sample_rate, grid=None)``: the drawn values
(resolved augmentation; feature-level values need ``grid``, a static ``FeatureGrid``)."""


def apply(
    augmentation: Augmentation, x: jax.Array, key: jax.Array, sample_rate: int, length: jax.Array | None = None
) -> jax.Array:
    """Augments one waveform ``x [shape=(L,)]`` with one key (the traced core; waveform stages).

    ``length``: ``None``, or a traced int when ``x`` is a zero-padded row whose first
    ``length`` samples are the signal: the row is augmented as the signal alone would
    be (its draws, its duration), and every stage's output is cut at ``length``.
    """
    if x.shape[0] == 0:
        return x
    valid = None if length is None else jnp.arange(x.shape[0]) < length
    values = traced_draw_values(augmentation, key, x.shape[0] if length is None else length, sample_rate)
    for stage, setting in augmentation.active("waveform"):
        x = stage.apply(setting, x, values, stage_key(key, stage.stage_id), length)
        if valid is not None:
            x = jnp.where(valid, x, 0.0)  # a stage's tail past the row's end never reaches the next stage
    return x


def feature_grid(features: tuple, frames: int, sample_rate: int, fft_size: int, valid_frames=None):
    """The ``FeatureGrid`` of one example: its frames, and the features where masks apply."""
    k = feature_stages.insertion_point(features)
    size = _features.chain_size(features[:k], fft_size // 2 + 1, sample_rate, fft_size)
    return feature_stages.FeatureGrid(frames, size, valid_frames)


def feature_chain(
    augmentation: Augmentation | None,
    features: tuple,
    key: jax.Array | None,
    frames: int,
    sample_rate: int,
    fft_size: int,
    valid_frames: Any = None,
) -> tuple:
    """The feature chain of one example with its mel- and feature-level stages spliced in.

    Each ``MelFilterbank`` becomes a ``WarpedMelFilterbank`` with the drawn VTLP factor;
    time warp and masks run as one stage at ``feature_stages.insertion_point(features)``.
    Without a key, or with no such stage on, ``features`` itself (the same program).

    Args:
      augmentation: the config's augmentation.
      features: the config's feature stages.
      key: the example's key (``None``: no augmentation).
      frames: the example's frames (static).
      sample_rate, fft_size: the config's.
      valid_frames: the frames of the example that are not padding (traced int);
        ``None`` = all. Masks and warp stay inside them and draw what the unpadded
        example would.
    """
    if key is None or augmentation is None:
        return features
    mel, block = augmentation.active("mel"), augmentation.active("features")
    if not mel and not block:
        return features
    grid = feature_grid(features, frames, sample_rate, fft_size, valid_frames)
    values: dict[str, jax.Array] = {}
    for stage, setting in mel + block:
        values.update(stage.draw(setting, stage_key(key, stage.stage_id), grid))
    chain = tuple(features)
    for stage, setting in mel:
        chain = tuple(stage.apply(setting, s, values) for s in chain)
    if not block:
        return chain
    k = feature_stages.insertion_point(features)
    return chain[:k] + (feature_stages.AugmentFeatures(block, values, valid_frames),) + chain[k:]


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
      sample_rate: only with an ``Augmentation`` (default 16000); with a config, ``None``
        or the config's own rate.

    Returns:
      A dict of float32 / int32 scalars, with the keys of the configured stages:
      ``convolution_mix``, ``noise_amplitude``, ``noise_start`` (recordings only),
      ``time_shift_samples``, ``volume_gain``; ``vtlp_factor``, ``time_warp_centre``,
      ``time_warp_shift``, and per mask kind ``frequency_mask_count``,
      ``frequency_mask_starts`` / ``_widths`` (int32 ``[max count]``: one entry per
      mask, width 0 past the drawn count), likewise ``time_mask_*``. Feature-level
      values need a ``SpectrogramConfig`` (its frames and features).

    >>> import jax, jaxspec
    >>> jaxspec.draw(jaxspec.Augmentation(volume=2.0), jax.random.key(0), 16000)
    {'volume_gain': Array(2., dtype=float32)}
    """
    if isinstance(length, jax.Array):
        if length.ndim != 0 or not jnp.issubdtype(length.dtype, jnp.integer):
            raise InputError(f"length of shape {length.shape} and dtype {length.dtype} must be one integer")
        if is_concrete_array(length):
            length = int(length)
        else:  # traced: no value to check; clipped, as spectrogram clips traced lengths
            length = jnp.clip(length, 0, MAX_SIGNAL_SAMPLES).astype(jnp.int32)
    if not isinstance(length, jax.Array) and (
        isinstance(length, bool) or not isinstance(length, numbers.Integral) or not 0 <= length <= MAX_SIGNAL_SAMPLES
    ):
        raise InputError(f"length={length!r} must be a number of samples, an int in [0, {MAX_SIGNAL_SAMPLES}]")
    key = check_key(key)
    if not is_single_key(key):
        raise InputError(
            f"key of shape {key.shape} is a batch of keys; draw takes one: "
            "jax.vmap(lambda k: draw(config, k, length))(keys) for several"
        )
    augmentation = getattr(setting, "augmentation", setting)
    if not isinstance(augmentation, (Augmentation, type(None))):  # None: no augmentation, no draws
        raise ConfigError(f"draw needs a SpectrogramConfig or an Augmentation, got {type(setting).__name__}")
    if augmentation is setting:  # the rate that converts seconds (a config has its own)
        rate = 16000 if sample_rate is None else capped_rate("sample_rate", as_index(sample_rate))
    elif sample_rate is not None and as_index(sample_rate) != setting.sample_rate:
        raise ConfigError(
            f"sample_rate={sample_rate!r} is for an Augmentation; the config's sample_rate is {setting.sample_rate}"
        )
    else:
        rate = setting.sample_rate
    if augmentation is None:
        return {}
    grid = None
    if augmentation is setting:
        augmentation = resolve(augmentation, rate)  # recordings' lengths are needed
        if augmentation.active("mel") or augmentation.active("features"):
            raise ConfigError(
                "draw of feature-level stages (masks, time warp, VTLP) needs the SpectrogramConfig "
                "(its frames and features): draw(config, key, length)"
            )
    elif augmentation.active("mel") or augmentation.active("features"):
        # the frames as data too: an eager draw with masks compiled per new length (0.3 s each;
        # an audit), where the traced path, which spectrogram's lengths= takes, draws the same
        frames = setting.num_frames(length if isinstance(length, jax.Array) else jnp.int32(length))
        grid = feature_grid(setting.features, frames, rate, setting.fft_samples)
    # the length as data, so a new length compiles nothing
    length = length.astype(jnp.int32) if isinstance(length, jax.Array) else jnp.int32(length)
    return _draw_values_at(augmentation, key, length, int(rate), grid)
