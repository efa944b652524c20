"""Separable correlation: a rank-1 kernel ``outer(u, v)`` applied as two 1-D passes.

``out[i, j] = sum_a u[a] * sum_b v[b] * p[i*sh + a*dh, j*sw + b*dw]`` where ``p`` is the padded
image, described virtually by the row and column tables of :mod:`fastconv._numba.border`.
Each padded row that some output row needs is gathered once into a row buffer and filtered
along the row with ``v`` (the *row pass*) into a ring of ``(KH - 1) * dh + 1`` filtered rows;
each output row is then the ``u``-weighted sum of ``KH`` rows of the ring (the *column pass*).
That is ``KH + KW`` multiply-adds per output instead of ``KH * KW``, and every input row is
filtered once however many output rows read it.

Both passes run along whole rows, five taps (kernel rows) per loop while five remain, then
three (one load and one store of the destination per five or three multiply-adds; five
instead of three was 6-8 % faster on W10's 2048², 15×15, one thread, in one process), on
flat unsigned indices so that LLVM emits FMA vector code, as in :mod:`fastconv._numba.direct`.
"""

from __future__ import annotations

import numpy as np
from numba import uint64 as u8

from ._config import inline, serial
from .border import gather_row


@inline
def _row_pass(rb, v, n, sw, dw, tf, t0):
    """``tf[t0 + j] = sum_b v[b] * rb[j*sw + b*dw]`` for ``j < n``."""
    KW = v.shape[0]
    start = 0
    if sw == 1:  # five taps per pass while they last: fewer loads and stores of the row
        while KW - start >= 5:
            v0, v1, v2, v3, v4 = v[start], v[start + 1], v[start + 2], v[start + 3], v[start + 4]
            c0 = u8(start * dw)
            c1, c2, c3, c4 = c0 + u8(dw), c0 + u8(2 * dw), c0 + u8(3 * dw), c0 + u8(4 * dw)
            if start == 0:
                for j in range(n):
                    k = u8(j)
                    tf[t0 + k] = (v0 * rb[c0 + k] + v1 * rb[c1 + k] + v2 * rb[c2 + k]
                                  + v3 * rb[c3 + k] + v4 * rb[c4 + k])  # fmt: skip
            else:
                for j in range(n):
                    k = u8(j)
                    tf[t0 + k] += (v0 * rb[c0 + k] + v1 * rb[c1 + k] + v2 * rb[c2 + k]
                                   + v3 * rb[c3 + k] + v4 * rb[c4 + k])  # fmt: skip
            start += 5
    for b0 in range(start, KW, 3):
        nb = min(3, KW - b0)
        v0 = v[b0]
        v1 = v[b0 + 1] if nb > 1 else v0
        v2 = v[b0 + 2] if nb > 2 else v0
        c0 = u8(b0 * dw)
        c1 = c0 + u8(dw)
        c2 = c1 + u8(dw)
        first = b0 == 0
        if sw == 1:
            if nb == 3:
                if first:
                    for j in range(n):
                        k = u8(j)
                        tf[t0 + k] = v0 * rb[c0 + k] + v1 * rb[c1 + k] + v2 * rb[c2 + k]
                else:
                    for j in range(n):
                        k = u8(j)
                        tf[t0 + k] += v0 * rb[c0 + k] + v1 * rb[c1 + k] + v2 * rb[c2 + k]
            elif nb == 2:
                if first:
                    for j in range(n):
                        k = u8(j)
                        tf[t0 + k] = v0 * rb[c0 + k] + v1 * rb[c1 + k]
                else:
                    for j in range(n):
                        k = u8(j)
                        tf[t0 + k] += v0 * rb[c0 + k] + v1 * rb[c1 + k]
            elif first:
                for j in range(n):
                    k = u8(j)
                    tf[t0 + k] = v0 * rb[c0 + k]
            else:
                for j in range(n):
                    k = u8(j)
                    tf[t0 + k] += v0 * rb[c0 + k]
        else:
            for j in range(n):
                k = u8(j * sw)
                acc = v0 * rb[c0 + k]
                if nb > 1:
                    acc += v1 * rb[c1 + k]
                if nb > 2:
                    acc += v2 * rb[c2 + k]
                if first:
                    tf[t0 + u8(j)] = acc
                else:
                    tf[t0 + u8(j)] += acc


