"""Measure where the weight gradient's ``method="auto"`` should take the direct correlation.

Reproduces ``WEIGHT_DIRECT_MIN_TAPS`` in ``fastconv._dispatch.THRESHOLDS``: times
``fastconv.conv2d_weight`` with both methods on single-filter problems (one 512×512 image
with kernels 3×3 to 11×11; depthwise N=8, C=32, 56×56 with kernels 3×3 to 9×9) and on a few
layers with several filters per group, and prints the winner. Also times ``conv2d_input`` on
the same problems, whose rule is the forward one applied to the transposed convolution.

Run: ``python bench/grad_crossover.py`` (about a minute on 2 cores). Each sample loops the
call for at least 20 ms; the minimum of 7 samples. The machine should be otherwise idle.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

import fastconv
from fastconv import grad

METHODS = ("direct", "gemm")


def min_ms(fn: Callable[[], object], repeats: int = 7) -> float:
    fn()  # warm-up: compiles, plans
    samples = []
    for _ in range(repeats):
        loops, start = 0, time.perf_counter()
        while time.perf_counter() - start < 0.02:
            fn()
            loops += 1
        samples.append((time.perf_counter() - start) / loops)
    return min(samples) * 1e3


def case(x_shape, w_shape, **kwargs) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    g = rng.standard_normal(fastconv.conv2d(x, w, **kwargs).shape, dtype=np.float32)
    auto_in, auto_w = grad._methods(fastconv.plan(x, w, **kwargs).geometry, "auto")
    tw = {m: min_ms(lambda m=m: fastconv.conv2d_weight(x, w.shape, g, method=m, **kwargs))
          for m in METHODS}  # fmt: skip
    ti = {m: min_ms(lambda m=m: fastconv.conv2d_input(x.shape, w, g, method=m, **kwargs))
          for m in METHODS}  # fmt: skip
    print(
        f"{x_shape!s:>18} {w_shape!s:>15} {kwargs.get('groups', 1):>3}  weight: direct "
        f"{tw['direct']:7.2f} gemm {tw['gemm']:7.2f} auto {auto_w!s:6}  input: direct "
        f"{ti['direct']:7.2f} gemm {ti['gemm']:7.2f} auto {auto_in!s}"
    )


def main() -> None:
    print("float32, ms (min of 7 samples of >= 20 ms)")
    for k in (3, 5, 7, 9, 11):
        case((1, 1, 512, 512), (1, 1, k, k))
    for k in (3, 5, 7, 9):
        case((8, 32, 56, 56), (32, 1, k, k), padding=k // 2, groups=32)
    case((32, 1, 8, 8), (16, 1, 3, 3), padding=1)
    case((32, 16, 4, 4), (32, 16, 3, 3), padding=1)
    case((4, 8, 64, 64), (4, 8, 5, 5), padding=2)
    case((16, 3, 32, 32), (2, 3, 3, 3), padding=1)


if __name__ == "__main__":
    main()
