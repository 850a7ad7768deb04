"""Put the encoder in front of a model, so that the model takes raw audio.

The seed's "attach an encoder to an input port": ``attach(config, apply_fn)`` returns
a function of ``(params, audio, key)`` that computes the spectrogram with the pure core
and feeds it to any apply function (flax ``model.apply``, an equinox module call, a
plain JAX function). Nothing is stored: the result is a pure function that can be
jitted, vmapped and differentiated with respect to ``params`` and to ``audio``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from .config import SpectrogramConfig
from .errors import ConfigError, InputError, config_type_error
from .io import Audio, is_path
from .spectrum import spectrogram

Features = Callable[[jax.Array], jax.Array]


def attach(
    config: SpectrogramConfig,
    apply_fn: Callable[..., Any],
    *,
    transform: Features | None = None,
) -> Callable[..., Any]:
    """Returns ``fn(params, audio, key=None, *, lengths=None, **kwargs) = apply_fn(params, features, **kwargs)``.

    ``features = transform(spectrogram(config, audio, key, lengths=lengths))`` (``transform`` defaults to
    the identity: the config's own output, a power spectrogram or its feature stages).
    Use ``transform`` for log compression, e.g. ``jnp.log1p`` or
    ``lambda s: 10 * jnp.log10(s + 1e-10)``, or for per-example normalization; it sees
    the whole ``[..., n_frames, features]`` array.

    Args:
      config: the spectrogram settings; ``audio`` must already be at
        ``config.sample_rate`` (use ``jaxspec.resample`` or ``jaxspec.encode`` on the
        host for other rates and for files).
      apply_fn: the model, called as ``apply_fn(params, features, **kwargs)``.
      transform: optional function applied to the spectrogram before ``apply_fn``.

    Returns:
      A pure function ``fn(params, audio, key=None, **kwargs)`` where

      * ``audio``: float (or integer PCM) waveform ``[shape=(L,)]`` or a batch
        ``[shape=(B, L)]``;
      * ``lengths``: ``None``, or the true lengths ``[shape=(B,)]`` (samples, concrete or
        traced ints) of a zero-padded batch (SPEC section 8), one int for one padded clip
        ``[shape=(Lmax,)]`` (what ``vmap`` over the rows hands in): each row is encoded as its
        first ``lengths[i]`` samples alone, and its frames past
        ``config.num_frames(lengths[i])`` are zeros. It is the encoder's; to mask those
        frames in the model, pass ``config.num_frames(lengths)`` under a name of your own;
      * ``key``: ``None`` (evaluation: no augmentation), one PRNG key (a batch uses
        ``jax.random.fold_in(key, i)`` for example ``i``, as ``spectrogram`` does) or
        a batch of ``B`` keys; it drives ``config.augmentation``;
      * ``apply_fn`` receives float32 features ``[shape=(n_frames, features)]`` or
        ``[shape=(B, n_frames, features)]``, ``n_frames = config.num_frames(L)``
        (``ceil(L / offset)`` with the seed's framing, or ``target_length``),
        ``features = config.num_features`` (``fft_size // 2 + 1`` bins for a plain
        spectrogram), and ``kwargs`` unchanged (e.g. ``train=True``, ``rngs=...``).

      It works under ``jax.jit``, ``jax.vmap`` (e.g. ``in_axes=(None, 0, 0)`` over
      examples and keys) and ``jax.grad`` with respect to ``params`` and ``audio``.

    Raises:
      ConfigError: ``config`` is not a ``SpectrogramConfig`` or ``apply_fn`` /
        ``transform`` is not callable (when ``attach`` is called).
      InputError: ``audio`` is a path or an ``Audio`` (when ``fn`` is called).

    Example:

    >>> import jax, jax.numpy as jnp, jaxspec
    >>> config = jaxspec.SpectrogramConfig(window_size=400, offset=160)
    >>> def linear(params, feats):  # [B, n_frames, bins] -> [B, classes]
    ...     return feats.mean(axis=-2) @ params["w"]
    >>> net = jaxspec.attach(config, linear, transform=jnp.log1p)
    >>> params = {"w": jnp.zeros((201, 8))}
    >>> jax.jit(net)(params, jnp.zeros((4, 16000))).shape
    (4, 8)
    """
    if not isinstance(config, SpectrogramConfig):
        raise config_type_error(config)
    if not callable(apply_fn):
        raise ConfigError(f"apply_fn={apply_fn!r} must be callable as apply_fn(params, features, **kwargs)")
    if transform is not None and not callable(transform):
        raise ConfigError(f"transform={transform!r} must be a callable features -> features, or None")

    def fn(params: Any, audio: jax.Array, key: jax.Array | None = None, *, lengths: Any = None, **kwargs: Any) -> Any:
        if is_path(audio) or isinstance(audio, Audio):
            raise InputError(
                f"audio is {'an Audio' if isinstance(audio, Audio) else f'a path ({type(audio).__name__})'}; the "
                f"attached model takes waveform arrays at "
                f"{config.sample_rate} Hz (load and resample files with jaxspec.encoding.prepare or jaxspec.load_audio)"
            )
        features = spectrogram(config, audio, key, lengths=lengths)
        if transform is not None:
            features = transform(features)
        return apply_fn(params, features, **kwargs)

    name = getattr(apply_fn, "__name__", type(apply_fn).__name__)
    fn.__name__ = fn.__qualname__ = f"attached_{name}"
    call = "fn(params, audio [L] or [B, L], key=None, *, lengths=None, **kwargs)"
    fn.__doc__ = f"``{name}`` behind a spectrogram encoder: ``{call}``."
    return fn
