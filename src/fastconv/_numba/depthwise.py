"""Depthwise convolution: one input plane and one kernel per output plane, as flat loops.

Canonical operands (see ``fastconv.algorithms``) with ``C/groups == 1`` and one spatial axis
of size 1 in front: ``x`` is ``(N, C, 1, H, W)``, ``w`` is ``(O, 1, 1, KH, KW)`` with
``O = mult * C`` (output plane ``o`` reads input plane ``o // mult``) and ``out`` is
``(N, O, 1, OH, OW)`` (overwritten).

Work is cut into *bands*: a run of output rows of one output plane. A band's input rows are
first copied into a small workspace that stays in L1/L2 cache, split into ``sh * sw`` stride
phases (phase ``(a, b)`` holds padded input element ``(r*sh + a, q*sw + b)`` at row ``r``,
column ``q``) with the zero padding written as zeros. In that layout every kernel tap reads a
phase at a fixed offset from the output position: output ``(i, j)`` of the band, stored at
``m = i*Q + j`` with the phase row pitch ``Q``, reads phase ``(kh*dh % sh, kw*dw % sw)`` at
``m + (kh*dh // sh)*Q + kw*dw // sw``. So each pass over up to nine taps is a single loop over
the whole band (not a loop per output row: 56-column rows are too short for LLVM's 64-wide
unrolled vector loop, which then runs its scalar remainder), with plain vector loads for any
stride and dilation. The ``Q - OW`` columns at the end of each stored row are computed and
dropped when the band is copied out. Zero padding is multiplied like any input, so a NaN or
inf weight meets it as in PyTorch.

Flat indices are unsigned (``uint64``), which spares them Numba's negative-index wraparound
check and lets the loops vectorise.
"""

from __future__ import annotations

from numba import uint64 as u8

from ._config import inline, serial


@inline
def _copy8(dst, d, src, s, step):
    """``dst[d + k] = src[s + k*step]`` for ``k < 8``: all loads first, then all stores.

    In that order LLVM's SLP vectoriser makes one vector load and store of them (for stride
    1); a plain loop over a row is scalar here, because rows are often shorter than the 64
    values of the vector loop LLVM makes of it, and interleaved loads and stores could alias.
    """
    a0 = src[s]
    a1 = src[s + u8(step)]
    a2 = src[s + u8(2 * step)]
    a3 = src[s + u8(3 * step)]
    a4 = src[s + u8(4 * step)]
    a5 = src[s + u8(5 * step)]
    a6 = src[s + u8(6 * step)]
    a7 = src[s + u8(7 * step)]
    dst[d] = a0
    dst[d + u8(1)] = a1
    dst[d + u8(2)] = a2
    dst[d + u8(3)] = a3
    dst[d + u8(4)] = a4
    dst[d + u8(5)] = a5
    dst[d + u8(6)] = a6
    dst[d + u8(7)] = a7


@inline
def _copy(dst, d0, src, s0, n, step):
    """``dst[d0 + j] = src[s0 + j*step]`` for ``j < n``, eight at a time (see :func:`_copy8`)."""
    j = 0
    if step == 1:  # unit stride spelled out: contiguous vector loads
        while j + 8 <= n:
            _copy8(dst, d0 + u8(j), src, s0 + u8(j), 1)
            j += 8
    else:
        while j + 8 <= n:
            _copy8(dst, d0 + u8(j), src, s0 + u8(j * step), step)
            j += 8
    while j < n:
        dst[d0 + u8(j)] = src[s0 + u8(j * step)]
        j += 1


@inline
def _zero(dst, d0, n):
    """``dst[d0 + j] = 0`` for ``j < n``, eight stores at a time."""
    j = 0
    while j + 8 <= n:
        d = d0 + u8(j)
        dst[d] = 0
        dst[d + u8(1)] = 0
        dst[d + u8(2)] = 0
        dst[d + u8(3)] = 0
        dst[d + u8(4)] = 0
        dst[d + u8(5)] = 0
        dst[d + u8(6)] = 0
        dst[d + u8(7)] = 0
        j += 8
    while j < n:
        dst[d0 + u8(j)] = 0
        j += 1


