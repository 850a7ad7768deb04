"""``python -m jaxspec.cli``: the command line tool."""

from . import run

run()
