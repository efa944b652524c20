"""Separable algorithm: a rank-1 kernel applied as a row pass and a column pass.

A 2-D kernel of (numerical) rank 1 is an outer product ``w = outer(u, v)`` — Gaussian, box,
Sobel, Prewitt, Scharr, and any product of two 1-D filters — and correlating with it is
correlating every row with ``v`` and then every column of that result with ``u``:
``KH + KW`` multiply-adds per output instead of ``KH * KW`` (``fastconv._numba.separable``).

It applies where every output reads one input channel through its own 2-D kernel (canonical
``w`` of shape ``(O, 1, 1, KH, KW)``: single-channel filtering, depthwise layers, one channel
feeding several filters). :func:`factors` decides whether kernels are of rank 1; the
dispatcher calls it with the weight *values*, which is why the choice of this algorithm is
made per call and never stored in the plan cache (which is keyed on shapes alone).
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from .._numba.separable import separable_plane
from .._threads import num_threads, run_tasks
from . import Canonical

#: Below this many multiply-adds (``out.size * (KH + KW)``) the planes run on the calling
#: thread. ``python bench/crossover.py separable`` (7x7 rank-1 kernel, 0.2 s idle gap before
#: each sample, 2-core dev VM shared with other jobs, 2026-11-25): one thread won at every size
#: up to 1448x1448 (29 M multiply-adds); the pool pays for waking its workers, as for the
#: direct method, whose measured threshold (16 M) this takes over.
PARALLEL_MIN_MACS = 1 << 24


def rank_tolerance(shape: tuple[int, int], dtype: np.dtype) -> float:
    """Largest ``s[1] / s[0]`` (second over first singular value) still counted as rank 1.

    NumPy's ``matrix_rank`` rule, ``max(KH, KW) * eps``, with the epsilon of the dtype the
    convolution computes in: a kernel rounded to that dtype is only known to that precision.

    >>> rank_tolerance((5, 5), np.dtype(np.float32))
    5.960464477539063e-07
    """
    return max(shape) * float(np.finfo(dtype).eps)


def singular_ratio(kernels: np.ndarray) -> np.ndarray:
    """``s[1] / s[0]`` of each 2-D kernel in ``kernels`` (``(..., KH, KW)``); ``inf`` where a
    kernel is zero or not finite, ``0`` where it has a single row or column."""
    k = np.asarray(kernels, dtype=np.float64)
    lead = k.shape[:-2]
    if min(k.shape[-2:]) == 1:
        finite = np.isfinite(k).all(axis=(-2, -1)) & (k != 0).any(axis=(-2, -1))
        return np.where(finite, 0.0, np.inf)
    ratio = np.full(lead, np.inf)
    finite = np.isfinite(k).all(axis=(-2, -1))
    if finite.any():
        s = np.linalg.svd(k[finite], compute_uv=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio[finite] = np.where(s[..., 0] > 0, s[..., 1] / s[..., 0], np.inf)
    return ratio


def numerical_rank(kernels: np.ndarray, dtype: np.dtype) -> int:
    """The largest numerical rank among the 2-D kernels in ``kernels`` (``(..., KH, KW)``):
    singular values at most :func:`rank_tolerance` times the first count as zero; ``0`` if a
    kernel is zero or not finite (nothing to split).

    >>> numerical_rank(np.outer([1.0, 2, 1], [1.0, 0, -1]), np.dtype(np.float64))   # Sobel
    1
    >>> numerical_rank(np.eye(3) + np.outer([1.0, 0, 0], [0, 0, 1]), np.dtype(np.float64))
    3
    >>> numerical_rank(np.zeros((2, 3, 3)), np.dtype(np.float64))
    0
    """
    k = np.asarray(kernels, dtype=np.float64)
    flat = k.reshape(-1, *k.shape[-2:])
    if flat.size == 0 or not np.isfinite(flat).all():
        return 0
    s = np.linalg.svd(flat, compute_uv=False)
    if not (s[:, 0] > 0).all():
        return 0
    tol = rank_tolerance(k.shape[-2:], dtype)
    return int((s > tol * s[:, :1]).sum(axis=1).max())


#: analyses by kernel values: (shape, dtype, compute dtype, bytes) -> factors or None.
#: Filters are usually applied many times; the SVD and the factors (~40 µs) are then paid once.
_ANALYSES: dict[tuple, tuple[np.ndarray, np.ndarray] | None] = {}
_ANALYSES_MAX = 128
_UNKNOWN = object()
#: larger kernels are analysed afresh each time (hashing them would cost more than it saves)
_ANALYSE_CACHE_MAX_VALUES = 1 << 14


def analyse_rank(kernels: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray] | None:
    """Factor pairs ``(u, v)`` in ``dtype``, ``u`` of shape ``(..., r, KH)`` and ``v``
    ``(..., r, KW)`` with ``kernels ≈ sum_k outer(u[..., k, :], v[..., k, :])``, where ``r`` is
    the :func:`numerical_rank` of ``kernels`` (``(..., KH, KW)``); ``None`` for zero or
    non-finite kernels. Remembered by value.

    >>> u, v = analyse_rank(np.eye(2) + 1, np.dtype(np.float64))   # rank 2
    >>> u.shape, v.shape, bool(np.allclose(u.T @ v, np.eye(2) + 1))
    ((2, 2), (2, 2), True)
    """
    k = np.asarray(kernels)
    key = None
    if k.size <= _ANALYSE_CACHE_MAX_VALUES:
        key = (k.shape, k.dtype.str, np.dtype(dtype).str, k.tobytes())
        known = _ANALYSES.get(key, _UNKNOWN)  # one lookup: another thread may clear the dict
        if known is not _UNKNOWN:
            return known
    result = None
    rank = numerical_rank(k, dtype)
    if rank:
        u, v = factor_pairs(k, rank)
        result = (u.astype(dtype), v.astype(dtype))
    if key is not None:
        if len(_ANALYSES) >= _ANALYSES_MAX:
            _ANALYSES.clear()
        _ANALYSES[key] = result
    return result


def analyse(kernels: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray] | None:
    """Factors ``(u, v)`` in ``dtype`` if every kernel in ``kernels`` (``(..., KH, KW)``) is of
    numerical rank 1 (:func:`rank_tolerance`), else ``None``: :func:`analyse_rank`'s ``r = 1``.

    >>> u, v = analyse(np.ones((3, 5)), np.dtype(np.float32))
    >>> u, v
    (array([1., 1., 1.], dtype=float32), array([1., 1., 1., 1., 1.], dtype=float32))
    >>> analyse(np.eye(3), np.dtype(np.float64)) is None
    True
    """
    found = analyse_rank(kernels, dtype)
    if found is None or found[0].shape[-2] != 1:
        return None
    return found[0][..., 0, :], found[1][..., 0, :]


def is_rank_one(kernels: np.ndarray, dtype: np.dtype) -> bool:
    """Whether every 2-D kernel in ``kernels`` (``(..., KH, KW)``) is of numerical rank 1.

    >>> is_rank_one(np.outer([1, 2, 1], [1, 0, -1]), np.dtype(np.float64))   # Sobel
    True
    >>> is_rank_one(np.eye(3), np.dtype(np.float64))
    False
    >>> is_rank_one(np.zeros((3, 3)), np.dtype(np.float64))   # rank 0: nothing to split
    False
    """
    return analyse(kernels, dtype) is not None


def factor_pairs(kernels: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """``rank`` factor pairs ``u`` ``(..., rank, KH)`` and ``v`` ``(..., rank, KW)`` with
    ``kernels ≈ sum_k u[..., k, :, None] * v[..., k, None, :]``, for kernels of that rank.

    Each pair is taken from the row and column of the remainder through its largest entry
    (Gaussian elimination with complete pivoting), not from the SVD: integer kernels such as
    Sobel give exact factors with exact zeros, and an exactly separable kernel is reproduced
    to rounding. A kernel of lower rank than ``rank`` gets zero pairs for the rest.

    >>> k = np.outer([1.0, 2, 1], [1.0, 0, -1]) + np.outer([0, 1.0, 0], [1.0, 1, 1])
    >>> u, v = factor_pairs(k, 2)
    >>> u
    array([[ 1.        ,  3.        ,  1.        ],
           [-0.66666667,  0.        , -0.66666667]])
    >>> bool(np.allclose(u.T @ v, k))
    True
    """
    k = np.asarray(kernels, dtype=np.float64)
    lead, (kh, kw) = k.shape[:-2], k.shape[-2:]
    rest = k.reshape(-1, kh, kw).copy()
    n = np.arange(len(rest))
    us = np.zeros((len(rest), rank, kh))
    vs = np.zeros((len(rest), rank, kw))
    for r in range(rank):
        pivot = np.abs(rest.reshape(len(rest), -1)).argmax(axis=1)
        i0, j0 = np.divmod(pivot, kw)
        top = rest[n, i0, j0]
        live = top != 0  # a kernel already used up keeps zero pairs
        safe = np.where(live, top, 1.0)
        us[:, r] = np.where(live[:, None], rest[n, :, j0], 0.0)
        vs[:, r] = np.where(live[:, None], rest[n, i0, :] / safe[:, None], 0.0)
        rest -= us[:, r, :, None] * vs[:, r, None, :]
    return us.reshape(*lead, rank, kh), vs.reshape(*lead, rank, kw)


def factors(kernels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factors ``u`` ``(..., KH)`` and ``v`` ``(..., KW)`` with ``kernels ≈ u[..., :, None] *
    v[..., None, :]``, for kernels already known to be of rank 1 (:func:`factor_pairs`, one
    pair).

    >>> u, v = factors(np.outer([1.0, 2, 1], [1.0, 0, -1]))
    >>> u, v
    (array([1., 2., 1.]), array([ 1.,  0., -1.]))
    """
    u, v = factor_pairs(kernels, 1)
    return u[..., 0, :], v[..., 0, :]


