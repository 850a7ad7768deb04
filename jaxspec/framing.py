"""How a waveform becomes frames, and what happens to each frame before the window.

Framing modes (the ``framing`` field of ``SpectrogramConfig``), for ``L`` samples,
window ``ws``, hop ``hop`` and FFT size ``fft``:

* ``None`` (the seed's): ``ceil(L / hop)`` frames, frame i = samples
  ``[i*hop, i*hop + ws)``, zeros past the end.
* ``Centered(pad_mode)`` (librosa / torch.stft ``center=True``): ``fft // 2`` samples of
  padding on both sides (``"constant"`` zeros or ``"reflect"``), frames of ``fft``
  samples, ``1 + (L + 2 (fft // 2) - fft) // hop`` frames (``1 + L // hop`` for even
  ``fft``); a window shorter than ``fft`` sits in the middle of the frame (librosa's
  ``pad_center``). ``drop_last=True`` drops the last frame (Whisper).
* ``Kaldi(snip_edges=True)``: ``1 + (L - ws) // hop`` frames from sample 0 (0 when
  ``L < ws``). ``snip_edges=False``: ``(L + hop // 2) // hop`` frames, frame i starting
  at ``i*hop + hop // 2 - ws // 2``, samples outside the signal mirrored (NumPy's
  ``"symmetric"``: ``[2, 1, 0, 0, 1, 2]``), as Kaldi and torchaudio.compliance.kaldi.

Frame preprocessing (the ``preprocess`` field: a tuple of stages applied in order to each
frame before the window; Kaldi's order is dither, remove DC, pre-emphasis):

* ``Dither(amount)``: adds ``amount * N(0, 1)`` per sample, frame i drawing from
  ``fold_in(fold_in(key, 8), i)`` (stage id 8, never renumbered); nothing without a key.
* ``RemoveDC()``: subtracts the frame's mean.
* ``PreEmphasis(coefficient=0.97)``: ``y[k] = x[k] - c x[k-1]`` with ``x[-1] = x[0]``.
* ``LogEnergy(floor=1.0, windowed=False)``: measures ``log(max(sum(frame ** 2), eps))``
  (at least ``log(floor)`` when ``floor > 0``) where it stands in the chain (Kaldi's
  ``raw_energy``: after DC removal), or after the window with ``windowed=True``; the
  feature stage ``UseEnergy`` puts it in the output.

>>> from jaxspec.framing import Centered, Kaldi, num_frames
>>> num_frames(Kaldi(), 16000, 400, 160, 512), num_frames(Centered(), 16000, 400, 160, 512)
(98, 101)
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _fields, limits
from .errors import ConfigError, InputError

_INT32_MAX = (1 << 31) - 1

DITHER_STAGE = 8  # fold_in id of dither (SPEC section 7), never renumbered


def dithers(preprocess: tuple) -> bool:
    """Whether a key adds dither (Kaldi's ``dither > 0``) to the frames of ``preprocess``."""
    return any(isinstance(stage, Dither) and stage.amount != 0 for stage in preprocess)


def uses_key(config: Any) -> bool:
    """Whether a key changes ``config``'s output: an augmentation, or a dither drawn per
    frame. What streams, packs, or takes ``--key`` asks this."""
    return config.augmentation is not None or dithers(config.preprocess)


PAD_MODES = ("constant", "reflect")
EPSILON = 1.1920929e-07  # float32 epsilon, Kaldi's floor of energies


@dataclasses.dataclass(frozen=True)
class Centered:
    """Centred frames of ``fft_size`` samples, padded by ``fft_size // 2`` on both sides.

    Args:
      pad_mode: ``"constant"`` (zeros; librosa >= 0.10) or ``"reflect"`` (torch.stft,
        torchaudio, Whisper; librosa < 0.10).
      drop_last: drop the last frame (Whisper's ``stft[..., :-1]``).

    >>> import jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(window_size=400, offset=160, framing=jaxspec.Centered("reflect"))
    >>> jaxspec.spectrogram(config, np.zeros(16000, np.float32)).shape  # 1 + L // offset frames
    (101, 201)
    """

    pad_mode: str = "constant"
    drop_last: bool = False

    def __post_init__(self):
        _fields.choice("Centered", "pad_mode", self.pad_mode, PAD_MODES)
        if not isinstance(self.drop_last, (bool, np.bool_)):
            raise ConfigError(f"Centered(drop_last={self.drop_last!r}) must be True or False")
        object.__setattr__(self, "drop_last", bool(self.drop_last))


@dataclasses.dataclass(frozen=True)
class Kaldi:
    """Kaldi's frames: ``snip_edges=True`` only whole frames from sample 0; ``False``
    centred frames with mirrored edges (module docstring).

    >>> import jaxspec
    >>> config = jaxspec.SpectrogramConfig(window_size=400, offset=160, framing=jaxspec.Kaldi())
    >>> config.num_frames(16000), config.num_frames(399)  # 1 + (L - 400) // 160; 0 when L < 400
    (98, 0)
    >>> jaxspec.SpectrogramConfig(window_size=400, offset=160, framing=jaxspec.Kaldi(False)).num_frames(16000)
    100
    """

    snip_edges: bool = True

    def __post_init__(self):
        if not isinstance(self.snip_edges, (bool, np.bool_)):
            raise ConfigError(f"Kaldi(snip_edges={self.snip_edges!r}) must be True or False")
        object.__setattr__(self, "snip_edges", bool(self.snip_edges))


@dataclasses.dataclass(frozen=True)
class Dither:
    """Adds ``amount * N(0, 1)`` to each frame sample, drawn from the key (none without one).

    >>> import jax, jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(preprocess=(jaxspec.Dither(1.0),))
    >>> bool(jaxspec.spectrogram(config, np.zeros(1600, np.float32), jax.random.key(0)).min() > 0)  # silence: noise
    True
    """

    amount: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "amount", _fields.number("Dither", "amount", self.amount, 0.0, high=limits.MAX_GAIN))


