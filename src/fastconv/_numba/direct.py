"""Direct convolution: accumulate whole output rows, a block of kernel taps at a time.

Canonical operands (see ``fastconv.algorithms``): ``x`` is ``(N, C, D, H, W)``, ``w`` is
``(O, C/groups, KD, KH, KW)`` and ``out`` is ``(N, O, OD, OH, OW)`` (overwritten); 1-D and
2-D problems arrive with leading spatial axes of size 1. Zero padding is implicit: ``pad_lo``
shifts the window and taps that fall outside ``x`` are skipped, so no padded copy is made.

Rows are independent, so the caller splits them across threads (``fastconv._threads``).
Loop order decides the speed. For each output row the kernel is cut into blocks of 3×3 taps
(3 taps per kernel row where the block is not full); one loop along the output row adds a whole
block, so the row is loaded and stored once per block instead of once per tap, and LLVM turns
the loop into FMA vector code. Columns where some tap of a block would read outside the input
(the ragged edges of zero padding) are finished tap by tap.

Unit stride and dilation with a 3×3 or 5×5 kernel, the common filters, go by *register
tiles* instead (:func:`tile`, below): several output rows per pass along the row, every tap
unrolled, each output summed in a vector register and stored once; the border path
(``fastconv._numba.border``) runs the same tiles with its rows picked through index tables.

Two details keep the inner loops vectorisable: no array views are made per row (each view costs
atomic reference counting, slicing weights included), and flat indices are unsigned
(``uint64``), which spares them Numba's negative-index wraparound check.
"""

from __future__ import annotations

import numpy as np
from numba import uint64 as u8

from ._config import inline, serial
from ._ranges import column_ranges


@serial
def block_ranges(cols):
    """For each block of 3 taps ``kw0 = 3*i``: the columns ``[lo, hi)`` where all of its taps
    read inside ``x``, and whether any tap reaches beyond them (ragged edges to finish)."""
    KW = cols.shape[0]
    n_blocks = (KW + 2) // 3
    blocks = np.empty((n_blocks, 3), dtype=np.int64)
    for i in range(n_blocks):
        kw0 = 3 * i
        lo = 0
        hi = 1 << 62
        for kw in range(kw0, min(kw0 + 3, KW)):
            lo = max(lo, cols[kw, 0])
            hi = min(hi, cols[kw, 1])
        hi = max(hi, lo)
        ragged = 0
        for kw in range(kw0, min(kw0 + 3, KW)):
            if cols[kw, 0] < lo or cols[kw, 1] > hi:
                ragged = 1
        blocks[i, 0] = lo
        blocks[i, 1] = hi
        blocks[i, 2] = ragged
    return blocks


@inline
def _taps9(of, ob, n, xf, b0, b1, b2, dw, w, sw):
    """``of[ob + j] += sum`` over a full 3×3 block; rows start at ``b0, b1, b2`` in ``xf``.

    ``w`` holds the nine weights row by row; taps in a row are ``dw`` apart, outputs ``sw``.
    """
    d1 = u8(dw)
    d2 = u8(2 * dw)
    w0, w1, w2, w3, w4, w5, w6, w7, w8 = w
    if sw == 1:  # unit stride spelled out: LLVM vectorises it with plain vector loads
        for j in range(n):
            k = u8(j)
            of[ob + k] += (
                w0 * xf[b0 + k] + w1 * xf[b0 + d1 + k] + w2 * xf[b0 + d2 + k]
                + w3 * xf[b1 + k] + w4 * xf[b1 + d1 + k] + w5 * xf[b1 + d2 + k]
                + w6 * xf[b2 + k] + w7 * xf[b2 + d1 + k] + w8 * xf[b2 + d2 + k]
            )  # fmt: skip
    else:
        for j in range(n):
            k = u8(j * sw)
            of[ob + u8(j)] += (
                w0 * xf[b0 + k] + w1 * xf[b0 + d1 + k] + w2 * xf[b0 + d2 + k]
                + w3 * xf[b1 + k] + w4 * xf[b1 + d1 + k] + w5 * xf[b1 + d2 + k]
                + w6 * xf[b2 + k] + w7 * xf[b2 + d1 + k] + w8 * xf[b2 + d2 + k]
            )  # fmt: skip


