"""Measure where ``method="auto"`` should switch from direct to gemm.

Reproduces ``GEMM_MIN_WORK`` in ``fastconv._dispatch.THRESHOLDS``: N=8, 56×56, 3×3 kernels,
padding 1, groups=4, with the filters per group (``O/groups``) and the input channels per group
(``C/groups``) swept; prints both methods' times, the winner, and ``O/groups × C/groups × 9``
(the quantity the rule thresholds). A second sweep checks small images, where the call
overhead of each method decides.

A third sweep times the separable algorithm against direct on rank-1 kernels
(``SEPARABLE_MIN_TAPS``) and the separable algorithm's thread threshold
(``fastconv.algorithms.separable.PARALLEL_MIN_MACS``).

A fifth sweep (``rank``) times the separable algorithm on kernels of rank 2-4 (sums of outer
products) against direct, on canonical operands (``SEPARABLE_RANK_MAX_PERCENT``).

A fourth sweep (``depthwise``) times the depthwise algorithm against direct and gemm on
depthwise layers (``groups == C``): channel multipliers 1–32, strides 1–2, kernels 3×3–7×7,
and small planes where the call overhead decides; it backs ``method="auto"``'s depthwise rule.

Run: ``python bench/crossover.py`` (about two minutes on 2 cores). Each sample loops the call for
at least 20 ms; medians of 7 samples. The machine should be otherwise idle.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import numpy as np

import fastconv

METHODS = ("direct", "gemm")


def median_ms(fn: Callable[[], object], repeats: int = 7, gap: float = 0.0) -> float:
    """Median over ``repeats`` samples; each sample loops the call for >= 20 ms.

    By default no idle gap: both methods run the same thread pool back to back, and after an
    idle gap this VM adds ~0.2 ms of wake-up to the first call, which would hide small problems.
    """
    fn()  # warm-up: compiles, plans
    start = time.perf_counter()
    fn()
    loops = max(1, int(0.02 / max(time.perf_counter() - start, 1e-7)))
    samples = []
    for _ in range(repeats):
        time.sleep(gap)
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


def sweep_threads() -> None:
    """One thread or the pool for the direct method, timed as the benchmark times: an idle gap
    (0.2 s) before each sample, so the pool's workers have to wake up (``PARALLEL_MIN_MACS`` in
    ``fastconv.algorithms.direct``)."""
    from fastconv.algorithms import direct

    print("\ndirect method, one 3x3 filter, float32, 0.2 s idle gap before each sample")
    print(f"{'size':>5} {'M MACs':>7} {'pool ms':>8} {'1 thread ms':>12}  faster")
    rng = np.random.default_rng(2)
    default = direct.PARALLEL_MIN_MACS
    try:
        for size in (512, 724, 1024, 1448, 2048):
            x = rng.random((1, 1, size, size), dtype=np.float32)
            w = rng.random((1, 1, 3, 3), dtype=np.float32)
            t = {}
            for name, limit in (("pool", 0), ("1 thread", 1 << 62)):
                direct.PARALLEL_MIN_MACS = limit
                t[name] = median_ms(lambda: fastconv.conv2d(x, w), gap=0.2)  # noqa: B023
            print(f"{size:>5} {9 * (size - 2) ** 2 / 1e6:>7.1f} {t['pool']:>8.3f} "
                  f"{t['1 thread']:>12.3f}  {min(t, key=t.get)}")  # fmt: skip
    finally:
        direct.PARALLEL_MIN_MACS = default


def sweep_separable() -> None:
    """Rank-1 kernels of 4 to 25 taps on one float32 image: separable against direct
    (``SEPARABLE_MIN_TAPS``), then the separable method on one thread or the pool, with the
    benchmark's 0.2 s idle gap (``separable.PARALLEL_MIN_MACS``)."""
    from fastconv.algorithms import separable

    rng = np.random.default_rng(3)
    print("\nrank-1 kernels, one float32 filter, padding 'same'")
    print(f"{'size':>5} {'kernel':>7} {'taps':>5} {'direct ms':>10} {'separable ms':>13}  faster")
    for size in (256, 512, 1024, 2048):
        x = rng.standard_normal((1, 1, size, size), dtype=np.float32)
        for kh, kw in ((2, 2), (2, 3), (3, 3), (2, 5), (3, 4), (4, 4), (3, 5), (2, 7), (5, 5)):
            w = np.outer(rng.standard_normal(kh), rng.standard_normal(kw))
            w = w[None, None].astype(np.float32)
            t = {
                m: median_ms(lambda m=m, x=x, w=w: fastconv.conv2d(x, w, padding="same", method=m))
                for m in ("direct", "separable")
            }
            print(f"{size:>5} {kh}x{kw:<5} {kh * kw:>5} {t['direct']:>10.3f} "
                  f"{t['separable']:>13.3f}  {min(t, key=t.get)}")  # fmt: skip
    print("\nseparable method, 7x7 Gaussian-like kernel, 0.2 s idle gap before each sample")
    print(f"{'size':>5} {'M MACs':>7} {'pool ms':>8} {'1 thread ms':>12}  faster")
    default = separable.PARALLEL_MIN_MACS
    w = np.outer(np.hanning(9)[1:-1], np.hanning(9)[1:-1])[None, None].astype(np.float32)
    try:
        for size in (256, 362, 512, 724, 1024, 1448):
            x = rng.standard_normal((1, 1, size, size), dtype=np.float32)
            t = {}
            for name, limit in (("pool", 0), ("1 thread", 1 << 62)):
                separable.PARALLEL_MIN_MACS = limit
                t[name] = median_ms(
                    lambda: fastconv.conv2d(x, w, padding="same", method="separable"),  # noqa: B023
                    gap=0.2,
                )
            print(f"{size:>5} {14 * size * size / 1e6:>7.1f} {t['pool']:>8.3f} "
                  f"{t['1 thread']:>12.3f}  {min(t, key=t.get)}")  # fmt: skip
    finally:
        separable.PARALLEL_MIN_MACS = default


