"""Pictures of spectrograms (matplotlib, an optional extra: ``pip install matplotlib``, or
the checkout's ``[cli]`` extra: ``pip install ".[cli]"``; "jaxspec" on PyPI is another project).

``plot_file(config, path, output)`` draws the waveform the encoder sees above its
spectrogram in dB, with time (s) and frequency (Hz) axes and a colour bar;
``augment=N`` adds N augmented versions in a grid (keys ``fold_in(key(seed), i)``,
the batch rule of SPEC section 4). matplotlib is imported only when a picture is
drawn, and without pyplot (no global state, no display needed).

A config with feature stages is drawn as its features (feature index on the vertical
axis; as values once a log stage is in the chain, and on a diverging scale centred on 0
once a signed stage is: ``output_scale``), so SpecAugment's masks show,
and each augmented version's title lists what its key drew (the stage table's ``describe``).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np

from . import _files, _melscale, limits
from ._atomic import atomic_path
from ._picture_formats import figure_class, picture_format, picture_formats
from .augmentation import draw, file_stamps
from .augmentation.random import row_keys as fold_in_rows
from .augmentation.random import seed_key
from .config import SpectrogramConfig
from .encoding import prepare
from .errors import ConfigError, InputError
from .features import DCT, Decibels, Deltas, Log, MelFilterbank, SubtractMean, UseEnergy, WhisperLog
from .io import audio_info
from .spectrum import augment, spectrogram

__all__ = [
    "DYNAMIC_RANGE_DB",
    "MAX_COLUMNS",
    "Panel",
    "figure",
    "mel_centres",
    "output_scale",
    "panels_for",
    "picture_format",
    "picture_formats",
    "plot_file",
    "pooled",
    "to_db",
]

DYNAMIC_RANGE_DB = 80.0
"""The colour scale spans this many dB below the loudest bin."""


def to_db(spec: np.ndarray, power: float) -> np.ndarray:
    """Decibels of a spectrogram of ``|X| ** power``: ``20 / power * log10(spec)``.

    Args:
      spec: non-negative ``[shape=(n_frames, bins)]``.
      power: the config's ``power`` (2 = power spectrum, 1 = magnitude).

    Returns:
      float64 dB re 1, floored at -300 dB where ``spec`` is 0.

    >>> import jaxspec.plot, numpy as np
    >>> jaxspec.plot.to_db(np.array([100.0]), 2.0)
    array([20.])
    """
    tiny = 10.0 ** (-300.0 * power / 20.0)
    return 20.0 / power * np.log10(np.maximum(np.asarray(spec, np.float64), tiny))


@dataclass(frozen=True)
class Panel:
    """One version of a clip: the waveform the spectrogram saw, and the spectrogram."""

    title: str
    waveform: np.ndarray  # [L] at config.sample_rate
    spectrogram: np.ndarray  # [n_frames, bins]


MAX_COLUMNS = 4096
"""Columns (frames, or waveform points) drawn at most per panel: a longer input is pooled to
this many (a picture is a few thousand pixels wide). A 10-minute file took 10 s and 1.7 GB
drawn point by point."""


def _group_starts(n: int, columns: int) -> np.ndarray:
    """The first row of each of the (at most ``columns``) equal groups ``pooled`` makes of ``n`` rows."""
    return np.arange(0, n, -(-n // columns))


def pooled(a: np.ndarray, columns: int | None = None, reduce: str = "mean") -> np.ndarray:
    """``a [shape=(n, ...)]`` reduced over consecutive groups of rows to at most ``columns`` rows:
    ``"mean"`` (a spectrogram's frames: the average power of each group, as a long view shows
    it), ``"max"`` or ``"min"`` (a waveform's envelope); ``a`` itself when it is short enough.

    >>> import jaxspec.plot, numpy as np
    >>> jaxspec.plot.pooled(np.arange(10.0), 4), jaxspec.plot.pooled(np.arange(10.0), 4, "max")
    (array([1., 4., 7., 9.]), array([2., 5., 8., 9.]))
    """
    n, columns = a.shape[0], MAX_COLUMNS if columns is None else columns
    if isinstance(columns, bool) or not isinstance(columns, numbers.Integral) or columns < 1:
        raise ValueError(f"columns={columns!r} must be a positive int")
    if n <= columns:
        return a
    starts = _group_starts(n, columns)
    if reduce == "mean":
        counts = np.diff(np.append(starts, n)).reshape(-1, *([1] * (a.ndim - 1)))
        return np.add.reduceat(a, starts, axis=0, dtype=np.float64) / counts
    if reduce not in ("max", "min"):
        raise ValueError(f"reduce={reduce!r} must be 'mean', 'max' or 'min'")
    return {"max": np.maximum, "min": np.minimum}[reduce].reduceat(a, starts, axis=0)


def _draw_waveform(ax: Any, x: np.ndarray, sample_rate: int) -> None:
    if x.shape[0] > 2 * MAX_COLUMNS:  # its envelope: the min and max of each group of samples
        t = _group_starts(x.shape[0], MAX_COLUMNS) / sample_rate
        ax.fill_between(t, pooled(x, reduce="min"), pooled(x, reduce="max"), linewidth=0.4, color="#1f4e79")
    else:
        t = np.arange(x.shape[0]) / sample_rate
        ax.plot(t, x, linewidth=0.4, color="#1f4e79")
    peak = float(np.max(np.abs(x))) if x.size else 1.0
    ax.set_ylim(-1.05 * (peak or 1.0), 1.05 * (peak or 1.0))
    ax.set_ylabel("amplitude")
    ax.tick_params(labelbottom=False)


def _draw_spectrogram(
    ax: Any, db: np.ndarray, config: SpectrogramConfig, vmin: float, vmax: float, frames: int, cmap: str
) -> Any:
    # Frame i starts at i * offset; bin k is centred on k * rate / fft_size; with feature
    # stages, feature j is row j. ``db`` may be pooled: ``frames`` is the count it stands for.
    seconds = frames * config.offset_samples / config.sample_rate
    half_bin = config.sample_rate / config.fft_samples / 2
    rows = (-half_bin, config.sample_rate / 2 + half_bin) if not config.features else (-0.5, db.shape[1] - 0.5)
    style = {"origin": "lower", "aspect": "auto", "cmap": cmap, "vmin": vmin, "vmax": vmax, "interpolation": "nearest"}
    image = ax.imshow(db.T, extent=(0.0, seconds, *rows), **style)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)" if not config.features else "feature")
    centres = mel_centres(config)
    if centres is not None and centres.shape[0] == db.shape[1]:  # mel bands: label them in Hz
        ticks = np.unique(np.linspace(0, centres.shape[0] - 1, 6).round().astype(int))
        ax.set_yticks(ticks, [f"{centres[t]:.0f}" for t in ticks])
        ax.set_ylabel("mel band centre (Hz)")
    return image


def mel_centres(config: SpectrogramConfig) -> np.ndarray | None:
    """Centre frequency (Hz) of each output band when the output is mel bands (a
    ``MelFilterbank`` followed only by log scales), else ``None``: each filter's defined
    centre (its middle edge, evenly spaced in mel), increasing even where a filter is empty
    (the argmax of an all-zero filter said 0 Hz)."""
    stages = config.features
    last = max((i for i, s in enumerate(stages) if isinstance(s, MelFilterbank)), default=None)
    if last is None or not all(isinstance(s, (Log, Decibels, WhisperLog)) for s in stages[last + 1 :]):
        return None
    bank = stages[last]
    fmin, fmax = bank.edges(config.sample_rate)
    args = (bank.n_mels, fmin, fmax, bank.scale, config.sample_rate, config.fft_samples, bank.frequencies)
    return np.asarray(_melscale.filter_points(*args)[2][1:-1], np.float64)


_SCALES = ("power", "level", "signed")
_STAGE_SCALE: dict[type, str | None] = {MelFilterbank: None}  # band sums keep their input's scale
_STAGE_SCALE |= dict.fromkeys((Log, Decibels, WhisperLog), "level") | {UseEnergy: "level"}  # a log-energy column
_STAGE_SCALE |= dict.fromkeys((DCT, Deltas, SubtractMean), "signed")  # DCT weighs bands up and down
"""What each feature stage (every class of ``features.FEATURES``) makes of its input's scale."""


def output_scale(config: SpectrogramConfig) -> str:
    """How the output is drawn, from the config's feature stages (not its values):
    ``"power"`` (``|X| ** power``, non-negative: in dB), ``"level"`` (already a log or dB:
    drawn as it is) or ``"signed"`` (DCT, deltas, a subtracted mean: values around 0, drawn
    on a diverging scale centred on 0; in dB, every negative value came out black, as silence).

    >>> from jaxspec import Deltas, Log, MelFilterbank, SpectrogramConfig, plot
    >>> plot.output_scale(SpectrogramConfig(features=(MelFilterbank(), Log(), Deltas())))
    'signed'
    """
    scale = "power"
    for stage in config.features:
        made = next(_STAGE_SCALE[c] for c in type(stage).__mro__ if c in _STAGE_SCALE)  # a subclass: its base's
        if isinstance(stage, UseEnergy):  # a column added: the rest keeps its scale
            scale = max(scale, made, key=_SCALES.index)
        elif made is not None:
            scale = made
    return scale


def figure(panels: list[Panel], config: SpectrogramConfig) -> Any:
    """A matplotlib ``Figure``: each panel's waveform above its spectrogram, in a grid.

    All spectrograms share one colour scale and one colour bar, so level changes stay
    visible: in dB, ``DYNAMIC_RANGE_DB`` below the loudest bin of any panel; features on a
    log scale from their least to their largest value; signed features (``output_scale``)
    on a diverging map from ``-m`` to ``m``, ``m`` their largest magnitude (0 is white).
    """
    if not panels:  # matplotlib said "Number of rows must be a positive integer, not 0"
        raise InputError(f"panels={panels!r} is empty; figure draws one panel or more (see panels_for)")
    Figure = figure_class()
    cols = 1 if len(panels) == 1 else 2
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(7.0 * cols + 1.0, 4.2 * rows), layout="constrained")
    grid = fig.add_gridspec(2 * rows, cols, height_ratios=[1, 3] * rows)
    scale = output_scale(config)
    if scale != "power":
        dbs = [np.asarray(pooled(np.asarray(p.spectrogram)), np.float64) for p in panels]
        vmax = max((float(db.max()) for db in dbs if db.size), default=0.0)
        vmin = min((float(db.min()) for db in dbs if db.size), default=vmax - 1.0)
        if scale == "signed":  # centred on 0, so that the sign reads from the colour
            vmax = max(abs(vmin), abs(vmax)) or 1.0
            vmin = -vmax
    else:  # the mean power of each group of frames, in dB
        dbs = [to_db(pooled(np.asarray(p.spectrogram)), config.power) for p in panels]
        vmax = max((float(db.max()) for db in dbs if db.size), default=0.0)
        vmin = vmax - DYNAMIC_RANGE_DB
    spec_axes = []
    image = None
    for i, (panel, db) in enumerate(zip(panels, dbs, strict=True)):
        row, col = divmod(i, cols)
        wave_ax = fig.add_subplot(grid[2 * row, col])
        spec_ax = fig.add_subplot(grid[2 * row + 1, col], sharex=wave_ax)
        _draw_waveform(wave_ax, panel.waveform, config.sample_rate)
        frames = panel.spectrogram.shape[0]
        image = _draw_spectrogram(spec_ax, db, config, vmin, vmax, frames, "RdBu_r" if scale == "signed" else "magma")
        end = max(panel.waveform.shape[0] / config.sample_rate, frames * config.offset_samples / config.sample_rate)
        wave_ax.set_xlim(0.0, end)
        wave_ax.set_title(textwrap.fill(panel.title, 78), fontsize=10, loc="left")  # 7 in at 10 pt: ~85 fit
        spec_axes.append(spec_ax)
    label = (
        "power (dB)" if config.power == 2 else "magnitude (dB)" if config.power == 1 else f"|X|^{config.power:g} (dB)"
    )
    if scale != "power":
        label = "feature value"
    fig.colorbar(image, ax=spec_axes, label=label, shrink=0.9)
    return fig


