"""Measure where ``method="auto"`` should switch from direct to gemm.

Reproduces the two thresholds in ``fastconv._dispatch.THRESHOLDS``:

* ``GEMM_MIN_REDUCTION``: N=8, 56×56, 3×3 kernels, padding 1, ``C/groups`` swept 1..16 (the
  reduction per output is ``9 * C/groups``; 16 output channels per group); prints the median
  time of each method and the first reduction where gemm wins.
* ``TINY_MACS``: one channel, 3×3 kernel, square images growing from 4×4; prints where gemm's
  set-up stops dominating (it never should for a single channel: rule 2 decides those; the
  sweep with 8 channels shows the size where gemm first wins at all).

Run: ``python bench/crossover.py`` (about a minute on 2 cores). Medians of interleaved
samples; the machine should be otherwise idle.
"""

from __future__ import annotations

import time

import numpy as np

import fastconv


def median_ms(fn, repeats: int = 7) -> float:
    fn()  # warm-up: compiles, plans
    samples = []
    for _ in range(repeats):
        time.sleep(0.02)
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples)) * 1e3


def sweep_reduction() -> None:
    print("reduction sweep: N=8, 56x56, 3x3, padding 1, 16 filters per group, float32")
    print(f"{'C/groups':>8} {'reduction':>9} {'direct ms':>10} {'gemm ms':>9}  faster")
    rng = np.random.default_rng(0)
    first = None
    for cg in (1, 2, 3, 4, 6, 8, 12, 16):
        groups = 4
        x = rng.standard_normal((8, cg * groups, 56, 56), dtype=np.float32)
        w = rng.standard_normal((16 * groups, cg, 3, 3), dtype=np.float32)
        t = {
            m: median_ms(lambda m=m: fastconv.conv2d(x, w, padding=1, groups=groups, method=m))
            for m in ("direct", "gemm")
        }
        faster = min(t, key=t.get)
        if faster == "gemm" and first is None:
            first = 9 * cg
        print(f"{cg:>8} {9 * cg:>9} {t['direct']:>10.2f} {t['gemm']:>9.2f}  {faster}")
    print(f"gemm first wins at a reduction of {first}\n")


def sweep_tiny() -> None:
    print("size sweep: N=1, C=8 -> 8 filters 3x3, float32 (reduction 72: gemm by rule 2)")
    print(f"{'size':>5} {'MACs':>9} {'direct us':>10} {'gemm us':>9}  faster")
    rng = np.random.default_rng(1)
    for size in (3, 4, 6, 8, 12, 16, 24, 32):
        x = rng.standard_normal((1, 8, size, size), dtype=np.float32)
        w = rng.standard_normal((8, 8, 3, 3), dtype=np.float32)
        macs = 8 * 72 * (size - 2) ** 2
        t = {
            m: median_ms(lambda m=m: fastconv.conv2d(x, w, method=m), repeats=15) * 1e3
            for m in ("direct", "gemm")
        }
        print(f"{size:>5} {macs:>9} {t['direct']:>10.1f} {t['gemm']:>9.1f}  {min(t, key=t.get)}")


if __name__ == "__main__":
    sweep_reduction()
    sweep_tiny()
