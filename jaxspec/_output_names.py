"""Output names as the user typed them: one that names a folder (``out/``, ``out/.``).

``pathlib.Path`` drops a trailing separator (``Path("out/") == Path("out")``), so the check
is made on the text before it becomes a ``Path``: ``plot -o out/`` and ``config -o out/``
wrote a file named ``out``. Commands that write one file refuse a folder name; ``encode``
writes into it (``-o x.npz/`` is a folder named ``x.npz``, not an archive).
"""

from __future__ import annotations

import os
from typing import Any

from ._files import quoted
from .errors import ConfigError


def names_folder(path: Any) -> bool:
    """True when ``path`` (text, bytes or path-like) names a folder whatever exists there: it ends
    in a separator, or its last part is ``.`` or ``..``.

    >>> from jaxspec._output_names import names_folder
    >>> names_folder("out/"), names_folder("out/."), names_folder("out.png")
    (True, True, False)
    """
    return os.path.basename(os.fsdecode(path)) in ("", ".", "..")


def refuse_folder(path: Any, name: str, example: str, what: str = "one file is written there") -> None:
    """``ConfigError`` naming ``name`` (the parameter, e.g. ``-o``) and ``path`` when ``path``
    names a folder (``names_folder``) where one file is written; ``example``: a file name to
    suggest; ``what``: why a file is needed."""
    if names_folder(path):
        text = os.fsdecode(path)
        raise ConfigError(
            f"{name} {quoted(text)} names a folder (it ends in {text[-1]!r}), but {what}; "
            f"give a file name, e.g. {name} {quoted(os.path.join(text, example))}"
        )