def sweep_depthwise() -> None:
    print("depthwise (groups == C), float32, ms: N, C, size, multiplier O/C, kernel, stride")
    print(f"{'problem':>30} {'depthwise':>10} {'direct':>8} {'gemm':>8}  faster")
    rng = np.random.default_rng(0)
    cases = [(8, 32, 56, m, 3, 1) for m in (1, 2, 4, 8, 16, 32)]
    cases += [(8, 128, 56, 1, k, s) for k in (3, 5, 7) for s in (1, 2)]
    cases += [(1, 8, 8, 1, 3, 1), (1, 32, 14, 1, 3, 1), (1, 1, 512, 1, 3, 1)]
    for n, c, size, mult, k, stride in cases:
        x = rng.standard_normal((n, c, size, size), dtype=np.float32)
        w = rng.standard_normal((c * mult, 1, k, k), dtype=np.float32)
        args = (x, w, None, stride, k // 2, 1, c)
        t = {
            m: median_ms(lambda m=m, args=args: fastconv.conv2d(*args, method=m))
            for m in ("depthwise", "direct", "gemm")
        }
        if mult == 1 and stride == 1 and k > 1:  # rank-1 kernels: the separable algorithm
            parts = rng.standard_normal((2, c, k))
            w1 = np.einsum("oh,ow->ohw", *parts).astype(np.float32)[:, None]
            args = (x, w1, None, stride, k // 2, 1, c)
            for m in ("separable", "depthwise"):
                t[f"{m} rank 1"] = median_ms(
                    lambda m=m, args=args: fastconv.conv2d(*args, method=m)
                )
        name = f"{n}x{c}x{size}^2 x{mult} {k}x{k} s{stride}"
        rank1 = "".join(f"  {m}: {v:.3f}" for m, v in t.items() if "rank 1" in m)
        t = {m: v for m, v in t.items() if "rank 1" not in m}
        print(f"{name:>30} {t['depthwise']:>10.3f} {t['direct']:>8.3f} {t['gemm']:>8.3f}  "
              f"{min(t, key=t.get)}{rank1}")  # fmt: skip
    print()
    from fastconv.algorithms import depthwise

    print("depthwise on one thread or the pool (PARALLEL_MIN_MACS), 3x3 pad 1, float32, ms")
    default = depthwise.PARALLEL_MIN_MACS
    try:
        for n, c, size in ((1, 32, 56), (8, 32, 56), (1, 128, 56), (4, 128, 56), (8, 128, 56)):
            x = rng.standard_normal((n, c, size, size), dtype=np.float32)
            w = rng.standard_normal((c, 1, 3, 3), dtype=np.float32)
            t = {}
            for name, limit in (("one thread", 1 << 62), ("pool", 0)):
                depthwise.PARALLEL_MIN_MACS = limit
                fn = functools.partial(fastconv.conv2d, x, w, None, 1, 1, 1, c, method="depthwise")
                t[name] = median_ms(fn)
            macs = n * c * size * size * 9 / 1e6
            print(f"{n}x{c}x{size}^2 {macs:6.1f} M multiply-adds: " +
                  "  ".join(f"{k} {v:.3f}" for k, v in t.items()))  # fmt: skip
    finally:
        depthwise.PARALLEL_MIN_MACS = default
    print()


def sweep_rank() -> None:
    from fastconv.algorithms import Canonical, direct, separable

    print("rank-r kernels, one float32 image, zero padding 'same', ms (algorithms only)")
    print(f"{'image':>6} {'kernel':>6} {'rank':>4} {'percent':>7} {'separable':>9} {'direct':>8}"
          "  faster")  # fmt: skip
    rng = np.random.default_rng(0)
    for size in (512, 2048):
        x = rng.standard_normal((1, 1, 1, size, size), dtype=np.float32)
        for k in (5, 7, 9, 11, 15):
            for rank in (1, 2, 3, 4):
                if rank * (k + k) >= k * k:
                    continue
                parts = rng.standard_normal((2, rank, k))
                w = np.einsum("rh,rw->hw", parts[0], parts[1]).astype(np.float32)
                w = w.reshape(1, 1, 1, k, k)
                out = np.empty((1, 1, 1, size, size), np.float32)
                canon = Canonical((1, 1, 1), (1, 1, 1), (0, k // 2, k // 2), 1)
                t = {
                    name: median_ms(functools.partial(run, x, w, out, canon))
                    for name, run in (("separable", separable.run), ("direct", direct.run))
                }
                percent = 100 * rank * 2 * k // (k * k)
                print(f"{size:>6} {k:>6} {rank:>4} {percent:>7} {t['separable']:>9.2f} "
                      f"{t['direct']:>8.2f}  {min(t, key=t.get)}")  # fmt: skip
    print()


if __name__ == "__main__":
    import sys

    sweeps = {
        "filters": sweep_filters_per_group,
        "small": sweep_small_images,
        "threads": sweep_threads,
        "separable": sweep_separable,
        "depthwise": sweep_depthwise,
        "rank": sweep_rank,
    }
    for name in sys.argv[1:] or sweeps:
        sweeps[name]()
