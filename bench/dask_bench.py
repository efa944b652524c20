"""Benchmark workload W11 (Dask, store to store): ``python bench/dask_bench.py --help``.

The same as ``fastconv bench --workloads W11``; see :mod:`fastconv.bench_dask`.
"""

from fastconv.bench_dask import main

raise SystemExit(main())
