"""The direct method's register tiles against its generic row loop, and their vector code.

Reproduces ``TILE_ROWS_3`` / ``TILE_ROWS_5`` in ``fastconv._numba.direct`` and the README's
figures for the tiles: single-thread kernel time of W1 (512², 3×3) and W2 (2048², 5×5), valid,
float32, for

- ``tiles``: :func:`fastconv._numba.border.correlate_mapped_rows` (the register tiles), and
- ``rows``: the generic row loop on the same operands (``_mapped_rows``: blocks of 3×3 taps,
  two output rows per pass for the first block),

interleaved in one process, median of 15 samples of >= 20 ms each; then the vector FMA
instructions in a freshly compiled tile (``inspect_asm``: ``vfmadd...ps`` on ``zmm``/``ymm``
registers; zero would mean LLVM gave up vectorising, which it does past 128 runtime alias
checks, e.g. four output rows of a 5×5 tile).

Run: ``flock /tmp/fastconv-bench.lock python bench/direct_tiles.py`` (about 30 s).
"""

from __future__ import annotations

import re
import time
from collections import Counter

import numba
import numpy as np
from numba import uint64 as u8

from fastconv._numba import direct
from fastconv._numba._config import FASTMATH
from fastconv._numba.border import _mapped_rows, correlate_mapped_rows


def sample_ms(fn, loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - start) / loops * 1e3


def compare(side: int, k: int, samples: int = 15) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((side, side)).astype(np.float32)
    w = rng.standard_normal((k, k)).astype(np.float32)
    n = side - k + 1
    out = np.empty((n, n), np.float32)
    rows = np.arange(side, dtype=np.int64)
    zero = np.float32(0)
    calls = {
        "tiles": lambda: correlate_mapped_rows(x, w, out, rows, zero, 1, 1, 1, 1, 0, 0, n),
        "rows": lambda: _mapped_rows(x, w, out, rows, zero, 1, 1, 1, 1, 0, 0, n),
    }
    results = {}
    for name, fn in calls.items():
        fn()
        results[name] = out.copy()
    assert np.allclose(results["tiles"], results["rows"], rtol=1e-4, atol=1e-4)
    loops = {name: max(1, int(0.02 / (sample_ms(fn, 1) / 1e3))) for name, fn in calls.items()}
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(samples):
        for name, fn in calls.items():
            times[name].append(sample_ms(fn, loops[name]))
    flop = 2 * n * n * k * k
    line = [f"{side}x{side} {k}x{k} valid, 1 thread:"]
    for name, t in times.items():
        med = float(np.median(t))
        line.append(f"{name} {med:.4f} ms ({flop / med / 1e6:.1f} GFLOP/s)")
    print("  ".join(line))


def vector_fmas(k: int) -> Counter:
    """FMA and multiply instructions by register width in a freshly compiled (uncached) full
    tile."""

    @numba.njit(nogil=True, fastmath=FASTMATH, error_model="numpy")
    def full_tile(of, xf, xb, wf, n, os):
        direct.tile(of, u8(0), os, n, xf, xb, wf, 0, k, False, True)

    x = np.zeros(4096, np.float32)
    full_tile(np.zeros(4096, np.float32), x, np.arange(8) * 512, np.zeros(k * k, np.float32),
              64, 512)  # fmt: skip
    asm = full_tile.inspect_asm(full_tile.signatures[0])
    return Counter(re.findall(r"\b(vfmadd\w+ps|vmulps)\b[^\n]*?%(xmm|ymm|zmm)", asm))


if __name__ == "__main__":
    compare(512, 3)
    compare(2048, 5)
    for k in (3, 5):
        print(f"{k}x{k} tile, vector FMA and multiply instructions: {dict(vector_fmas(k))}")
