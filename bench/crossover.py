"""Measure where ``method="auto"`` should switch from direct to gemm.

Reproduces ``GEMM_MIN_WORK`` in ``fastconv._dispatch.THRESHOLDS``: N=8, 56×56, 3×3 kernels,
padding 1, groups=4, with the filters per group (``O/groups``) and the input channels per group
(``C/groups``) swept; prints both methods' times, the winner, and ``O/groups × C/groups × 9``
(the quantity the rule thresholds). A second sweep checks small images, where the call
overhead of each method decides.

Run: ``python bench/crossover.py`` (about a minute on 2 cores). Each sample loops the call for
at least 20 ms; medians of 7 samples. The machine should be otherwise idle.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

import fastconv

METHODS = ("direct", "gemm")


def median_ms(fn: Callable[[], object], repeats: int = 7) -> float:
    """Median over ``repeats`` samples; each sample loops the call for >= 20 ms.

    No idle gap here: both methods run the same thread pool back to back, and after an idle
    gap this VM adds ~0.2 ms of wake-up to any call, which would hide the small problems.
    """
    fn()  # warm-up: compiles, plans
    start = time.perf_counter()
    fn()
    loops = max(1, int(0.02 / max(time.perf_counter() - start, 1e-7)))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - start) / loops)
    return float(np.median(samples)) * 1e3


def time_methods(x: np.ndarray, w: np.ndarray, **kwargs: object) -> dict[str, float]:
    """Median ms of ``conv2d(x, w, **kwargs)`` for each method."""
    return {m: median_ms(lambda m=m: fastconv.conv2d(x, w, method=m, **kwargs)) for m in METHODS}


def sweep_filters_per_group() -> None:
    print("N=8, 56x56, 3x3, padding 1, groups=4, float32")
    print(f"{'O/groups':>8} {'C/groups':>8} {'work':>5} {'direct ms':>10} {'gemm ms':>8}  faster")
    rng = np.random.default_rng(0)
    groups = 4
    for og in (1, 2, 3, 4, 6, 8):
        for cg in (1, 4, 16):
            x = rng.standard_normal((8, cg * groups, 56, 56), dtype=np.float32)
            w = rng.standard_normal((og * groups, cg, 3, 3), dtype=np.float32)
            t = time_methods(x, w, padding=1, groups=groups)
            print(f"{og:>8} {cg:>8} {og * cg * 9:>5} {t['direct']:>10.2f} {t['gemm']:>8.2f}  "
                  f"{min(t, key=t.get)}")  # fmt: skip
    print()


def sweep_small_images() -> None:
    print("N=1, C=8 -> 8 filters 3x3 (work 576), float32, microseconds")
    print(f"{'size':>5} {'direct us':>10} {'gemm us':>8}  faster")
    rng = np.random.default_rng(1)
    for size in (3, 4, 8, 16, 32):
        x = rng.standard_normal((1, 8, size, size), dtype=np.float32)
        w = rng.standard_normal((8, 8, 3, 3), dtype=np.float32)
        t = {m: v * 1e3 for m, v in time_methods(x, w).items()}
        print(f"{size:>5} {t['direct']:>10.1f} {t['gemm']:>8.1f}  {min(t, key=t.get)}")


if __name__ == "__main__":
    sweep_filters_per_group()
    sweep_small_images()
