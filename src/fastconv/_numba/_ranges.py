"""Column bookkeeping shared by the kernels: where each kernel tap reads inside the input."""

from __future__ import annotations

import numpy as np

from ._config import serial


@serial
def column_ranges(W, OW, KW, sw, dw, pw):
    """For each tap ``kw``: the output columns ``[lo, hi)`` whose input column is inside ``x``.

    Output column ``j`` reads input column ``j*sw + kw*dw - pw``; zero padding is implicit, so
    the columns outside ``[lo, hi)`` read the padding.
    """
    ranges = np.empty((KW, 2), dtype=np.int64)
    for kw in range(KW):
        off = kw * dw - pw
        lo = 0 if off >= 0 else (-off + sw - 1) // sw
        hi = (W - 1 - off) // sw + 1 if W - 1 - off >= 0 else 0
        hi = min(hi, OW)
        ranges[kw, 0] = min(lo, hi)
        ranges[kw, 1] = hi
    return ranges