@dataclasses.dataclass(frozen=True)
class RemoveDC:
    """Subtracts each frame's mean (Kaldi's ``remove_dc_offset``).

    >>> import jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(framing=jaxspec.Kaldi(), preprocess=(jaxspec.RemoveDC(),))
    >>> float(jaxspec.spectrogram(config, np.full(1600, 0.5, np.float32)).max())  # a constant cancels exactly
    0.0
    """


@dataclasses.dataclass(frozen=True)
class PreEmphasis:
    """``y[k] = x[k] - coefficient * x[k-1]`` within each frame, ``x[-1] = x[0]`` (Kaldi).

    >>> import jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(window_size=400, offset=160, window_function=None, power=1.0,
    ...                                    framing=jaxspec.Kaldi(), preprocess=(jaxspec.PreEmphasis(0.97),))
    >>> round(float(jaxspec.spectrogram(config, np.ones(1600, np.float32))[0, 0]), 3)  # DC: 400 * (1 - 0.97)
    12.0
    """

    coefficient: float = 0.97

    def __post_init__(self):
        cap = limits.MAX_PRE_EMPHASIS  # Kaldi's is 0.97; 1e30 overflowed |X|**2, blamed on the mel filterbank
        coefficient = _fields.number("PreEmphasis", "coefficient", self.coefficient, -cap, high=cap)
        object.__setattr__(self, "coefficient", coefficient)


@dataclasses.dataclass(frozen=True)
class LogEnergy:
    """Kaldi's log energy of each frame (module docstring); ``floor <= 0`` = no floor;
    ``windowed=True``: of the windowed frame (Kaldi's ``raw_energy=False``), else where it stands in ``preprocess``.

    >>> import jaxspec, numpy as np
    >>> config = jaxspec.SpectrogramConfig(preprocess=(jaxspec.LogEnergy(),), features=(jaxspec.UseEnergy(),))
    >>> round(float(jaxspec.spectrogram(config, np.full(1600, 0.1, np.float32))[0, 0]), 3)  # log(400 * 0.1 ** 2)
    1.386
    """

    floor: float = 1.0
    windowed: bool = False

    def __post_init__(self):
        object.__setattr__(self, "floor", _fields.number("LogEnergy", "floor", self.floor))
        object.__setattr__(self, "windowed", _fields.flag("LogEnergy", "windowed", self.windowed))

    def measure(self, framed: jax.Array) -> jax.Array:
        """``[shape=(n,)]`` log energies of ``framed [shape=(n, frame_length)]``."""
        log = jnp.log(jnp.maximum(jnp.sum(jnp.square(framed), axis=-1), EPSILON))
        return jnp.maximum(log, math.log(self.floor)) if self.floor > 0 else log


FRAMINGS: dict[str, type] = {"centered": Centered, "kaldi": Kaldi}
"""JSON name -> framing class (``jaxspec.serialize`` iterates over it)."""
PREPROCESS: dict[str, type] = {
    "dither": Dither,
    "remove_dc": RemoveDC,
    "pre_emphasis": PreEmphasis,
    "log_energy": LogEnergy,
}
"""JSON name -> frame preprocessing class."""


