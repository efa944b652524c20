"""Winograd minimal filtering: ``F(4×4, 3×3)`` and ``F(2×2, 3×3)`` for 3×3, stride-1 layers.

An ``m×m`` output tile of a 3×3 correlation is ``Y = A^T [(G g G^T) ⊙ (B^T d B)] A`` for the
``(m+2)×(m+2)`` input patch ``d`` and the kernel ``g``: ``(m+2)²`` products per tile and
channel pair instead of ``9 m²`` — 2.25 instead of 9 per output for ``F(4×4, 3×3)`` (4× fewer
multiplications), 4 instead of 9 for ``F(2×2, 3×3)``. Summed over input channels, the
elementwise products become ``(m+2)²`` independent matrix products ``M_t = V_t U_t``
(tiles × C times C × O), which BLAS runs at close to the machine's peak.

The matrices are those of Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
CVPR 2016 (arXiv:1509.09308), §4.1 (``F(2×2, 3×3)``) and §4.2 (``F(4×4, 3×3)``). They are
exact in binary floating point except the ``1/6``, ``1/12`` and ``1/24`` of ``G``, which the
weight transform applies in float64.

Pipeline (one task per strip of tile rows of one image, on fastconv's thread pool, BLAS held
to one thread per worker): the input transform (Numba, ``_numba.winograd``) writes
``V`` of shape ``((m+2)², tiles, C)``; ``np.matmul`` multiplies it by ``U`` of shape
``((m+2)², C, O)`` (per group); the output transform writes the strip of ``out``.

Error bound
-----------
The transforms amplify rounding: the entries of ``B^T`` reach 5 and those of ``A^T`` 8 for
``F(4×4, 3×3)``. Measured on the test grid (``tests/test_winograd.py``: standard normal inputs
and weights, C from 1 to 256, float32), the error of ``F(4×4, 3×3)`` stays below
:data:`ERROR_BOUND` ``[4]`` relative to ``max|reference|``, ``F(2×2, 3×3)`` an order of
magnitude below; float64 results agree with the reference to ~1e-13. ``method="auto"`` picks
Winograd for float32 and float64 only where that bound holds, i.e. never for integer-valued
exactness (integer inputs compute in float64 and are not exact under the transforms).
"""

from __future__ import annotations

import math

import numpy as np

from .._numba.winograd import input_transform, output_transform
from .._numba.winograd_tiles import CONSTANTS_2, CONSTANTS_4
from .._options import get_workspace_limit
from .._threads import num_threads, run_tasks
from . import Canonical, gemm
from .winograd_matrices import MATRICES

#: Largest error of each tile size relative to ``max|reference|`` in float32 that
#: ``method="auto"`` accepts (issue 6: 1e-4); ``tests/test_winograd.py`` checks it on its grid.
ERROR_BOUND = {4: 1e-4, 2: 1e-4}

#: Bytes of ``V`` and ``M`` together per task (a strip of tile rows stays in the L2 cache):
#: 512 KiB to 8 MiB measured on W4 (2-core dev VM, 2026-11-26, min of 5): 512 KiB was best or
#: within noise of it for both tile sizes (F(4x4): 5.3 ms, F(2x2): 7.1 ms).
STRIP_BYTES = 1 << 19
#: Below this many multiply-adds (of the direct form) the strips run on the calling thread.
PARALLEL_MIN_MACS = 1 << 22


def unsupported(x_shape, w_shape, stride, dilation) -> str | None:
    """Why Winograd cannot run this canonical problem, or ``None`` if it can.

    >>> unsupported((1, 3, 1, 8, 8), (4, 3, 1, 3, 3), (1, 1, 1), (1, 1, 1)) is None
    True
    >>> unsupported((1, 3, 1, 8, 8), (4, 3, 1, 5, 5), (1, 1, 1), (1, 1, 1))
    'a 3x3 kernel, got 5x5'
    """
    if x_shape[2] != 1 or w_shape[2] != 1:
        return "a 2-D problem (conv2d)"
    if tuple(w_shape[3:]) != (3, 3):
        return f"a 3x3 kernel, got {w_shape[3]}x{w_shape[4]}"
    if tuple(stride[1:]) != (1, 1) or tuple(dilation[1:]) != (1, 1):
        return "stride 1 and dilation 1"
    return None