def _describe_draws(config: SpectrogramConfig, values: dict[str, Any]) -> str:
    """The drawn values in words, stage by stage (the stage table's ``describe``)."""
    return ", ".join(stage.describe(values, config.sample_rate) for stage, _ in config.augmentation.active())


def panels_for(
    config: SpectrogramConfig,
    x: jax.Array,
    *,
    augment_count: int = 0,
    seed: int = 0,
    name: str = "",
    source: str = "",
) -> list[Panel]:
    """The original and ``augment_count`` augmented versions of the waveform ``x``.

    Args:
      config: the settings.
      x: float32 ``[shape=(L,)]`` at ``config.sample_rate``.
      augment_count: augmented versions to add; version i uses the key ``fold_in(key(seed), i)``
        (``split(key(seed), N)[i]`` under JAX's default flags), a Threefry key whatever
        ``jax_default_prng_impl`` (as ``encode``'s ``--key``).
      seed: the integer seed.
      name: shown in the first title.
      source: how the input was read, shown in the first title (``"44100 Hz stereo -> 16000 Hz"``).
    """
    if np.ndim(x) != 1:
        raise InputError(f"x has shape {np.shape(x)}; panels_for takes one signal [L]")
    if isinstance(augment_count, bool) or not isinstance(augment_count, numbers.Integral) or augment_count < 0:
        raise InputError(f"augment_count={augment_count!r} must be an int >= 0")
    if augment_count and config.augmentation is None:
        raise ConfigError(
            f"augment={augment_count} needs an augmentation in the config, e.g. --volume 0.5:1.5 --noise 0.01 "
            '--time-shift -0.1:0.1 (or --config with an "augmentation" entry)'
        )
    length = int(x.shape[0])
    seconds = length / config.sample_rate
    shown = source or f"at {config.sample_rate} Hz"
    title = f"{name + ': ' if name else ''}original ({seconds:.2f} s {shown})"
    panels = [Panel(title, np.asarray(augment(config, x)), np.asarray(spectrogram(config, x)))]
    if augment_count:
        keys = fold_in_rows(seed_key(seed), augment_count)
        for i in range(augment_count):
            values = draw(config, keys[i], length)  # waveform and feature-level values
            drawn = _describe_draws(config, values)
            title = f"augmented, key fold_in(key({seed}), {i}): {drawn}"
            waveform, spec = augment(config, x, keys[i]), spectrogram(config, x, keys[i])
            panels.append(Panel(title, np.asarray(waveform), np.asarray(spec)))
    return panels