@functools.lru_cache(maxsize=256)
def zero_padding_tables(size: int, pad_lo: int, needed: int) -> tuple[np.ndarray, int]:
    """Virtual zero padding along one axis: table of source indices (``-1`` = padding).

    The table covers the ``needed`` padded positions and at least ``pad_lo + size`` (the
    gather copies whole input rows). Returns ``(table, pad_lo)``; remembered (the tables are
    only read).

    >>> zero_padding_tables(3, 1, 6)
    (array([-1,  0,  1,  2, -1, -1]), 1)
    """
    length = max(needed, pad_lo + size)
    idx = np.arange(length, dtype=np.int64) - pad_lo
    idx[(idx < 0) | (idx >= size)] = -1
    return idx, pad_lo


def row_chunks(rows: int, chunks: int) -> list[tuple[int, int]]:
    """``rows`` output rows cut into at most ``chunks`` ranges that start at even rows.

    The kernel makes output rows in pairs from the start of its range, so even starts give
    the same pairs, hence bit for bit the same result, whatever the number of threads.

    >>> row_chunks(9, 2), row_chunks(1, 2)
    ([(0, 4), (4, 9)], [(0, 1)])
    """
    bounds = sorted({min(rows, 2 * round(rows * c / chunks / 2)) for c in range(chunks)} | {rows})
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


