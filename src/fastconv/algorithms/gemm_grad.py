"""The GEMM algorithm's two other products: transposed convolution and the weight gradient.

Both use the window matrix of the forward GEMM (``_numba.im2col``, and its adjoint
``_numba.col2im``), in tiles bounded by the workspace cap and run on fastconv's thread pool.

- :func:`transpose` (the transposed convolution, hence every ``grad_input``): for image ``n``
  and group ``g``, ``col = W_g.T @ x[n, g]`` gives every product of an input element with the
  kernel, and ``col2im`` adds each to the output element it lands on. It does the work of the
  real products only, whatever the stride (a stride-``s`` transposed convolution written as a
  correlation would multiply ``s**nd`` times more zeros).
- :func:`weight` (the weight gradient): ``grad_w[g] = sum over n of g[n, g] @ col(x[n, g]).T``,
  the forward window matrix multiplied by the output gradient instead of the filters; each thread
  sums its tiles into its own accumulator. Where the forward pass takes the flat window matrix
  (:func:`fastconv.algorithms.gemm.flat_plan`), so does this: the batch is folded into the
  reduction, each tile of columns running across image boundaries.

Canonical operands as in :mod:`fastconv.algorithms` (three spatial axes, C-contiguous, compute
dtype, non-zero padding modes already applied); ``canon`` is the *forward* convolution's
geometry in both.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba.col2im import col2im
from .._numba.im2col import gather_flat, im2col, spread_flat
from .._options import get_workspace_limit
from .._threads import num_threads, run_tasks
from . import Canonical
from .gemm import PARALLEL_MIN_MACS, FlatLayout, flat_plan, plan_tiles, split_phases

#: Bytes of window matrix per thread in :func:`backward`, whose two products both read it: a
#: tile that stays in the 1 MiB L2 cache of a core of the 2-core dev VM. W9 (the backward of
#: W4), best of 15 interleaved calls, four runs: 28.3, 28.9, 28.7 and (machine busy) 44.7 ms
#: with 1 MiB tiles; 31.6, 32.7, 30.0 and 52.5 ms with one tile per image (7 MiB, in the L3
#: that the VM shares with its neighbours); 2 MiB tiles as 1 MiB, 512 KiB slower.
BACKWARD_TILE_BYTES = 1 << 20


def transpose(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical) -> None:
    """Transposed convolution of canonical operands into ``out`` (overwritten).

    ``x`` is ``(N, C_in, ID, IH, IW)`` (the forward convolution's output grid), ``w`` is
    ``(C_in, C_out / groups, KD, KH, KW)`` and ``out`` is ``(N, C_out, D, H, W)``:
    ``out[n, co, i*s + k*d - pad_lo] += x[n, ci, i] * w[ci, co % (C_out/groups), k]``.
    """
    n_images, c_in = x.shape[:2]
    groups = canon.groups
    cgi = c_in // groups
    og = w.shape[1]
    taps = math.prod(w.shape[2:])
    in_spatial = x.shape[2:]
    p_total = math.prod(in_spatial)
    out.fill(0)
    if cgi == 0 or p_total == 0 or out.size == 0:
        return
    w_t = w.reshape(groups, cgi, og * taps)  # w_t[g].T is the (og * taps, cgi) matrix
    x_mat = x.reshape(n_images, groups, cgi, p_total)
    macs = n_images * c_in * p_total * og * taps
    threads = num_threads() if macs >= PARALLEL_MIN_MACS else 1
    # Output channels are the unit of ownership: two tasks never add into the same channel.
    # Cut each group's channels into chunks only as far as needed to keep every thread busy.
    budget = max(get_workspace_limit() // max(threads, 1) // x.itemsize, 1)
    chunks = min(og, max(1, math.ceil(threads / (n_images * groups))))
    per_chunk = max(1, min(math.ceil(og / chunks), budget // taps))
    positions = max(1, min(p_total, budget // (per_chunk * taps)))
    tasks = [
        (n, g, c0, min(og, c0 + per_chunk))
        for n in range(n_images)
        for g in range(groups)
        for c0 in range(0, og, per_chunk)
    ]
    workspaces: list[np.ndarray | None] = [None] * min(threads, len(tasks))
    kernel = w.shape[2:]

    def task(item: tuple[int, int, int, int], worker: int) -> None:
        n, g, c0, c1 = item
        ws = workspaces[worker]
        if ws is None:
            ws = workspaces[worker] = np.empty(per_chunk * taps * positions, dtype=x.dtype)
        rows = (c1 - c0) * taps
        w_rows = w_t[g, :, c0 * taps : c1 * taps].T
        for p0 in range(0, p_total, positions):
            p1 = min(p_total, p0 + positions)
            col = ws[: rows * (p1 - p0)].reshape(rows, p1 - p0)
            np.matmul(w_rows, x_mat[n, g, :, p0:p1], out=col)
            col2im(out, n, g * og + c0, kernel, in_spatial, canon.stride, canon.dilation,
                   canon.pad_lo, 0, rows, p0, p1, col)  # fmt: skip

    run_tasks(task, tasks, blas=True, threads=threads)


def weight(x: np.ndarray, g: np.ndarray, grad_w: np.ndarray, canon: Canonical) -> None:
    """Weight gradient of canonical operands into ``grad_w`` (overwritten).

    ``x`` is the forward input ``(N, C, D, H, W)``, ``g`` the output gradient
    ``(N, O, OD, OH, OW)`` and ``grad_w`` is ``(O, C / groups, KD, KH, KW)``:
    ``grad_w[o, c, k] = sum over n, p of g[n, o, p] * x[n, group(o) + c, p*s + k*d - pad_lo]``.
    """
    n_images, n_out = g.shape[:2]
    groups = canon.groups
    og = n_out // groups
    cg = grad_w.shape[1]
    k_total = grad_w[0].size if n_out else 0
    out_spatial = g.shape[2:]
    p_total = math.prod(out_spatial)
    if k_total == 0 or p_total == 0 or n_images == 0:
        grad_w.fill(0)
        return
    g_mat = g.reshape(n_images, groups, og, p_total)
    macs = n_images * n_out * p_total * k_total
    threads = num_threads() if macs >= PARALLEL_MIN_MACS else 1
    flat = flat_plan(x.shape, grad_w.shape[2:], out_spatial, canon, og, x.itemsize, threads)
    if flat is not None:
        _weight_flat(x, g, grad_w, canon, *flat, threads)
        return
    tiling = plan_tiles(
        n_images, groups, og, k_total, p_total, x.itemsize, get_workspace_limit(), threads
    )
    tiles_per_image = math.ceil(p_total / tiling.positions)
    tasks = [
        (n, grp, t * tiling.positions, min(p_total, (t + 1) * tiling.positions))
        for n in range(n_images)
        for grp in range(groups)
        for t in range(tiles_per_image)
    ]
    workers = min(threads, len(tasks))
    # per worker: its window tile, a product buffer, and its sum of (k_total, og) products
    workspaces: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * workers
    kernel = grad_w.shape[2:]

    def tile(task: tuple[int, int, int, int], worker: int) -> None:
        n, grp, p0, p1 = task
        if workspaces[worker] is None:
            workspaces[worker] = (
                np.empty(tiling.reduction * tiling.positions, dtype=x.dtype),
                np.empty(tiling.reduction * og, dtype=x.dtype),
                np.zeros((groups, k_total, og), dtype=x.dtype),
            )
        ws, part, acc = workspaces[worker]
        width = p1 - p0
        for k0 in range(0, k_total, tiling.reduction):
            k1 = min(k_total, k0 + tiling.reduction)
            col = ws[: (k1 - k0) * width].reshape(k1 - k0, width)
            im2col(x, n, grp * cg, kernel, out_spatial, canon.stride, canon.dilation,
                   canon.pad_lo, k0, k1, p0, p1, col)  # fmt: skip
            prod = part[: (k1 - k0) * og].reshape(k1 - k0, og)
            np.matmul(col, g_mat[n, grp, :, p0:p1].T, out=prod)
            acc[grp, k0:k1] += prod

    run_tasks(tile, tasks, blas=True, threads=threads)
    total = sum(ws[2] for ws in workspaces if ws is not None)
    grad_w.reshape(groups, og, k_total)[...] = np.swapaxes(total, 1, 2)


def _weight_flat(x: np.ndarray, g: np.ndarray, grad_w: np.ndarray, canon: Canonical,
                 lay: FlatLayout, width: int, threads: int) -> None:  # fmt: skip
    """:func:`weight` on the flat window matrix: the batch folded into the reduction.

    ``grad_w[g].T = col @ G.T`` with ``col`` the flat window matrix of ``x`` and ``G`` the
    output gradient on the same extended columns (zero on the columns that are not real
    outputs), summed over tiles of columns that run across image boundaries.
    """
    n_out = g.shape[1]
    groups = canon.groups
    og = n_out // groups
    cg = grad_w.shape[1]
    k_total = grad_w[0].size
    taps = len(lay.tap_phase)
    phases = split_phases(x, canon, lay, threads)
    tasks = [
        (grp, q0, min(lay.columns, q0 + width))
        for grp in range(groups)
        for q0 in range(0, lay.columns, width)
    ]
    workers = min(threads, len(tasks))
    # per worker: its window tile and gradient tile, a product buffer, its (k_total, og) sums
    # (``col @ G.T`` ran at 94 GFLOP/s on one core of the dev VM, ``G @ col.T`` at 76)
    workspaces: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * workers

    def tile(task: tuple[int, int, int], worker: int) -> None:
        grp, q0, q1 = task
        if workspaces[worker] is None:
            workspaces[worker] = (
                np.empty((k_total + og) * width, dtype=x.dtype),
                np.empty(k_total * og, dtype=x.dtype),
                np.zeros((groups, k_total, og), dtype=x.dtype),
            )
        ws, part, acc = workspaces[worker]
        n_cols = q1 - q0
        col = ws[: k_total * n_cols].reshape(k_total, n_cols)
        g_tile = ws[k_total * width :][: og * n_cols].reshape(og, n_cols)
        gather_flat(phases, taps, lay.tap_phase, lay.tap_offset, grp * cg, 0, k_total, q0, q1,
                    col)  # fmt: skip
        spread_flat(g, grp * og, q0, q1, lay.ext, g_tile)
        prod = part.reshape(k_total, og)
        np.matmul(col, g_tile.T, out=prod)
        acc[grp] += prod

    run_tasks(tile, tasks, blas=True, threads=threads)
    total = sum(ws[2] for ws in workspaces if ws is not None)
    grad_w.reshape(groups, og, k_total)[...] = np.swapaxes(total, 1, 2)


def backward(g: np.ndarray, w_flipped: np.ndarray, x: np.ndarray, grad_x: np.ndarray,
             grad_w_flipped: np.ndarray, canon: Canonical) -> None:  # fmt: skip
    """Both gradients of a stride-1 convolution from one window matrix of ``g``.

    ``grad_input`` of a stride-1 convolution is the correlation of ``g`` with the flipped,
    channel-swapped weight ``w_flipped`` ``(C, O / groups, KD, KH, KW)``; ``canon`` is that
    correlation's geometry (stride 1, the forward dilation, leading padding
    ``(k - 1) * d - pad_lo``). Its window matrix ``col[(o, k), i] = g[n, o, i + k*d - lead]``
    also holds every product partner of ``x`` in the weight gradient, so for image ``n`` and
    group ``g``, with ``col`` built once (``grad_x`` is ``(N, C, D, H, W)``, like ``x``):

    - ``grad_x[n, g] = W_flipped[g] @ col`` (the forward GEMM), and
    - ``grad_w_flipped[g] += col @ x[n, g].T``: the weight gradient ``(O, C / groups, *k)``
      with its kernel axes reversed,

    which saves building the window matrix of ``x`` that :func:`weight` needs.
    """
    n_images, channels = grad_x.shape[:2]
    groups = canon.groups
    cg = channels // groups
    og = w_flipped.shape[1]
    k_total = w_flipped[0].size
    out_spatial = grad_x.shape[2:]
    p_total = math.prod(out_spatial)
    kernel = w_flipped.shape[2:]
    wf_mat = w_flipped.reshape(groups, cg, k_total)
    gx_mat = grad_x.reshape(n_images, groups, cg, p_total)
    x_mat = x.reshape(n_images, groups, cg, p_total)
    macs = 2 * n_images * channels * p_total * k_total
    threads = num_threads() if macs >= PARALLEL_MIN_MACS else 1
    workspace = min(get_workspace_limit(), threads * BACKWARD_TILE_BYTES)
    tiling = plan_tiles(n_images, groups, cg, k_total, p_total, x.itemsize, workspace, threads)
    tiles_per_image = math.ceil(p_total / tiling.positions)
    tasks = [
        (n, grp, t * tiling.positions, min(p_total, (t + 1) * tiling.positions))
        for n in range(n_images)
        for grp in range(groups)
        for t in range(tiles_per_image)
    ]
    split_k = tiling.reduction < k_total
    workers = min(threads, len(tasks))
    # per worker: its window tile, a buffer for partial products, its (k_total, cg) sums
    workspaces: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * workers

    def tile(task: tuple[int, int, int, int], worker: int) -> None:
        n, grp, p0, p1 = task
        if workspaces[worker] is None:
            rows = max(tiling.reduction, tiling.positions if split_k else 0)
            workspaces[worker] = (
                np.empty(tiling.reduction * tiling.positions, dtype=x.dtype),
                np.empty(rows * cg, dtype=x.dtype),
                np.zeros((groups, k_total, cg), dtype=x.dtype),
            )
        ws, part, acc = workspaces[worker]
        width = p1 - p0
        dest = gx_mat[n, grp, :, p0:p1]
        for k0 in range(0, k_total, tiling.reduction):
            k1 = min(k_total, k0 + tiling.reduction)
            col = ws[: (k1 - k0) * width].reshape(k1 - k0, width)
            im2col(g, n, grp * og, kernel, out_spatial, canon.stride, canon.dilation,
                   canon.pad_lo, k0, k1, p0, p1, col)  # fmt: skip
            if k0 == 0:
                np.matmul(wf_mat[grp, :, k0:k1], col, out=dest)
            else:
                partial = part[: cg * width].reshape(cg, width)
                np.matmul(wf_mat[grp, :, k0:k1], col, out=partial)
                dest += partial
            prod = part[: (k1 - k0) * cg].reshape(k1 - k0, cg)
            np.matmul(col, x_mat[n, grp, :, p0:p1].T, out=prod)
            acc[grp, k0:k1] += prod

    run_tasks(tile, tasks, blas=True, threads=threads)
    total = sum(ws[2] for ws in workspaces if ws is not None)
    taps = k_total // og
    grad_w_flipped.reshape(groups, og, cg, taps)[...] = np.swapaxes(
        total.reshape(groups, og, taps, cg), 2, 3
    )
