"""Run the fastconv benchmark: ``python bench/run.py --help``."""

from fastconv.bench import main

raise SystemExit(main())