def transformed_weights(w: np.ndarray, groups: int, m: int) -> np.ndarray:
    """``U`` of shape ``(groups, (m+2)², C/groups, O/groups)`` in ``w``'s dtype (computed in
    float64)."""
    _, g_mat, _ = MATRICES[m]
    n_out, cg = w.shape[:2]
    og = n_out // groups
    alpha = m + 2
    # [i, j, c, o]: the layout of U, so that the two products below need no transposition
    wt = np.ascontiguousarray(w[:, :, 0].transpose(2, 3, 1, 0), dtype=np.float64)
    t = np.matmul(g_mat, wt.reshape(3, -1)).reshape(alpha, 3, -1)  # G w: [a, j, (c, o)]
    u = np.matmul(g_mat, t)  # (G w) G^T: [a, b, (c, o)]
    u = u.reshape(alpha * alpha, cg, groups, og)
    if groups > 1:
        u = u.transpose(2, 0, 1, 3)
    return np.ascontiguousarray(u, dtype=w.dtype).reshape(groups, alpha * alpha, cg, og)


def run_tiles(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical, m: int) -> None:
    """``F(m×m, 3×3)`` correlation of canonical operands into ``out``."""
    alpha = m + 2
    n_images, n_out, _, oh, ow = out.shape
    c = x.shape[1]
    groups = canon.groups
    cg, og = c // groups, n_out // groups
    ph, pw = canon.pad_lo[1:]
    n_ty, n_tx = math.ceil(oh / m), math.ceil(ow / m)
    dtype = x.dtype
    if not np.isfinite(w).all():  # a NaN weight would reach every output of its tiles
        gemm.run(x, w, out, canon)
        return
    u = transformed_weights(w, groups, m)
    consts = np.array(CONSTANTS_4 if m == 4 else CONSTANTS_2 or (0.0,), dtype=dtype)
    itemsize = x.itemsize
    # tile rows per strip: V and M of one strip within STRIP_BYTES (and the workspace cap)
    threads = num_threads() if out.size * cg * 9 >= PARALLEL_MIN_MACS else 1
    # bytes per tile row of a strip (V, M, and the input rows), and per worker whatever the
    # strip (two more input rows, the output strip, the transforms' scratch)
    per_row = (alpha * alpha * n_tx * (c + og) + m * (n_tx * m + 2) * c) * itemsize
    fixed = 2 * (n_tx * m + 2) * c + m * n_tx * m * og + alpha * alpha * n_tx * max(c, og)
    budget = min(STRIP_BYTES, max(get_workspace_limit() // max(threads, 1), 1))
    strip = max(1, min(n_ty, (budget - fixed * itemsize) // per_row))
    strip = math.ceil(n_ty / math.ceil(n_ty / strip))  # strips of equal height
    tasks = [
        (n, t0, min(n_ty, t0 + strip)) for n in range(n_images) for t0 in range(0, n_ty, strip)
    ]
    if len(tasks) < threads and n_ty > 1:  # cut finer so that every thread has work
        strip = max(1, math.ceil(n_ty / math.ceil(threads / n_images)))
        tasks = [
            (n, t0, min(n_ty, t0 + strip)) for n in range(n_images) for t0 in range(0, n_ty, strip)
        ]
    threads = min(threads, len(tasks))
    finite = [True] * len(tasks)
    spaces: list[tuple[np.ndarray, ...] | None] = [None] * max(threads, 1)

    def task(index: int, worker: int) -> None:
        n, t0, t1 = tasks[index]
        ws = spaces[worker]
        if ws is None:
            ws = spaces[worker] = (
                np.empty((strip * m + 2) * (n_tx * m + 2) * c, dtype),
                np.empty(alpha * alpha * strip * n_tx * c, dtype),
                np.empty(alpha * alpha * strip * n_tx * og, dtype),
                np.empty(m * n_tx * m * og, dtype),
                np.empty(alpha * alpha * n_tx * max(c, og), dtype),
            )
        xt, v_buf, m_buf, ot, tmp = ws
        tiles = (t1 - t0) * n_tx
        v = v_buf[: alpha * alpha * tiles * c].reshape(alpha * alpha, tiles, c)
        input_transform(x, n, ph, pw, t0, t1, n_tx, m, consts, xt, v, tmp)
        mm = m_buf[: alpha * alpha * tiles * og].reshape(alpha * alpha, tiles, og)
        for g in range(groups):
            np.matmul(v[:, :, g * cg : (g + 1) * cg], u[g], out=mm)
            check = output_transform(mm, m, consts, n, g * og, t0, t1, n_tx, ot, out, tmp)
            if check != 0:
                finite[index] = False

    run_tasks(task, range(len(tasks)), blas=True, threads=threads)
    if not all(finite):
        # a NaN or inf in x (or an overflow) spreads over whole tiles here; PyTorch's result
        # has it only in the outputs whose window meets it: recompute with the GEMM method
        gemm.run(x, w, out, canon)


def run(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical) -> None:
    """``F(4×4, 3×3)`` Winograd correlation (see ``fastconv.algorithms``)."""
    run_tiles(x, w, out, canon, 4)


def run_f2(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical) -> None:
    """``F(2×2, 3×3)`` Winograd correlation (see ``fastconv.algorithms``)."""
    run_tiles(x, w, out, canon, 2)