def check_framing(value: Any) -> Centered | Kaldi | None:
    """``value`` if it is a framing mode (``None``, ``Centered(...)``, ``Kaldi(...)``)."""
    if value is None or isinstance(value, (Centered, Kaldi)):
        return value
    raise ConfigError(f"framing={value!r} must be None (the seed's framing), Centered(pad_mode) or Kaldi(snip_edges)")


def check_preprocess(value: Any) -> tuple:
    """``value`` as a tuple of preprocessing stages (``Dither``, ``RemoveDC``, ``PreEmphasis``, ``LogEnergy``)."""
    stages = tuple(value) if isinstance(value, (list, tuple)) else None
    if stages is None or not all(isinstance(s, tuple(PREPROCESS.values())) for s in stages):
        raise ConfigError(
            f"preprocess={value!r} must be a tuple of Dither(amount), RemoveDC(), PreEmphasis(coefficient), "
            "LogEnergy(floor)"
        )
    if sum(isinstance(s, LogEnergy) for s in stages) > 1:
        raise ConfigError(f"preprocess={value!r} may measure LogEnergy once")
    return stages


def energy_stage(stages: tuple) -> LogEnergy | None:
    """The ``LogEnergy`` stage of a preprocess chain, or ``None``."""
    return next((s for s in stages if isinstance(s, LogEnergy)), None)


