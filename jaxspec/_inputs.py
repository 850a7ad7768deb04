"""Host-side checks of what the traced core receives: waveforms and lengths (keys: ``_key_inputs``).

Shared by ``spectrum`` and ``sharding``; everything here runs before tracing (or
passes tracers through unchecked) and raises ``InputError`` naming the value.
"""

from __future__ import annotations

import math
import operator
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import limits
from ._key_inputs import check_key, is_key_batch, is_single_key
from .errors import InputError, length_list, symbolic_length, unreadable_array, warn
from .io import Audio, channels_first, pcm_to_float32, refuse_masked


def as_index(value: Any) -> Any:
    """An integer-like value (a NumPy integer, a 0-d integer array, a concrete JAX scalar: what
    Grain and ``jax.tree.map`` pass) as an int; anything else (a bool, 1.7, a tracer) as given,
    for the caller's check to refuse."""
    if isinstance(value, bool):
        return value
    try:
        return operator.index(value)
    except TypeError:  # a tracer's TracerIntegerConversionError too
        return value


def int_in(value: Any, low: int, end: int) -> bool:
    """Whether ``value`` is an int (Python or NumPy, not a bool) in ``[low, end)``."""
    integral = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    return integral and low <= int(value) < end


def is_concrete_array(x: Any) -> bool:
    """True for a NumPy or JAX array whose values can be read on the host now."""
    return isinstance(x, (np.ndarray, jax.Array)) and not isinstance(x, jax.core.Tracer)