@inline
def _col_pass(ring, slots, u, top, dh, n, of, ob):
    """``of[ob + j] = sum_a u[a] * ring_row(top + a*dh)[j]`` for ``j < n``."""
    KH = u.shape[0]
    R = slots.shape[0]
    for a0 in range(0, KH, 3):
        na = min(3, KH - a0)
        u0 = u[a0]
        u1 = u[a0 + 1] if na > 1 else u0
        u2 = u[a0 + 2] if na > 2 else u0
        h0 = top + a0 * dh
        q0 = u8(((h0) % R) * n)
        q1 = u8(((h0 + dh) % R) * n)
        q2 = u8(((h0 + 2 * dh) % R) * n)
        if na == 3:
            if a0 == 0:
                for j in range(n):
                    k = u8(j)
                    of[ob + k] = u0 * ring[q0 + k] + u1 * ring[q1 + k] + u2 * ring[q2 + k]
            else:
                for j in range(n):
                    k = u8(j)
                    of[ob + k] += u0 * ring[q0 + k] + u1 * ring[q1 + k] + u2 * ring[q2 + k]
        elif na == 2:
            if a0 == 0:
                for j in range(n):
                    k = u8(j)
                    of[ob + k] = u0 * ring[q0 + k] + u1 * ring[q1 + k]
            else:
                for j in range(n):
                    k = u8(j)
                    of[ob + k] += u0 * ring[q0 + k] + u1 * ring[q1 + k]
        elif a0 == 0:
            for j in range(n):
                k = u8(j)
                of[ob + k] = u0 * ring[q0 + k]
        else:
            for j in range(n):
                k = u8(j)
                of[ob + k] += u0 * ring[q0 + k]


@inline
def _col_pass_pair(ring, n_slots, u, top, n, of, ob0, ob1):
    """Two output rows at once (stride and dilation 1, ``KH >= 2``): ``of[ob0 + j]`` from ring
    rows ``top .. top + KH - 1``, ``of[ob1 + j]`` from rows ``top + 1 .. top + KH``. The
    ``KH - 1`` rows both use are loaded once for both; no weight is ever applied to a row its
    output does not read (a NaN there must not spread)."""
    KH = u.shape[0]
    qt = u8((top % n_slots) * n)  # the row only the first output reads
    qb = u8(((top + KH) % n_slots) * n)  # the row only the second output reads
    ut = u[0]
    ub = u[KH - 1]
    start = 1
    while KH - start >= 5:  # five shared rows per pass while they last
        a0 = start
        x0, x1, x2, x3, x4 = u[a0], u[a0 + 1], u[a0 + 2], u[a0 + 3], u[a0 + 4]
        y0, y1, y2, y3, y4 = u[a0 - 1], u[a0], u[a0 + 1], u[a0 + 2], u[a0 + 3]
        q0 = u8(((top + a0) % n_slots) * n)
        q1 = u8(((top + a0 + 1) % n_slots) * n)
        q2 = u8(((top + a0 + 2) % n_slots) * n)
        q3 = u8(((top + a0 + 3) % n_slots) * n)
        q4 = u8(((top + a0 + 4) % n_slots) * n)
        if a0 == 1:
            for j in range(n):
                k = u8(j)
                r0, r1, r2, r3, r4 = (
                    ring[q0 + k],
                    ring[q1 + k],
                    ring[q2 + k],
                    ring[q3 + k],
                    ring[q4 + k],
                )
                s0 = ut * ring[qt + k] + x0 * r0 + x1 * r1 + x2 * r2 + x3 * r3 + x4 * r4
                s1 = ub * ring[qb + k] + y0 * r0 + y1 * r1 + y2 * r2 + y3 * r3 + y4 * r4
                of[ob0 + k] = s0
                of[ob1 + k] = s1
        else:
            for j in range(n):
                k = u8(j)
                r0, r1, r2, r3, r4 = (
                    ring[q0 + k],
                    ring[q1 + k],
                    ring[q2 + k],
                    ring[q3 + k],
                    ring[q4 + k],
                )
                s0 = x0 * r0 + x1 * r1 + x2 * r2 + x3 * r3 + x4 * r4
                s1 = y0 * r0 + y1 * r1 + y2 * r2 + y3 * r3 + y4 * r4
                of[ob0 + k] += s0
                of[ob1 + k] += s1
        start += 5
    for a0 in range(start, KH, 3):  # the shared rows top + a, a = 1 .. KH - 1
        na = min(3, KH - a0)
        x0 = u[a0]
        y0 = u[a0 - 1]
        x1 = u[a0 + 1] if na > 1 else x0
        y1 = u[a0] if na > 1 else y0
        x2 = u[a0 + 2] if na > 2 else x0
        y2 = u[a0 + 1] if na > 2 else y0
        q0 = u8(((top + a0) % n_slots) * n)
        q1 = u8(((top + a0 + 1) % n_slots) * n)
        q2 = u8(((top + a0 + 2) % n_slots) * n)
        first = a0 == 1
        if na == 3:
            if first:
                for j in range(n):
                    k = u8(j)
                    r0 = ring[q0 + k]
                    r1 = ring[q1 + k]
                    r2 = ring[q2 + k]
                    of[ob0 + k] = ut * ring[qt + k] + x0 * r0 + x1 * r1 + x2 * r2
                    of[ob1 + k] = ub * ring[qb + k] + y0 * r0 + y1 * r1 + y2 * r2
            else:
                for j in range(n):
                    k = u8(j)
                    r0 = ring[q0 + k]
                    r1 = ring[q1 + k]
                    r2 = ring[q2 + k]
                    of[ob0 + k] += x0 * r0 + x1 * r1 + x2 * r2
                    of[ob1 + k] += y0 * r0 + y1 * r1 + y2 * r2
        elif na == 2:
            if first:
                for j in range(n):
                    k = u8(j)
                    r0 = ring[q0 + k]
                    r1 = ring[q1 + k]
                    of[ob0 + k] = ut * ring[qt + k] + x0 * r0 + x1 * r1
                    of[ob1 + k] = ub * ring[qb + k] + y0 * r0 + y1 * r1
            else:
                for j in range(n):
                    k = u8(j)
                    r0 = ring[q0 + k]
                    r1 = ring[q1 + k]
                    of[ob0 + k] += x0 * r0 + x1 * r1
                    of[ob1 + k] += y0 * r0 + y1 * r1
        elif first:
            for j in range(n):
                k = u8(j)
                r0 = ring[q0 + k]
                of[ob0 + k] = ut * ring[qt + k] + x0 * r0
                of[ob1 + k] = ub * ring[qb + k] + y0 * r0
        else:
            for j in range(n):
                k = u8(j)
                r0 = ring[q0 + k]
                of[ob0 + k] += x0 * r0
                of[ob1 + k] += y0 * r0


