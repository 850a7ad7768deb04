"""The picture formats ``jaxspec.plot`` writes, checked from an output's extension before any work.

Imported by ``plot`` (which re-exports ``picture_format`` and ``picture_formats``) and by the
command line, which checks ``-o`` before decoding; matplotlib is imported only when called.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import _files
from ._output_names import refuse_folder
from .errors import ConfigError

__all__ = ["figure_class", "picture_format", "picture_formats"]


def figure_class() -> type:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("drawing pictures needs matplotlib: pip install matplotlib") from None
    return Figure


_NEEDS = {"pgf": "LaTeX (xelatex)", "avif": "Pillow 11.3 or later", "webp": "Pillow built with WebP"}
"""Formats matplotlib lists that need more than matplotlib and Pillow: refused before decoding (``-o x.pgf``
ended in "unexpected error ... xelatex not found" after all the work). PS and EPS need Ghostscript only
with ``rcParams["ps.usedistiller"]`` (off by default)."""


def picture_formats() -> list[str]:
    """The extensions ``plot_file`` writes (without the dot, sorted): matplotlib's formats less
    those that need another program or a Pillow without that codec (``_NEEDS``)."""
    known = figure_class()().canvas.get_supported_filetypes()  # fails before decoding without matplotlib
    from PIL import features

    def writes(kind: str) -> bool:  # check_module, not check: an older Pillow's warning took catch_warnings,
        try:  # which is not thread-safe (another thread's filters were left "ignore all")
            return bool(features.check_module(kind))
        except ValueError:  # a module this Pillow does not know
            return False

    return sorted(set(known) - {kind for kind in ("avif", "webp") if not writes(kind)} - {"pgf"})


def picture_format(output: str | os.PathLike, name: str = "output") -> str:
    """The format of the picture ``output`` from its extension (``"png"`` without one), checked before any
    work: a ``ConfigError`` naming ``name`` and ``output`` for a folder (``out/``) or another extension.

    >>> from jaxspec.plot import picture_format
    >>> picture_format("clip.SVG")
    'svg'
    """
    refuse_folder(output, name, "clip.png")
    kind = Path(output).suffix.lstrip(".").lower() or "png"
    accepted = picture_formats()
    if kind not in accepted:  # matplotlib's own error named neither the file nor the flag
        why = f"needs {_NEEDS[kind]}" if kind in _NEEDS else "is not a picture format"
        listing = ", ".join("." + k for k in accepted)
        raise ConfigError(f"{name} {_files.quoted(output)}: .{kind} {why}; give one of {listing}")
    return kind
