"""Winograd transforms: input tiles into the transform domain, products back to output tiles.

Canonical operands (see ``fastconv.algorithms``) of a 2-D problem: ``x`` is
``(N, C, 1, H, W)``, ``out`` is ``(N, O, 1, OH, OW)``. ``F(m×m, 3×3)`` cuts the output into
``m×m`` tiles; tile ``(ty, tx)`` reads the ``a×a`` input patch (``a = m + 2``) whose top-left
corner is ``(ty*m - ph, tx*m - pw)`` (zero outside ``x``). The matrices ``B^T`` (``a×a``) and
``A^T`` (``m×a``) come from the caller (``fastconv.algorithms.winograd``, with their citation).

Both transforms run on channel vectors (``winograd_tiles``, generated): the input patch is
first copied into a zero-padded, channels-last workspace ``xt`` (rows × columns × C), so
every step of ``B^T d B`` is a multiply-add of contiguous ``C``-long vectors (FMA vector
code); the products ``M`` arrive channels-last too (``(a*a, tiles, O)``) and ``A^T M A``
writes a channels-last output strip that is copied (transposed) into ``out``. Kernels are
serial and release the GIL: fastconv's thread pool runs one strip of tile rows per task. Flat
unsigned indices keep the inner loops free of wraparound checks (see ``direct``).
"""

from __future__ import annotations

from numba import uint64 as u8

from ._config import serial
from .winograd_tiles import input_tiles_2, input_tiles_4, output_tiles_2, output_tiles_4


@serial
def channels_last(x, n, ph, pw, y0, rows, wp, xt):
    """``xt[r, q, c] = x[n, c, 0, y0 + r, q - pw]`` for ``r < rows``, ``q < wp``; zero outside
    ``x``."""
    _, C, _, H, W = x.shape
    xf = x.reshape(-1)
    tf = xt.reshape(-1)
    q0 = min(max(pw, 0), wp)  # first column inside x
    q1 = max(min(W + pw, wp), q0)
    for r in range(rows):
        y = y0 + r
        rb = u8(r * wp * C)
        if y < 0 or y >= H:
            for k in range(wp * C):
                tf[rb + u8(k)] = 0
            continue
        for k in range(q0 * C):
            tf[rb + u8(k)] = 0
        for k in range(q1 * C, wp * C):
            tf[rb + u8(k)] = 0
        for c in range(C):
            src = u8(((n * C + c) * H + y) * W + q0 - pw)
            dst = rb + u8(q0 * C + c)
            for q in range(q1 - q0):
                tf[dst + u8(q * C)] = xf[src + u8(q)]


@serial
def input_transform(x, n, ph, pw, ty0, ty1, n_tx, m, k, xt, v, tmp):
    """``v[a*alpha + b, t, :] = (B^T d_t B)[a, b]`` for the tiles of tile rows ``[ty0, ty1)``
    of image ``n`` (``F(m×m, 3×3)``, ``m`` 2 or 4; ``k``: the transforms' constants).

    ``v`` is ``(alpha*alpha, (ty1 - ty0) * n_tx, C)``; ``xt`` a workspace of at least
    ``((ty1 - ty0) * m + 2) * (n_tx * m + 2) * C`` elements, ``tmp`` one of
    ``(m + 2)² * n_tx * C``.
    """
    C = x.shape[1]
    wp = n_tx * m + 2
    channels_last(x, n, ph, pw, ty0 * m - ph, (ty1 - ty0) * m + 2, wp, xt)
    n_tiles = (ty1 - ty0) * n_tx
    for ty in range(ty1 - ty0):
        if m == 4:
            input_tiles_4(xt, wp, C, n_tx, ty * n_tx, n_tiles, v, ty, k, tmp)
        else:
            input_tiles_2(xt, wp, C, n_tx, ty * n_tx, n_tiles, v, ty, k, tmp)


@serial
def output_transform(mm, m, k, n, o0, ty0, ty1, n_tx, ot, out, tmp):
    """``out[n, o0 + o, 0, ty*m + r, tx*m + s] = (A^T M_t A)[r, s]`` for tile rows
    ``[ty0, ty1)``; ``mm`` is ``(alpha*alpha, tiles, O')`` (the products of ``O'`` output
    channels starting at ``o0``), ``ot`` a workspace of ``m * n_tx * m * O'`` elements and
    ``tmp`` one of ``(m + 2) * m * n_tx * O'``.

    Returns 0 if every output written is finite, else NaN: the transforms spread a NaN or inf
    over a whole tile (``inf - inf``), so the caller then recomputes with another algorithm.
    """
    og = mm.shape[2]
    _, n_out, _, OH, OW = out.shape
    tf = ot.reshape(-1)
    of = out.reshape(-1)
    wo = n_tx * m
    cols = min(wo, OW)
    check = mm.dtype.type(0)
    for ty in range(ty1 - ty0):
        if m == 4:
            output_tiles_4(mm, ty * n_tx, n_tx, ot, wo, k, tmp)
        else:
            output_tiles_2(mm, ty * n_tx, n_tx, ot, wo, k, tmp)
        # channels-last strip -> out (the rows and columns that exist)
        for o in range(og):
            for r in range(m):
                y = (ty0 + ty) * m + r
                if y >= OH:
                    break
                dst = u8(((n * n_out + o0 + o) * OH + y) * OW)
                src = u8(r * wo * og + o)
                for q in range(cols):
                    value = tf[src + u8(q * og)]
                    of[dst + u8(q)] = value
                    check += value * 0  # NaN once any value is NaN or inf
    return check
