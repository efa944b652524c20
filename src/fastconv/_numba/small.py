"""One compiled call for a small direct convolution (the per-call hot path of ``_core``).

:func:`correlate_small` takes the caller's arrays as they are (any rank, C-contiguous) and one
``int64`` vector with the canonical shapes and geometry, reshapes the arrays to the canonical
5-D form and runs the direct row kernel on every row. Doing the reshapes here instead of in
Python, and passing one vector instead of six tuples and ints, took a 4x4 image with a 3x3
kernel from 1.9 to 1.3 µs for the conversions and the kernel call (interleaved ``timeit``,
min of 40 rounds, 2-core dev VM). The row loop compiled into this function runs slower per
multiply-add than ``correlate_rows`` called on its own (Numba's reshape goes through an
opaque helper, and LLVM then optimises the inlined loop nest less well: W1, 512x512 3x3, 0.18
against 0.13 ms), so only the smallest problems come here (``fastconv._core.SMALL_DIRECT_MACS``).
"""

from __future__ import annotations

from ._config import serial
from .direct import correlate_rows

#: the layout of ``geometry``: x's, w's and out's canonical shapes, stride, dilation, leading
#: zero padding (3 each), groups, and the number of output rows (N * O * OD * OH)
GEOMETRY_LENGTH = 26


@serial
def correlate_small(x, w, out, geometry):
    """``correlate_rows`` over all rows of ``x``, ``w``, ``out`` seen in their canonical shapes.

    ``x``, ``w`` and ``out`` must be C-contiguous with exactly as many elements as the shapes in
    ``geometry`` say (Numba's reshape checks the counts).
    """
    g = geometry
    x5 = x.reshape((g[0], g[1], g[2], g[3], g[4]))
    w5 = w.reshape((g[5], g[6], g[7], g[8], g[9]))
    o5 = out.reshape((g[10], g[11], g[12], g[13], g[14]))
    correlate_rows(
        x5, w5, o5, (g[15], g[16], g[17]), (g[18], g[19], g[20]), (g[21], g[22], g[23]), g[24],
        0, g[25],
    )  # fmt: skip
