"""Measure the constants of the cost model in ``fastconv._dispatch.COSTS``.

Each constant is a rate or a time per unit of work, taken from the minimum of several timed
calls of one method on one workload (float32, all threads, the benchmark lock held by the
caller: ``flock /tmp/fastconv-bench.lock python bench/cost_model.py``)::

    DIRECT_MACS_PER_S            512x512 image, 7x7 kernel, method="direct" (the row loop)
    DIRECT_TILE_MACS_PER_S       W1: 512x512 image, 3x3 kernel, method="direct" (the
                                 register tiles of 3x3 and 5x5 kernels)
    GEMM_MACS_PER_S              W4: N=8 C=64 56x56 -> 64 3x3 pad 1, method="gemm"
    WINOGRAD4_S_PER_TILE_CHANNEL W4, method="winograd", less its products at the GEMM rate
    WINOGRAD2_S_PER_TILE_CHANNEL W4, method="winograd_f2", likewise
    WINOGRAD_MACS_PER_S          the transform-domain products of W4 alone (36 batched
                                 matmuls per image, BLAS on one thread per worker)
    FFT_S_PER_UNIT               W3: 4096x4096 image, 31x31 kernel, method="fft", divided by
                                 the N log2 N units of ``algorithms.fft.plan``
    CALL_S                       W0: 4x4 image, 3x3 kernel (the fixed cost of one call)
    WINOGRAD_CALL_S, FFT_CALL_S  W0 with method="winograd" / "fft", less CALL_S
    DEPTHWISE_S_PER_ELEMENT,     W6's shape (N=8 C=128 56x56, groups=128) with
    DEPTHWISE_MACS_PER_S         method="depthwise", once with a 1x1 kernel and once 5x5
                                 pad 2: the two solve time = (input + output elements) x
                                 per-element cost + multiply-adds / rate, one-thread units

It prints the values as they go into the table; ``python bench/cost_model.py depthwise``
measures the depthwise constants only.
"""

from __future__ import annotations

import sys
import time

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "src"))

import fastconv
from fastconv.algorithms import fft


def best(fn, repeats: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def depthwise() -> None:
    """The two depthwise constants (see the module docstring)."""
    from fastconv._threads import num_threads

    threads = num_threads()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 128, 56, 56)).astype(np.float32)
    w1 = rng.standard_normal((128, 1, 1, 1)).astype(np.float32)
    w5 = rng.standard_normal((128, 1, 5, 5)).astype(np.float32)
    t1 = best(lambda: fastconv.conv2d(x, w1, groups=128, method="depthwise"), 15)
    t5 = best(lambda: fastconv.conv2d(x, w5, padding=2, groups=128, method="depthwise"), 15)
    outputs = x.size
    per_mac = (t5 - t1) / (24 * outputs)  # seconds per multiply-add, all threads
    per_element = (t1 - outputs * per_mac) / (2 * outputs)
    print(f"DEPTHWISE_S_PER_ELEMENT = {per_element * threads:.3g}   (1x1: {t1 * 1e3:.2f} ms)")
    print(f"DEPTHWISE_MACS_PER_S = {1 / (per_mac * threads):.3g}   (5x5: {t5 * 1e3:.2f} ms)")


def main() -> None:
    if sys.argv[1:] == ["depthwise"]:
        depthwise()
        return
    rng = np.random.default_rng(0)
    f4 = np.float32
    img = rng.standard_normal((1, 1, 512, 512)).astype(f4)
    k3 = rng.standard_normal((1, 1, 3, 3)).astype(f4)
    k7 = rng.standard_normal((1, 1, 7, 7)).astype(f4)
    t = best(lambda: fastconv.conv2d(img, k7, method="direct"))
    print(f"DIRECT_MACS_PER_S = {506 * 506 * 49 / t:.3g}")
    t = best(lambda: fastconv.conv2d(img, k3, method="direct"))
    print(f"DIRECT_TILE_MACS_PER_S = {510 * 510 * 9 / t:.3g}")

    x = rng.standard_normal((8, 64, 56, 56)).astype(f4)
    w = rng.standard_normal((64, 64, 3, 3)).astype(f4)
    macs = 8 * 64 * 56 * 56 * 64 * 9
    t = best(lambda: fastconv.conv2d(x, w, padding=1, method="gemm"))
    print(f"GEMM_MACS_PER_S = {macs / t:.3g}")

    from fastconv._threads import num_threads, run_tasks

    threads = num_threads()
    for m in (4, 2):
        a = m + 2
        tiles = 8 * (56 // m) ** 2
        v = rng.standard_normal((8, a * a, tiles // 8, 64)).astype(f4)
        u = rng.standard_normal((a * a, 64, 64)).astype(f4)
        out = np.empty_like(v)

        def products(v=v, u=u, out=out) -> None:
            run_tasks(lambda n, _: np.matmul(v[n], u, out=out[n]), range(8), blas=True)

        if m == 4:  # one rate for both tile sizes (the cost model uses one)
            rate = tiles * a * a * 64 * 64 / best(products)
            print(f"WINOGRAD_MACS_PER_S = {rate:.3g}")
        tp = tiles * a * a * 64 * 64 / rate
        method = "winograd" if m == 4 else "winograd_f2"
        t = best(lambda method=method: fastconv.conv2d(x, w, padding=1, method=method))
        per = (t - tp) * threads / (tiles * (64 + 64))
        print(f"WINOGRAD{m}_S_PER_TILE_CHANNEL = {per:.3g}   (whole call {t * 1e3:.2f} ms)")

    big = rng.standard_normal((1, 1, 4096, 4096)).astype(f4)
    k31 = rng.standard_normal((1, 1, 31, 31)).astype(f4)
    t = best(lambda: fastconv.conv2d(big, k31, method="fft"), 3)
    units = fft.plan((4066, 4066), (31, 31)).cost
    print(f"FFT_S_PER_UNIT = {t * threads / units:.3g}   (whole call {t * 1e3:.1f} ms)")

    tiny = rng.standard_normal((1, 1, 4, 4)).astype(f4)
    t = best(lambda: fastconv.conv2d(tiny, k3), 200)
    print(f"CALL_S = {t:.3g}")
    t_w = best(lambda: fastconv.conv2d(tiny, k3, method="winograd"), 200)
    print(f"WINOGRAD_CALL_S = {t_w - t:.3g}")
    t_f = best(lambda: fastconv.conv2d(tiny, k3, method="fft"), 200)
    print(f"FFT_CALL_S = {t_f - t:.3g}")
    depthwise()


if __name__ == "__main__":
    main()
