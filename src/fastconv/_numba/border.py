"""Virtual padding: rows of an image extended past its edges, gathered on demand.

A padded image is described by two index tables instead of a padded copy: padded row ``i`` is
row ``rows[i]`` of ``src`` and padded column ``j`` is column ``cols[j]``, where ``-1`` stands
for the constant ``cval``. The tables encode every border mode (reflect, mirror, nearest, wrap,
constant) for any padding width; they are built by the caller (``fastconv.image``), which also
guarantees ``cols[left + j] == j`` for every column ``j`` of ``src`` (the middle of a padded row
is a plain copy). Kernels here copy, nothing else; the convolution itself is
``fastconv._numba.direct`` or ``fastconv._numba.separable``.
"""

from __future__ import annotations

from numba import uint64 as u8

from ._config import inline, serial
from .direct import correlate_rows


@inline
def gather_row(src, r, cols, left, cval, dst, d0):
    """``dst[d0 : d0 + len(cols)]`` = padded row whose source row is ``r`` (``-1``: all cval)."""
    Wp = cols.shape[0]
    if r < 0:
        for j in range(Wp):
            dst[d0 + u8(j)] = cval
        return
    W = src.shape[1]
    for j in range(left):
        c = cols[j]
        dst[d0 + u8(j)] = src[r, c] if c >= 0 else cval
    base = d0 + u8(left)
    for j in range(W):
        dst[base + u8(j)] = src[r, j]
    for j in range(left + W, Wp):
        c = cols[j]
        dst[d0 + u8(j)] = src[r, c] if c >= 0 else cval


@serial
def gather_rows(src, rows, cols, left, cval, i0, i1, dst):
    """Padded rows ``[i0, i1)`` into the flat buffer ``dst``, one after another."""
    Wp = cols.shape[0]
    for i in range(i0, i1):
        gather_row(src, rows[i], cols, left, cval, dst, u8((i - i0) * Wp))


@serial
def direct_plane(src, rows, cols, left, cval, w, out, sh, sw, r0, r1, buf):
    """Output rows ``[r0, r1)`` of ``out`` = the padded ``src`` correlated with ``w`` (2-D).

    Works in strips: the padded input rows of a strip of output rows are gathered into ``buf``
    (flat, at least ``(KH - 1 + sh) * len(cols)`` long), then ``correlate_rows`` runs on the
    strip as a valid, zero-padding-free problem. ``out`` is a C-contiguous 2-D array.
    """
    KH = w.shape[0]
    KW = w.shape[1]
    Wp = cols.shape[0]
    OW = out.shape[1]
    capacity = buf.shape[0] // Wp  # padded rows the buffer holds
    strip = max(1, (capacity - KH) // sh + 1)  # output rows per strip
    w5 = w.reshape((1, 1, 1, KH, KW))
    of = out.reshape(-1)
    for s0 in range(r0, r1, strip):
        s1 = min(r1, s0 + strip)
        n_in = (s1 - 1 - s0) * sh + KH
        gather_rows(src, rows, cols, left, cval, s0 * sh, s0 * sh + n_in, buf)
        x5 = buf[: n_in * Wp].reshape((1, 1, 1, n_in, Wp))
        o5 = of[s0 * OW : s1 * OW].reshape((1, 1, 1, s1 - s0, OW))
        correlate_rows(x5, w5, o5, (1, sh, sw), (1, 1, 1), (0, 0, 0), 1, 0, s1 - s0)
