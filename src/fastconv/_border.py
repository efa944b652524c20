"""Borders: one name table, one index-table builder, one direct correlation of planes.

``filter_image`` (ndimage's border names) and ``correlate2d``/``convolve2d`` (SciPy's boundary
names) extend an image past its edges by the same five rules; here each name of either API maps
to its rule (:data:`BORDER_RULES`), :func:`border_index` turns a rule into the index table that
the Numba kernels read through (``fastconv._numba.border``), and :func:`correlate_planes` runs
those kernels over planes on fastconv's thread pool -- for both APIs. The FFT path extends its
input blocks through the same tables (``fastconv._signal_engine.extend``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ._numba.border import correlate_plane, correlate_strided_plane
from ._threads import num_threads, run_tasks
from .algorithms import direct
from .algorithms.separable import row_chunks

#: Every border name of both APIs -> its rule. The rules are ndimage's; SciPy's
#: ``correlate2d`` calls ``reflect`` "symm" and ``constant`` "fill", and ``wrap`` is the same::
#:
#:     reflect   d c b a | a b c d | d c b a   (the edge repeated; SciPy: symm, symmetric)
#:     mirror    d c b | a b c d | c b a       (the edge not repeated)
#:     nearest   a a a | a b c d | d d d
#:     wrap      a b c d | a b c d | a b c d   (periodic; SciPy: wrap, circular)
#:     constant  k k k | a b c d | k k k       (SciPy: fill, pad)
BORDER_RULES: dict[str, str] = {
    # ndimage (filter_image); its grid- aliases behave identically for filters
    "reflect": "reflect",
    "grid-mirror": "reflect",
    "mirror": "mirror",
    "nearest": "nearest",
    "wrap": "wrap",
    "grid-wrap": "wrap",
    "constant": "constant",
    "grid-constant": "constant",
    # scipy.signal (correlate2d, convolve2d)
    "fill": "constant",
    "pad": "constant",
    "circular": "wrap",
    "symm": "reflect",
    "symmetric": "reflect",
}
#: the names each public API accepts (in the order its messages list them)
NDIMAGE_NAMES = ("reflect", "grid-mirror", "mirror", "nearest", "wrap", "grid-wrap", "constant",
                 "grid-constant")  # fmt: skip
SIGNAL_NAMES = ("fill", "pad", "wrap", "circular", "symm", "symmetric")


@lru_cache(maxsize=256)
def border_index(size: int, before: int, after: int, border: str) -> np.ndarray:
    """Source index of each position of an axis extended by ``before``/``after`` positions.

    ``border`` is any name of :data:`BORDER_RULES` (ndimage's or SciPy's); ``-1`` marks the
    constant value. Any extension width works (wider than ``size`` too); a negative ``before``
    or ``after`` cuts the axis instead. Remembered, and read-only::

        reflect   d c b a | a b c d | d c b a   (period 2 * size; SciPy's symm)
        mirror    d c b | a b c d | c b a       (period 2 * size - 2)
        nearest   a a a | a b c d | d d d
        wrap      a b c d | a b c d | a b c d
        constant  k k k | a b c d | k k k       (SciPy's fill)

    >>> border_index(4, 3, 5, "reflect")
    array([2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0])
    >>> border_index(3, 4, 0, "wrap")
    array([2, 0, 1, 2, 0, 1, 2])
    >>> border_index(3, 2, 2, "symm"), border_index(3, 2, 2, "fill")
    (array([1, 0, 0, 1, 2, 2, 1]), array([-1, -1,  0,  1,  2, -1, -1]))
    """
    rule = BORDER_RULES[border]
    i = np.arange(-before, size + after, dtype=np.int64)
    if size == 0:  # an empty image: nothing is ever read
        out = np.full_like(i, -1)
    elif rule == "reflect":
        m = i % (2 * size)
        out = np.where(m < size, m, 2 * size - 1 - m)
    elif rule == "mirror":
        if size == 1:
            out = np.zeros_like(i)
        else:
            m = i % (2 * size - 2)
            out = np.where(m < size, m, 2 * size - 2 - m)
    elif rule == "nearest":
        out = np.clip(i, 0, size - 1)
    elif rule == "wrap":
        out = i % size
    else:
        out = np.where((i >= 0) & (i < size), i, -1)
    out.flags.writeable = False  # shared by every call with these sizes
    return out


def tables(shape: tuple[int, int], pads_lo: tuple[int, int], needed: tuple[int, int],
           border: str) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Row and column tables of a plane: ``needed`` extended positions per axis read by the
    outputs, and at least every position of the plane (the gathers copy whole rows)."""
    return tuple(
        border_index(n, lo, max(need - lo - n, 0), border)
        for n, lo, need in zip(shape, pads_lo, needed)
    )  # type: ignore[return-value]


@lru_cache(maxsize=64)
def _identity(n: int) -> np.ndarray:
    out = np.arange(n, dtype=np.int64)
    out.flags.writeable = False
    return out


#: Bytes of extended pixels gathered per strip (per thread): the column bands near the left and
#: right edges, and whole extended rows of planes that are not C-contiguous in the compute dtype
#: (an interleaved colour float image). A strip stays in the L2 cache while the kernel reads it
#: ``KH`` times.
STRIP_BYTES = 256 * 1024


Buffers = tuple[np.ndarray, ...]


def run_plane_tasks(
    n_planes: int,
    rows: int,
    threads: int,
    make_buffers: Callable[[], Buffers],
    compute: Callable[[int, int, int, Buffers], None],
) -> None:
    """``compute(plane, r0, r1, buffers)`` over every plane, cut into row ranges (even starts,
    see ``row_chunks``) until each of ``threads`` threads has one; ``buffers`` come from
    ``make_buffers``, one set per thread."""
    if threads <= 1:  # the common small case: no task list, no thread hand-off
        bufs = make_buffers()
        for c in range(n_planes):
            compute(c, 0, rows, bufs)
        return
    chunks = math.ceil(threads / n_planes)
    tasks = [(c, r0, r1) for c in range(n_planes) for r0, r1 in row_chunks(rows, chunks)]
    buffers: list[Buffers | None] = [None] * min(threads, len(tasks))

    def task(t: tuple[int, int, int], worker: int) -> None:
        bufs = buffers[worker]
        if bufs is None:
            bufs = buffers[worker] = make_buffers()
        compute(*t, bufs)

    run_tasks(task, tasks, threads=threads)


def correlate_planes(src: Sequence[np.ndarray] | np.ndarray, kernels: np.ndarray, out: np.ndarray,
                     border: str, fill: Any, pads_lo: tuple[int, int], stride: tuple[int, int],
                     dilation: tuple[int, int] = (1, 1), *,
                     strip_bytes: int = STRIP_BYTES) -> None:  # fmt: skip
    """``out[c]`` = plane ``src[c]`` extended by ``border`` (``fill`` for the constant rule)
    and correlated with ``kernels[c]`` (module docstring of ``fastconv._numba.border``).

    ``src``: planes of one dtype (``(C, H, W)``, any strides; one plane serves every output
    when ``C == 1``); ``kernels``: ``(1 or C, KH, KW)`` in that dtype; ``out``: ``(C, OH, OW)``
    with C-contiguous planes, overwritten. Shapes were checked by the caller. ``strip_bytes``:
    the gather buffer per thread (:data:`STRIP_BYTES`).
    """
    n, oh, ow = out.shape
    h, w = src[0].shape
    kh, kw = kernels.shape[1:]
    (sh, sw), (dh, dw) = stride, dilation
    needed = ((oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1)
    rows, cols = tables((h, w), pads_lo, needed, border)
    ident = _identity(max(len(rows), len(cols)))
    dtype = out.dtype
    fill = dtype.type(fill)
    pl = pads_lo[1]
    kernels_t = np.ascontiguousarray(kernels.transpose(0, 2, 1))
    span_h = (kh - 1) * dh + 1
    strip_rows = max(strip_bytes // (len(cols) * dtype.itemsize), span_h + 8 * sh)

    def make_buffers() -> Buffers:
        return (np.empty(strip_rows * len(cols), dtype),)

    def compute(c: int, r0: int, r1: int, bufs: Buffers) -> None:
        x = src[c if len(src) > 1 else 0]
        k = c if len(kernels) > 1 else 0
        if x.flags.c_contiguous:  # read in place
            correlate_plane(x, kernels[k], kernels_t[k], out[c], rows, cols, fill, sh, sw, dh,
                            dw, pl, r0, r1, ident, *bufs)  # fmt: skip
        else:
            correlate_strided_plane(x, kernels[k], out[c], rows, cols, fill, sh, sw, dh, dw, pl,
                                    r0, r1, ident, *bufs)  # fmt: skip

    macs = out.size * kh * kw
    threads = num_threads() if macs >= direct.PARALLEL_MIN_MACS else 1
    run_plane_tasks(n, oh, threads, make_buffers, compute)