def plot_file(
    config: SpectrogramConfig,
    path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    augment_count: int = 0,
    seed: int = 0,
    dpi: int = 110,
) -> Path:
    """Draws ``path`` (and ``augment_count`` augmented versions) into the image ``output``.

    Args:
      config: the settings.
      path: an audio file.
      output: the picture to write (atomically; a link there is written through); the format
        follows its extension (one of ``picture_formats()``: PNG, SVG, PDF, ...; PNG without one);
        another extension, or a folder name (``out/``), is a ``ConfigError`` raised before decoding.
      augment_count: augmented versions drawn next to the original.
      seed: the seed of their keys (see ``panels_for``).
      dpi: resolution of raster formats, from 10 to ``limits.MAX_DPI``.

    Returns:
      ``Path(output)``.

    >>> import jaxspec.plot, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "s.png")
    >>> jaxspec.plot.plot_file(jaxspec.SpectrogramConfig(), jaxspec.example_path(), out).stat().st_size > 10_000
    True
    """
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real) or not 10 <= dpi <= limits.MAX_DPI:
        raise ConfigError(f"dpi={dpi!r} must be a number from 10 to {limits.MAX_DPI} (limits.MAX_DPI)")
    if config.power is None:  # checked before decoding (a TypeError in the dB scale came after it)
        raise ConfigError("power=None (a complex spectrogram) cannot be drawn in dB; plot a config with a power")
    kind = picture_format(output)  # before decoding
    _files.refuse_overwriting(output, [path], name="output", recordings=file_stamps(config))  # as plot -o INPUT
    info = audio_info(path)
    channels = {1: "mono", 2: "stereo"}.get(info.channels, f"{info.channels} channels")
    x = prepare(config, path, whole=True)  # the waveform panel shows all of it
    empty = config.num_frames(x.shape[0]) == 0  # catch_warnings only then: it swaps the process's filters
    with warnings.catch_warnings() if empty else contextlib.nullcontext():
        if empty:  # no frames: empty axes, not matplotlib's warnings about them
            warnings.simplefilter("ignore", UserWarning)
        panels = panels_for(
            config,
            x,
            augment_count=augment_count,
            seed=seed,
            name=_files.printable(Path(path).name),  # a byte that is not UTF-8 broke the title
            source=f"at {info.samplerate} Hz, {channels}"
            if info.samplerate == config.sample_rate
            else f"at {info.samplerate} Hz {channels} -> {config.sample_rate} Hz",
        )
        fig = figure(panels, config)
        output = Path(output)
        with atomic_path(output, through_links=True) as temporary:  # a file the user named
            fig.savefig(temporary, dpi=dpi, format=kind)
    return output
