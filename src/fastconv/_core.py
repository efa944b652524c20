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


#: Up to this many multiply-adds a direct problem runs as one compiled call (``small_direct``),
#: above it through ``conv_general``. The one call saves 2-6 µs of Python, but its row loop,
#: compiled with the reshapes, runs slower per multiply-add than the row kernel on its own
#: (1.4x on one channel, 2x with four). Measured by ``flock /tmp/fastconv-bench.lock python
#: bench/small_direct.py`` on the 2-core AVX-512 dev VM (2026-11-25, float32, medians of 15
#: interleaved rounds, two runs): one channel 3x3, the one call won up to 32x32 (8100 MACs;
#: 6.6 against 7.6 µs) and lost from 48x48 (19044) in one run, from 96x96 in the other; four
#: channels, it won (1, 4, 8, 8) (1296 MACs: 5.7 against 8.1 µs) and lost (2, 4, 8, 8) (2592
#: MACs: 9.3 against 8.6 µs) and everything larger. 2048 keeps it where it won every time.
SMALL_DIRECT_MACS = 1 << 11


def one_call_pays(geo: Geometry) -> bool:
    """Whether a direct problem is small enough for the one call of :func:`one_call`: at most
    :data:`SMALL_DIRECT_MACS` multiply-adds (the dispatcher keeps such problems on *direct*)."""
    return math.prod(geo.output_shape) * math.prod(geo.weight_shape[1:]) <= SMALL_DIRECT_MACS


def small_direct(geo: Geometry, method: Method, lay: Layout) -> Runner | None:
    """The one-call runner of :func:`one_call` where it pays (:func:`one_call_pays`) for the
    direct method; else ``None`` (run :func:`conv_general`)."""
    if method is not Method.DIRECT:
        return None
    return one_call(geo, lay) if one_call_pays(geo) else None


def one_call(geo: Geometry, lay: Layout) -> Runner | None:
    """A shorter path than :func:`conv_general` for the direct algorithm.

    Everything that depends on shapes alone is decided here, once per plan: the canonical
    shapes, that no window reads zero padding (so the kernel needs no check for non-finite
    weights), the output rows, and the compiled kernel for the arrays' types. The runner then
    makes one compiled call (:func:`fastconv._numba.small.correlate_small`) on the calling
    thread: ~3 µs in all instead of ~9 µs through :func:`conv_general` and
    ``algorithms.direct.run`` for a 4x4 image (W0). ``None`` where the geometry needs more than
    that: a padding mode other than zeros, padding that windows read, a result dtype other than
    the compute dtype, or an empty output. Read-only or misaligned operands, and work large
    enough to share between threads (``algorithms.direct.PARALLEL_MIN_MACS``, read at each
    call), the runner hands to :func:`conv_general`.
    """
    if lay.pad_width is not None:
        return None
    if geo.result_dtype != geo.compute_dtype or 0 in lay.out_shape:
        return None
    from ._numba.small import correlate_small
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
    macs = math.prod(out_shape) * math.prod(w_shape[1:])
    geometry = np.array(
        [*x_shape, *w_shape, *out_shape, *canon.stride, *canon.dilation, *canon.pad_lo,
         canon.groups, math.prod(out_shape[:4])],
        dtype=np.int64,
    )  # fmt: skip
    # typed from arrays like those the runner passes (np.empty touches no memory)
    x_caller = geo.input_shape if geo.batched else geo.input_shape[1:]
    samples = (np.empty(x_caller, dtype), np.empty(geo.weight_shape, dtype),
               np.empty(final, dtype), geometry)  # fmt: skip
    compiled = _entry_point(correlate_small, samples)

    def run(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=dtype)
        w = np.ascontiguousarray(w, dtype=dtype)
        # the compiled entry point only for the types it was compiled for: C-contiguous,
        # writeable (typed mutable) and aligned arrays of ``dtype`` (the conversions above and
        # np.empty guarantee the rest); read-only or misaligned arrays take the full path
        # rather than compile another version
        if macs >= direct.PARALLEL_MIN_MACS or not (x.flags.behaved and w.flags.behaved):
            return conv_general(x, w, bias, geo, Method.DIRECT, lay)
        result = np.empty(final, dtype)
        compiled(x, w, result, geometry)
        if bias is not None:
            result.reshape(out_shape)[...] += np.asarray(bias, dtype=dtype).reshape(1, -1, 1, 1, 1)
        return result

    return run


def _entry_point(dispatcher: Callable, samples: tuple[np.ndarray, ...]) -> Callable:
    """The compiled entry point of ``dispatcher`` for arguments of the types of ``samples``
    (C-contiguous, writeable, aligned arrays), or the dispatcher where there is none (Numba's
    JIT disabled).

    The dispatcher finds the compiled version by the types of the arguments at every call;
    the entry point skips that search (0.66 instead of 1.1 µs for a 4x4 image, interleaved
    ``timeit``). It converts its arguments without checking their types, so it must only ever
    be given arrays of exactly the samples' dtypes, ranks and layout.
    """
    try:
        signature = tuple(dispatcher.typeof_pyval(a) for a in samples)  # type: ignore[attr-defined]
        return dispatcher.compile(signature)  # type: ignore[attr-defined]
    except AttributeError:  # a plain function: NUMBA_DISABLE_JIT
        return dispatcher
