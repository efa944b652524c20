"""The roofline model, with both roofs measured on this machine in the benchmark's own run.

A call that performs ``F`` floating-point operations and must move at least ``B`` bytes between
memory and the cores cannot run faster than ``F / peak`` (compute roof) nor than
``B / bandwidth`` (memory roof). Its attainable rate is therefore

    attainable = min(peak, I * bandwidth)    with the arithmetic intensity I = F / B,

and the *roofline fraction* of a call that took ``t`` seconds is ``(F / t) / attainable``.

- ``peak``: float32 ``np.matmul`` of two ``n x n`` matrices (``2 n^3`` operations), the best of
  a few calls, on every thread BLAS uses: what this machine's BLAS reaches, not the data sheet.
- ``bandwidth``: ``np.add(a, b, out=c)`` over arrays much larger than the caches, split over one
  thread per core, counting ``3 * a.nbytes`` (STREAM's "add" convention: two reads, one write),
  the best of a few runs.
- ``F`` of a convolution is ``2 x`` the multiply-adds of the direct algorithm, whichever
  algorithm runs, so that rates compare across methods ("effective" GFLOP/s); a method that does
  fewer operations (two 1-D passes, Winograd, FFT) can exceed the compute roof: a fraction above
  1 says so. ``B`` is the compulsory traffic: input, weight and output read or written once.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Roofline:
    """The two roofs of this machine.

    Attributes
    ----------
    peak_gflops : float
        Float32 matrix-product peak, GFLOP/s.
    bandwidth_gbs : float
        Memory bandwidth, GB/s (10^9 bytes per second).

    Examples
    --------
    >>> roof = Roofline(peak_gflops=200.0, bandwidth_gbs=20.0)
    >>> roof.ridge                      # flop per byte where the two roofs meet
    10.0
    >>> roof.attainable_gflops(2.0), roof.attainable_gflops(50.0)
    (40.0, 200.0)
    >>> roof.fraction(flops=4e9, nbytes=2e9, seconds=0.5)    # 8 GFLOP/s of attainable 40
    0.2
    """

    peak_gflops: float
    bandwidth_gbs: float

    @property
    def ridge(self) -> float:
        """Arithmetic intensity (flop/byte) above which a call is compute-bound."""
        return self.peak_gflops / self.bandwidth_gbs

    def attainable_gflops(self, intensity: float) -> float:
        """``min(peak, intensity * bandwidth)`` in GFLOP/s for ``intensity`` flop/byte."""
        return min(self.peak_gflops, intensity * self.bandwidth_gbs)

    def fraction(self, flops: float, nbytes: float, seconds: float) -> float:
        """Achieved rate over the attainable rate of a call of ``flops`` operations moving
        ``nbytes`` bytes that took ``seconds``."""
        achieved = flops / seconds / 1e9
        return achieved / self.attainable_gflops(flops / nbytes)


def measure_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best float32 ``np.matmul`` rate of two ``n x n`` matrices in GFLOP/s (after a warm-up)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def measure_bandwidth_gbs(mib: int = 256, repeats: int = 5, threads: int | None = None) -> float:
    """Best ``c = a + b`` rate over float32 arrays of ``mib`` MiB each, in GB/s (``3 x`` the
    array size per run), the arrays split over ``threads`` threads (default: one per CPU)."""
    threads = threads or os.cpu_count() or 1
    n = mib * 2**20 // 4
    a = np.full(n, 1.0, dtype=np.float32)  # written, so that every page is mapped
    b = np.full(n, 2.0, dtype=np.float32)
    c = np.zeros(n, dtype=np.float32)
    parts = [slice(i * n // threads, (i + 1) * n // threads) for i in range(threads)]

    def add(part: slice) -> None:
        np.add(a[part], b[part], out=c[part])

    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(add, parts))
        for _ in range(repeats):
            t0 = time.perf_counter()
            list(pool.map(add, parts))
            best = min(best, time.perf_counter() - t0)
    return 3 * a.nbytes / best / 1e9


def measure_roofline(*, quick: bool = False, gap: float = 0.2) -> Roofline:
    """Measure both roofs: 2048² matmul and 256 MiB arrays (``quick``: 1024² and 64 MiB, a
    smoke test). Sleeps ``gap`` seconds before each so that earlier threads have stopped."""
    time.sleep(gap)
    peak = measure_peak_gflops(1024 if quick else 2048, 3 if quick else 7)
    time.sleep(gap)
    bandwidth = measure_bandwidth_gbs(64 if quick else 256, 3 if quick else 7)
    return Roofline(peak_gflops=peak, bandwidth_gbs=bandwidth)
