"""GEMM algorithm: window matrices multiplied by the weight matrix in BLAS (``np.matmul``).

For group ``g`` the result is ``out[:, g] = W_g @ col`` with ``W_g`` the
``(O/groups, C/groups * KD*KH*KW)`` weight matrix and ``col`` the matching window matrix. The
window matrix of a whole problem can be many times the input, so it is built in tiles that fit
the workspace cap (:func:`fastconv.set_workspace_limit`), one workspace per thread, each tile
gathered and multiplied on one thread of fastconv's pool (BLAS held to one thread meanwhile).

- The *flat* window matrix (:func:`flat_plan`, :func:`_run_flat`): the input, zero-padded and
  split by stride phase into a channel-major copy, makes every row of ``col`` one contiguous
  slice across output rows and images (``fastconv._numba.im2col``). Tiles are ranges of
  columns of at most :data:`FLAT_TILE_BYTES` per thread, across image boundaries; the
  product of each is scattered into ``out``, dropping the columns of the phase grid that are
  not outputs.
- Per-image ``im2col`` tiles of output positions (and, for huge reductions, of the reduction
  axis) where the phase grid is much larger than the output or its copy does not fit the
  cap: every row of an output row gathered from the input directly.
- A 1×1, stride-1 convolution needs no window matrix at all: the input *is* ``col``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._numba.im2col import gather_flat, im2col, phase_split, scatter_flat
from .._options import get_workspace_limit
from .._threads import num_threads, run_tasks
from . import Canonical

#: Below this many multiply-adds the tiles run on one thread (bench/crossover.py, size sweep).
PARALLEL_MIN_MACS = 1 << 21
#: Bytes of flat window matrix and product per thread: a tile that stays in the 1 MiB L2
#: cache of a core of the 2-core dev VM while BLAS reads it. bench/gemm_tiles.py W8
#: (2026-11-25, VM loaded, medians of 15): 59.8 ms with 1 MiB; 62.6, 61.2, 58.2 and 64.4 ms
#: with 256 KiB, 512 KiB, 2 MiB and 4 MiB -- within the noise, none better.
FLAT_TILE_BYTES = 1 << 20
#: The flat window matrix computes every column of the extended output grid (the padded
#: input's, per stride phase); beyond this many columns per real output it falls back to
#: :func:`im2col` (the extension's columns are wasted products).
FLAT_MAX_EXTENSION = 1.5
#: Fewer columns than this per flat tile (a huge reduction axis): :func:`im2col`'s tiles,
#: which also split the reduction, instead.
FLAT_MIN_WIDTH = 64
#: The phase-split copy pays where the window matrix reads each of its elements at least this
#: often (kernel taps per stride phase). bench/gemm_tiles.py --geometries (the 30 geometries
#: of ``fastconv bench --check-choice``, flat against im2col, minimum CPU time of 10 calls;
#: 2-core dev VM, shared, 2026-11-25, three runs): from 4 reads up flat was 0.96-2.6x the
#: speed of im2col (G20 2.6x, G21 1.9x, G24 1.6x, G01 1.2x; G04 0.70x in one run, 1.00x in
#: two); below, it varied from run to run (G10 0.73-1.16x, G14 1.0-1.6x) and G15 (3x3,
#: stride 3) lost every time (0.66-0.79x). W5 (2.25 reads), 40 interleaved calls each: flat
#: 14.4 against 13.0 ms minimum CPU time (16.5 against 15.3 median): im2col kept below 4.
FLAT_MIN_REUSE = 4.0
#: Products up to this many multiply-adds run on one OpenBLAS thread (its
#: ``GEMM_MULTITHREAD_THRESHOLD`` of 4 x 65536): on the calling thread alone (a small
#: problem), flat tiles stay below it. A (32x64)@(64x968) product on OpenBLAS's two threads
#: took 26.6 ms instead of 0.045 ms while the VM's other core was busy.
BLAS_ONE_THREAD_MACS = 1 << 18


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


class FlatLayout(NamedTuple):
    """The flat window matrix of one problem (see ``fastconv._numba.im2col``)."""

    ext: tuple[int, int, int]  # (PD, PH, PW): one stride phase of the padded input
    phase_of: np.ndarray  # (S, 3) int64: the (a, b, e) offset of each stored phase
    tap_phase: np.ndarray  # (taps,) int64: the stored phase each kernel tap reads
    tap_offset: np.ndarray  # (taps,) int64: its flat offset inside that phase
    columns: int  # columns of the extended grid up to the last real output position


def flat_layout(
    x_shape: tuple[int, ...],
    kernel: tuple[int, int, int],
    out_spatial: tuple[int, int, int],
    canon: Canonical,
) -> FlatLayout:
    """Where every tap of the flat window matrix reads, for operands of these shapes.

    >>> from fastconv.algorithms import Canonical
    >>> lay = flat_layout((8, 64, 1, 56, 56), (1, 3, 3), (1, 28, 28),
    ...                   Canonical((1, 2, 2), (1, 1, 1), (0, 1, 1), 1))   # W5
    >>> lay.ext, len(lay.phase_of), lay.tap_phase.tolist(), lay.tap_offset.tolist()
    ((1, 29, 29), 4, [0, 1, 0, 2, 3, 2, 0, 1, 0], [0, 0, 1, 0, 0, 1, 29, 29, 30])
    """
    ext = []
    for size, k, o, s, d, lo in zip(
        x_shape[2:], kernel, out_spatial, canon.stride, canon.dilation, canon.pad_lo
    ):
        # every real output reads up to (o - 1) * s + (k - 1) * d of the padded axis
        padded = max(lo + size, (o - 1) * s + (k - 1) * d + 1)
        ext.append(-(-padded // s))
    pd_, ph_, pw_ = ext
    phase_ids: dict[tuple[int, int, int], int] = {}
    tap_phase, tap_offset = [], []
    for kd in range(kernel[0]):
        for kh in range(kernel[1]):
            for kw in range(kernel[2]):
                shifts = [t * d for t, d in zip((kd, kh, kw), canon.dilation)]
                phase = tuple(v % s for v, s in zip(shifts, canon.stride))
                i, j, k = (v // s for v, s in zip(shifts, canon.stride))
                tap_phase.append(phase_ids.setdefault(phase, len(phase_ids)))
                tap_offset.append((i * ph_ + j) * pw_ + k)
    od, oh, ow = out_spatial
    columns = (x_shape[0] - 1) * pd_ * ph_ * pw_ + ((od - 1) * ph_ + oh - 1) * pw_ + ow
    # the bound gather_flat relies on: every column's reads stay inside its phase
    if max(tap_offset) + columns > x_shape[0] * pd_ * ph_ * pw_:
        raise RuntimeError(f"flat_layout: reads past the phase grid {ext} for {out_spatial}")
    return FlatLayout(
        (pd_, ph_, pw_),
        np.array(list(phase_ids), dtype=np.int64).reshape(-1, 3),
        np.array(tap_phase, dtype=np.int64),
        np.array(tap_offset, dtype=np.int64),
        columns,
    )


def flat_plan(
    x_shape: tuple[int, ...],
    kernel: tuple[int, int, int],
    out_spatial: tuple[int, int, int],
    canon: Canonical,
    og: int,
    itemsize: int,
    threads: int,
) -> tuple[FlatLayout, int] | None:
    """The flat window matrix's layout and columns per tile, or ``None`` where it does not
    pay or fit: fewer than ``FLAT_MIN_REUSE`` kernel taps per stride phase, more than
    ``FLAT_MAX_EXTENSION`` extended columns per output, a phase-split input larger than half
    the workspace cap, or tiles narrower than ``FLAT_MIN_WIDTH``.

    Per thread a tile holds ``k_total + og`` rows of at most ``FLAT_TILE_BYTES`` together,
    within what the phase-split input leaves of the cap; it is cut finer where there would
    be fewer tiles than threads, and on one thread to products of ``BLAS_ONE_THREAD_MACS``.

    >>> from fastconv.algorithms import Canonical
    >>> lay, width = flat_plan((8, 3, 1, 224, 224), (1, 7, 7), (1, 112, 112),
    ...                        Canonical((1, 2, 2), (1, 1, 1), (0, 3, 3), 1), 64, 4, 2)
    >>> lay.columns, width    # W8: 5.1 % more columns than outputs, 1242 per tile
    (105452, 1242)
    >>> flat_plan((8, 64, 1, 56, 56), (1, 3, 3), (1, 28, 28),     # W5: 2.25 reads per element
    ...           Canonical((1, 2, 2), (1, 1, 1), (0, 1, 1), 1), 128, 4, 2) is None
    True
    """
    if math.prod(kernel) < FLAT_MIN_REUSE * math.prod(canon.stride):
        return None
    lay = flat_layout(x_shape, kernel, out_spatial, canon)
    n_images, channels = x_shape[:2]
    outputs = n_images * math.prod(out_spatial)
    if lay.columns > FLAT_MAX_EXTENSION * outputs:
        return None
    workspace = get_workspace_limit()
    phase_bytes = channels * len(lay.phase_of) * n_images * math.prod(lay.ext) * itemsize
    if 2 * phase_bytes > workspace:
        return None
    k_total = channels // canon.groups * math.prod(kernel)
    per_thread = min(FLAT_TILE_BYTES, (workspace - phase_bytes) // max(threads, 1))
    width = max(1, min(lay.columns, per_thread // itemsize // (k_total + og)))
    if canon.groups * math.ceil(lay.columns / width) < threads:
        width = math.ceil(lay.columns / math.ceil(threads / canon.groups))
    if threads == 1:
        width = min(width, max(1, BLAS_ONE_THREAD_MACS // (k_total * og)))
    if width < min(FLAT_MIN_WIDTH, lay.columns):
        return None
    return lay, width


def split_phases(x: np.ndarray, canon: Canonical, lay: FlatLayout, threads: int) -> np.ndarray:
    """The zero-padded input split by stride phase, channel-major: ``(C, S, N, *lay.ext)``
    (see ``fastconv._numba.im2col``), the channels shared out among ``threads``."""
    n_images, channels = x.shape[:2]
    phases = np.empty((channels, len(lay.phase_of), n_images, *lay.ext), dtype=x.dtype)
    step = max(1, math.ceil(channels / threads))
    run_tasks(
        lambda c0, _: phase_split(x, canon.pad_lo, canon.stride, lay.phase_of, c0,
                                  min(channels, c0 + step), phases),
        range(0, channels, step),
        threads=threads,
    )  # fmt: skip
    return phases


def _run_flat(
    x: np.ndarray, w_mat: np.ndarray, out: np.ndarray, canon: Canonical,
    lay: FlatLayout, width: int, threads: int,
) -> None:  # fmt: skip
    """The GEMM on the flat window matrix: phase-split the input once, then per tile of
    columns one contiguous copy per row, one product, one scatter of the real columns."""
    channels = x.shape[1]
    groups, og, k_total = w_mat.shape
    cg = channels // groups
    taps = len(lay.tap_phase)
    phases = split_phases(x, canon, lay, threads)
    tasks = [
        (g, q0, min(lay.columns, q0 + width))
        for g in range(groups)
        for q0 in range(0, lay.columns, width)
    ]
    workspaces: list[np.ndarray | None] = [None] * min(threads, len(tasks))

    def tile(task: tuple[int, int, int], worker: int) -> None:
        g, q0, q1 = task
        ws = workspaces[worker]
        if ws is None:
            ws = workspaces[worker] = np.empty((k_total + og) * width, dtype=x.dtype)
        n_cols = q1 - q0
        col = ws[: k_total * n_cols].reshape(k_total, n_cols)
        prod = ws[k_total * width :][: og * n_cols].reshape(og, n_cols)
        gather_flat(phases, taps, lay.tap_phase, lay.tap_offset, g * cg, 0, k_total, q0, q1,
                    col)  # fmt: skip
        np.matmul(w_mat[g], col, out=prod)
        scatter_flat(prod, q0, q1, lay.ext, g * og, out)

    run_tasks(tile, tasks, blas=True, threads=threads)


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
    if out.size == 0:
        return
    w_mat = w.reshape(canon.groups, og, k_total)
    out_mat = out.reshape(n_images, canon.groups, og, p_total)
    macs = n_images * n_out * p_total * k_total
    threads = num_threads() if macs >= PARALLEL_MIN_MACS else 1
    if _is_pointwise(x, w, out, canon):
        # nothing to gather: one batched product, (groups, og, cg) @ (N, groups, cg, P),
        # straight into ``out`` on BLAS's own threads. W7's products read 800 KB of input for
        # 64 output rows each: on the pool (BLAS on one thread per worker) they took 3.0 ms
        # against 1.8 ms on OpenBLAS's two threads (bench/gemm_tiles.py W7, 2026-11-25).
        x_mat = x.reshape(n_images, canon.groups, cg, p_total)
        np.matmul(w_mat, x_mat, out=out_mat)
        return

    # Small problems stay on the calling thread with BLAS's own threads: handing tiles to the
    # pool while BLAS is switched to one thread costs ~0.15 ms on the 2-core dev VM.
    kernel = w.shape[2:]
    flat = flat_plan(x.shape, kernel, out_spatial, canon, og, x.itemsize, threads)
    if flat is not None:
        _run_flat(x, w_mat, out, canon, *flat, threads)
        return
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