@serial
def separable_plane(src, rows, cols, left, cval, u, v, out, sh, sw, dh, dw, r0, r1, rowbuf,
                    ring):  # fmt: skip
    """Output rows ``[r0, r1)`` of one plane (see the module docstring).

    ``src`` is the 2-D input plane, ``rows``/``cols``/``left``/``cval`` its virtual padding,
    ``u`` (``KH``) and ``v`` (``KW``) the factors, ``out`` the C-contiguous 2-D output plane.
    ``rowbuf`` holds one padded row (``len(cols)``), ``ring`` (flat) at least
    ``(KH - 1) * dh + 1`` filtered rows of ``out.shape[1]`` values; with one more (and stride
    and dilation 1, ``KH >= 2``) output rows are made two at a time, each ring row read once
    for both.
    """
    KH = u.shape[0]
    OW = out.shape[1]
    n_slots = ring.shape[0] // OW
    slots = np.full(n_slots, -1, dtype=np.int64)  # padded row held by each slot of the ring
    pairs = sh == 1 and dh == 1 and KH >= 2 and n_slots >= KH + 1
    of = out.reshape(-1)
    i = r0
    while i < r1:
        pair = pairs and i + 1 < r1
        top = i * sh
        needed = KH + 1 if pair else KH
        for a in range(needed):
            h = top + a * dh
            slot = h % n_slots
            if slots[slot] != h:  # the rows of one output (pair) are distinct modulo n_slots
                gather_row(src, rows[h], cols, left, cval, rowbuf, u8(0))
                _row_pass(rowbuf, v, OW, sw, dw, ring, u8(slot * OW))
                slots[slot] = h
        if pair:
            _col_pass_pair(ring, n_slots, u, top, OW, of, u8(i * OW), u8((i + 1) * OW))
            i += 2
        else:
            _col_pass(ring, slots, u, top, dh, OW, of, u8(i * OW))
            i += 1
