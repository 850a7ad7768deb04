"""``python -m jaxspec``: the command line tool."""

from .cli import run

run()