def num_frames(framing: Any, length: Any, window: int, hop: int, fft: int) -> Any:
    """Frames of a signal of ``length`` samples: an int, an integer NumPy array
    (elementwise), or a JAX integer array (traced too: ragged batches)."""
    scalar = isinstance(length, numbers.Integral)
    traced = isinstance(length, jax.Array)
    xp = jnp if traced else np
    if traced:  # counted in int32: a uint32 or x64 int64 length of 2**31 (or 2**31 - 1 + hop // 2) wrapped negative
        wide = jnp.iinfo(length.dtype).max > _INT32_MAX
        if wide and not isinstance(length, jax.core.Tracer) and length.size and int(length.max()) > _INT32_MAX:
            raise InputError(f"length={length!r} exceeds 2**31 - 1 samples; pass it as a NumPy array (int64)")
        top = _INT32_MAX - hop  # room for the framings' + hop // 2; traced or int32: clipped to it
        length = (jnp.minimum(length, top) if jnp.iinfo(length.dtype).max > top else length).astype(jnp.int32)
    else:
        length = np.asarray(length, np.int64)
    if framing is None:
        n = -(-length // hop)
    elif isinstance(framing, Centered):
        n = 1 + (length + 2 * (fft // 2) - fft) // hop - int(framing.drop_last)
        n = xp.maximum(n, 0)
    elif framing.snip_edges:
        n = xp.where(length < window, 0, 1 + (length - window) // hop)
    else:
        n = (length + hop // 2) // hop
    return int(n) if scalar else n


def frame_length(framing: Any, window: int, fft: int) -> int:
    """Samples per frame before the FFT: ``fft`` when centred, else ``window``."""
    return fft if isinstance(framing, Centered) else window


def analysis_window(framing: Any, window: np.ndarray, fft: int) -> np.ndarray:
    """The window over a frame ``[shape=(frame_length,)]``: centred in ``fft`` samples when
    the framing is centred (librosa's ``util.pad_center``), else ``window`` itself."""
    if not isinstance(framing, Centered) or window.shape[0] == fft:
        return window
    left = (fft - window.shape[0]) // 2
    return np.pad(window, (left, fft - window.shape[0] - left))


def pad_signal(framing: Any, x: jax.Array, n: int, window: int, hop: int, fft: int) -> jax.Array:
    """``x [shape=(L,)]`` padded so that frame ``i`` is ``out[i*hop : i*hop + frame_length]``
    (the caller zero-extends the end as needed)."""
    length = x.shape[0]
    if isinstance(framing, Centered):
        pad = fft // 2
        if framing.pad_mode != "reflect" or length == 0:
            return jnp.pad(x, (pad, pad))
        if pad < length:  # (NumPy's rule: 1 sample repeats)
            return jnp.pad(x, (pad, pad), mode="reflect")
    elif isinstance(framing, Kaldi) and not framing.snip_edges:
        if length == 0:
            return x  # nothing to mirror: the caller's zeros
        start = frame_start(framing, window, hop, fft)  # <= 0 when the window >= hop
        right = max(0, _kaldi_reach(min(n, (length + hop // 2) // hop), length, window, hop) - length)
        if max(-start, right) < length:
            x = jnp.pad(x, (max(0, -start), right), mode="symmetric")
            return x[max(0, start) :]
    else:
        return x
    # Mirrored more than once: jnp.pad builds it in many pieces, whose gradient took seconds
    # to minutes for a few samples; the ragged rows' one gather gives the same values.
    return pad_signal_ragged(framing, x, length, n, window, hop, fft)


def frame_start(framing: Any, window: int, hop: int, fft: int) -> int:
    """Where frame 0 starts, in samples of the signal (negative: before it); frame i starts
    ``i * hop`` later: ``-(fft // 2)`` centred, ``hop // 2 - window // 2`` for Kaldi's mirrored edges."""
    if isinstance(framing, Centered):
        return -(fft // 2)
    return hop // 2 - window // 2 if isinstance(framing, Kaldi) and not framing.snip_edges else 0


def edge_sources(framing: Any, q: np.ndarray, length: int, n: int, window: int, hop: int, fft: int) -> Any:
    """``pad_signal`` on the host, for a stream: the sample of a ``length``-sample signal that
    position ``q`` holds (``-1``: a zero) in its ``n`` frames, or ``None`` where an edge is
    wider than the signal (mirrored more than once: computed whole)."""
    mirrored = isinstance(framing, Centered) and framing.pad_mode == "reflect"
    if length == 0 or not (mirrored or isinstance(framing, Kaldi) and not framing.snip_edges):
        return np.where((q >= 0) & (q < length), q, -1)
    low = frame_start(framing, window, hop, fft)
    if mirrored:
        high = length + fft // 2
    else:
        high = _kaldi_reach(min(n, (length + hop // 2) // hop), length, window, hop)
    if max(-low, high - length) >= length:
        return None
    return np.where((q >= low) & (q < high), _reflect_index(q, length, symmetric=not mirrored, xp=np), -1)


def _kaldi_reach(frames: Any, length: Any, window: int, hop: int) -> Any:
    """Where the mirrored right edge of Kaldi's ``snip_edges=False`` framing ends: as far as the signal's own
    ``frames`` read (at least its ``length``). Frames past those, of a frame-count target, read zeros there, not the
    signal mirrored again and again (which gave them time-reversed copies of it: SPEC 3.5's zero-extended signal)."""
    reach = (frames - 1) * hop + window + hop // 2 - window // 2
    if isinstance(frames, jax.Array):
        return jnp.where(frames > 0, jnp.maximum(reach, length), length)
    return max(reach, length) if frames > 0 else length


def _reflect_index(q: Any, length: Any, symmetric: bool, xp: Any = jnp) -> Any:
    """Index into a signal of ``length`` samples for position ``q`` of its mirrored
    extension: NumPy's ``"reflect"`` (period ``2 (L - 1)``) or ``"symmetric"`` (period ``2 L``).
    ``xp``: ``jnp`` in the graph, ``np`` for the stream's reads on the host (``edge_sources``)."""
    period = 2 * length if symmetric else 2 * (length - 1)
    safe = xp.maximum(period, 1)
    r = xp.mod(q, safe)
    r = xp.where(r >= length, period - r - (1 if symmetric else 0), r)
    return xp.clip(xp.where(period > 0, r, 0), 0, xp.maximum(length - 1, 0))


def pad_signal_ragged(framing: Any, x: jax.Array, length: jax.Array, n: int, window: int, hop: int, fft: int):
    """``pad_signal`` for a row ``x [shape=(Lmax,)]`` whose first ``length`` samples (traced) are the signal and
    the rest zeros: the mirrored edges of centred ``"reflect"`` and of Kaldi's ``snip_edges=False`` framing mirror
    at the row's own end. Other modes pad with zeros and need nothing more."""
    if x.shape[0] == 0:  # an empty batch (Lmax = 0): nothing to mirror, no sample to gather
        return pad_signal(framing, x, n, window, hop, fft)
    if isinstance(framing, Centered) and framing.pad_mode == "reflect":
        pad = fft // 2
        q = jnp.arange(x.shape[0] + 2 * pad, dtype=jnp.int32) - pad
        inside = (length > 0) & (q < length + pad)  # past the mirrored edge: zeros, as pad_signal's caller adds
        return jnp.where(inside, x[_reflect_index(q, length, symmetric=False)], 0.0)
    if isinstance(framing, Kaldi) and not framing.snip_edges:
        start = frame_start(framing, window, hop, fft)
        size = (n - 1) * hop + window
        q = jnp.arange(size, dtype=jnp.int32) + start
        inside = (length > 0) & (q < _kaldi_reach((length + hop // 2) // hop, length, window, hop))
        return jnp.where(inside, x[_reflect_index(q, length, symmetric=True)], 0.0)
    return pad_signal(framing, x, n, window, hop, fft)
