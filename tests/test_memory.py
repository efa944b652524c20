"""The GEMM algorithm's window buffers stay within the workspace cap (tracemalloc)."""

from __future__ import annotations

import tracemalloc

import numpy as np
from support import assert_close

import fastconv
from fastconv.reference import conv_reference


def test_gemm_peak_memory_within_workspace_cap() -> None:
    cap = 1 << 20  # 1 MiB for all threads together
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 32, 48, 48))  # float64, contiguous: used without a copy
    w = rng.standard_normal((8, 32, 3, 3))
    n, c, h, wd = x.shape
    out_bytes = n * w.shape[0] * (h - 2) * (wd - 2) * 8
    full_im2col_bytes = n * c * 9 * (h - 2) * (wd - 2) * 8
    assert full_im2col_bytes >= 8 * cap  # the untiled buffer would be >= 8x the cap

    with fastconv.workspace_limit(cap):
        fastconv.conv2d(x, w, method="gemm")  # warm: compile and plan outside the trace
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            out = fastconv.conv2d(x, w, method="gemm")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    extra = peak - before
    # the result itself, the workspaces (<= cap), and a little bookkeeping
    assert extra <= out_bytes + cap + 64 * 1024, (extra, out_bytes, cap)
    assert extra < full_im2col_bytes / 4
    assert_close(out, conv_reference(x, w), np.float64)