#: Output rows of one block of a second or later factor pair: computed into a scratch block
#: (32 K values, in cache) and added to the output, so the scratch stays small.
PAIR_BLOCK_VALUES = 1 << 15


def run(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical) -> None:
    """Separable correlation of canonical operands (see ``fastconv.algorithms``).

    ``w`` is ``(O, 1, 1, KH, KW)`` whose kernels are of a low numerical rank ``r`` (checked by
    the caller with :func:`analyse_rank`, whose remembered factors this reuses); ``x`` is
    ``(N, C, 1, H, W)``; output channel ``o`` reads input channel ``o // (O / groups)``. Each
    factor pair is a row pass and a column pass; rank 1 is one pair written straight into
    ``out``, each further pair is added to it a block of rows at a time.
    """
    n_images, n_out, _, oh, ow = out.shape
    _, _, _, kh, kw = w.shape
    _, sh, sw = canon.stride
    _, dh, dw = canon.dilation
    _, ph, pw = canon.pad_lo
    per_group = n_out // canon.groups
    found = analyse_rank(w[:, 0, 0], x.dtype)  # remembered from the caller's check
    if found is None:  # forced by the caller on a kernel just short of rank 1: its best factors
        found = tuple(f.astype(x.dtype) for f in factor_pairs(w[:, 0, 0], 1))
    u, v = found
    rank = u.shape[1]
    rows, _ = zero_padding_tables(x.shape[3], ph, (oh - 1) * sh + (kh - 1) * dh + 1)
    cols, left = zero_padding_tables(x.shape[4], pw, (ow - 1) * sw + (kw - 1) * dw + 1)
    cval = x.dtype.type(0)

    planes = n_images * n_out
    macs = out.size * (kh + kw) * rank
    threads = num_threads() if macs >= PARALLEL_MIN_MACS else 1
    chunks = max(1, math.ceil(threads / planes)) if threads > 1 else 1
    tasks = [
        (n, o, r0, r1)
        for n in range(n_images)
        for o in range(n_out)
        for r0, r1 in row_chunks(oh, chunks)
    ]
    ring_rows = (kh - 1) * dh + 2  # one more than a window: output rows go in pairs
    block = max(2, PAIR_BLOCK_VALUES // ow // 2 * 2)  # even: the same row pairs as one pass
    buffers: list[tuple[np.ndarray, ...] | None] = [None] * min(threads, len(tasks))

    def plane(task: tuple[int, int, int, int], worker: int) -> None:
        n, o, r0, r1 = task
        bufs = buffers[worker]
        if bufs is None:
            bufs = buffers[worker] = (
                np.empty(len(cols), dtype=x.dtype),
                np.empty(ring_rows * ow, dtype=x.dtype),
                np.empty((block if rank > 1 else 0, ow), dtype=x.dtype),
            )
        src, dst = x[n, o // per_group, 0], out[n, o, 0]
        separable_plane(src, rows, cols, left, cval, u[o, 0], v[o, 0], dst, sh, sw, dh, dw,
                        r0, r1, bufs[0], bufs[1])  # fmt: skip
        for k in range(1, rank):
            for b0 in range(r0, r1, block):
                m = min(block, r1 - b0)
                part = bufs[2][:m]
                # the row table shifted so that scratch row 0 is output row b0
                separable_plane(src, rows[b0 * sh :], cols, left, cval, u[o, k], v[o, k], part,
                                sh, sw, dh, dw, 0, m, bufs[0], bufs[1])  # fmt: skip
                dst[b0 : b0 + m] += part

    run_tasks(plane, tasks, threads=threads)
