"""Execution of a planned convolution: canonical operands in, finished result out.

``conv_general`` brings any validated problem to the canonical form every algorithm takes
(batched, three spatial axes, contiguous, compute dtype, padding applied or implicit), runs the
algorithm, then adds the bias, restores the caller's rank and casts to the result dtype.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import algorithms
from ._spec import NP_PAD_MODE, Geometry
from .algorithms import Canonical, Method


def _to3d(shape: tuple[int, ...], nd: int, fill: int = 1) -> tuple[int, ...]:
    """Insert leading spatial axes so that a 1-D or 2-D shape becomes 3-D."""
    return (*shape[:2], *(fill,) * (3 - nd), *shape[2:])


def _pad3(values: tuple[int, ...], fill: int) -> tuple[int, int, int]:
    return (*(fill,) * (3 - len(values)), *values)  # type: ignore[return-value]


class Layout(NamedTuple):
    """The canonical form of one geometry, computed once per plan (not per call)."""

    x_shape: tuple[int, ...]  # (N, C, D, H, W)
    w_shape: tuple[int, ...]  # (O, C/groups, KD, KH, KW)
    out_shape: tuple[int, ...]  # (N, O, OD, OH, OW)
    pad_width: list[tuple[int, int]] | None  # for np.pad; None: zero padding stays implicit
    canonical: Canonical


def layout(geo: Geometry) -> Layout:
    """Canonical shapes and kernel geometry of ``geo``."""
    spec = geo.spec
    nd = spec.ndim
    if spec.padding_mode != "zeros" and any(p for pair in spec.padding for p in pair):
        pad_width: list[tuple[int, int]] | None = [(0, 0)] * (5 - nd) + list(spec.padding)
        pad_lo = (0, 0, 0)
    else:  # zero padding stays implicit: the kernels skip taps outside x
        pad_width = None
        pad_lo = _pad3(tuple(lo for lo, _ in spec.padding), 0)
    return Layout(
        _to3d(geo.input_shape, nd),
        _to3d(geo.weight_shape, nd),
        _to3d(geo.output_shape, nd),
        pad_width,
        Canonical(_pad3(spec.stride, 1), _pad3(spec.dilation, 1), pad_lo, spec.groups),
    )


def conv_general(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    geo: Geometry,
    method: Method,
    lay: Layout,
) -> np.ndarray:
    """Correlate validated ``x`` with ``w`` as planned in ``geo`` using ``method``.

    ``lay`` is ``layout(geo)``, which callers compute once and keep with their plan. ``out`` is
    never empty when an algorithm runs.
    """
    dtype = geo.compute_dtype
    x = np.ascontiguousarray(x, dtype=dtype).reshape(lay.x_shape)
    w = np.ascontiguousarray(w, dtype=dtype).reshape(lay.w_shape)
    if lay.pad_width is not None:
        x = np.pad(x, lay.pad_width, mode=NP_PAD_MODE[geo.spec.padding_mode])

    out = np.empty(lay.out_shape, dtype=dtype)  # every algorithm overwrites all of it
    if out.size:
        algorithms.get(method)(x, w, out, lay.canonical)
        if bias is not None:
            out += np.asarray(bias, dtype=dtype).reshape(1, -1, 1, 1, 1)

    out = out.reshape(geo.output_shape)
    if not geo.batched:
        out = out[0]
    return out if geo.result_dtype == dtype else out.astype(geo.result_dtype)


#: ``run(x, w, bias) -> result`` for validated operands of one plan's shapes and dtypes
Runner = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], np.ndarray]


def small_direct(geo: Geometry, method: Method, lay: Layout) -> Runner | None:
    """A shorter path than :func:`conv_general` for the direct algorithm on small problems.

    Everything that depends on shapes alone is decided here, once per plan: the canonical
    shapes, that no window reads zero padding (so the kernel needs no check for non-finite
    weights), the output rows. The runner then makes one call of the compiled row kernel on
    the calling thread: ~3 µs in all instead of ~9 µs through :func:`conv_general` and
    ``algorithms.direct.run`` for a 4x4 image (W0). ``None`` where the geometry needs more
    than that: another method, a padding mode other than zeros, padding that windows read,
    a result dtype other than the compute dtype, an empty output, or enough work to share
    between threads (``algorithms.direct.PARALLEL_MIN_MACS``, read at each call).
    """
    if method is not Method.DIRECT or lay.pad_width is not None:
        return None
    if geo.result_dtype != geo.compute_dtype or 0 in lay.out_shape:
        return None
    from ._numba.direct import correlate_rows
    from .algorithms import direct

    dtype = geo.compute_dtype
    canon = lay.canonical

    def view(shape: tuple[int, ...]) -> np.ndarray:  # shapes only, no memory
        return np.broadcast_to(np.zeros((), dtype), shape)

    pads = direct._padding_read(view(lay.x_shape), view(lay.w_shape), view(lay.out_shape), canon)
    if any(p for pair in pads for p in pair):
        return None
    x_shape, w_shape, out_shape = lay.x_shape, lay.w_shape, lay.out_shape
    final = geo.output_shape if geo.batched else geo.output_shape[1:]
    rows = math.prod(out_shape[:4])
    macs = math.prod(out_shape) * math.prod(w_shape[1:])
    stride, dilation, pad_lo, groups = canon
    compiled = _entry_point(correlate_rows, dtype)

    def run(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        x5 = np.ascontiguousarray(x, dtype=dtype).reshape(x_shape)
        w5 = np.ascontiguousarray(w, dtype=dtype).reshape(w_shape)
        result = np.empty(final, dtype)
        out = result.reshape(out_shape)  # a view: the kernel writes into ``result``
        if macs < direct.PARALLEL_MIN_MACS:
            # the compiled entry point only for the types it was compiled for: C-contiguous,
            # writeable (typed mutable) and aligned arrays of ``dtype`` (the two conversions
            # above and np.empty guarantee the rest); anything else goes through the dispatcher
            kernel = compiled if x5.flags.behaved and w5.flags.behaved else correlate_rows
            kernel(x5, w5, out, stride, dilation, pad_lo, groups, 0, rows)
        else:
            direct.run(x5, w5, out, canon)
        if bias is not None:
            out += np.asarray(bias, dtype=dtype).reshape(1, -1, 1, 1, 1)
        return result

    return run


def _entry_point(dispatcher: Callable, dtype: np.dtype) -> Callable:
    """The compiled entry point of the row kernel for C-contiguous, writeable, aligned 5-D
    arrays of ``dtype``, or the dispatcher where there is none (Numba's JIT disabled).

    The dispatcher finds the compiled version by the types of the arguments at every call;
    the entry point skips that search (0.63 instead of 1.0 µs for a 4x4 image, ~10 % of the
    call). It converts its arguments without checking their types, so it is only ever given
    arrays of exactly these types.
    """
    try:
        import numba

        arr = numba.types.Array(numba.from_dtype(dtype), 5, "C")
        ints = numba.types.UniTuple(numba.types.int64, 3)
        i8 = numba.types.int64
        return dispatcher.compile((arr, arr, arr, ints, ints, ints, i8, i8, i8))  # type: ignore[attr-defined]
    except Exception:  # no compile() (NUMBA_DISABLE_JIT) or a signature it does not take
        return dispatcher
