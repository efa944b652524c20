"""im2col: gather the windows of one image and one channel group into a column matrix.

``col[k - k0, p - p0] = x[n, c0 + cg, od*sd + kd*dd - pd, oh*sh + kh*dh - ph, ow*sw + kw*dw - pw]``
for reduction index ``k = ((cg*KD + kd)*KH + kh)*KW + kw`` in ``[k0, k1)`` and flat output
position ``p = (od*OH + oh)*OW + ow`` in ``[p0, p1)``; positions outside ``x`` read as zero
(implicit zero padding). Tiling over ``k`` and ``p`` keeps the buffer within the workspace cap.
The kernel is serial and releases the GIL: fastconv's thread pool runs one per thread.

As in ``direct``, rows are addressed through flat unsigned indices rather than views: a view
per output row costs atomic reference counting, and signed indices a wraparound check that
blocks the vectorised copy.
"""

from __future__ import annotations

from numba import uint64 as u8

from ._config import serial
from ._ranges import column_ranges


@serial
def im2col(x, n, c0, kernel, out_spatial, stride, dilation, pad_lo, k0, k1, p0, p1, col):
    _, C, D, H, W = x.shape
    KD, KH, KW = kernel
    _, OH, OW = out_spatial
    sd, sh, sw = stride
    dd, dh, dw = dilation
    pd, ph, pw = pad_lo
    cols = column_ranges(W, OW, KW, sw, dw, pw)
    xf = x.reshape(-1)
    cf = col.reshape(-1)
    width = p1 - p0
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
        plane = (n * C + c0 + cg) * D  # flat index of x[n, c0 + cg, 0, 0, 0] over H * W
        p = p0
        while p < p1:
            rr = p // OW
            j = p - rr * OW
            j_end = min(OW, j + (p1 - p))
            od = rr // OH
            oh = rr - od * OH
            i_d = od * sd + kd * dd - pd
            i_h = oh * sh + kh * dh - ph
            dst = u8((k - k0) * width + p - p0 - j)  # col index of this output row's column 0
            if i_d < 0 or i_d >= D or i_h < 0 or i_h >= H:
                a = j_end
                b = j_end
            else:
                a = min(max(j, lo), j_end)
                b = max(min(j_end, hi), a)
                src = u8(((plane + i_d) * H + i_h) * W + a * sw + off)
                n_copy = b - a
                base = dst + u8(a)
                if sw == 1:
                    for jj in range(n_copy):
                        cf[base + u8(jj)] = xf[src + u8(jj)]
                else:
                    for jj in range(n_copy):
                        cf[base + u8(jj)] = xf[src + u8(jj * sw)]
            for jj in range(j, a):  # zero padding before, after, or the whole row
                cf[dst + u8(jj)] = 0
            for jj in range(b, j_end):
                cf[dst + u8(jj)] = 0
            p += j_end - j