@inline
def _taps_row(of, ob, n, xf, b, dw, nw, w0, w1, w2, sw):
    """``of[ob + j] +=`` the first ``nw`` (1–3) taps of one kernel row starting at ``b``."""
    d1 = u8(dw)
    d2 = u8(2 * dw)
    if sw == 1:  # unit stride spelled out: LLVM vectorises it with plain vector loads
        if nw == 3:
            for j in range(n):
                k = u8(j)
                of[ob + k] += w0 * xf[b + k] + w1 * xf[b + d1 + k] + w2 * xf[b + d2 + k]
        elif nw == 2:
            for j in range(n):
                k = u8(j)
                of[ob + k] += w0 * xf[b + k] + w1 * xf[b + d1 + k]
        else:
            for j in range(n):
                k = u8(j)
                of[ob + k] += w0 * xf[b + k]
    elif nw == 3:
        for j in range(n):
            k = u8(j * sw)
            of[ob + u8(j)] += w0 * xf[b + k] + w1 * xf[b + d1 + k] + w2 * xf[b + d2 + k]
    elif nw == 2:
        for j in range(n):
            k = u8(j * sw)
            of[ob + u8(j)] += w0 * xf[b + k] + w1 * xf[b + d1 + k]
    else:
        for j in range(n):
            of[ob + u8(j)] += w0 * xf[b + u8(j * sw)]


