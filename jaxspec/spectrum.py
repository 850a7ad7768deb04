"""The pure core: waveform at ``config.sample_rate`` -> spectrogram (jit/vmap/grad safe).

Pipeline per example (SPEC section 3, steps 3-8, and section 7): normalize, augment
(only with a key), target length, partition into frames (``config.framing``), frame
preprocessing (``config.preprocess``), window, zero-pad to ``fft_size``, real FFT,
``|X| ** power`` (or the complex STFT when ``power`` is ``None``), feature stages
(``config.features``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from . import _xla
from . import features as _features
from . import framing as _framing
from . import preprocessing as _preprocessing
from ._inputs import check_lengths, check_waveform_and_key
from ._key_inputs import row_keys
from .augmentation import apply as apply_augmentation
from .augmentation.keys import feature_chain
from .config import SpectrogramConfig
from .errors import config_type_error
from .resampling import fit_length

_CHUNK_FRAMES = 2048  # frames per block of the loop used for long inputs


def output_dtype(config: SpectrogramConfig) -> np.dtype:
    """The dtype of ``spectrogram``'s result: complex64 bins when ``power`` is ``None``, else float32."""
    return np.dtype(np.complex64 if config.power is None else np.float32)


def normalize(config: SpectrogramConfig, x: jax.Array, length: jax.Array | None = None) -> jax.Array:
    """Step 3: scales ``x [shape=(L,)]`` to the configured max or RMS level.

    An all-zero (or empty) signal stays all-zero. ``length`` (traced): ``x`` is a
    zero-padded row whose RMS is taken over its first ``length`` samples.
    """
    if config.normalization is None or x.shape[-1] == 0:
        return x
    kind, level = config.normalization
    # Scaled by a power of two first, which brings the peak into [0.5, 1) without rounding
    # (outside the gradient: a constant scale changes no normalized value): the backward pass
    # of ``x / peak`` squares the peak, which underflowed to 0 (a NaN gradient) below 1e-19.
    # frexp's exponent and ldexp's scale, read and written as bits: jnp.frexp and jnp.ldexp
    # raise under jax.debug_infs run eagerly (inner steps hold inf). A zero or subnormal peak
    # (biased exponent 0: silence where XLA flushes subnormals) keeps scale 1, as frexp's 0 did.
    peak = jnp.max(jnp.abs(x), axis=-1, keepdims=True)
    biased = lax.shift_right_logical(lax.bitcast_convert_type(lax.stop_gradient(peak), jnp.int32), jnp.int32(23))
    exponent = jnp.where(biased == 0, 0, jnp.minimum(biased, 252) - 126)  # 252: the scale stays normal
    scale = lax.bitcast_convert_type(lax.shift_left(127 - exponent, jnp.int32(23)), jnp.float32)
    x, peak = x * scale, peak * scale  # exact: max|x * scale| without a second pass
    positive = peak > 0
    # Divided by the peak first: the RMS of ``x / peak`` (samples in [-1, 1], one of them
    # +-1) neither underflows nor overflows in float32, where ``mean(x**2)`` gave 0 for a
    # signal at 1e-19 (normalized to silence) and inf above 1e19.
    unit = x / jnp.where(positive, peak, 1.0)
    if kind == "max":
        return unit * level
    if length is None:
        power = jnp.mean(jnp.square(unit), axis=-1, keepdims=True)
    else:
        power = jnp.sum(jnp.square(unit), axis=-1, keepdims=True) / jnp.maximum(length, 1).astype(jnp.float32)
    # sqrt only of a positive value: its infinite slope at 0 would make the gradient of
    # silence NaN (0 * inf) even though the output is 0.
    return unit * (level / jnp.sqrt(jnp.where(positive, power, 1.0)))


def frames(x: jax.Array, window_size: int, offset: int, num_frames: int) -> jax.Array:
    """Partitions ``x [shape=(L,)]`` into ``[num_frames, window_size]``.

    Frame ``i`` is ``x[i * offset : i * offset + window_size]``, zeros past the end.
    One gather of contiguous windows whose starts are built in the graph (``iota``): a
    NumPy index constant would be folded into the compiled program (hundreds of MiB for
    long inputs); it measured faster than a per-sample index or hop-sized blocks.
    """
    x = fit_length(x, (num_frames - 1) * offset + window_size)
    starts = lax.iota(jnp.int32, num_frames) * offset
    return jax.vmap(lambda start: lax.dynamic_slice(x, (start,), (window_size,)))(starts)