def as_waveform(x: Any, config: Any = None, host: bool = False, scan: bool = True, devices: int = 1) -> jax.Array:
    """float32 ``[L]`` or ``[B, L]`` from float or integer PCM; concrete input is checked for NaN / inf.

    ``host=True``: NumPy input stays a NumPy array (float32 input itself, not copied: for a
    caller that only reads it on the host). ``scan=False``: the samples are not scanned
    (``check_samples``); the caller checks them itself. ``devices``: the devices a batch's
    rows are split among (``sharded_spectrogram``), for the output-size cap.

    Raises:
      InputError: a path (``spectrogram`` takes samples; ``encode`` reads files), a
        0-d array, more than 2 dimensions, a dtype that is not PCM, NaN / inf samples,
        an output above ``limits.MAX_RESULT_VALUES`` (per device), or something that is
        not an array at all.
    """
    if isinstance(x, (str, bytes, os.PathLike)):
        raise InputError(
            f"x={x!r} is a path; samples go in here, already at config.sample_rate. "
            "Use jaxspec.encode(config, path) to read and resample a file"
        )
    if isinstance(x, (np.ndarray, list, tuple)):
        refuse_masked(x, "x")
        try:
            x = np.asarray(x)
        except ValueError as error:  # ragged lists
            raise unreadable_array("x", x, error) from error
    elif not isinstance(x, jax.Array):
        try:
            x = jnp.asarray(x)
        except (TypeError, ValueError, RuntimeError) as error:  # None: ValueError; a tensor needing grad: RuntimeError
            audio = isinstance(x, Audio)
            fix = "; pass its .samples at config.sample_rate, or jaxspec.encode(config, audio)" if audio else ""
            raise InputError(f"x={x!r} of type {type(x).__name__} is not an array of samples{fix}") from error
    if x.ndim == 0:
        raise InputError(f"x is a 0-d array (a scalar, shape {x.shape}); expected [L] (one signal) or [B, L] (a batch)")
    if x.ndim > 2:
        raise InputError(f"x has shape {x.shape}; expected [L] (one signal) or [B, L] (a batch)")
    if not isinstance(x.shape[-1], int):
        raise symbolic_length(f"x's length {x.shape[-1]}")
    if _channels_last(x.shape, config):
        raise InputError(
            f"x has shape {x.shape}: that looks like one signal with {x.shape[1]} channels (channels last), but "
            "spectrogram reads [B, L] as B signals. Average the channels first (x.mean(axis=1)), or call "
            "jaxspec.encode(config, x, sample_rate=...), which averages [n, channels]"
        )
    if config is not None:
        # a batch's output is one array (on each of ``devices``: its rows split among them); a
        # symbolic batch (jax.export) is checked one row at a time: the exported program runs
        # none of these checks when called, so a row above the cap would fail only there
        batch = x.shape[0] if x.ndim == 2 and isinstance(x.shape[0], int) else None
        check_result_size(config, x.shape[-1], "x", rows=1 if batch is None else -(-batch // devices))
    read_only = host and isinstance(x, np.ndarray) and x.dtype == np.float32
    x = x if read_only else pcm_to_float32(x, "x")
    if scan and is_concrete_array(x) and x.size:  # before device_put: a NumPy input is checked on the host
        check_samples(config, x)
    # device_put, not jnp.asarray: in jax 0.10 the latter compiles a copy per new shape.
    return x if host or isinstance(x, jax.Array) else jax.device_put(x)


def _channels_last(shape: tuple[int, ...], config: Any) -> bool:
    """True for a ``[B, L]`` that is evidently one signal ``[n, channels]``: at most 8
    "samples" per row, at least 100 times as many rows, and rows shorter than one window
    (a batch of 800 rows of 8 samples under a 4-sample window is read as a batch)."""
    return channels_first(shape[::-1]) and (config is None or shape[1] < config.window_samples)


def check_result_size(config: Any, length: int, name: str = "x", rows: int = 1) -> None:
    """``InputError`` if the output of ``rows`` inputs of ``length`` samples (``rows`` x
    ``config.num_frames`` x ``config.num_features``) exceeds ``limits.MAX_RESULT_VALUES``,
    before anything is allocated (a window of 2**20 samples at a hop of 1 on 100 000 samples
    asked for 195 GiB; 64 rows of 100 000 samples at a hop of 1 under the cap each, 52 GB
    together, aborted the process)."""
    frames = int(config.num_frames(length))
    values = rows * frames * config.num_features
    if values > limits.MAX_RESULT_VALUES:
        what = f"{name} of {length} samples" if rows == 1 else f"{name} of {rows} rows x {length} samples"
        raise InputError(
            f"{what} gives {values // config.num_features} frames x {config.num_features} features = {values} values, "
            f"above the cap {limits.MAX_RESULT_VALUES} for one output in memory; use a larger offset, "
            + ("or fewer rows per call" if rows > 1 else "or stream long audio to a file with jaxspec.encode_to_file")
        )


def check_samples(config: Any, x: Any, name: str = "x", length: int | None = None) -> float:
    """``InputError`` if concrete, non-empty samples ``x`` hold NaN or inf, or (with a
    ``config``) are too large for its spectrum to stay finite (``check_peak``, for an input
    of ``length`` samples: ``x``'s own by default; ``x`` may be a piece of it, whose quiet is
    not warned of). Returns ``max|x|``."""
    rows = abs_max(x, rows=config is not None and length is None)  # one pass finds NaN / inf and the magnitudes
    peak = float(np.max(rows))  # (NaN propagates)
    if not math.isfinite(peak):
        raise InputError(f"{name} has NaN or infinite samples ({_first_bad(x)})")
    if config is not None:
        check_peak(config, peak, x.shape[-1] if length is None else length, name, whole=length is None, rows=rows)
    return peak


def _first_bad(x: Any) -> str:
    """Where the first NaN / inf sample of ``x`` (``[L]`` or a batch ``[B, L]``) is (an error path only)."""
    with jax.ensure_compile_time_eval():
        if isinstance(x, jax.Array) and not x.is_fully_addressable:  # only this process's rows can be read
            found = [
                np.argwhere(~np.isfinite(np.asarray(shard.data)))[0] + [s.start or 0 for s in shard.index]
                for shard in x.addressable_shards
                if not np.isfinite(np.asarray(shard.data)).all()
            ]
            if not found:
                return "in rows of another process"
            bad = min(map(tuple, found))
        else:
            bad = np.argwhere(~np.isfinite(np.asarray(x)))[0]
    return f"row {bad[0]}, first at sample {bad[1]}" if len(bad) == 2 else f"first at sample {bad[0]}"


_abs_max_compiled = jax.jit(lambda x, axis: jnp.max(jnp.abs(x), axis), static_argnums=1)  # one program per shape
# an array over several processes: their max goes through a collective that drops NaN (gloo's),
# so a NaN is made +inf first
_abs_max_global = jax.jit(lambda x: jnp.max(jnp.where(jnp.isnan(x), jnp.inf, jnp.abs(x))))


def abs_max(x: Any, rows: bool = False) -> Any:
    """``max|x|`` of a concrete, non-empty array (NaN if any sample is NaN), on the host for
    NumPy arrays; eager even inside a user's ``jit`` that closes over a concrete array.
    ``rows``: each row's (NumPy ``[B]`` for a batch ``[B, L]``; the same pass), but the overall
    peak (0-d) of an array over several processes."""
    axis = -1 if rows and x.ndim == 2 else None
    with jax.ensure_compile_time_eval():
        if isinstance(x, np.ndarray) and x.dtype.kind != "f":
            peaks = np.max(np.abs(x.astype(np.float64)), axis)
        elif isinstance(x, np.ndarray):
            # max and min in place of max(abs(x)): no temporary the size of x (17 s of
            # 16 kHz audio: 21 vs 34 us, and no fresh pages on a first call); np.maximum
            # keeps a NaN of either.
            peaks = np.maximum(x.max(axis), -x.min(axis))
        elif x.is_fully_addressable:
            peaks = np.asarray(_abs_max_compiled(x, axis))
        else:  # another process's rows cannot be read: the overall peak
            peaks = np.asarray(_abs_max_global(x))
    return peaks.astype(np.float64) if axis is not None else float(np.max(peaks))


def check_magnitude(config: Any, x: Any, name: str = "x") -> None:
    """``InputError`` if concrete samples ``x`` are too large for the spectrum to stay finite.

    The bound is ``jaxspec.limits.worst_case`` for this config and this input's length.
    Traced inputs pass unchecked.
    """
    if is_concrete_array(x) and x.size:
        check_peak(config, abs_max(x), x.shape[-1], name)


def check_peak(config: Any, peak: float, length: int, name: str = "x", whole: bool = True, rows: Any = None) -> None:
    """``check_magnitude`` for an input whose ``max|x|`` is ``peak``; a warning (``whole``: the
    peak is the input's, not a piece's) when it is so quiet that its spectrum underflows
    float32 (``limits.underflow``: all zeros, where XLA flushes subnormal values): for a batch
    whose rows' peaks are ``rows`` (``[B]``), when its quietest row that is not silence is."""
    if not math.isfinite(peak):  # e.g. channels whose average overflowed
        raise InputError(f"{name} has NaN or infinite samples")
    (bound, step), quiet = limits.levels(config, peak, length)
    if not math.isfinite(bound) and not _recordings_finite(config):  # x is finite, a recording is not
        raise InputError(
            f"{step} would be {bound}: the config's noise or convolution recording holds NaN or infinite "
            "samples (recordings are checked when the config is built, not after jax.tree.map changes them)"
        )
    if not bound <= limits.FLOAT32_BUDGET:
        if np.ndim(rows) == 1 and len(rows) > 1:  # a batch: the row, as a NaN's message names it
            name = f"{name} (row {int(np.argmax(rows))})"
        raise InputError(
            f"{name} has samples up to {peak:.6g} in magnitude: too large for the spectrum to stay finite "
            f"({step} could reach {bound:.3g}, above the cap {limits.FLOAT32_BUDGET:g}); scale it to [-1, 1]"
        )
    if whole and np.ndim(rows) == 1 and len(rows) > 1 and not config.normalization:  # its quietest audible row
        audible = np.flatnonzero(rows >= limits.FLOAT32_TINY)
        row = audible[np.argmin(rows[audible])] if audible.size else None
        if row is not None and rows[row] < peak:
            peak, name, quiet = rows[row], f"row {row} of {name}", limits.underflow(config, rows[row], length)
    if quiet is not None and whole:
        _warn_quiet(config, peak, name, *quiet)


def _warn_quiet(config: Any, peak: float, name: str, value: float, step: str) -> None:
    """The warning for an input whose ``max|x|`` is ``peak``, too quiet for float32: ``step``
    (``limits.underflow``) is at most about ``value``, under float32's smallest normal number."""
    tiny = f"float32's smallest normal number {limits.FLOAT32_TINY:.3g}, under which XLA on CPU reads values as 0"
    level = config.normalization  # it set the scale: the input's own peak no longer matters
    what = f"normalization={level!r} makes {name}" if level else f"{name}, with samples up to {peak:.3g}, is"
    warn(
        f"{what} too quiet for float32: {step} is at most about {value:.2g}, under {tiny}, so its spectrogram "
        f"is all or nearly all zeros; {'raise the level' if level else 'scale it to about [-1, 1]'}"
        + (" (or the augmentation's gain)" if config.augmentation is not None else "")
    )


def _recordings_finite(config: Any) -> bool:
    """False if a concrete noise or convolution recording of ``config`` holds NaN / inf (made so
    after the config was built, by ``jax.tree.map``); an error path only."""
    augmentation = getattr(config, "augmentation", None)
    for stage in (getattr(augmentation, "noise", None), getattr(augmentation, "convolution", None)):
        signal = getattr(stage, "signal", None)
        if is_concrete_array(signal) and not np.isfinite(np.asarray(signal)).all():
            return False
    return True


def check_waveform_and_key(
    x: Any, key: Any, config: Any = None, host: bool = False, scan: bool = True
) -> tuple[jax.Array, jax.Array | None]:
    """The waveform and key of ``spectrogram``, checked: one key, or one per row of a batch
    (and the samples' magnitude against ``config``'s float32 worst case, when given;
    ``host``, ``scan``: as ``as_waveform``)."""
    x = as_waveform(x, config, host, scan)
    if key is None:
        return x, None
    key = check_key(key)
    if not is_single_key(key) and not (x.ndim == 2 and is_key_batch(key, x.shape[0])):
        rows = f"pass one key or {x.shape[0]} keys (one per row)" if x.ndim == 2 else "pass one key for one signal"
        raise InputError(f"key of shape {key.shape} does not fit x of shape {x.shape}: {rows}")
    return x, key


_min_max = jax.jit(lambda a: (jnp.min(a), jnp.max(a)))


def check_lengths(lengths: Any, x: jax.Array) -> jax.Array | None:
    """``lengths`` as int32 ``[B]`` for a batch ``x [B, Lmax]``: concrete values must lie in
    ``[0, Lmax]``; traced ones (no value to check) are clipped to it in the graph, in their
    own integer type (an int64 length past 2**31 is ``Lmax``, not wrapped first).

    Without ``lengths`` an ``x [n, 0]`` is an ``InputError`` (SPEC section 5): it reads as
    ``n`` samples of no channel; B empty signals say so with ``lengths=[0] * B``."""
    if lengths is None:
        if x.ndim == 2 and x.shape[1] == 0:
            raise InputError(
                f"x has shape {x.shape}: no samples in any row (an [n, 0] array is n samples of no channel). "
                f"Pass one signal as [L], or a batch of empty signals with lengths=[0] * {x.shape[0]}"
            )
        return None
    if x.ndim == 1:  # one padded signal and its length: a batch of one (what vmap over rows hands in)
        scalar = np.shape(lengths) == () and not isinstance(lengths, (str, bytes))
        if not (scalar and jnp.issubdtype(jnp.result_type(lengths), jnp.integer)):
            raise InputError(f"lengths={lengths!r:.60} for one signal x {x.shape}: pass one int (or x [B, L], [B])")
        if isinstance(lengths, jax.Array):
            return check_lengths(jnp.reshape(lengths, (1,)), x[None])[0]
        if not 0 <= lengths <= x.shape[0]:  # an int checked here: 3 device operations were 300 us of 560
            raise InputError(f"lengths={lengths} must lie in [0, {x.shape[0]}] (the length of x)")
        return np.int32(lengths)
    if x.ndim != 2:
        raise InputError(f"lengths= needs a batch x [B, Lmax]; x has shape {x.shape}")
    if isinstance(lengths, (list, tuple)) and any(isinstance(n, jax.core.Tracer) for n in lengths):
        lengths = jnp.stack([jnp.asarray(n) for n in lengths])  # a list under jit: traced scalars
    elif isinstance(lengths, (list, tuple)):
        lengths = length_list("lengths", lengths)
    lengths = lengths if isinstance(lengths, jax.Array) else np.asarray(lengths)
    if lengths.shape != (x.shape[0],) or not jnp.issubdtype(lengths.dtype, jnp.integer):
        raise InputError(
            f"lengths of shape {lengths.shape} and dtype {lengths.dtype} must be integers [B] = [{x.shape[0]}], "
            "one length per row of x"
        )
    if is_concrete_array(lengths):
        several = isinstance(lengths, jax.Array) and not lengths.is_fully_addressable  # rows of several processes
        with jax.ensure_compile_time_eval():
            if several:  # a reduction's result is on every process; the rows are not
                low, high = (int(v) for v in _min_max(lengths))
            else:
                low, high = (int(np.min(lengths)), int(np.max(lengths))) if lengths.size else (0, 0)
        if low < 0 or high > x.shape[1]:
            got = f"the shortest is {low}, the longest {high}"
            raise InputError(f"lengths must lie in [0, {x.shape[1]}] (the padded length of x); {got}")
        if several:
            return lengths.astype(jnp.int32)
        if isinstance(lengths, jax.Array) and lengths.dtype == jnp.int32:
            return lengths  # already on its device: not read back and uploaded again (a transfer-guard audit)
        return jax.device_put(np.asarray(lengths).astype(np.int32))  # no program per shape
    # Lmax as the lengths' type holds it: an int16 length is at most 32767 whatever Lmax (40000
    # as an int16 wrapped to a negative bound and clipped every row to it)
    high = min(x.shape[1], int(jnp.iinfo(lengths.dtype).max))
    if jnp.issubdtype(lengths.dtype, jnp.unsignedinteger):
        return jnp.minimum(lengths, high).astype(jnp.int32)
    return jnp.clip(lengths, 0, high).astype(jnp.int32)
