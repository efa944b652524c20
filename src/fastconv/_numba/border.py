"""2-D correlation of a plane extended past its edges by index tables: borders, no padded copy.

The extended plane is described by two tables instead of a padded copy (built by
``fastconv._border.border_index``): extended row ``e`` is row ``rows[e]`` of ``x``, extended
column ``e`` is column ``cols[e]``, and ``-1`` stands for the constant ``fill``. The tables
encode every border rule of ``filter_image`` (ndimage's reflect, mirror, nearest, wrap,
constant) and of ``correlate2d``/``convolve2d`` (SciPy's symm, wrap, fill: the same rules) for
any width; ``cols[pw + j] == j`` for every column ``j`` of ``x`` (``pw`` columns come first).
Output ``(i, j)`` is::

    out[i, j] = sum_{a, t} w[a, t] * xe[i*sh + a*dh, j*sw + t*dw]

One correlation loop, :func:`correlate_mapped_rows`, does the arithmetic for every caller. With
unit steps and a 3×3 or 5×5 kernel it runs the register tiles of ``fastconv._numba.direct``
(several output rows per pass) on the rows that read no fill row; otherwise: kernel
rows in blocks of three, whose rows are picked through ``rows`` (a fill row adds ``fill`` times
the sum of its kernel row); along an output row, blocks of three taps over the columns that read
``x`` directly, vectorised; the first full 3×3 block *stores* instead of adding (no zeroing
pass), two output rows at a time where the stride is 1 (their two shared input rows loaded
once). The few output columns near the left and right edges are finished as *column bands*:
the band's extended pixels gathered transposed and correlated along the long axis by the same
loop (:func:`correlate_plane`). Planes that are not C-contiguous (an interleaved colour channel) are
gathered strip by strip instead (:func:`correlate_strided_plane`). The gathers also serve the
separable kernels (:func:`gather_row`). Rows are independent: callers split ``[r0, r1)``
across threads. Everything here is arithmetic; tables, buffers and choices come from
``fastconv._border``.
"""

from __future__ import annotations

import numpy as np
from numba import uint64 as u8

from ._config import inline, serial
from ._ranges import column_ranges
from .direct import _taps9, _taps_row, block_ranges, tile, tile_rows, tiled

# --------------------------------------------------------------------------------- gathers


@inline
def gather_row(src, r, cols, left, cval, dst, d0):
    """``dst[d0 : d0 + len(cols)]`` = extended row whose source row is ``r`` (``-1``: all cval)."""
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
    """Extended rows ``[i0, i1)`` into the flat buffer ``dst``, one after another."""
    Wp = cols.shape[0]
    for i in range(i0, i1):
        gather_row(src, rows[i], cols, left, cval, dst, u8((i - i0) * Wp))


@serial
def gather_block_transposed(src, rows, cols, cval, i0, i1, c0, c1, dst):
    """Extended rows ``[i0, i1)`` × columns ``[c0, c1)``, transposed, into the flat ``dst``:
    ``dst[(c - c0) * (i1 - i0) + (i - i0)]`` is extended pixel ``(i, c)``."""
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


# ------------------------------------------------------------------------ the one loop


@inline
def _set9(of, ob, n, xf, b0, b1, b2, dw, w, sw):
    """``of[ob + j] =`` a full 3×3 block (``_taps9`` storing instead of adding: the first block
    of a row needs no zeroed row to add to, which saves a load and a store per output)."""
    d1 = u8(dw)
    d2 = u8(2 * dw)
    w0, w1, w2, w3, w4, w5, w6, w7, w8 = w
    if sw == 1:
        for j in range(n):
            k = u8(j)
            of[ob + k] = (
                w0 * xf[b0 + k] + w1 * xf[b0 + d1 + k] + w2 * xf[b0 + d2 + k]
                + w3 * xf[b1 + k] + w4 * xf[b1 + d1 + k] + w5 * xf[b1 + d2 + k]
                + w6 * xf[b2 + k] + w7 * xf[b2 + d1 + k] + w8 * xf[b2 + d2 + k]
            )  # fmt: skip
    else:
        for j in range(n):
            k = u8(j * sw)
            of[ob + u8(j)] = (
                w0 * xf[b0 + k] + w1 * xf[b0 + d1 + k] + w2 * xf[b0 + d2 + k]
                + w3 * xf[b1 + k] + w4 * xf[b1 + d1 + k] + w5 * xf[b1 + d2 + k]
                + w6 * xf[b2 + k] + w7 * xf[b2 + d1 + k] + w8 * xf[b2 + d2 + k]
            )  # fmt: skip


