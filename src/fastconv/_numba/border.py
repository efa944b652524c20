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


@serial
def gather_block_transposed(src, rows, cols, cval, i0, i1, c0, c1, dst):
    """Padded rows ``[i0, i1)`` × columns ``[c0, c1)``, transposed, into the flat ``dst``:
    ``dst[(c - c0) * (i1 - i0) + (i - i0)]`` is padded pixel ``(i, c)``."""
    n = i1 - i0
    for c in range(c0, c1):
        col = cols[c]
        base = u8((c - c0) * n)
        if col < 0:
            for i in range(n):
                dst[base + u8(i)] = cval
            continue
        for i in range(n):
            r = rows[i0 + i]
            dst[base + u8(i)] = src[r, col] if r >= 0 else cval


@serial
def _column_band(src, rows, cols, cval, wt, out, sh, sw, i0, i1, j0, j1, buf):
    """Output columns ``[j0, j1)`` of output rows ``[i0, i1)`` near a left or right edge.

    The band is narrow and tall, so it is computed transposed: its padded pixels are gathered
    column by column (``gather_block_transposed``) and correlated with the transposed kernel
    ``wt``, so that ``correlate_rows`` runs along the long axis.
    """
    KW = wt.shape[0]
    KH = wt.shape[1]
    n_cols = j1 - j0
    width = (n_cols - 1) * sw + KW  # padded columns the band reads
    # output rows per block: width * ((s - 1) * sh + KH) inputs and n_cols * s outputs fit
    strip = max(1, (buf.shape[0] - width * (KH - sh)) // (width * sh + n_cols))
    w5 = wt.reshape((1, 1, 1, KW, KH))
    for s0 in range(i0, i1, strip):
        s1 = min(i1, s0 + strip)
        n_out = s1 - s0
        n_in = (n_out - 1) * sh + KH
        gather_block_transposed(src, rows, cols, cval, s0 * sh, s0 * sh + n_in, j0 * sw,
                                j0 * sw + width, buf)  # fmt: skip
        x5 = buf[: width * n_in].reshape((1, 1, 1, width, n_in))
        tmp = buf[width * n_in : width * n_in + n_cols * n_out]
        o5 = tmp.reshape((1, 1, 1, n_cols, n_out))
        correlate_rows(x5, w5, o5, (1, sw, sh), (1, 1, 1), (0, 0, 0), 1, 0, n_cols)
        for j in range(n_cols):
            for i in range(n_out):
                out[s0 + i, j0 + j] = tmp[j * n_out + i]


def _interior(size, k, s, pad, n_out):
    """Output positions ``[a, b)`` whose window lies inside the input along one axis."""
    a = min(n_out, (pad + s - 1) // s)
    last = size - k + pad  # window start (padded) of the last position still inside
    b = min(n_out, last // s + 1) if last >= 0 else 0
    return a, max(a, b)


_interior_jit = serial(_interior)


@serial
def direct_plane_inplace(src, rows, cols, pt, pl, cval, zero_border, w, wt, out, sh, sw, r0,
                         r1, buf):  # fmt: skip
    """:func:`direct_plane` for a C-contiguous ``src``, without copying its interior.

    Output rows whose windows stay inside ``src`` vertically are computed on ``src`` itself
    with the columns outside it read as zeros (``correlate_rows``'s implicit padding); then
    the few output columns near the left and right edges are recomputed from gathered
    blocks (``wt`` is the transposed kernel, see :func:`_column_band`), and the top and bottom
    rows run through :func:`direct_plane`. With ``zero_border`` (constant 0) the implicit
    padding is already right everywhere.
    """
    H = src.shape[0]
    W = src.shape[1]
    KH = w.shape[0]
    KW = w.shape[1]
    OH = out.shape[0]
    OW = out.shape[1]
    x5 = src.reshape((1, 1, 1, H, W))
    o5 = out.reshape((1, 1, 1, OH, OW))
    w5 = w.reshape((1, 1, 1, KH, KW))
    if zero_border:
        correlate_rows(x5, w5, o5, (1, sh, sw), (1, 1, 1), (0, pt, pl), 1, r0, r1)
        return
    ia, ib = _interior_jit(H, KH, sh, pt, OH)
    ia = min(max(ia, r0), r1)
    ib = min(max(ib, ia), r1)
    ja, jb = _interior_jit(W, KW, sw, pl, OW)
    direct_plane(src, rows, cols, pl, cval, w, out, sh, sw, r0, ia, buf)
    direct_plane(src, rows, cols, pl, cval, w, out, sh, sw, ib, r1, buf)
    if ib > ia:
        correlate_rows(x5, w5, o5, (1, sh, sw), (1, 1, 1), (0, pt, pl), 1, ia, ib)
        if ja > 0:
            _column_band(src, rows, cols, cval, wt, out, sh, sw, ia, ib, 0, ja, buf)
        if jb < OW:
            _column_band(src, rows, cols, cval, wt, out, sh, sw, ia, ib, max(jb, ja), OW, buf)
