"""2-D correlation whose input is extended by index maps: boundaries without a padded copy.

Operands: ``x`` is ``(BX, H, W)``, ``w`` is ``(BW, KH, KW)``, ``out`` is ``(B, OH, OW)``
(overwritten) with ``BX`` and ``BW`` either 1 or ``B``. The input is read through two maps of
the *extended* index: ``rowmap[e]`` is the row of ``x`` that extended row ``e`` shows (``-1``:
the fill value), ``colmap[e]`` the column; so ``"symm"``, ``"wrap"`` and ``"fill"`` boundaries of
any width cost two small integer tables instead of a padded copy of the image::

    out[b, i, j] = sum_{a, t} w[b, a, t] * xe[b, i*sh + a*dh, j*sw + t*dw]

The inner loops are the core's (``_numba.direct``): kernel rows in blocks of three, whose rows
are picked through ``rowmap``; along a row, blocks of three taps over the columns that read
``x`` directly (``colmap[e] == e - pw``), vectorised; the few columns near the edges go tap by
tap through ``colmap``. Rows are independent: the caller splits ``[r0, r1)`` across threads.
"""

from __future__ import annotations

import numpy as np
from numba import uint64 as u8

from ._config import inline, serial
from ._ranges import column_ranges
from .direct import _taps9, _taps_row, block_ranges


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


@serial
def correlate_mapped_rows(x, w, out, rowmap, colmap, fill, sh, sw, dh, dw, pw, r0, r1):
    """Rows ``[r0, r1)`` of ``out`` flattened over ``(B, OH)`` (see the module docstring)."""
    BX, H, W = x.shape
    BW, KH, KW = w.shape
    _, OH, OW = out.shape
    cols = column_ranges(W, OW, KW, sw, dw, pw)
    blocks = block_ranges(cols)
    xf = x.reshape(-1)
    wf = w.reshape(-1)
    of = out.reshape(-1)
    row_sums = np.zeros((BW, KH), dtype=out.dtype)  # fill rows add fill * sum of a kernel row
    for bw in range(BW):
        for a in range(KH):
            s = row_sums[bw, a]
            for t in range(KW):
                s += wf[(bw * KH + a) * KW + t]
            row_sums[bw, a] = s
    pair = KH >= 3 and KW >= 3 and sh == 1 and dh == 1 and sw == 1 and dw == 1
    paired = -1  # a row whose first block the previous row's pair already stored
    for r in range(r0, r1):
        b = r // OH
        i = r - b * OH
        xb = (b if BX > 1 else 0) * H * W
        wb0 = (b if BW > 1 else 0) * KH * KW
        bw = b if BW > 1 else 0
        ob = u8(r * OW)
        # the first 3x3 block, where all its rows are inside x, initialises the row
        first = KH >= 3 and KW >= 3 and blocks[0, 1] > blocks[0, 0]
        if first:
            first = rowmap[i * sh] >= 0 and rowmap[i * sh + dh] >= 0
            first = first and rowmap[i * sh + 2 * dh] >= 0
        if first and paired != r:
            lo = blocks[0, 0]
            hi = blocks[0, 1]
            c0 = lo * sw - pw
            weights = (
                wf[wb0], wf[wb0 + 1], wf[wb0 + 2],
                wf[wb0 + KW], wf[wb0 + KW + 1], wf[wb0 + KW + 2],
                wf[wb0 + 2 * KW], wf[wb0 + 2 * KW + 1], wf[wb0 + 2 * KW + 2],
            )  # fmt: skip
            # the next row of the same image too, when its first block is also inside x
            two = pair and r + 1 < r1 and i + 1 < OH and rowmap[i + 3] >= 0
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
                _set9x2(of, ob + u8(lo), ob2 + u8(lo), hi - lo, xf,
                        u8(xb + rowmap[i] * W + c0), u8(xb + rowmap[i + 1] * W + c0),
                        u8(xb + rowmap[i + 2] * W + c0), u8(xb + rowmap[i + 3] * W + c0),
                        weights)  # fmt: skip
                paired = r + 1
            else:
                _set9(of, ob + u8(lo), hi - lo, xf, u8(xb + rowmap[i * sh] * W + c0),
                      u8(xb + rowmap[i * sh + dh] * W + c0),
                      u8(xb + rowmap[i * sh + 2 * dh] * W + c0), dw, weights, sw)  # fmt: skip
        elif not first:
            for j in range(OW):
                of[ob + u8(j)] = 0
        for kh0 in range(0, KH, 3):
            nh = min(3, KH - kh0)
            m0 = rowmap[i * sh + kh0 * dh]
            m1 = rowmap[i * sh + (kh0 + 1) * dh] if nh > 1 else -1
            m2 = rowmap[i * sh + (kh0 + 2) * dh] if nh > 2 else -1
            for a in range(nh):
                m = m0 if a == 0 else (m1 if a == 1 else m2)
                if m < 0:
                    add = fill * row_sums[bw, kh0 + a]
                    for j in range(OW):
                        of[ob + u8(j)] += add
            for kw0 in range(0, KW, 3):
                nw = min(3, KW - kw0)
                lo = blocks[kw0 // 3, 0]
                hi = blocks[kw0 // 3, 1]
                c0 = lo * sw + kw0 * dw - pw  # column of the block's first tap at output lo
                if hi > lo and not (first and kh0 == 0 and kw0 == 0):
                    if nh == 3 and nw == 3 and m0 >= 0 and m1 >= 0 and m2 >= 0:
                        r0w = wb0 + kh0 * KW + kw0
                        r1w = r0w + KW
                        r2w = r1w + KW
                        weights = (
                            wf[r0w], wf[r0w + 1], wf[r0w + 2],
                            wf[r1w], wf[r1w + 1], wf[r1w + 2],
                            wf[r2w], wf[r2w + 1], wf[r2w + 2],
                        )  # fmt: skip
                        _taps9(of, ob + u8(lo), hi - lo, xf, u8(xb + m0 * W + c0),
                               u8(xb + m1 * W + c0), u8(xb + m2 * W + c0), dw, weights,
                               sw)  # fmt: skip
                    else:
                        for a in range(nh):
                            m = m0 if a == 0 else (m1 if a == 1 else m2)
                            if m >= 0:
                                wr = wb0 + (kh0 + a) * KW + kw0
                                w0 = wf[wr]
                                w1 = wf[wr + 1] if nw > 1 else w0
                                w2 = wf[wr + 2] if nw > 2 else w0
                                _taps_row(of, ob + u8(lo), hi - lo, xf, u8(xb + m * W + c0), dw,
                                          nw, w0, w1, w2, sw)  # fmt: skip
                # the columns outside [lo, hi): tap by tap through the column map
                for a in range(nh):
                    m = m0 if a == 0 else (m1 if a == 1 else m2)
                    if m < 0:
                        continue
                    rb = xb + m * W
                    for t in range(nw):
                        wv = wf[wb0 + (kh0 + a) * KW + kw0 + t]
                        for j in range(lo):
                            c = colmap[j * sw + (kw0 + t) * dw]
                            of[ob + u8(j)] += wv * (fill if c < 0 else xf[u8(rb + c)])
                        for j in range(max(hi, lo), OW):
                            c = colmap[j * sw + (kw0 + t) * dw]
                            of[ob + u8(j)] += wv * (fill if c < 0 else xf[u8(rb + c)])
