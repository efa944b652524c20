"""im2col: gather the windows of one image and one channel group into a column matrix.

``col[k - k0, p - p0] = x[n, c0 + cg, od*sd + kd*dd - pd, oh*sh + kh*dh - ph, ow*sw + kw*dw - pw]``
for reduction index ``k = ((cg*KD + kd)*KH + kh)*KW + kw`` in ``[k0, k1)`` and flat output
position ``p = (od*OH + oh)*OW + ow`` in ``[p0, p1)``; positions outside ``x`` read as zero
(implicit zero padding). Tiling over ``k`` and ``p`` keeps the buffer within the workspace cap.
The kernel is serial and releases the GIL: fastconv's thread pool runs one per thread.

As in ``direct``, rows are addressed through flat unsigned indices rather than views: a view
per output row costs atomic reference counting, and signed indices a wraparound check that
blocks the vectorised copy.

The *flat* window matrix (below :func:`im2col`) replaces that per-output-row gather, whose
bookkeeping dominates for short or strided rows, by one phase split of the input
(:func:`phase_split`) and one contiguous copy per window-matrix row (:func:`gather_flat`);
:func:`scatter_flat` and :func:`spread_flat` move products and gradients between its columns
and the output grid. All four compile to 512-bit vector copies (``vmovups`` on ``zmm``).
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


# --------------------------------------------------------------------------------------------
# the flat window matrix: every row one contiguous copy
#
# After zero padding, split the input by stride phase and store it channel-major:
# ``phases[c, s, n, i, j, k] = x_padded[n, c, i*sd + a, j*sh + b, k*sw + e]`` for the used
# phase ``s = (a, b, e)``. Tap ``(kd, kh, kw)`` then reads phase ``((kd*dd) % sd, ...)`` at the
# fixed flat offset ``((kd*dd // sd) * PH + kh*dh // sh) * PW + kw*dw // sw`` from the output
# position ``q = ((n*PD + od)*PH + oh)*PW + ow`` of an *extended* output grid
# ``(N, PD, PH, PW)`` -- so a window-matrix row is one contiguous slice of ``phases[c, s]``,
# across output rows and images alike. Columns with ``od >= OD``, ``oh >= OH`` or
# ``ow >= OW`` are computed and dropped (:func:`scatter_flat`).


@serial
def phase_split(x, pad_lo, stride, phase_of, c0, c1, phases):
    """Fill ``phases[c0:c1]`` (``(C, S, N, PD, PH, PW)``) from ``x`` (``(N, C, D, H, W)``).

    ``phase_of[s]`` is the ``(a, b, e)`` offset of stored phase ``s``; positions outside
    ``x`` (the zero padding, and the rounding of the padded size up to whole phases) are zero.
    """
    N, C, D, H, W = x.shape
    _, S, _, PD, PH, PW = phases.shape
    sd, sh, sw = stride
    xf = x.reshape(-1)
    pf = phases.reshape(-1)
    pd, ph, pw = pad_lo
    for c in range(c0, c1):
        for s in range(S):
            a = phase_of[s, 0]
            b = phase_of[s, 1]
            e = phase_of[s, 2]
            # columns k with 0 <= k*sw + e - pw < W
            off = e - pw
            lo = 0 if off >= 0 else (-off + sw - 1) // sw
            hi = (W - 1 - off) // sw + 1 if W - 1 - off >= 0 else 0
            hi = max(min(hi, PW), 0)
            lo = min(lo, hi)
            for n in range(N):
                for i in range(PD):
                    d = i * sd + a - pd
                    for j in range(PH):
                        h = j * sh + b - ph
                        dst = u8((((c * S + s) * N + n) * PD + i) * PH + j) * u8(PW)
                        if d < 0 or d >= D or h < 0 or h >= H:
                            for k in range(PW):
                                pf[dst + u8(k)] = 0
                            continue
                        src = u8(((n * C + c) * D + d) * H + h) * u8(W)
                        for k in range(lo):
                            pf[dst + u8(k)] = 0
                        if sw == 1:
                            for k in range(lo, hi):
                                pf[dst + u8(k)] = xf[src + u8(k + off)]
                        else:
                            for k in range(lo, hi):
                                pf[dst + u8(k)] = xf[src + u8(k * sw + off)]
                        for k in range(hi, PW):
                            pf[dst + u8(k)] = 0


@serial
def gather_flat(phases, taps, tap_phase, tap_offset, c0, k0, k1, q0, q1, col):
    """``col[k - k0, q - q0] = phases[c0 + k // taps, tap_phase[t]].flat[tap_offset[t] + q]``
    with ``t = k % taps``: rows ``[k0, k1)`` of the flat window matrix, columns ``[q0, q1)``.
    """
    _, S, N, PD, PH, PW = phases.shape
    per_phase = N * PD * PH * PW
    pf = phases.reshape(-1)
    cf = col.reshape(-1)
    width = q1 - q0
    for k in range(k0, k1):
        c = c0 + k // taps
        t = k % taps
        src = u8((c * S + tap_phase[t]) * per_phase + tap_offset[t] + q0)
        dst = u8((k - k0) * width)
        for jj in range(width):
            cf[dst + u8(jj)] = pf[src + u8(jj)]


@serial
def scatter_flat(prod, q0, q1, ext, o0, out):
    """``out[n, o0 + o, od, oh, ow] = prod[o, q - q0]`` for every column ``q`` in
    ``[q0, q1)`` of the extended grid ``ext = (PD, PH, PW)`` that is inside ``out``."""
    _, _, OD, OH, OW = out.shape
    og = prod.shape[0]
    PD, PH, PW = ext
    plane = PD * PH * PW
    out_plane = OD * OH * OW
    o_total = out.shape[1]
    of = out.reshape(-1)
    pf = prod.reshape(-1)
    width = q1 - q0
    q = q0
    while q < q1:
        n = q // plane
        r = q - n * plane
        t = r // PW
        ow = r - t * PW
        od = t // PH
        oh = t - od * PH
        row_end = min(q1, q - ow + PW)
        if od < OD and oh < OH and ow < OW:
            count = min(row_end, q - ow + OW) - q
            src = u8(q - q0)
            dst = u8(((n * o_total + o0) * OD + od) * OH * OW + oh * OW + ow)
            for o in range(og):
                so = src + u8(o * width)
                do = dst + u8(o * out_plane)
                for jj in range(count):
                    of[do + u8(jj)] = pf[so + u8(jj)]
        q = row_end


@serial
def spread_flat(g, o0, q0, q1, ext, dest):
    """The adjoint of :func:`scatter_flat`: ``dest[o, q - q0] = g[n, o0 + o, od, oh, ow]`` for
    every column ``q`` in ``[q0, q1)`` of the extended grid ``ext`` inside ``g``, else zero."""
    _, _, OD, OH, OW = g.shape
    og = dest.shape[0]
    PD, PH, PW = ext
    plane = PD * PH * PW
    g_plane = OD * OH * OW
    o_total = g.shape[1]
    gf = g.reshape(-1)
    df = dest.reshape(-1)
    width = q1 - q0
    q = q0
    while q < q1:
        n = q // plane
        r = q - n * plane
        t = r // PW
        ow = r - t * PW
        od = t // PH
        oh = t - od * PH
        row_end = min(q1, q - ow + PW)
        count = 0
        if od < OD and oh < OH and ow < OW:
            count = min(row_end, q - ow + OW) - q
        dst = u8(q - q0)
        src = u8(((n * o_total + o0) * OD + od) * OH * OW + oh * OW + ow)
        for o in range(og):
            do = dst + u8(o * width)
            so = src + u8(o * g_plane)
            for jj in range(count):
                df[do + u8(jj)] = gf[so + u8(jj)]
            for jj in range(count, row_end - q):
                df[do + u8(jj)] = 0
        q = row_end
