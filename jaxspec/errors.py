"""Exception types raised by jaxspec.

Every error a user can cause by passing a bad value is a ``ValueError`` subclass,
raised on the host before anything is traced, and its message names the parameter,
the value and the rule.
"""

from __future__ import annotations


class JaxspecError(Exception):
    """Base class of every exception raised by jaxspec itself."""


class ConfigError(JaxspecError, ValueError):
    """A configuration value (a field of a config or augmentation) is invalid."""


class InputError(JaxspecError, ValueError):
    """An input signal is invalid: wrong rank, dtype, NaN/inf samples, missing rate."""


class AudioFileError(JaxspecError, ValueError, RuntimeError):
    """A file exists but cannot be decoded; the message names the path and the reason."""
