"""Direct convolution: accumulate whole output rows, a few kernel taps at a time.

Canonical operands (see ``fastconv.algorithms``): ``x`` is ``(N, C, D, H, W)``, ``w`` is
``(O, C/groups, KD, KH, KW)`` and ``out`` is ``(N, O, OD, OH, OW)`` (overwritten); 1-D and
2-D problems arrive with leading spatial axes of size 1. Zero padding is implicit: ``pad_lo``
shifts the window and taps that fall outside ``x`` are skipped, so no padded copy is made.

Rows are independent, so the caller splits them across threads (``fastconv._threads``).
Loop order decides the speed: for each output row and each tap, the innermost loop runs along
the output row with unit stride (when ``stride[2] == 1``) and LLVM turns it into FMA vector code.
"""

from __future__ import annotations

import numpy as np

from ._config import inline, serial


@serial
def column_ranges(W, OW, KW, sw, dw, pw):
    """For each tap ``kw``: the output columns ``[lo, hi)`` whose input column is inside ``x``."""
    ranges = np.empty((KW, 2), dtype=np.int64)
    for kw in range(KW):
        off = kw * dw - pw
        lo = 0 if off >= 0 else (-off + sw - 1) // sw
        hi = (W - 1 - off) // sw + 1 if W - 1 - off >= 0 else 0
        hi = min(hi, OW)
        ranges[kw, 0] = min(lo, hi)
        ranges[kw, 1] = hi
    return ranges


@inline
def _taps(dst, src0, src1, src2, w0, w1, w2, count, sw):
    """``dst[j] += w0*src0[j*sw] (+ w1*src1[j*sw] (+ w2*src2[j*sw]))`` for the first ``count``.

    Fusing up to three taps stores each output once per three multiply-adds instead of once
    per tap (stores are the bottleneck). Every view starts at 0 and every loop counts up from
    0: then LLVM can drop Numba's negative-index wraparound check, which blocks vectorisation.
    """
    n = dst.size
    if count == 3:
        if sw == 1:
            for j in range(n):
                dst[j] += w0 * src0[j] + w1 * src1[j] + w2 * src2[j]
        else:
            for j in range(n):
                dst[j] += w0 * src0[j * sw] + w1 * src1[j * sw] + w2 * src2[j * sw]
    elif count == 2:
        if sw == 1:
            for j in range(n):
                dst[j] += w0 * src0[j] + w1 * src1[j]
        else:
            for j in range(n):
                dst[j] += w0 * src0[j * sw] + w1 * src1[j * sw]
    elif sw == 1:
        for j in range(n):
            dst[j] += w0 * src0[j]
    else:
        for j in range(n):
            dst[j] += w0 * src0[j * sw]


@inline
def _row_taps(orow, xrow, wrow, cols, sw, dw, pw):
    """Add ``sum_kw wrow[kw] * xrow[j*sw + kw*dw - pw]`` to ``orow[j]`` where defined.

    Taps go in groups of up to three; a group is fused over the columns where all its taps
    read inside ``xrow`` and finished tap by tap on the ragged edges (implicit zero padding).
    """
    KW = wrow.size
    for k0 in range(0, KW, 3):
        count = min(3, KW - k0)
        lo = 0
        hi = orow.size
        for t in range(count):
            lo = max(lo, cols[k0 + t, 0])
            hi = min(hi, cols[k0 + t, 1])
        hi = max(hi, lo)
        if hi > lo:
            base = lo * sw - pw + k0 * dw
            _taps(
                orow[lo:hi],
                xrow[base:],
                xrow[base + dw * (count > 1) :],
                xrow[base + 2 * dw * (count > 2) :],
                wrow[k0],
                wrow[k0 + (count > 1)],
                wrow[k0 + 2 * (count > 2)],
                count,
                sw,
            )
        for t in range(count):  # ragged edges, one tap at a time
            kw = k0 + t
            a = cols[kw, 0]
            b = cols[kw, 1]
            off = kw * dw - pw
            e = min(lo, b)
            if e > a:
                _taps(orow[a:e], xrow[a * sw + off :], xrow, xrow, wrow[kw], 0.0, 0.0, 1, sw)
            f = max(hi, a)
            if b > f:
                _taps(orow[f:b], xrow[f * sw + off :], xrow, xrow, wrow[kw], 0.0, 0.0, 1, sw)


@inline
def _row(x, w, out, r, stride, dilation, pad_lo, groups, cols):
    """Output row ``r`` (flat index over N, O, OD, OH) of the correlation, from scratch."""
    _, _, D, H, _ = x.shape
    n_out, Cg, KD, KH, _ = w.shape
    _, _, OD, OH, _ = out.shape
    sd, sh, sw = stride
    dd, dh, dw = dilation
    pd, ph, pw = pad_lo
    oh = r % OH
    t = r // OH
    od = t % OD
    t //= OD
    o = t % n_out
    n = t // n_out
    c0 = (o // (n_out // groups)) * Cg
    orow = out[n, o, od, oh]
    orow[:] = 0
    for cg in range(Cg):
        for kd in range(KD):
            i_d = od * sd + kd * dd - pd
            if i_d < 0 or i_d >= D:
                continue
            for kh in range(KH):
                i_h = oh * sh + kh * dh - ph
                if 0 <= i_h < H:
                    _row_taps(orow, x[n, c0 + cg, i_d, i_h], w[o, cg, kd, kh], cols, sw, dw, pw)


@serial
def correlate_rows(x, w, out, stride, dilation, pad_lo, groups, r0, r1):
    """Direct correlation of the flat output rows ``[r0, r1)`` (over N, O, OD, OH).

    Serial and GIL-free: fastconv's thread pool runs disjoint row ranges concurrently.
    """
    cols = column_ranges(x.shape[4], out.shape[4], w.shape[4], stride[2], dilation[2], pad_lo[2])
    for r in range(r0, r1):
        _row(x, w, out, r, stride, dilation, pad_lo, groups, cols)
