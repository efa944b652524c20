"""Measure the cost constants of ``fastconv.signal``'s ``method="auto"`` rule.

Reproduces ``fastconv._signal_engine.COSTS``: seconds per multiply-add of the direct kernel,
per element of NumPy shift-and-add, per ``N log2 N`` unit of the FFT cost model
(``fastconv.algorithms.fft.plan``), and the fixed cost of a call; then times the three methods
on a few problems around the crossovers and prints what ``auto`` picked beside the fastest.

Run: ``python bench/signal_crossover.py`` (about a minute on 2 cores). Medians of 5 samples, each
looping the call for at least 20 ms. The machine should be otherwise idle.
"""

# ruff: noqa: B023  (every lambda is timed at once, inside its own loop iteration)

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from fastconv import _signal_engine as engine
from fastconv import signal
from fastconv.algorithms import fft


def median_s(fn: Callable[[], object], repeats: int = 5) -> float:
    fn()
    start = time.perf_counter()
    fn()
    loops = max(1, int(0.02 / max(time.perf_counter() - start, 1e-7)))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - start) / loops)
    return float(np.median(samples))


def mac_rate(rng: np.random.Generator) -> None:
    print("direct kernel, seconds per multiply-add (2-D 'same', zero fill and symm)")
    for dt in (np.float32, np.float64):
        rates = []
        for n, k in ((1024, 7), (2048, 5), (512, 15)):
            x = rng.standard_normal((n, n)).astype(dt)
            w = rng.standard_normal((k, k)).astype(dt)
            for boundary in ("fill", "symm"):
                t = median_s(lambda: signal.correlate2d(x, w, "same", boundary))
                rates.append(t / (n * n * k * k))
        print(f"  {np.dtype(dt).name}: {np.median(rates):.3g}  (samples {np.round(rates, 13)})")


def numpy_rate(rng: np.random.Generator) -> None:
    print("shift-and-add, seconds per element")
    for name, dt in (("float64", np.float64), ("int64", np.int64), ("longdouble", np.longdouble),
                     ("complex", np.complex128), ("object", object)):  # fmt: skip
        n = 20_000 if dt is object else 400_000
        x = (rng.standard_normal(n) * 10).astype(dt)
        w = (rng.standard_normal(9) * 10).astype(dt)
        t = median_s(lambda: engine.shift_add(x, w, 1, (n - 8,), (1,), (1,), np.dtype(dt)))
        print(f"  {name}: {t / ((n - 8) * 9):.3g}")


def fft_unit(rng: np.random.Generator) -> None:
    print("FFT, seconds per N log2 N unit of the plan's cost")
    for dt in (np.float32, np.float64, np.longdouble):
        units = []
        cases = (
            ((4096, 4096), (31, 31), True),
            ((1 << 20,), (4001,), None),
            ((600, 600), (300, 300), False),
            ((200_000,), (5000,), True),
        )
        for shape, k, blocks in cases:
            if dt is np.longdouble and math.prod(shape) > 2**20:
                continue
            x = rng.standard_normal(tuple(s + kk - 1 for s, kk in zip(shape, k))).astype(dt)
            w = rng.standard_normal(k).astype(dt)
            p = fft.plan(shape, k, 1, 1, 1, True, blocks)
            pad = (0,) * len(shape)
            t = median_s(lambda: fft.correlate(x, w, pad, shape, fft_plan=p, workers=2), 3)
            units.append(t / p.cost)
        print(f"  {np.dtype(dt).name}: {np.median(units):.3g}  (samples {np.round(units, 13)})")


def crossovers(rng: np.random.Generator) -> None:
    print("around the crossovers: each method, and what auto picks")
    for n, k in ((1024, 9), (1024, 13), (1024, 17), (1024, 21), (2048, 25)):
        x = rng.standard_normal((n, n)).astype(np.float32)
        w = rng.standard_normal((k, k)).astype(np.float32)
        times = {m: median_s(lambda m=m: signal.correlate(x, w, "same", m), 3)
                 for m in ("direct", "fft", "oa")}  # fmt: skip
        auto = signal.choose_conv_method(x, w, "same", explain=True)[1].split(" ")[0]
        best = min(times, key=times.get)
        print(f"  {n}^2 * {k}^2: " + ", ".join(f"{m} {t * 1e3:.1f} ms" for m, t in times.items())
              + f"; fastest {best}; auto: {auto}")  # fmt: skip


def call_cost(rng: np.random.Generator) -> None:
    print("fixed cost of a call (4x4 * 3x3)")
    x, w = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
    for m in ("direct", "fft", "oa"):
        print(f"  {m}: {median_s(lambda m=m: signal.correlate(x, w, 'same', m)):.3g}")


if __name__ == "__main__":
    generator = np.random.default_rng(0)
    call_cost(generator)
    mac_rate(generator)
    numpy_rate(generator)
    fft_unit(generator)
    crossovers(generator)