def power_spectrum(framed: jax.Array, window: np.ndarray, fft_size: int, power: float) -> jax.Array:
    """``|rfft(frame * window, fft_size)| ** power`` for ``framed [shape=(..., n, ws)]``
    (the complex64 ``rfft`` itself when ``power`` is ``None``)."""
    spectrum = jnp.fft.rfft(framed * jnp.asarray(window, jnp.float32), n=fft_size)
    if power is None:
        return spectrum
    if power == 2.0:
        return jnp.square(spectrum.real) + jnp.square(spectrum.imag)
    # |X| ** p as m ** p * ((re/m)**2 + (im/m)**2) ** (p/2), m = max(|re|, |im|): the squares of a
    # bin below 1.1e-19 underflow float32 (0 on XLA's CPU, which flushes subnormals), so a quiet
    # signal's magnitude (power 1) was 0 where |X| itself is representable. Where m is 0 the value
    # and the gradient are 0 (sqrt-like powers have an infinite slope there). m is held out of the
    # gradient: the value does not depend on it (homogeneous of degree 0 in m), and d(re/m)/dm =
    # -re/m**2 underflowed the same way, a NaN gradient for every bin under 1.1e-19 (a fading tail).
    scale = lax.stop_gradient(jnp.maximum(jnp.abs(spectrum.real), jnp.abs(spectrum.imag)))
    positive = scale > 0
    safe = jnp.where(positive, scale, 1.0)
    ratio = jnp.square(spectrum.real / safe) + jnp.square(spectrum.imag / safe)  # in [1, 2] where positive
    return jnp.where(positive, safe**power * jnp.where(positive, ratio, 1.0) ** (power / 2.0), 0.0)


def spectrogram_one(
    config: SpectrogramConfig,
    x: jax.Array,
    key: jax.Array | None,
    length: jax.Array | None = None,
    zero: jax.Array | None = None,
    frames: int | None = None,
) -> jax.Array:
    """One example ``x [shape=(L,)]``; ``length`` (traced) makes it a zero-padded row whose
    first ``length`` samples are the signal (ragged batches, SPEC section 8); ``zero``: an
    ``_xla.runtime_zero`` when ``x`` is not a row under ``vmap``, to hold the augmented
    signal in its own buffer (see ``_xla.materialize``); ``frames``: only the first
    ``frames`` frames (default ``config.num_frames``; a packed chunk's, ``chunk_programs``)."""
    x = augment_one(config, x, key, length)
    drawn = key is not None and config.augmentation is not None
    if drawn and zero is not None:  # one signal: held before the framing's padding (see _xla.materialize)
        x = _xla.held_on_cpu(x, zero)
    if config.target_samples is not None:
        x = fit_length(x, config.target_samples)
        length = None  # every row now has the target's length
    n = config.num_frames(x.shape[0]) if frames is None else frames
    if n == 0:
        return jnp.zeros((0, config.num_features), output_dtype(config))
    ws, hop, fft = config.window_samples, config.offset_samples, config.fft_samples
    # A frame-count target keeps every frame (as the row alone has them), but its edges
    # still mirror at the row's own end.
    valid = None if length is None or config.target_frames is not None else config.num_frames(length)
    if length is None:
        x = _framing.pad_signal(config.framing, x, n, ws, hop, fft)
    else:
        x = _framing.pad_signal_ragged(config.framing, x, length, n, ws, hop, fft)
    if drawn and zero is None:
        x = _xla.materialize(x, (n - 1) * hop + config.frame_samples, key)
    # With a key, the feature-level augmentation (VTLP, time warp, masks) joins the chain.
    features = feature_chain(config.augmentation, config.features, key, n, config.sample_rate, fft, valid)
    framewise = _features.framewise_prefix(features)
    y = _frames_to_spectrum(config, x, n, key, features[:framewise])
    energy = None
    if _framing.energy_stage(config.preprocess) is not None:
        y, energy = y[:, :-1], y[:, -1]
    y = _features.apply_chain(features[framewise:], y, config.sample_rate, fft, energy, valid)
    if valid is None:
        return y
    return jnp.where(jnp.arange(n)[:, None] < valid, y, jnp.zeros((), y.dtype))  # frames past the row's own


