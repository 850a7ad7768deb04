"""JAX's persistent compilation cache for the command line.

``jaxspec encode``, ``plot`` and ``demo`` keep compiled programs in
``$XDG_CACHE_HOME/jaxspec/xla`` (``~/.cache/jaxspec/xla`` by default), with no minimum
compile time or size, so small programs are kept too: a second run, over the same or new
files (packed, or of lengths on the same rungs of the bucket ladder), compiles nothing.
``--no-compile-cache`` or ``JAXSPEC_COMPILE_CACHE=0`` turns it off;
``JAXSPEC_COMPILE_CACHE=/some/folder`` moves it. A cache folder set through JAX itself
(``JAX_COMPILATION_CACHE_DIR``) is left as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

ENVIRONMENT = "JAXSPEC_COMPILE_CACHE"
_OFF = ("0", "false", "no", "off", "")


def default_folder() -> Path:
    """``$XDG_CACHE_HOME/jaxspec/xla``, or ``~/.cache/jaxspec/xla``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jaxspec" / "xla"


def enable() -> Path | None:
    """Turns the persistent cache on (unless switched off); returns its folder, or ``None``."""
    setting = os.environ.get(ENVIRONMENT)
    if setting is not None and setting.strip().lower() in _OFF:
        return None
    if jax.config.jax_compilation_cache_dir:  # the user configured JAX's cache: keep it
        return Path(jax.config.jax_compilation_cache_dir)
    folder = Path(setting) if setting else default_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: run without the cache
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