@inline
def _set9x2(of, oa, ob, n, xf, b0, b1, b2, b3, w):
    """Two output rows at once, unit stride and dilation: the row at ``of[oa:]`` reads input
    rows ``b0, b1, b2``, the row at ``of[ob:]`` rows ``b1, b2, b3``, so the two middle rows are
    loaded once for both (12 loads per column instead of 18)."""
    w0, w1, w2, w3, w4, w5, w6, w7, w8 = w
    for j in range(n):
        k = u8(j)
        x10 = xf[b1 + k]
        x11 = xf[b1 + k + u8(1)]
        x12 = xf[b1 + k + u8(2)]
        x20 = xf[b2 + k]
        x21 = xf[b2 + k + u8(1)]
        x22 = xf[b2 + k + u8(2)]
        of[oa + k] = (
            w0 * xf[b0 + k] + w1 * xf[b0 + k + u8(1)] + w2 * xf[b0 + k + u8(2)]
            + w3 * x10 + w4 * x11 + w5 * x12 + w6 * x20 + w7 * x21 + w8 * x22
        )  # fmt: skip
        of[ob + k] = (
            w0 * x10 + w1 * x11 + w2 * x12 + w3 * x20 + w4 * x21 + w5 * x22
            + w6 * xf[b3 + k] + w7 * xf[b3 + k + u8(1)] + w8 * xf[b3 + k + u8(2)]
        )  # fmt: skip


@inline
def _reads_x(rows, i, KH):
    """Whether extended rows ``i .. i + KH - 1`` are all rows of ``x`` (no fill row)."""
    for a in range(KH):
        if rows[i + a] < 0:
            return False
    return True


@serial
def correlate_mapped_rows(x, w, out, rows, fill, sh, sw, dh, dw, pw, r0, r1):
    """Output rows ``[r0, r1)`` of ``out`` (module docstring), rows read through ``rows``;
    ``x``, ``w``, ``out`` are C-contiguous 2-D arrays. Only the output columns whose taps all
    read inside ``x`` are finished (all of them where ``pw == 0`` and ``x`` is wide enough);
    the others are left for :func:`_column_band`.

    Unit steps with a 3×3 or 5×5 kernel go by the register tiles of ``fastconv._numba.direct``
    (several output rows per pass, rows picked through ``rows``); rows that read a fill row,
    and every other geometry, by :func:`_mapped_rows`.
    """
    KH, KW = w.shape
    if not tiled(KH, KW, sh, sw, dh, dw):
        _mapped_rows(x, w, out, rows, fill, sh, sw, dh, dw, pw, r0, r1)
        return
    W = x.shape[1]
    OW = out.shape[1]
    lo = min(pw, OW)  # the columns whose taps all read inside x
    hi = max(lo, min(OW, W - KW + 1 + pw))
    R = tile_rows(KH)
    xb = np.empty(R + KH - 1, dtype=np.int64)
    xf = x.reshape(-1)
    wf = w.reshape(-1)
    of = out.reshape(-1)
    i = r0
    while i < r1:
        nr = 0  # rows from i on (up to R) that read no fill row
        while nr < R and i + nr < r1 and _reads_x(rows, i + nr, KH):
            nr += 1
        if nr == 0:
            _mapped_rows(x, w, out, rows, fill, sh, sw, dh, dw, pw, i, i + 1)
            i += 1
            continue
        full = nr == R
        if not full:
            nr = 1
        for a in range(nr + KH - 1):
            xb[a] = rows[i + a] * W + lo - pw
        for r in range(i, i + nr):  # the band columns, defined until the bands overwrite them
            for j in range(lo):
                of[u8(r * OW + j)] = 0
            for j in range(hi, OW):
                of[u8(r * OW + j)] = 0
        tile(of, u8(i * OW + lo), OW, hi - lo, xf, xb, wf, 0, KH, False, full)
        i += nr