def _frames_to_spectrum(
    config: SpectrogramConfig, x: jax.Array, n: int, key: jax.Array | None = None, stages: tuple = ()
) -> jax.Array:
    """Steps 6-8 for ``n`` frames of ``x [shape=(L,)]`` (already padded by the framing
    mode), then the framewise feature ``stages``.

    Long inputs go through a loop over blocks of ``_CHUNK_FRAMES`` frames that writes
    into the output in place: the frames of the whole signal never exist at once
    (measured leaner and faster than one big gather on CPU).
    """
    ws, hop = config.frame_samples, config.offset_samples
    window = _framing.analysis_window(config.framing, config.window, config.fft_samples)
    width = _features.chain_size(stages, config.num_bins, config.sample_rate, config.fft_samples)
    measure = _framing.energy_stage(config.preprocess)
    width += measure is not None  # the log energy travels as a last column

    def spectrum(framed, first=0):
        energy = None
        if config.preprocess:
            framed, energy = _preprocessing.preprocess(config.preprocess, framed, first, key)
        if measure is not None and measure.windowed:
            energy = measure.measure(framed * jnp.asarray(window, jnp.float32))
        y = power_spectrum(framed, window, config.fft_samples, config.power)
        y = _features.apply_chain(stages, y, config.sample_rate, config.fft_samples)
        return y if energy is None else jnp.concatenate([y, energy[:, None]], axis=-1)

    if n <= 2 * _CHUNK_FRAMES:
        return spectrum(frames(x, ws, hop, n))
    # Frames lying wholly inside x are read from x itself (no padded copy of a long
    # input); the few that run past its end come from a small zero-padded tail.
    inside = min(n, (x.shape[0] - ws) // hop + 1) if x.shape[0] >= ws else 0
    if inside < _CHUNK_FRAMES:
        x, inside = fit_length(x, (n - 1) * hop + ws), n
    segment = (_CHUNK_FRAMES - 1) * hop + ws

    def block(i, out):
        # The last block is moved back to end at frame `inside`: it recomputes a few
        # frames (identical values) instead of reading past them.
        first = jnp.minimum(i * _CHUNK_FRAMES, inside - _CHUNK_FRAMES)
        piece = lax.dynamic_slice(x, (first * hop,), (segment,))
        return lax.dynamic_update_slice(out, spectrum(frames(piece, ws, hop, _CHUNK_FRAMES), first), (first, 0))

    steps = -(-inside // _CHUNK_FRAMES)
    out = lax.fori_loop(0, steps, block, _xla.varying_zeros(x, (n, width), output_dtype(config)))
    if inside == n:
        return out
    tail = fit_length(x[inside * hop :], (n - inside - 1) * hop + ws)
    return lax.dynamic_update_slice(out, spectrum(frames(tail, ws, hop, n - inside), inside), (inside, 0))


def augment_one(
    config: SpectrogramConfig,
    x: jax.Array,
    key: jax.Array | None,
    length: jax.Array | None = None,
    zero: jax.Array | None = None,
) -> jax.Array:
    """Steps 3-4 for one waveform ``[shape=(L,)]``: normalize, then augment with ``key``
    (``length``: a padded row's own length, traced; the samples past it stay zero; ``zero``:
    unused, ``_map_examples`` passes it to ``spectrogram_one`` and to this alike)."""
    if length is not None:
        x = jnp.where(jnp.arange(x.shape[0]) < length, x, 0.0)
    x = normalize(config, x, length)
    if key is None or config.augmentation is None:
        return x
    return apply_augmentation(config.augmentation, x, key, config.sample_rate, length)


def _map_examples(fn, config, x, key, lengths=None):
    """Applies ``fn(config, x_i, key_i, length_i)`` to ``[L]`` or to each row of ``[B, L]`` (traced).

    One signal, or a batch of one (``encode``'s ladder row), is computed unbatched with a
    ``zero`` for ``_xla.held_on_cpu`` (see ``_xla.materialize``), which vmap's rows do not need."""
    if x.ndim == 1:
        return fn(config, x, key, lengths, None if key is None else _xla.runtime_zero(key))
    keys = None if key is None else row_keys(key, x.shape[0])
    if x.shape[0] == 1:
        first_key = None if keys is None else keys[0]
        return _map_examples(fn, config, x[0], first_key, None if lengths is None else lengths[0])[None]
    n = max(1, int(config.num_frames(x.shape[1])))  # a row's frames (target_length's, if it has one)
    per_row = (n * config.frame_samples, n * config.fft_samples * 4 * (1 + len(config.preprocess)))
    least = 1 if keys is None or config.augmentation is None else 2  # (an augmented row alone: see row_groups)
    return _xla.map_rows(lambda args: fn(config, *args), (x, keys, lengths), x.shape[0], *per_row, least)


_spectrogram_compiled = _xla.compiled(partial(_map_examples, spectrogram_one))
_augment_compiled = _xla.compiled(partial(_map_examples, augment_one))


def _checked(config: Any, x: Any, key: Any, lengths: Any = None, host: bool = False, scan: bool = True) -> tuple:
    """Host-side checks before tracing; concrete inputs are scanned for NaN / inf (``host``:
    a NumPy ``x`` stays on the host; ``scan=False``: not scanned; see ``as_waveform``)."""
    if not isinstance(config, SpectrogramConfig):
        raise config_type_error(config)
    x, key = check_waveform_and_key(x, key, config, host, scan)
    return x, key, check_lengths(lengths, x)


def spectrogram(
    config: SpectrogramConfig, x: ArrayLike, key: ArrayLike | None = None, *, lengths: Any = None
) -> jax.Array:
    """Spectrogram of a waveform already at ``config.sample_rate``: power by default, or what
    ``config`` asks (magnitude, complex STFT, mel, MFCC, ... ; see Returns).

    Args:
      config: the settings.
      x: float (or integer PCM) ``[shape=(L,)]`` one signal, or ``[shape=(B, L)]`` a
        batch.
      key: ``None`` (evaluation: no augmentation), a PRNG key (a batch uses
        ``jax.random.fold_in(key, i)`` for row i, which is ``jax.random.split(key, B)[i]``
        under JAX's default flags), or a batch of ``B`` keys.
      lengths: ``None``, or int ``[shape=(B,)]`` (concrete or traced) for a ragged batch
        ``x [B, Lmax]`` zero-padded at the end: row ``i`` is computed as
        ``x[i, :lengths[i]]`` alone would be (its normalization, its augmentation with
        its true duration, its own framing edges and per-example statistics) on its
        ``config.num_frames(lengths[i])`` frames, and the frames past those are zeros. A
        new set of lengths never recompiles. Concrete lengths outside ``[0, Lmax]`` are an
        ``InputError``; traced ones (inside ``jit``, where a NumPy array or list passed to
        the jitted function is traced too) cannot be checked and are clipped to it. One
        signal ``x [Lmax]`` takes one int (a row of such a batch, as ``vmap`` over rows passes it).

    Returns:
      float32 ``[shape=(n_frames, features)]`` or ``[shape=(B, n_frames, features)]``
      with ``features = config.num_features`` (``fft_size // 2 + 1`` bins without
      feature stages; complex64 bins when ``power`` is ``None``) and ``n_frames =
      config.num_frames(L)`` (``ceil(L / offset)`` with the seed's framing, or as set by
      ``target_length``). With the seed's framing frame ``i`` covers samples
      ``[i*offset, i*offset + window)``, zeros past the end (no centering).

    Pure: works under ``jax.jit`` (the config's static fields are in its treedef),
    ``jax.vmap`` and ``jax.grad`` with respect to ``x``. Called eagerly on CPU with one long
    concrete signal (``packing.chunked``: an output of 32 MB or more, about 6 minutes at the
    defaults; no draws), it computes the frames in chunks on worker threads: the jitted
    result, bit for bit for a spectrogram but in its last frames, which reach past the end
    (within float32 rounding there and for feature stages).

    >>> import jax.numpy as jnp
    >>> from jaxspec import SpectrogramConfig, spectrogram
    >>> spectrogram(SpectrogramConfig(), jnp.zeros(16000)).shape
    (121, 201)
    >>> out = spectrogram(SpectrogramConfig(), jnp.ones((2, 16000)), lengths=jnp.array([16000, 401]))
    >>> out.shape, int((out[1].sum(axis=-1) > 0).sum())  # row 1 has num_frames(401) = 4 frames
    ((2, 121, 201), 4)
    """
    return checked_spectrogram(config, x, key, lengths)


def checked_spectrogram(config: Any, x: Any, key: Any = None, lengths: Any = None, *, scan: bool = True) -> jax.Array:
    """``spectrogram``; ``scan=False`` for a wave already checked (``encoding.prepare``: finite,
    within the config's bound), whose samples are not scanned again (``encode`` scanned a
    device array, which compiled a program per new length)."""
    from . import packing  # packing computes its chunks with this module's spectrogram_one

    if isinstance(config, SpectrogramConfig) and packing.chunked(config, x, key, lengths):
        # Read on the host (no copy); each worker scans the chunk it has just filled, in
        # parallel and from cache (W2, 10 min: 1.7 ms of the caller's time otherwise).
        x, key, lengths = _checked(config, x, key, lengths, host=True, scan=False)
        return packing.encode_packed(config, [x], name="x", checked=not scan)[0]
    return _spectrogram_compiled(config, *_checked(config, x, key, lengths, scan=scan))


def spectrogram_program(
    config: SpectrogramConfig, x: Any, key: Any = None, *, lengths: Any = None
) -> tuple[Any, tuple]:
    """``spectrogram``'s compiled program for these inputs and its checked arguments:
    ``program(*args)`` is ``spectrogram(config, x, key, lengths=lengths)`` (no chunking).
    Traced and compiled here, under the caller's JAX settings (cached by JAX), so that the
    call may run on another thread (``corpus`` runs batches on worker threads)."""
    args = (config, *_checked(config, x, key, lengths))
    return _spectrogram_compiled.trace(*args).lower().compile(), args


def checked_batch_spectrogram(config: SpectrogramConfig, x: np.ndarray, keys: Any, lengths: np.ndarray) -> jax.Array:
    """``spectrogram(config, x, keys, lengths=lengths)`` on host inputs built from checked
    waves (``x`` float32 ``[B, Lmax]`` of ``encoding.prepare``'s waves, ``keys`` one per row
    or ``None``, ``lengths`` int32 ``[B]`` within ``[0, Lmax]``): jit's own dispatch, without
    the checks' device copies (``encode`` of 1 s: 0.5 of its 0.9 ms)."""
    return _spectrogram_compiled(config, x, keys, lengths)


def augment(config: SpectrogramConfig, x: ArrayLike, key: ArrayLike | None = None, *, lengths: Any = None) -> jax.Array:
    """The waveform the spectrogram sees: normalization, then augmentation with ``key``.

    Args:
      config: the settings (its ``normalization`` and ``augmentation`` are used).
      x: float ``[shape=(L,)]`` or ``[shape=(B, L)]`` at ``config.sample_rate``.
      key: as for ``spectrogram``; ``None`` = no augmentation.
      lengths: as for ``spectrogram`` (samples past a row's length are zeros).

    Returns:
      float32 of the shape of ``x``. Without feature-level stages (masks, time warp,
      VTLP: they act after the spectrum) ``spectrogram(config, x, key)`` equals
      ``spectrogram(replace(config, normalization=None, augmentation=None),
      augment(config, x, key))``.

    >>> import jax, jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(normalization="max", augmentation=jaxspec.Augmentation(volume=0.5))
    >>> x = np.array([0.0, 2.0, -4.0], np.float32)
    >>> jaxspec.augment(config, x).tolist(), jaxspec.augment(config, x, jax.random.key(0)).tolist()  # no key: no volume
    ([0.0, 0.5, -1.0], [0.0, 0.25, -0.5])
    """
    return _augment_compiled(config, *_checked(config, x, key, lengths))
