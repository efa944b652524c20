"""Direct algorithm: Numba kernels that accumulate whole output rows (see ``_numba.direct``)."""

from __future__ import annotations

import math

import numpy as np

from .._numba.direct import correlate_rows
from .._threads import num_threads, run_tasks
from . import Canonical

#: Below this many multiply-adds one thread beats handing work to the pool (bench/run.py W0/W1).
PARALLEL_MIN_MACS = 1 << 17


def run(x: np.ndarray, w: np.ndarray, out: np.ndarray, geo: Canonical) -> None:
    """Direct correlation of canonical operands into ``out`` (see ``fastconv.algorithms``)."""
    n_rows = math.prod(out.shape[:4])
    macs = out.size * w[0].size
    if macs < PARALLEL_MIN_MACS:  # the common tiny case: no task list, no thread hand-off
        correlate_rows(x, w, out, geo.stride, geo.dilation, geo.pad_lo, geo.groups, 0, n_rows)
        return
    n_tasks = min(n_rows, num_threads())
    bounds = [n_rows * i // n_tasks for i in range(n_tasks + 1)]

    def rows(task: int, worker: int) -> None:
        correlate_rows(
            x,
            w,
            out,
            geo.stride,
            geo.dilation,
            geo.pad_lo,
            geo.groups,
            bounds[task],
            bounds[task + 1],
        )

    run_tasks(rows, range(n_tasks))
