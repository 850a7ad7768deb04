"""Which recording arrays a config loaded, and at which rate.

A recording setting (``Noise``, ``Convolution``) given a path or ``Audio`` holds, once its
config is built, the samples resampled to the config's rate, with ``signal_rate=None`` and
the file in ``source`` and the rate it loaded the samples at in ``source_rate`` (kept with
``source`` or the loaded array, ``kept_rate``: a config JAX rebuilt has new arrays). The rate
is also remembered here, by the array's identity (weakly), so that

- the setting put in a config of another rate (``dataclasses.replace(config,
  sample_rate=8000)``, a built ``Augmentation`` reused) is read again from its file, or
  resampled, instead of being taken as samples at the new rate;
- a new array a user puts in a loaded setting (``dataclasses.replace(setting, signal=x)``)
  is the user's: at its ``signal_rate`` or the config's, from no file (``kept_source``);
- a pickled or copied setting carries the rate in its state (``state`` / ``restore``).

By identity, not by value: equal samples put in by the user are still the user's.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

import jax

from ..io import capped_rate, is_path

_LOADED: dict[int, tuple[weakref.ref, int]] = {}
_STATE_KEY = "_jaxspec_loaded_rate"  # the pickled state's entry; no field has this name


def remember(signal: Any, rate: int) -> None:
    """Records ``signal`` (an array a config loaded) as being at ``rate`` Hz."""
    _LOADED[id(signal)] = (weakref.ref(signal, functools.partial(_forget, id(signal))), rate)


def _forget(key: int, ref: weakref.ref) -> None:
    if _LOADED.get(key, (None,))[0] is ref:  # not a newer array that reused the id
        del _LOADED[key]


def loaded_rate(signal: Any) -> int | None:
    """The rate a config loaded this very array at; ``None`` for any other value."""
    entry = _LOADED.get(id(signal))
    return entry[1] if entry is not None and entry[0]() is signal else None


def kept_source(setting: Any) -> str | None:
    """A setting's ``source`` as its constructor keeps it: dropped when ``signal`` is an
    array that no config loaded (``dataclasses.replace(setting, signal=x)`` kept the old
    file's path, and the config saved ``x`` as that file). Unflatten runs no constructor, so
    a config JAX rebuilt (a jit output, ``device_put``) keeps its files."""
    signal = setting.signal
    if setting.source is None or signal is None or isinstance(signal, jax.core.Tracer) or is_path(signal):
        return setting.source
    return setting.source if loaded_rate(signal) is not None else None


def kept_rate(setting: Any) -> int | None:
    """A setting's ``source_rate`` (the rate its config loaded the samples it holds at) as its
    constructor keeps it: with ``source``, or with the very array a config loaded at that rate
    (not with an array the user put in). Unflatten runs no constructor, so a config JAX rebuilt,
    whose new arrays ``loaded_rate`` does not know, still knows its recordings' rate: put at another
    rate with its file gone, it took the samples it held as at the new rate (18141 samples for 9071);
    a recording given as an array or ``Audio`` played an octave down at half the rate."""
    if setting.source_rate is None:
        return None
    if setting.source is None and loaded_rate(setting.signal) != setting.source_rate:
        return None
    return capped_rate(f"{type(setting).__name__} source_rate", setting.source_rate)


def state(setting: Any) -> dict:
    """A recording setting's ``__dict__`` for ``pickle`` / ``copy``, with the rate a config
    loaded its signal at (a copy is another array: an ``Augmentation`` or setting pickled or
    deep-copied on its own, put in a config of another rate, was taken as at that rate)."""
    out = dict(setting.__dict__)
    rate = loaded_rate(out.get("signal"))
    if rate is not None:
        out[_STATE_KEY] = rate
    return out


def restore(setting: Any, saved: dict) -> None:
    """``state``'s inverse: the fields, and the copied signal remembered at its rate."""
    saved = dict(saved)
    rate = saved.pop(_STATE_KEY, None)
    setting.__dict__.update(saved)
    if rate is not None:
        remember(setting.signal, rate)
