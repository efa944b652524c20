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