@serial
def _mapped_rows(x, w, out, rows, fill, sh, sw, dh, dw, pw, r0, r1):
    """:func:`correlate_mapped_rows` for any geometry: blocks of 3×3 taps along whole rows."""
    W = x.shape[1]
    KH, KW = w.shape
    OW = out.shape[1]
    ranges = column_ranges(W, OW, KW, sw, dw, pw)
    blocks = block_ranges(ranges)
    xf = x.reshape(-1)
    wf = w.reshape(-1)
    of = out.reshape(-1)
    row_sums = np.zeros(KH, dtype=out.dtype)  # a fill row adds fill * the sum of a kernel row
    for a in range(KH):
        s = row_sums[a]
        for t in range(KW):
            s += wf[a * KW + t]
        row_sums[a] = s
    pair = KH >= 3 and KW >= 3 and sh == 1 and dh == 1 and sw == 1 and dw == 1
    paired = -1  # a row whose first block the previous row's pair already stored
    for i in range(r0, r1):
        ob = u8(i * OW)
        # the first 3x3 block, where all its rows are inside x, initialises the row
        first = KH >= 3 and KW >= 3 and blocks[0, 1] > blocks[0, 0]
        if first:
            first = rows[i * sh] >= 0 and rows[i * sh + dh] >= 0 and rows[i * sh + 2 * dh] >= 0
        if first and paired != i:
            lo = blocks[0, 0]
            hi = blocks[0, 1]
            c0 = lo * sw - pw
            weights = (
                wf[0], wf[1], wf[2],
                wf[KW], wf[KW + 1], wf[KW + 2],
                wf[2 * KW], wf[2 * KW + 1], wf[2 * KW + 2],
            )  # fmt: skip
            # the next row too, when its first block is also inside x
            two = pair and i + 1 < r1 and rows[i + 3] >= 0
            for j in range(lo):
                of[ob + u8(j)] = 0
            for j in range(hi, OW):
                of[ob + u8(j)] = 0
            if two:
                ob2 = ob + u8(OW)
                for j in range(lo):
                    of[ob2 + u8(j)] = 0
                for j in range(hi, OW):
                    of[ob2 + u8(j)] = 0
                _set9x2(of, ob + u8(lo), ob2 + u8(lo), hi - lo, xf, u8(rows[i] * W + c0),
                        u8(rows[i + 1] * W + c0), u8(rows[i + 2] * W + c0),
                        u8(rows[i + 3] * W + c0), weights)  # fmt: skip
                paired = i + 1
            else:
                _set9(of, ob + u8(lo), hi - lo, xf, u8(rows[i * sh] * W + c0),
                      u8(rows[i * sh + dh] * W + c0), u8(rows[i * sh + 2 * dh] * W + c0), dw,
                      weights, sw)  # fmt: skip
        elif not first:
            for j in range(OW):
                of[ob + u8(j)] = 0
        for kh0 in range(0, KH, 3):
            nh = min(3, KH - kh0)
            m0 = rows[i * sh + kh0 * dh]
            m1 = rows[i * sh + (kh0 + 1) * dh] if nh > 1 else -1
            m2 = rows[i * sh + (kh0 + 2) * dh] if nh > 2 else -1
            for a in range(nh):
                m = m0 if a == 0 else (m1 if a == 1 else m2)
                if m < 0:
                    add = fill * row_sums[kh0 + a]
                    for j in range(OW):
                        of[ob + u8(j)] += add
            for kw0 in range(0, KW, 3):
                nw = min(3, KW - kw0)
                lo = blocks[kw0 // 3, 0]
                hi = blocks[kw0 // 3, 1]
                c0 = lo * sw + kw0 * dw - pw  # column of the block's first tap at output lo
                if hi > lo and not (first and kh0 == 0 and kw0 == 0):
                    if nh == 3 and nw == 3 and m0 >= 0 and m1 >= 0 and m2 >= 0:
                        r0w = kh0 * KW + kw0
                        r1w = r0w + KW
                        r2w = r1w + KW
                        weights = (
                            wf[r0w], wf[r0w + 1], wf[r0w + 2],
                            wf[r1w], wf[r1w + 1], wf[r1w + 2],
                            wf[r2w], wf[r2w + 1], wf[r2w + 2],
                        )  # fmt: skip
                        _taps9(of, ob + u8(lo), hi - lo, xf, u8(m0 * W + c0), u8(m1 * W + c0),
                               u8(m2 * W + c0), dw, weights, sw)  # fmt: skip
                    else:
                        for a in range(nh):
                            m = m0 if a == 0 else (m1 if a == 1 else m2)
                            if m >= 0:
                                wr = (kh0 + a) * KW + kw0
                                w0 = wf[wr]
                                w1 = wf[wr + 1] if nw > 1 else w0
                                w2 = wf[wr + 2] if nw > 2 else w0
                                _taps_row(of, ob + u8(lo), hi - lo, xf, u8(m * W + c0), dw, nw,
                                          w0, w1, w2, sw)  # fmt: skip


# ---------------------------------------------------------------------- whole planes


@serial
def interior(size, span, s, pad, n_out):
    """Output positions ``[a, b)`` whose window (``span`` extended positions) lies inside the
    input along one axis."""
    a = min(n_out, (pad + s - 1) // s)
    last = size - span + pad  # window start (extended) of the last position still inside
    b = min(n_out, last // s + 1) if last >= 0 else 0
    return a, max(a, b)


@serial
def _column_band(x, rows, cols, fill, wt, out, sh, sw, dh, dw, i0, i1, j0, j1, ident, buf):
    """Output columns ``[j0, j1)`` of output rows ``[i0, i1)``, near a left or right edge.

    The band is narrow and tall, so it is computed transposed: its extended pixels are
    gathered column by column (:func:`gather_block_transposed`) and correlated with the
    transposed kernel ``wt`` through identity tables (``ident``), so that the loop runs along
    the long axis.
    """
    KW, KH = wt.shape
    span_h = (KH - 1) * dh + 1
    n_cols = j1 - j0
    width = (n_cols - 1) * sw + (KW - 1) * dw + 1  # extended columns the band reads
    # output rows per block: width * ((s - 1) * sh + span_h) inputs and n_cols * s outputs fit
    strip = max(1, (buf.shape[0] - width * (span_h - sh)) // (width * sh + n_cols))
    for s0 in range(i0, i1, strip):
        s1 = min(i1, s0 + strip)
        n_out = s1 - s0
        n_in = (n_out - 1) * sh + span_h
        gather_block_transposed(x, rows, cols, fill, s0 * sh, s0 * sh + n_in, j0 * sw,
                                j0 * sw + width, buf)  # fmt: skip
        xt = buf[: width * n_in].reshape((width, n_in))
        tmp = buf[width * n_in : width * n_in + n_cols * n_out].reshape((n_cols, n_out))
        correlate_mapped_rows(xt, wt, tmp, ident, fill, sw, sh, dw, dh, 0, 0, n_cols)
        for j in range(n_cols):
            for i in range(n_out):
                out[s0 + i, j0 + j] = tmp[j, i]


@serial
def correlate_plane(x, w, wt, out, rows, cols, fill, sh, sw, dh, dw, pw, r0, r1, ident, buf):
    """Output rows ``[r0, r1)`` of a C-contiguous plane ``x`` read in place through the tables.

    The rows through ``rows`` (:func:`correlate_mapped_rows`), then the output columns near the
    left and right edges as transposed column bands (``wt`` is the transposed kernel, ``buf``
    the gather buffer, ``ident`` an identity table as long as the longer table).
    """
    correlate_mapped_rows(x, w, out, rows, fill, sh, sw, dh, dw, pw, r0, r1)
    if r1 <= r0:
        return
    OW = out.shape[1]
    ja, jb = interior(x.shape[1], (w.shape[1] - 1) * dw + 1, sw, pw, OW)
    if ja > 0:
        _column_band(x, rows, cols, fill, wt, out, sh, sw, dh, dw, r0, r1, 0, ja, ident, buf)
    if jb < OW:
        _column_band(x, rows, cols, fill, wt, out, sh, sw, dh, dw, r0, r1, max(jb, ja), OW,
                     ident, buf)  # fmt: skip


@serial
def correlate_strided_plane(x, w, out, rows, cols, fill, sh, sw, dh, dw, pw, r0, r1, ident,
                            buf):  # fmt: skip
    """:func:`correlate_plane` for a plane of any layout: the extended rows of a strip of
    output rows are gathered into ``buf`` (flat, at least ``(span_h - 1 + sh) * len(cols)``
    long), then correlated there as a problem without borders."""
    KH = w.shape[0]
    span_h = (KH - 1) * dh + 1
    Wp = cols.shape[0]
    OW = out.shape[1]
    capacity = buf.shape[0] // Wp  # extended rows the buffer holds
    strip = max(1, (capacity - span_h) // sh + 1)  # output rows per strip
    of = out.reshape(-1)
    for s0 in range(r0, r1, strip):
        s1 = min(r1, s0 + strip)
        n_in = (s1 - 1 - s0) * sh + span_h
        gather_rows(x, rows, cols, pw, fill, s0 * sh, s0 * sh + n_in, buf)
        xs = buf[: n_in * Wp].reshape((n_in, Wp))
        os = of[s0 * OW : s1 * OW].reshape((s1 - s0, OW))
        correlate_mapped_rows(xs, w, os, ident, fill, sh, sw, dh, dw, 0, 0, s1 - s0)
