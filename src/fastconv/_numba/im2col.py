"""im2col: gather the windows of one image and one channel group into a column matrix.

``col[k - k0, p - p0] = x[n, c0 + cg, od*sd + kd*dd - pd, oh*sh + kh*dh - ph, ow*sw + kw*dw - pw]``
for reduction index ``k = ((cg*KD + kd)*KH + kh)*KW + kw`` in ``[k0, k1)`` and flat output
position ``p = (od*OH + oh)*OW + ow`` in ``[p0, p1)``; positions outside ``x`` read as zero
(implicit zero padding). Tiling over ``k`` and ``p`` keeps the buffer within the workspace cap.
The kernel is serial and releases the GIL: fastconv's thread pool runs one per thread.
"""

from __future__ import annotations

from ._config import serial
from .direct import column_ranges


@serial
def im2col(x, n, c0, kernel, out_spatial, stride, dilation, pad_lo, k0, k1, p0, p1, col):
    _, _, D, H, W = x.shape
    KD, KH, KW = kernel
    _, OH, OW = out_spatial
    sd, sh, sw = stride
    dd, dh, dw = dilation
    pd, ph, pw = pad_lo
    cols = column_ranges(W, OW, KW, sw, dw, pw)
    for k in range(k0, k1):
        kw = k % KW
        t = k // KW
        kh = t % KH
        t //= KH
        kd = t % KD
        cg = t // KD
        off = kw * dw - pw
        lo = cols[kw, 0]
        hi = cols[kw, 1]
        dst = col[k - k0]
        p = p0
        while p < p1:
            rr = p // OW
            j = p - rr * OW
            j_end = min(OW, j + (p1 - p))
            od = rr // OH
            oh = rr - od * OH
            i_d = od * sd + kd * dd - pd
            i_h = oh * sh + kh * dh - ph
            row = dst[p - p0 : p - p0 + j_end - j]  # this output row's columns j..j_end
            if i_d < 0 or i_d >= D or i_h < 0 or i_h >= H:
                row[:] = 0
            else:
                a = min(max(j, lo), j_end) - j
                b = max(min(j_end, hi) - j, a)
                row[:a] = 0
                # a view starting at 0 and a loop from 0 let LLVM vectorise the copy
                src = x[n, c0 + cg, i_d, i_h, (j + a) * sw + off :]
                inner = row[a:b]
                if sw == 1:
                    for jj in range(inner.size):
                        inner[jj] = src[jj]
                else:
                    for jj in range(inner.size):
                        inner[jj] = src[jj * sw]
                row[b:] = 0
            p += j_end - j