@inline
def _block(of, ob, xf, xb, wf, wb, KH, KW, oh, kh0, kw0, H, W, sh, sw, dh, dw, ph, pw, cols,
           blocks):  # fmt: skip
    """Add the taps ``kh0..kh0+2`` × ``kw0..kw0+2`` that exist to the output row at ``ob``.

    ``xb`` is the flat index of ``x[n, c, i_d, 0, 0]``, ``wb`` that of ``w[o, cg, kd, 0, 0]``.
    """
    nh = min(3, KH - kh0)
    nw = min(3, KW - kw0)
    lo = blocks[kw0 // 3, 0]
    hi = blocks[kw0 // 3, 1]
    i0 = oh * sh + kh0 * dh - ph
    c0 = lo * sw + kw0 * dw - pw  # input column of the block's first tap at output column lo
    if hi > lo:
        if nh == 3 and nw == 3 and i0 >= 0 and i0 + 2 * dh < H:
            r0 = wb + kh0 * KW + kw0  # first weight of each of the block's three rows
            r1 = r0 + KW
            r2 = r1 + KW
            weights = (
                wf[r0], wf[r0 + 1], wf[r0 + 2],
                wf[r1], wf[r1 + 1], wf[r1 + 2],
                wf[r2], wf[r2 + 1], wf[r2 + 2],
            )  # fmt: skip
            b0 = u8(xb + i0 * W + c0)
            _taps9(of, ob + u8(lo), hi - lo, xf, b0, b0 + u8(dh * W), b0 + u8(2 * dh * W),
                   dw, weights, sw)  # fmt: skip
        else:
            for a in range(nh):
                i_h = i0 + a * dh
                if 0 <= i_h < H:
                    w0 = wf[wb + (kh0 + a) * KW + kw0]
                    w1 = wf[wb + (kh0 + a) * KW + kw0 + 1] if nw > 1 else w0
                    w2 = wf[wb + (kh0 + a) * KW + kw0 + 2] if nw > 2 else w0
                    _taps_row(of, ob + u8(lo), hi - lo, xf, u8(xb + i_h * W + c0), dw, nw,
                              w0, w1, w2, sw)  # fmt: skip
    if blocks[kw0 // 3, 2]:
        # ragged edges: columns outside [lo, hi) where a tap still reads inside the input
        for a in range(nh):
            i_h = i0 + a * dh
            if i_h < 0 or i_h >= H:
                continue
            rb = xb + i_h * W
            for t in range(nw):
                kw = kw0 + t
                wv = wf[wb + (kh0 + a) * KW + kw]
                off = rb + kw * dw - pw
                for j in range(cols[kw, 0], min(lo, cols[kw, 1])):
                    of[ob + u8(j)] += wv * xf[u8(j * sw + off)]
                for j in range(max(hi, cols[kw, 0]), cols[kw, 1]):
                    of[ob + u8(j)] += wv * xf[u8(j * sw + off)]


@inline
def _row(xf, wf, of, n, o, od, oh, ob, shape, stride, dilation, pad_lo, groups, cols, blocks):
    """Output row ``(n, o, od, oh)``, starting at flat index ``ob`` of ``out``, from scratch."""
    C, D, H, W, OW, n_out, Cg, KD, KH, KW = shape
    sd, sh, sw = stride
    dd, dh, dw = dilation
    pd, ph, pw = pad_lo
    c0 = (o // (n_out // groups)) * Cg
    for j in range(OW):
        of[ob + u8(j)] = 0
    for cg in range(Cg):
        for kd in range(KD):
            i_d = od * sd + kd * dd - pd
            if i_d < 0 or i_d >= D:
                continue
            xb = ((n * C + c0 + cg) * D + i_d) * H * W
            wb = ((o * Cg + cg) * KD + kd) * KH * KW
            for kh0 in range(0, KH, 3):
                for kw0 in range(0, KW, 3):
                    _block(of, ob, xf, xb, wf, wb, KH, KW, oh, kh0, kw0, H, W,
                           sh, sw, dh, dw, ph, pw, cols, blocks)  # fmt: skip


@serial
def correlate_rows(x, w, out, stride, dilation, pad_lo, groups, r0, r1):
    """Direct correlation of the flat output rows ``[r0, r1)`` (over N, O, OD, OH).

    Serial and GIL-free: fastconv's thread pool runs disjoint row ranges concurrently.
    """
    _, C, D, H, W = x.shape
    _, n_out, OD, OH, OW = out.shape
    cols = column_ranges(W, OW, w.shape[4], stride[2], dilation[2], pad_lo[2])
    blocks = block_ranges(cols)
    xf = x.reshape(-1)
    wf = w.reshape(-1)
    of = out.reshape(-1)
    if (
        D == 1
        and OD == 1
        and w.shape[2] == 1
        and pad_lo[0] == 0
        and tiled(w.shape[3], w.shape[4], stride[1], stride[2], dilation[1], dilation[2])
    ):
        _tiled_rows(xf, wf, of, x.shape, w.shape, out.shape, pad_lo, groups, cols, blocks, r0,
                    r1)  # fmt: skip
        return
    shape = (C, D, H, W, OW, *w.shape[:5])
    # the row index is decoded once, then counted up (divisions per row cost as much as a row)
    oh = r0 % OH
    t = r0 // OH
    od = t % OD
    t //= OD
    o = t % n_out
    n = t // n_out
    for r in range(r0, r1):
        _row(xf, wf, of, n, o, od, oh, u8(r * OW), shape, stride, dilation, pad_lo, groups, cols,
             blocks)  # fmt: skip
        oh += 1
        if oh == OH:
            oh = 0
            od += 1
            if od == OD:
                od = 0
                o += 1
                if o == n_out:
                    o = 0
                    n += 1


# ------------------------------------------------------------------ register-blocked tiles
#
# Unit stride and dilation with a 3×3 or 5×5 kernel (the common filters) take a specialised
# path: four output rows at a time, all taps unrolled, each output computed in a register and
# stored once. Each input row loaded in the column loop feeds every output row of the tile that
# reads it, so 3×3 needs 18 loads for 36 multiply-adds and 5×5 40 loads for 100 (the generic
# row loop: one load per multiply-add plus a load and a store of the output row per 3×3 block).
# A single-row variant finishes tiles cut short; it evaluates each output by the same
# expression, so a row's value does not depend on the tile it falls in.

#: output rows per register tile, by kernel size: as many as LLVM still vectorises (its runtime
#: alias checks between the output rows and the input rows' taps grow as rows x taps; past 128
#: checks it gives up, which 5×5 with four rows exceeds)
TILE_ROWS_3 = 4
TILE_ROWS_5 = 3


@inline
def _d3(xf, b, w):
    return w[0] * xf[b] + w[1] * xf[b + u8(1)] + w[2] * xf[b + u8(2)]


@inline
def _d5(xf, b, w):
    return (
        w[0] * xf[b] + w[1] * xf[b + u8(1)] + w[2] * xf[b + u8(2)] + w[3] * xf[b + u8(3)]
        + w[4] * xf[b + u8(4)]
    )  # fmt: skip


@inline
def _w3(wf, wb):
    return (wf[wb], wf[wb + 1], wf[wb + 2])


@inline
def _w5(wf, wb):
    return (wf[wb], wf[wb + 1], wf[wb + 2], wf[wb + 3], wf[wb + 4])


@inline
def _tile3(of, ob, os, n, xf, xb, wf, wb, add, full):
    """Output rows ``of[ob + r*os + j]``, ``j < n``, from input rows starting at ``xb[r + a]``
    (``r < 4`` if ``full`` else ``r == 0``) and the 3×3 kernel at ``wf[wb:]``; ``add`` adds
    to what the rows hold instead of storing."""
    wa, wb_, wc = _w3(wf, wb), _w3(wf, wb + 3), _w3(wf, wb + 6)
    x0, x1, x2 = u8(xb[0]), u8(xb[1]), u8(xb[2])
    o1 = ob + u8(os)
    o2 = o1 + u8(os)
    o3 = o2 + u8(os)
    if full:
        x3, x4, x5 = u8(xb[3]), u8(xb[4]), u8(xb[5])
        if add:
            for j in range(n):
                k = u8(j)
                s0 = _d3(xf, x0 + k, wa) + _d3(xf, x1 + k, wb_) + _d3(xf, x2 + k, wc)
                s1 = _d3(xf, x1 + k, wa) + _d3(xf, x2 + k, wb_) + _d3(xf, x3 + k, wc)
                s2 = _d3(xf, x2 + k, wa) + _d3(xf, x3 + k, wb_) + _d3(xf, x4 + k, wc)
                s3 = _d3(xf, x3 + k, wa) + _d3(xf, x4 + k, wb_) + _d3(xf, x5 + k, wc)
                of[ob + k] += s0
                of[o1 + k] += s1
                of[o2 + k] += s2
                of[o3 + k] += s3
        else:
            for j in range(n):
                k = u8(j)
                s0 = _d3(xf, x0 + k, wa) + _d3(xf, x1 + k, wb_) + _d3(xf, x2 + k, wc)
                s1 = _d3(xf, x1 + k, wa) + _d3(xf, x2 + k, wb_) + _d3(xf, x3 + k, wc)
                s2 = _d3(xf, x2 + k, wa) + _d3(xf, x3 + k, wb_) + _d3(xf, x4 + k, wc)
                s3 = _d3(xf, x3 + k, wa) + _d3(xf, x4 + k, wb_) + _d3(xf, x5 + k, wc)
                of[ob + k] = s0
                of[o1 + k] = s1
                of[o2 + k] = s2
                of[o3 + k] = s3
    elif add:
        for j in range(n):
            k = u8(j)
            of[ob + k] += _d3(xf, x0 + k, wa) + _d3(xf, x1 + k, wb_) + _d3(xf, x2 + k, wc)
    else:
        for j in range(n):
            k = u8(j)
            of[ob + k] = _d3(xf, x0 + k, wa) + _d3(xf, x1 + k, wb_) + _d3(xf, x2 + k, wc)


@inline
def _sum5(xf, k, x0, x1, x2, x3, x4, wa, wb, wc, wd, we):
    return (_d5(xf, x0 + k, wa) + _d5(xf, x1 + k, wb) + _d5(xf, x2 + k, wc)
            + _d5(xf, x3 + k, wd) + _d5(xf, x4 + k, we))  # fmt: skip


@inline
def _tile5(of, ob, os, n, xf, xb, wf, wb, add, full):
    """:func:`_tile3` for a 5×5 kernel: three rows (``r < 3``) if ``full``."""
    wa, wb_, wc = _w5(wf, wb), _w5(wf, wb + 5), _w5(wf, wb + 10)
    wd, we = _w5(wf, wb + 15), _w5(wf, wb + 20)
    x0, x1, x2, x3, x4 = u8(xb[0]), u8(xb[1]), u8(xb[2]), u8(xb[3]), u8(xb[4])
    o1 = ob + u8(os)
    o2 = o1 + u8(os)
    if full:
        x5, x6 = u8(xb[5]), u8(xb[6])
        if add:
            for j in range(n):
                k = u8(j)
                s0 = _sum5(xf, k, x0, x1, x2, x3, x4, wa, wb_, wc, wd, we)
                s1 = _sum5(xf, k, x1, x2, x3, x4, x5, wa, wb_, wc, wd, we)
                s2 = _sum5(xf, k, x2, x3, x4, x5, x6, wa, wb_, wc, wd, we)
                of[ob + k] += s0
                of[o1 + k] += s1
                of[o2 + k] += s2
        else:
            for j in range(n):
                k = u8(j)
                s0 = _sum5(xf, k, x0, x1, x2, x3, x4, wa, wb_, wc, wd, we)
                s1 = _sum5(xf, k, x1, x2, x3, x4, x5, wa, wb_, wc, wd, we)
                s2 = _sum5(xf, k, x2, x3, x4, x5, x6, wa, wb_, wc, wd, we)
                of[ob + k] = s0
                of[o1 + k] = s1
                of[o2 + k] = s2
    elif add:
        for j in range(n):
            k = u8(j)
            of[ob + k] += _sum5(xf, k, x0, x1, x2, x3, x4, wa, wb_, wc, wd, we)
    else:
        for j in range(n):
            k = u8(j)
            of[ob + k] = _sum5(xf, k, x0, x1, x2, x3, x4, wa, wb_, wc, wd, we)


@inline
def tile(of, ob, os, n, xf, xb, wf, wb, K, add, full):
    """One register tile: ``K`` (3 or 5) picks the kernel (see :func:`_tile3`)."""
    if K == 3:
        _tile3(of, ob, os, n, xf, xb, wf, wb, add, full)
    else:
        _tile5(of, ob, os, n, xf, xb, wf, wb, add, full)


@inline
def tile_rows(K):
    """Output rows of a full tile for a ``K``×``K`` kernel."""
    return TILE_ROWS_3 if K == 3 else TILE_ROWS_5


@inline
def tiled(KH, KW, sh, sw, dh, dw):
    """Whether the register tiles serve this geometry (unit steps, a 3×3 or 5×5 kernel)."""
    return KH == KW and (KH == 3 or KH == 5) and sh == 1 and sw == 1 and dh == 1 and dw == 1


@inline
def _edge_cols(of, ob, OW, nr, xf, xr, W, wf, wb, K, pw, j0, j1, add):
    """Output columns ``[j0, j1)`` of ``nr`` rows from ``ob`` (row stride ``OW``) near a left or
    right edge, tap by tap, skipping the taps in the zero padding; ``xr`` is the flat index of
    the first input row's column 0 (rows ``W`` apart)."""
    for r in range(nr):
        orow = ob + u8(r * OW)
        for j in range(j0, j1):
            if not add:
                of[orow + u8(j)] = 0
            for a in range(K):
                rb = xr + (r + a) * W
                for t in range(K):
                    c = j + t - pw
                    if 0 <= c < W:
                        of[orow + u8(j)] += wf[wb + a * K + t] * xf[u8(rb + c)]


@inline
def _tiled_rows(xf, wf, of, x_shape, w_shape, out_shape, pad_lo, groups, cols, blocks, r0,
                r1):  # fmt: skip
    """:func:`correlate_rows` for a 2-D problem that :func:`tiled` accepts: rows whose window
    lies inside ``x`` vertically go by register tiles (interior columns) and :func:`_edge_cols`
    (the columns that meet the zero padding), the others by the generic :func:`_row`."""
    _, C, _, H, W = x_shape
    _, n_out, _, OH, OW = out_shape
    Cg = w_shape[1]
    K = w_shape[4]
    ph = pad_lo[1]
    pw = pad_lo[2]
    per_group = n_out // groups
    lo = min(pw, OW)  # the interior columns: every tap reads inside x
    hi = max(lo, min(OW, W - K + 1 + pw))
    ia = min(ph, OH)  # the interior rows
    ib = max(ia, min(OH, H - K + 1 + ph))
    shape = (C, 1, H, W, OW, *w_shape[:5])
    R = tile_rows(K)
    xb = np.empty(R + K - 1, dtype=np.int64)
    r = r0
    while r < r1:
        p = r // OH  # plane n * n_out + o
        end = min(r1, (p + 1) * OH)
        n = p // n_out
        o = p - n * n_out
        c0 = (o // per_group) * Cg
        while r < end:
            oh = r - p * OH
            if oh < ia or oh >= ib:
                _row(xf, wf, of, n, o, 0, oh, u8(r * OW), shape, (1, 1, 1), (1, 1, 1), pad_lo,
                     groups, cols, blocks)  # fmt: skip
                r += 1
                continue
            full = r + R <= end and oh + R <= ib
            nr = R if full else 1
            for cg in range(Cg):
                xr = ((n * C + c0 + cg) * H + oh - ph) * W
                for a in range(nr + K - 1):
                    xb[a] = xr + a * W + lo - pw
                wb = (o * Cg + cg) * K * K
                tile(of, u8(r * OW + lo), OW, hi - lo, xf, xb, wf, wb, K, cg > 0, full)
                _edge_cols(of, u8(r * OW), OW, nr, xf, xr, W, wf, wb, K, pw, 0, lo, cg > 0)
                _edge_cols(of, u8(r * OW), OW, nr, xf, xr, W, wf, wb, K, pw, hi, OW, cg > 0)
            r += nr