@inline
def _fill_phases(xf, xb, H, W, ph, pw, sh, sw, row0, R, Q, buf):
    """Copy the band's padded input rows, stride phase by phase, into ``buf`` (zeros outside).

    ``xb`` is the flat index of the input plane; ``row0`` the band's first padded input row.
    """
    for a in range(sh):
        for b in range(sw):
            pb = (a * sw + b) * R * Q
            # phase columns q whose input column q*sw + b - pw lies inside [0, W)
            q_lo = min(Q, max(0, (pw - b + sw - 1) // sw))
            q_hi = max(q_lo, min(Q, (W - 1 + pw - b) // sw + 1)) if W - 1 + pw - b >= 0 else q_lo
            for r in range(R):
                i_h = row0 + r * sh + a - ph
                rb = u8(pb + r * Q)
                if i_h < 0 or i_h >= H:
                    _zero(buf, rb, Q)
                    continue
                _zero(buf, rb, q_lo)
                src = u8(xb + i_h * W + q_lo * sw + b - pw)  # input of column q_lo, >= 0
                _copy(buf, rb + u8(q_lo), xf, src, q_hi - q_lo, sw)
                _zero(buf, rb + u8(q_hi), Q - q_hi)


@inline
def _pass9(acc, buf, n, offs, wts, t):
    """``acc[m] += sum`` of the nine taps ``t..t+8`` (offsets into ``buf``) for ``m < n``;
    the first pass (``t == 0``) assigns instead, so ``acc`` is neither zeroed nor read."""
    o0, o1, o2 = u8(offs[t]), u8(offs[t + 1]), u8(offs[t + 2])
    o3, o4, o5 = u8(offs[t + 3]), u8(offs[t + 4]), u8(offs[t + 5])
    o6, o7, o8 = u8(offs[t + 6]), u8(offs[t + 7]), u8(offs[t + 8])
    w0, w1, w2, w3, w4 = wts[t], wts[t + 1], wts[t + 2], wts[t + 3], wts[t + 4]
    w5, w6, w7, w8 = wts[t + 5], wts[t + 6], wts[t + 7], wts[t + 8]
    if t == 0:
        for i in range(n):
            m = u8(i)
            acc[m] = (
                w0 * buf[o0 + m] + w1 * buf[o1 + m] + w2 * buf[o2 + m]
                + w3 * buf[o3 + m] + w4 * buf[o4 + m] + w5 * buf[o5 + m]
                + w6 * buf[o6 + m] + w7 * buf[o7 + m] + w8 * buf[o8 + m]
            )  # fmt: skip
    else:
        for i in range(n):
            m = u8(i)
            acc[m] += (
                w0 * buf[o0 + m] + w1 * buf[o1 + m] + w2 * buf[o2 + m]
                + w3 * buf[o3 + m] + w4 * buf[o4 + m] + w5 * buf[o5 + m]
                + w6 * buf[o6 + m] + w7 * buf[o7 + m] + w8 * buf[o8 + m]
            )  # fmt: skip


@inline
def _pass3(acc, buf, n, offs, wts, t):
    """``acc[m] += sum`` of the three taps ``t..t+2`` for ``m < n`` (assigns if ``t == 0``)."""
    o0, o1, o2 = u8(offs[t]), u8(offs[t + 1]), u8(offs[t + 2])
    w0, w1, w2 = wts[t], wts[t + 1], wts[t + 2]
    if t == 0:
        for i in range(n):
            m = u8(i)
            acc[m] = w0 * buf[o0 + m] + w1 * buf[o1 + m] + w2 * buf[o2 + m]
    else:
        for i in range(n):
            m = u8(i)
            acc[m] += w0 * buf[o0 + m] + w1 * buf[o1 + m] + w2 * buf[o2 + m]


@inline
def _pass1(acc, buf, n, offs, wts, t):
    """``acc[m] += `` tap ``t`` for ``m < n`` (assigns if ``t == 0``)."""
    o0 = u8(offs[t])
    w0 = wts[t]
    if t == 0:
        for i in range(n):
            m = u8(i)
            acc[m] = w0 * buf[o0 + m]
    else:
        for i in range(n):
            m = u8(i)
            acc[m] += w0 * buf[o0 + m]


@serial
def depthwise_bands(x, w, out, stride, dilation, pad_lo, band_rows, t0, t1, offs, buf, acc):
    """Depthwise correlation of the bands ``[t0, t1)`` (over N, O, bands of ``band_rows``).

    ``offs`` holds, per tap ``kh*KW + kw``, its offset in the phase workspace (see the module
    docstring; the caller computes it for this geometry and ``band_rows``); ``buf`` and
    ``acc`` are this thread's workspaces of at least ``sh*sw*R*Q`` and ``band_rows*Q``
    elements, ``R = band_rows + (KH-1)*dh // sh``, ``Q = OW + (KW-1)*dw // sw``.
    Serial and GIL-free: fastconv's thread pool runs disjoint band ranges concurrently.
    """
    _, C, _, H, W = x.shape
    _, n_out, _, OH, OW = out.shape
    KH = w.shape[3]
    KW = w.shape[4]
    T = KH * KW
    sh = stride[1]
    sw = stride[2]
    ph = pad_lo[1]
    pw = pad_lo[2]
    mult = n_out // C
    R = band_rows + ((KH - 1) * dilation[1]) // sh
    Q = OW + ((KW - 1) * dilation[2]) // sw
    n_bands = (OH + band_rows - 1) // band_rows
    xf = x.reshape(-1)
    wf = w.reshape(-1)
    of = out.reshape(-1)
    for t in range(t0, t1):
        band = t % n_bands
        plane = t // n_bands  # n * O + o
        n = plane // n_out
        o = plane % n_out
        oh0 = band * band_rows
        rows = min(band_rows, OH - oh0)
        # every phase keeps its R rows (the offsets assume that pitch); in a short last band
        # the rows past the input are zeros
        _fill_phases(xf, (n * C + o // mult) * H * W, H, W, ph, pw, sh, sw, oh0 * sh, R, Q, buf)
        length = (rows - 1) * Q + OW  # flat positions of the band's last output, plus one
        wts = wf[o * T : (o + 1) * T]
        k = 0
        while k + 9 <= T:
            _pass9(acc, buf, length, offs, wts, k)
            k += 9
        while k + 3 <= T:
            _pass3(acc, buf, length, offs, wts, k)
            k += 3
        while k < T:
            _pass1(acc, buf, length, offs, wts, k)
            k += 1
        ob = u8((plane * OH + oh0) * OW)
        for i in range(rows):
            _copy(of, ob + u8(i * OW), acc, u8(i * Q), OW, 1)
