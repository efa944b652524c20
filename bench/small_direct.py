"""Measure ``fastconv._core.SMALL_DIRECT_MACS``: up to where the one-call path of small direct
problems (``fastconv._numba.small.correlate_small``) beats ``algorithms.direct.run``.

``correlate_small`` saves ~1 µs of Python per call (reshapes, argument tuples, the dispatcher's
type search), but its row loop, compiled together with the reshapes, ran ~40 % slower than the
row kernel called on its own (W1, 512x512 3x3: 0.18 against 0.13 ms). So it pays only while
the kernel itself takes about a microsecond or two. This sweeps single-channel images with a
3x3 kernel and C=4 -> O=1 batches, times both paths interleaved in one process (min and median
of 15 rounds, each looping the call), and prints the multiply-adds and the winner.

Run: ``flock /tmp/fastconv-bench.lock python bench/small_direct.py`` (about 20 s).
"""

from __future__ import annotations

import math
import statistics
import timeit

import numpy as np

from fastconv import functional
from fastconv._core import conv_general, one_call


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'x shape':>18} {'w shape':>14} {'MACs':>8} {'small us':>9} {'direct us':>9}  winner")
    for x_shape, w_shape in [
        ((1, 1, 8, 8), (1, 1, 3, 3)),
        ((1, 1, 16, 16), (1, 1, 3, 3)),
        ((1, 1, 24, 24), (1, 1, 3, 3)),
        ((1, 1, 32, 32), (1, 1, 3, 3)),
        ((1, 1, 48, 48), (1, 1, 3, 3)),
        ((1, 1, 64, 64), (1, 1, 3, 3)),
        ((1, 1, 96, 96), (1, 1, 3, 3)),
        ((1, 1, 128, 128), (1, 1, 3, 3)),
        ((1, 4, 8, 8), (1, 4, 3, 3)),
        ((2, 4, 8, 8), (1, 4, 3, 3)),
        ((2, 4, 12, 12), (1, 4, 3, 3)),
        ((2, 4, 16, 16), (1, 4, 3, 3)),
        ((2, 4, 32, 32), (1, 4, 3, 3)),
        ((2, 4, 8, 8), (2, 4, 3, 3)),
        ((1, 2, 20, 20), (2, 2, 5, 5)),
    ]:
        x = rng.standard_normal(x_shape, dtype=np.float32)
        w = rng.standard_normal(w_shape, dtype=np.float32)
        p = functional.plan(x, w, method="direct")
        small = one_call(p.geometry, p.layout)  # whatever the threshold says
        assert small is not None
        calls = {
            "small": lambda small=small, x=x, w=w: small(x, w, None),
            "direct": lambda p=p, x=x, w=w: conv_general(
                x, w, None, p.geometry, p.method, p.layout
            ),
        }
        macs = math.prod(p.geometry.output_shape) * math.prod(w_shape[1:])
        number = max(1, 200_000 // macs)
        times: dict[str, list[float]] = {k: [] for k in calls}
        for f in calls.values():
            f()
        for _ in range(15):
            for k, f in calls.items():
                times[k].append(timeit.timeit(f, number=number) / number * 1e6)
        med = {k: statistics.median(v) for k, v in times.items()}
        winner = min(med, key=med.__getitem__)
        print(f"{x_shape!s:>18} {w_shape!s:>14} {macs:8d} {med['small']:9.2f} "
              f"{med['direct']:9.2f}  {winner}")  # fmt: skip


if __name__ == "__main__":
    main()
