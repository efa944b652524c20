"""One input channel and one filter: direct, depthwise and separable side by side.

Measures ``SINGLE_DIRECT_MIN_POSITIONS`` in ``fastconv._dispatch.THRESHOLDS``: for images of
several sizes and kernels the register tiles take (3x3, 5x5) and others (7x7, 11x11), 'same'
zero padding, float32, the median of 15 calls of each method forced with ``method=``, on a
random kernel (direct, depthwise) and on a rank-1 kernel (separable, depthwise). Run it under
the benchmark lock::

    flock /tmp/fastconv-bench.lock python bench/single_channel.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import fastconv

CASES = [(2, 64, 11), (8, 32, 5), (4, 64, 5), (8, 128, 3), (1, 256, 5), (1, 512, 3),
         (1, 512, 5), (1, 512, 11), (1, 1024, 7), (1, 2048, 3), (1, 2048, 5)]  # fmt: skip


def median_ms(fn, calls: int = 15) -> float:
    fn()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    rng = np.random.default_rng(0)
    print("images  kernel  direct  depthwise  | rank-1: separable  depthwise   (ms)")
    for n, side, k in CASES:
        x = rng.standard_normal((n, 1, side, side), dtype=np.float32)
        dense = rng.standard_normal((1, 1, k, k), dtype=np.float32)
        taper = np.hanning(k + 2)[1:-1]
        rank1 = np.outer(taper, taper).astype(np.float32)[None, None]

        def run(w, method, x=x, k=k):
            return median_ms(lambda: fastconv.conv2d(x, w, padding=k // 2, method=method))

        print(
            f"{n}x{side}^2  {k}x{k}  {run(dense, 'direct'):.3f}  {run(dense, 'depthwise'):.3f}"
            f"  | {run(rank1, 'separable'):.3f}  {run(rank1, 'depthwise'):.3f}"
        )


if __name__ == "__main__":
    main()
