"""GEMM algorithm: im2col tiles multiplied by the weight matrix in BLAS (``np.matmul``).

For image ``n`` and group ``g`` the result is ``out[n, g] = W_g @ col`` with ``W_g`` the
``(O/groups, C/groups * KD*KH*KW)`` weight matrix and ``col`` the matching window matrix
(``_numba.im2col``). The window matrix of a whole problem can be many times the input, so it is
built in tiles of output positions (and, for huge reductions, of the reduction axis) that fit
the workspace cap (:func:`fastconv.set_workspace_limit`), one workspace per thread. A 1×1,
stride-1 convolution needs no window matrix at all: the input *is* the column matrix.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._numba.im2col import im2col
from .._options import get_workspace_limit
from .._threads import num_threads, run_tasks
from . import Canonical

#: Below this many multiply-adds the tiles run on one thread (bench/crossover.py, size sweep).
PARALLEL_MIN_MACS = 1 << 21


class Tiling(NamedTuple):
    """How one problem is cut: positions per tile and reduction rows per chunk."""

    positions: int  # output positions (columns of the window matrix) per tile
    reduction: int  # reduction rows per chunk (== C/groups * KD*KH*KW unless that is huge)
    tasks: int


def plan_tiles(
    n_images: int,
    groups: int,
    og: int,
    k_total: int,
    p_total: int,
    itemsize: int,
    workspace_bytes: int,
    threads: int,
) -> Tiling:
    """Choose tile sizes so that ``threads`` workspaces together fit ``workspace_bytes``.

    >>> plan_tiles(8, 1, 64, 576, 3136, 4, 64 * 2**20, 2)   # W4: one tile per image
    Tiling(positions=3136, reduction=576, tasks=8)
    >>> plan_tiles(1, 1, 8, 100, 10**6, 8, 2**20, 1).positions
    1310
    """
    budget = max(workspace_bytes // max(threads, 1) // itemsize, 1)  # elements per workspace
    if k_total <= budget:
        reduction = k_total
        positions = max(1, min(p_total, budget // k_total))
    else:  # split the reduction too; partial products need an (og, positions) buffer
        positions = 1
        reduction = max(1, budget - og)
    tiles_per_image = math.ceil(p_total / positions)
    if n_images * groups * tiles_per_image < threads and p_total > 1:
        # too few tiles to keep every thread busy: cut the positions finer
        tiles_per_image = min(p_total, math.ceil(threads / (n_images * groups)))
        positions = math.ceil(p_total / tiles_per_image)
        tiles_per_image = math.ceil(p_total / positions)
    return Tiling(positions, reduction, n_images * groups * tiles_per_image)


def _is_pointwise(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical) -> bool:
    """1×1 kernel, stride 1, no padding: the input already is the window matrix."""
    return (
        w.shape[2:] == (1, 1, 1)
        and canon.stride == (1, 1, 1)
        and canon.pad_lo == (0, 0, 0)
        and out.shape[2:] == x.shape[2:]
    )


def run(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical) -> None:
    """GEMM correlation of canonical operands into ``out`` (see ``fastconv.algorithms``)."""
    n_images, n_out = out.shape[:2]
    out_spatial = out.shape[2:]
    p_total = out_spatial[0] * out_spatial[1] * out_spatial[2]
    og = n_out // canon.groups
    cg = w.shape[1]
    k_total = w[0].size
    if k_total == 0:  # no input channels: the sum over an empty window is zero
        out.fill(0)
        return
    w_mat = w.reshape(canon.groups, og, k_total)
    out_mat = out.reshape(n_images, canon.groups, og, p_total)
    if _is_pointwise(x, w, out, canon):
        # nothing to gather, so nothing for fastconv's pool to overlap: one product per image
        # and group, each on BLAS's own threads
        x_mat = x.reshape(n_images, canon.groups, cg, p_total)
        for n in range(n_images):
            for g in range(canon.groups):
                np.matmul(w_mat[g], x_mat[n, g], out=out_mat[n, g])
        return

    # Small problems stay on the calling thread with BLAS's own threads: handing tiles to the
    # pool while BLAS is switched to one thread costs ~0.15 ms on the 2-core dev VM.
    macs = n_images * n_out * p_total * k_total
    threads = num_threads() if macs >= PARALLEL_MIN_MACS else 1
    tiling = plan_tiles(
        n_images, canon.groups, og, k_total, p_total, x.itemsize, get_workspace_limit(), threads
    )
    tiles_per_image = math.ceil(p_total / tiling.positions)
    tasks = [
        (n, g, t * tiling.positions, min(p_total, (t + 1) * tiling.positions))
        for n in range(n_images)
        for g in range(canon.groups)
        for t in range(tiles_per_image)
    ]
    split_k = tiling.reduction < k_total
    workspaces: list[np.ndarray | None] = [None] * min(threads, len(tasks))
    kernel = w.shape[2:]

    def tile(task: tuple[int, int, int, int], worker: int) -> None:
        n, g, p0, p1 = task
        dest = out_mat[n, g, :, p0:p1]
        ws = workspaces[worker]
        if ws is None:
            size = tiling.reduction * tiling.positions + (og * tiling.positions if split_k else 0)
            ws = workspaces[worker] = np.empty(size, dtype=x.dtype)
        width = p1 - p0
        for k0 in range(0, k_total, tiling.reduction):
            k1 = min(k_total, k0 + tiling.reduction)
            col = ws[: (k1 - k0) * width].reshape(k1 - k0, width)
            im2col(
                x,
                n,
                g * cg,
                kernel,
                out_spatial,
                canon.stride,
                canon.dilation,
                canon.pad_lo,
                k0,
                k1,
                p0,
                p1,
                col,
            )
            if k0 == 0:
                np.matmul(w_mat[g, :, k0:k1], col, out=dest)
            else:
                part = ws[tiling.reduction * tiling.positions :][: og * width].reshape(og, width)
                np.matmul(w_mat[g, :, k0:k1], col, out=part)
                dest += part

    run_tasks(tile, tasks, blas=True, threads=threads)
