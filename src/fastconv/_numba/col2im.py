"""col2im: scatter-add a column matrix back onto the image grid (the adjoint of ``im2col``).

``x[n, c0 + cg, od*sd + kd*dd - pd, oh*sh + kh*dh - ph, ow*sw + kw*dw - pw] += col[k - k0, p - p0]``
for reduction index ``k = ((cg*KD + kd)*KH + kh)*KW + kw`` in ``[k0, k1)`` and flat window
position ``p = (od*OH + oh)*OW + ow`` in ``[p0, p1)``; targets outside ``x`` are dropped (the
adjoint of implicit zero padding). Same indexing as ``im2col`` (flat unsigned indices, no views
per row), so a transposed convolution is ``col = W.T @ g`` followed by this kernel. Distinct
``(k, p)`` may add into the same element of ``x``, so one call must own the channels it writes;
the caller gives each thread its own channels.
"""

from __future__ import annotations

from numba import uint64 as u8

from ._config import serial
from ._ranges import column_ranges


@serial
def col2im(x, n, c0, kernel, out_spatial, stride, dilation, pad_lo, k0, k1, p0, p1, col):
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
            if 0 <= i_d < D and 0 <= i_h < H:
                a = min(max(j, lo), j_end)
                b = max(min(j_end, hi), a)
                dst = u8(((plane + i_d) * H + i_h) * W + a * sw + off)
                src = u8((k - k0) * width + p - p0 - j + a)
                if sw == 1:
                    for jj in range(b - a):
                        xf[dst + u8(jj)] += cf[src + u8(jj)]
                else:
                    for jj in range(b - a):
                        xf[dst + u8(jj * sw)] += cf[src + u8(jj)]
            p += j_end - j
