"""``python -m jaxspec.cli``: the command line tool."""

from . import main

raise SystemExit(main())
