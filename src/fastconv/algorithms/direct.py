"""Direct algorithm: Numba kernels that accumulate whole output rows (see ``_numba.direct``)."""

from __future__ import annotations

import math

import numpy as np

from .._numba.direct import correlate_rows
from .._threads import num_threads, run_tasks
from . import Canonical

#: Below this many multiply-adds the calling thread alone is faster than splitting rows over
#: the pool: the hand-off and the workers' wake-up after an idle moment cost more than half the
#: work saves (``python bench/crossover.py``, thread sweep: 3×3 filtering, one thread won up to
#: 1024² (9.4 M multiply-adds), the two tied at 1448² (18.9 M) on the 2-core dev VM).
PARALLEL_MIN_MACS = 1 << 24


def _padding_read(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical) -> list:
    """Zero padding ``(before, after)`` per axis that the windows actually reach."""
    pads = []
    for size, k, n_out, s, d, lo in zip(
        x.shape[2:], w.shape[2:], out.shape[2:], canon.stride, canon.dilation, canon.pad_lo
    ):
        last = (n_out - 1) * s + (k - 1) * d - lo  # last input index any window reads
        pads.append((lo, max(0, last + 1 - size)))
    return pads


def run(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical) -> None:
    """Direct correlation of canonical operands into ``out`` (see ``fastconv.algorithms``)."""
    pads = _padding_read(x, w, out, canon)
    if any(p for pair in pads for p in pair) and not np.isfinite(w).all():
        # the kernel skips taps that fall in the zero padding; a NaN or inf weight must still
        # meet those zeros (0 * inf = NaN), as in PyTorch: pad explicitly instead
        x = np.pad(x, [(0, 0), (0, 0), *pads])
        canon = canon._replace(pad_lo=(0, 0, 0))
    n_rows = math.prod(out.shape[:4])
    macs = out.size * w[0].size
    if macs < PARALLEL_MIN_MACS:  # the common tiny case: no task list, no thread hand-off
        correlate_rows(
            x, w, out, canon.stride, canon.dilation, canon.pad_lo, canon.groups, 0, n_rows
        )
        return
    n_tasks = min(n_rows, num_threads())
    bounds = [n_rows * i // n_tasks for i in range(n_tasks + 1)]

    def rows(task: int, worker: int) -> None:
        correlate_rows(
            x,
            w,
            out,
            canon.stride,
            canon.dilation,
            canon.pad_lo,
            canon.groups,
            bounds[task],
            bounds[task + 1],
        )

    run_tasks(rows, range(n_tasks))
