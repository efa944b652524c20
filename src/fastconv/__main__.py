"""``python -m fastconv``: the command line."""

from .cli import main

raise SystemExit(main())
