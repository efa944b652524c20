"""Per-call overhead of ``fastconv.conv2d`` on W0 (a 4x4 image, 3x3 kernel), and where it goes.

Times, interleaved in one process (15 rounds, each a loop of 3000 calls; median and min in
µs): the whole call as the benchmark makes it (``conv2d(x, w)[0, 0]``), OpenCV's
``filter2D`` and ``scipy.signal.correlate2d`` where installed, and the parts of fastconv's hot
path: the plan cache's key and lookup, the weight-dependent choice (rank 1 or not, remembered
per plan), and the planned runner (conversions, output, one compiled call).

Run before and after a change, under the lock:
``flock /tmp/fastconv-bench.lock python bench/call_overhead.py``. The README's W0 figures
(11.0 -> 3.0 µs, OpenCV 2.15 µs) are its medians, the old and new sources run alternately.
"""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable

import numpy as np

import fastconv
from fastconv import functional


def main() -> None:
    x = np.arange(1, 17, dtype=np.float32).reshape(4, 4)  # as fastconv.bench builds W0
    w = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=np.float32)
    xi, wi = x[None, None], w[None, None]
    calls: dict[str, Callable[[], object]] = {
        "fastconv.conv2d": lambda: fastconv.conv2d(xi, wi)[0, 0]
    }
    try:
        import cv2

        calls["cv2.filter2D"] = lambda: cv2.filter2D(
            x, -1, w, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT
        )
    except ImportError:
        pass
    from scipy import signal

    calls["scipy.correlate2d"] = lambda: signal.correlate2d(x, w, mode="valid")
    fastconv.conv2d(xi, wi)
    args = ("conv2d", 2, xi, wi, None, 1, 0, 1, 1, "zeros", "auto")
    key = getattr(functional, "_plan_key", None)
    if key is not None:  # the parts of the hot path (this branch's functional.py)
        plan = functional._PLANS[key(*args)]
        calls["  plan key + lookup"] = lambda: functional._PLANS.get(key(*args))
        calls["  weights choice"] = lambda: functional._weights_choice(plan, wi)
        if plan.runner is not None:
            calls["  runner"] = lambda: plan.runner(xi, wi, None)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for fn in calls.values():
        fn()
    for _ in range(15):
        for name, fn in calls.items():
            samples[name].append(timeit.timeit(fn, number=3000) / 3000 * 1e6)
    for name, values in samples.items():
        print(f"{name:22s} median {statistics.median(values):6.2f} us   min {min(values):6.2f} us")


if __name__ == "__main__":
    main()
