"""The one worker behind ``fastconv.signal`` (and ``filter_image``'s FFT and auto rule):
correlation of validated arrays, any dtype.

Every public function of ``fastconv.signal`` reduces its call to :func:`correlate`::

    out[..., i] = sum_j xe[..., i*s + j*d - lo] * v[..., j]        (no conjugation here)

over the trailing ``nd`` axes (leading axes broadcast), where ``xe`` is ``x`` extended beyond
its edges by the boundary rule (``"fill"`` with a value, ``"wrap"``, ``"symm"``, or any other
name of ``fastconv._border.BORDER_RULES``: ndimage's rules are the same), ``lo`` the
leading padding of the mode, ``s`` the stride and ``d`` the dilation. The caller has already
conjugated and/or flipped the kernel as its convention asks.

The dtype decides the arithmetic:

- float16/32/64 (and integers whose exact result needs fewer than 53 bits): the core's direct
  Numba kernel (``fastconv._core``, 1 to 3 axes, implicit zero padding) or the FFT
  (``fastconv.algorithms.fft``, whole-array or overlap-save); other boundaries are read
  through index tables (``fastconv._border``, the kernels ``filter_image`` uses; 1-D, 2-D) or
  extended through the same tables (FFT blocks, 3-D).
- complex64/128: four (or two) real correlations, or one complex FFT.
- integers and bool: exact -- float64 when every output's sum of ``|x||v|`` is below 2**53
  (every partial sum is then an exactly representable integer, in any order), int64 when it is
  below 2**63, Python integers (object arrays) otherwise; the caller checks the range.
- longdouble, clongdouble, object, more than three axes: shift-and-add in NumPy in the
  operands' own dtype (one multiply-add of a whole output slice per kernel tap).

The method of ``"auto"`` comes from :func:`choose`: the cheapest by the cost model in
:data:`COSTS`, then kept off the FFT where its error would exceed the direct method's error
bound (see ``fastconv.algorithms.fft`` for both bounds).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _threads
from ._border import BORDER_RULES, border_index, correlate_planes
from ._core import conv_general, layout
from ._dispatch import choose_method, separable_pays
from ._numba.border import gather_rows
from ._spec import normalize_conv
from .algorithms import fft as _fft
from .algorithms import separable as _separable

Pads = tuple[tuple[int, int], ...]

#: Seconds per unit of work of each method, measured with ``python bench/signal_crossover.py``
#: on the 2-core AVX-512 development VM (2026-11-25, shared with other jobs: medians of 5,
#: rounded). "mac": one multiply-add of the direct kernels; "numpy": one element of a NumPy
#: multiply-add (shift-and-add); "fft": one ``N log2 N`` unit of
#: ``fastconv.algorithms.fft.plan``'s cost; "call": fixed overhead per call. With these, 2-D
#: float32 filtering of a 1024x1024 image switches from direct to FFT between 17x17 and 21x21
#: kernels, where the measured times crossed too (direct 9.5 ms vs FFT 15.6 ms at 17x17;
#: 19.9 ms vs 14.5 ms at 21x21).
COSTS: dict[str, dict[str, float]] = {
    "mac": {"float32": 4.0e-11, "float64": 7.0e-11},
    "numpy": {
        "float32": 6.0e-10,
        "float64": 6.0e-10,
        "int64": 6.0e-10,
        "longdouble": 1.3e-8,
        "complex": 2.0e-9,
        "object": 4.0e-8,
    },
    "fft": {"float32": 2.1e-10, "float64": 5.0e-10, "longdouble": 3.2e-9},
    "call": {"direct": 3.0e-5, "fft": 6.0e-5, "oa": 1.5e-4},
}


# --------------------------------------------------------------------------------------------
# shapes


def extent(k: int, d: int) -> int:
    """Span of ``k`` taps ``d`` apart (0 for an empty kernel).

    >>> extent(3, 2), extent(0, 1)
    (5, 0)
    """
    return d * (k - 1) + 1 if k > 0 else 0


def out_size(n: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """Outputs along one axis: ``ceil((n + lo + hi - extent + 1) / s)`` (negative if none fit).

    >>> out_size(5, 3, 1, 1, 2, 2), out_size(5, 3, 2, 1, 1, 1)
    (7, 3)
    """
    full = n + lo + hi - extent(k, d) + 1
    return -(-full // s) if full > 0 else full


def out_shape(x_sp, k_sp, stride, dilation, pads) -> tuple[int, ...]:
    return tuple(
        out_size(n, k, s, d, lo, hi)
        for n, k, s, d, (lo, hi) in zip(x_sp, k_sp, stride, dilation, pads)
    )


def _dilate(v: np.ndarray, nd: int, dilation: tuple[int, ...]) -> np.ndarray:
    """The kernel with ``d - 1`` zeros between taps (what dilation means)."""
    if all(d == 1 for d in dilation):
        return v
    k = v.shape[v.ndim - nd :]
    out = np.zeros((*v.shape[: v.ndim - nd], *(extent(kk, d) for kk, d in zip(k, dilation))),
                   v.dtype)  # fmt: skip
    out[(..., *(slice(None, None, d) for d in dilation))] = v
    return out


# --------------------------------------------------------------------------------------------
# boundary extension


def zero_fill(boundary: str, fill: Any) -> bool:
    """Whether ``boundary`` extends by zeros: the rule every kernel gets for free."""
    return BORDER_RULES[boundary] == "constant" and fill == 0 and not np.isnan(fill)


def extend(x: np.ndarray, nd: int, ranges, boundary: str, fill: Any) -> np.ndarray:
    """``xe[..., r0:r1, ...]`` per trailing axis: ``x`` inside, the boundary rule outside.

    ``boundary`` is any name of ``fastconv._border.BORDER_RULES``: SciPy's ``"fill"`` (``fill``
    everywhere outside), ``"wrap"`` (periodic), ``"symm"`` (mirror with the edge repeated), or
    ndimage's names (``"mirror"``, ``"nearest"``, ...), for any width, through
    ``border_index`` tables: whole extended rows of 2-D float planes by the Numba gather that
    ``filter_image`` uses, otherwise one slice copy of the inside and ``np.take`` outside.

    >>> x = np.array([1, 2, 3])
    >>> extend(x, 1, [(-2, 5)], "symm", 0), extend(x, 1, [(-2, 5)], "wrap", 0)
    (array([2, 1, 1, 2, 3, 3, 2]), array([2, 3, 1, 2, 3, 1, 2]))
    >>> extend(x, 1, [(-1, 2)], "fill", 9), extend(x, 1, [(-2, 4)], "mirror", 0)
    (array([9, 1, 2]), array([3, 2, 1, 2, 3, 2]))
    """
    rule = BORDER_RULES[boundary]
    sizes = x.shape[x.ndim - nd :]
    if nd == 2 and x.dtype.char in "fd" and min(sizes) > 0 and ranges[1][0] <= 0 <= sizes[1]:
        (r0, r1), (c0, c1) = ranges
        if c1 >= sizes[1] and r1 > r0:  # whole extended rows: the Numba gather of filter_image
            rows = border_index(sizes[0], -r0, r1 - sizes[0], boundary)
            cols = border_index(sizes[1], -c0, c1 - sizes[1], boundary)
            planes = x.reshape(-1, *sizes)
            out = np.empty((len(planes), r1 - r0, c1 - c0), x.dtype)
            for plane, dest in zip(planes, out):
                gather_rows(plane, rows, cols, -c0, x.dtype.type(fill), 0, r1 - r0,
                            dest.reshape(-1))  # fmt: skip
            return out.reshape(*x.shape[:-2], r1 - r0, c1 - c0)
    # narrow ranges first, so that wide extensions copy only what the narrow ones kept
    order = sorted(range(nd), key=lambda a: (ranges[a][1] - ranges[a][0]) / max(sizes[a], 1))
    for a in order:
        r0, r1 = ranges[a]
        ax = x.ndim - nd + a
        n = x.shape[ax]
        lead = (slice(None),) * ax
        if 0 <= r0 and r1 <= n:
            if (r0, r1) != (0, n):
                x = x[(*lead, slice(r0, r1))]
            continue
        if n == 0 and rule != "constant":
            raise ValueError(f"boundary={boundary!r} cannot extend an empty axis")
        c0 = min(max(r0, 0), n)
        c1 = max(min(r1, n), c0)
        b0 = max(0, min(r1, 0) - r0)  # positions before x
        b1 = b0 + c1 - c0
        shape = list(x.shape)
        shape[ax] = r1 - r0
        out = np.empty(shape, dtype=x.dtype)  # np.full/np.pad would store NumPy scalars
        out[(*lead, slice(b0, b1))] = x[(*lead, slice(c0, c1))]
        idx = border_index(n, -r0, r1 - n, boundary)
        for e0, e1 in ((0, b0), (b1, r1 - r0)):
            if e1 > e0:
                edge = (*lead, slice(e0, e1))
                if rule == "constant":
                    out[edge] = fill
                else:
                    out[edge] = np.take(x, idx[e0:e1], axis=ax)
        x = out
    return x


def read_ranges(x_sp, k_sp, stride, dilation, pads, o_sp) -> list[tuple[int, int]]:
    """The index range of ``xe`` that outputs ``[0, o)`` read along each axis."""
    return [
        (-lo, -lo + (o - 1) * s + extent(k, d)) if o > 0 else (0, 0)
        for n, k, s, d, (lo, _), o in zip(x_sp, k_sp, stride, dilation, pads, o_sp)
    ]


# --------------------------------------------------------------------------------------------
# the core's direct kernel (1 to 3 axes, float32/float64)

_PLANS: dict[tuple, tuple] = {}


def _core(x: np.ndarray, v: np.ndarray, nd: int, pads: Pads, stride, dilation) -> np.ndarray:
    """Correlation with implicit zero padding on ``fastconv``'s core (batch axes folded).

    ``x`` is ``(*bx, *spatial)`` and ``v`` ``(*bv, *kernel)`` with broadcastable batch shapes;
    one image per batch entry when ``v`` has no batch, one filter per entry when ``x`` has
    none, otherwise one group per entry.
    """
    bx, bv = x.shape[: x.ndim - nd], v.shape[: v.ndim - nd]
    batch = np.broadcast_shapes(bx, bv)
    nb, sp, k = math.prod(batch), x.shape[x.ndim - nd :], v.shape[v.ndim - nd :]
    if math.prod(bv) == 1:
        xs, ws, groups, case = (math.prod(bx), 1, *sp), (1, 1, *k), 1, "images"
    elif math.prod(bx) == 1:
        xs, ws, groups, case = (1, 1, *sp), (nb, 1, *k), 1, "filters"
    else:
        xs, ws, groups, case = (1, nb, *sp), (nb, 1, *k), nb, "groups"
        x = np.broadcast_to(x, (*batch, *sp))
        v = np.broadcast_to(v, (*batch, *k))
    key = (xs, ws, x.dtype.char, pads, stride, dilation, groups)
    plan = _PLANS.get(key)
    if plan is None:
        geo = normalize_conv("correlate", nd, xs, x.dtype, ws, x.dtype, None, None,
                             stride, pads, dilation, groups, "zeros")  # fmt: skip
        # exact=True: this is the direct path (the FFT is chosen above, by its own bounds)
        plan = (geo, layout(geo), choose_method(geo, exact=True)[0])
        if len(_PLANS) > 256:
            _PLANS.clear()
        _PLANS[key] = plan
    geo, lay, method = plan
    x = np.ascontiguousarray(x).reshape(xs)
    v = np.ascontiguousarray(v, dtype=x.dtype).reshape(ws)
    out = conv_general(x, v, None, geo, method, lay)
    o_sp = out.shape[2:]
    if case == "images":
        return out.reshape((*bx, *o_sp)) if bx != batch else out.reshape((*batch, *o_sp))
    return out.reshape((*batch, *o_sp))


def _mapped(x, v, nd, pads, stride, dilation, boundary, fill, o_sp) -> np.ndarray:
    """1-D or 2-D correlation with a boundary rule, read through index tables (no padded copy):
    ``filter_image``'s direct path (``fastconv._border.correlate_planes``)."""
    if nd == 1:  # a 2-D problem with one row
        x, v = x[..., None, :], v[..., None, :]
        pads, stride, dilation, o_sp = ((0, 0), *pads), (1, *stride), (1, *dilation), (1, *o_sp)
    if x.ndim == 2 and v.ndim == 2:  # the common case: no batch axes
        batch = ()
    else:
        bx, bv = x.shape[:-2], v.shape[:-2]
        batch = np.broadcast_shapes(bx, bv)
        # the kernel takes one plane or one per batch entry for each operand
        if bx not in ((1,) * len(bx), batch) or bv not in ((1,) * len(bv), batch):
            x = np.broadcast_to(x, (*batch, *x.shape[-2:]))
            v = np.broadcast_to(v, (*batch, *v.shape[-2:]))
    x3 = np.ascontiguousarray(x).reshape(-1, *x.shape[-2:])
    v3 = np.ascontiguousarray(v, dtype=x3.dtype).reshape(-1, *v.shape[-2:])
    out = np.empty((max(len(x3), len(v3)), *o_sp), x3.dtype)
    correlate_planes(x3, v3, out, boundary, fill, (pads[0][0], pads[1][0]), stride, dilation)
    out = out.reshape((*batch, *o_sp))
    return out[..., 0, :] if nd == 1 else out


def direct_real(x, v, nd, pads, stride, dilation, boundary, fill, o_sp) -> np.ndarray:
    """Direct correlation of real float32/float64 operands (``nd <= 3``).

    Zero fill: the core with implicit zero padding. Other boundaries: in 1-D and 2-D the
    kernels that read the border through index tables (``fastconv._border``, shared with
    ``filter_image``), in place; in 3-D one extended copy of the input, then the core.
    """
    if zero_fill(boundary, fill):
        return _core(x, v, nd, pads, stride, dilation)
    if nd <= 2:
        return _mapped(x, v, nd, pads, stride, dilation, boundary, fill, o_sp)
    # 3-D with a boundary rule (no public function asks for it yet): one extended copy
    x_sp, k_sp = x.shape[x.ndim - nd :], v.shape[v.ndim - nd :]
    xe = extend(x, nd, read_ranges(x_sp, k_sp, stride, dilation, pads, o_sp), boundary, fill)
    return _core(xe, v, nd, ((0, 0),) * nd, stride, dilation)


# --------------------------------------------------------------------------------------------
# NumPy shift-and-add (any dtype, any number of axes)


def shift_add(xe: np.ndarray, v: np.ndarray, nd: int, o_sp, stride, dilation, dtype) -> np.ndarray:
    """``out = sum_j xe[..., j*d :: s] * v[..., j]`` on an already extended ``xe``, in ``dtype``.

    >>> shift_add(np.arange(5), np.array([1, 10]), 1, (4,), (1,), (1,), np.int64)
    array([10, 21, 32, 43])
    """
    batch = np.broadcast_shapes(xe.shape[: xe.ndim - nd], v.shape[: v.ndim - nd])
    out = np.zeros((*batch, *o_sp), dtype)
    if out.size == 0:
        return out
    xe = xe.astype(dtype, copy=False)
    v = v.astype(dtype, copy=False)
    bv = v.shape[: v.ndim - nd]
    for j in np.ndindex(*v.shape[v.ndim - nd :]):
        tap = v[(..., *j)].reshape((*bv, *(1,) * nd))
        window = xe[(..., *(slice(i * d, i * d + (o - 1) * s + 1, s)
                            for i, d, o, s in zip(j, dilation, o_sp, stride)))]  # fmt: skip
        out += window * tap
    return out


# --------------------------------------------------------------------------------------------
# method choice


def _float_name(dtype: np.dtype) -> str:
    real = np.dtype(dtype).char.lower() if np.dtype(dtype).kind == "c" else np.dtype(dtype).char
    return {"e": "float32", "f": "float32", "d": "float64"}.get(real, "longdouble")


def direct_macs(x_sp, k_sp, stride, dilation, pads, o_sp) -> int:
    """Multiply-adds of the direct method: taps that land inside ``x`` (zero padding skipped)."""
    total = 1
    for n, k, s, d, (lo, _), o in zip(x_sp, k_sp, stride, dilation, pads, o_sp):
        if o <= 0 or k <= 0:
            return 0
        if k <= 64:
            total *= sum(max(0, min(o - 1, (n - 1 + lo - j * d) // s)
                             - max(0, -(-(lo - j * d) // s)) + 1) for j in range(k))  # fmt: skip
            continue
        j = np.arange(k)
        first = np.maximum(0, -(-(lo - j * d) // s))  # first output whose tap j is inside x
        last = np.minimum(o - 1, (n - 1 + lo - j * d) // s)
        total *= int(np.maximum(last - first + 1, 0).sum())
    return total


@dataclass(frozen=True)
class Stats:
    """What the precision rules need from the data: norms, sizes and finiteness."""

    finite: bool
    x_max: float  # max |x|, and |fill| where the boundary reads it (integers only, else nan)
    x_typical: float  # median |x| over a sample of at most SAMPLE values (floats only)
    x_l2: float
    x_size: int
    v_l1: float
    v_l2: float

    @property
    def x_rms(self) -> float:
        return self.x_l2 / math.sqrt(max(self.x_size, 1))


#: values of ``x`` whose median magnitude stands for its typical size (evenly strided sample)
SAMPLE = 4096


def _norms(a: np.ndarray) -> tuple[float, float]:
    """``(||a||_1, ||a||_2)`` in float64 (BLAS ``asum``/``nrm2`` for large float arrays; for
    complex ``asum`` sums ``|re| + |im|``, within a factor sqrt(2) of ``||a||_1``)."""
    if a.size == 0:
        return 0.0, 0.0
    if a.dtype.char in "fdFD" and a.size >= 4096:
        flat = np.ascontiguousarray(a).ravel()
        if flat.dtype.kind == "c":  # as (re, im) pairs: the same 2-norm, asum |re| + |im|
            flat = flat.view(flat.real.dtype)
        from scipy.linalg import blas  # 0.2 s to import: only when an FFT is in the running

        asum, nrm2 = blas.get_blas_funcs(("asum", "nrm2"), (flat,))
        return float(asum(flat)), float(nrm2(flat))
    f = np.abs(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64))
    return float(f.sum()), float(np.sqrt(np.dot(f.ravel(), f.ravel())))


def int_max(a: np.ndarray) -> int:
    """``max |a|`` of an integer or bool array, as a Python int (no overflow at int64 min)."""
    if a.size == 0:
        return 0
    return max(abs(int(a.min())), abs(int(a.max())))


def stats(x: np.ndarray, v: np.ndarray, fill: Any = 0) -> Stats:
    """Norms of ``x`` (with the fill value where it is read) and ``v`` for :func:`choose`."""
    f = abs(complex(fill)) if fill is not None else 0.0
    if x.dtype.kind in "biu" and v.dtype.kind in "biu":
        x_max = float(max(int_max(x), f))
        v_l1 = float(np.abs(v.astype(np.float64)).sum())
        return Stats(True, x_max, math.nan, math.nan, x.size, v_l1, math.nan)
    x_l1, x_l2 = _norms(x)
    v_l1, v_l2 = _norms(v)
    finite = all(math.isfinite(t) for t in (x_l1, x_l2, v_l1, v_l2, f))
    sample = np.abs(x.flat[:: max(1, x.size // SAMPLE)].astype(np.complex128))
    typical = float(np.median(sample)) if sample.size else 0.0
    return Stats(finite, math.nan, typical, x_l2, x.size, v_l1, v_l2)


def separable_geometry(x_sp, k_sp, pads, dilation) -> tuple[str, tuple[int, ...]] | None:
    """How ``fastconv.filter_image`` expresses this 2-D geometry: its mode, and the zeros to put
    before the kernel along each axis; ``None`` where it cannot (full mode, dilation).

    ``filter_image`` centres the kernel at index ``k // 2``; an even kernel whose 'same' output
    starts one tap later (``correlate2d``'s anchor) gets a zero row or column in front.

    >>> separable_geometry((8, 8), (3, 4), ((1, 1), (1, 2)), (1, 1))
    ('same', (0, 1))
    >>> separable_geometry((8, 8), (3, 3), ((2, 2), (2, 2)), (1, 1)) is None   # 'full'
    True
    """
    if len(k_sp) != 2 or any(d != 1 for d in dilation):
        return None
    if all(p == (0, 0) for p in pads):
        return "valid", (0, 0)
    before = []
    for k, (lo, hi) in zip(k_sp, pads):
        if lo + hi != k - 1:
            return None
        if lo == k // 2:
            before.append(0)
        elif k % 2 == 0 and lo == k // 2 - 1:
            before.append(1)
        else:
            return None
    return "same", tuple(before)


def _separable_filter(x, v, pads, stride, boundary, fill, cd) -> np.ndarray:
    """A rank-1 2-D kernel as two 1-D passes, on ``fastconv.filter_image``'s separable path."""
    from .image import filter_image

    mode, before = separable_geometry(x.shape, v.shape, pads, (1, 1))
    if any(before):
        v = np.pad(v, [(b, 0) for b in before])
    return filter_image(x, v, border=BORDER_RULES[boundary], cval=float(fill), mode=mode,
                        stride=stride, channel_axis=None, output=cd,
                        method="separable")  # fmt: skip


@dataclass(frozen=True)
class Choice:
    """The method of one call, why, and the FFT plan where it is an FFT."""

    method: str  # "direct", "separable" (rank-1 2-D), "fft" (whole arrays), "oa" (blocks)
    reason: str
    fft_plan: _fft.FFTPlan | None = None
    static: bool = True  # decided from shapes alone (else from this call's data)
    separable: Choice | None = None  # instead, for a kernel of rank 1 (see :func:`resolve`)


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"


def choose(
    x: np.ndarray,
    v: np.ndarray,
    nd: int,
    pads: Pads,
    stride,
    dilation,
    o_sp,
    result: np.dtype,
    forced: str = "auto",
    fill: Any = 0,
) -> Choice:
    """The method for one correlation (see :func:`_choose`), marked ``static`` when it was
    decided from shapes alone -- a plan may then keep it for every call of that signature.

    Where a 2-D real kernel of rank 1 would run as two 1-D passes, the choice carries that
    alternative in ``separable``; :func:`resolve` takes it for each call's kernel.
    """
    read: list[bool] = []
    choice = _choose(read, x, v, nd, pads, stride, dilation, o_sp, result, forced, fill)
    if read:
        choice = dataclasses.replace(choice, static=False)
    result = np.dtype(result)
    x_sp, k_sp = x.shape[x.ndim - nd :], v.shape[v.ndim - nd :]
    if (
        forced == "auto"
        and result.char in "efd"
        and x.ndim == v.ndim == 2
        and separable_pays(k_sp)
        and separable_geometry(x_sp, k_sp, pads, dilation) is not None
    ):
        kh, kw = k_sp
        sep = Choice("separable", f"rank-1 {kh}x{kw} kernel: two 1-D passes "
                                  f"(fastconv.filter_image), {kh + kw} instead of {kh * kw} "
                                  "multiply-adds per output")  # fmt: skip
        choice = dataclasses.replace(choice, separable=sep)
    return choice


def resolve(choice: Choice, v: np.ndarray, result: np.dtype) -> Choice:
    """The separable alternative where ``v`` is of rank 1 (the test is cached per kernel),
    else ``choice`` (whose reason then says the kernel is not of rank 1)."""
    if choice.separable is None:
        return choice
    cd = np.dtype(_CORE_DTYPE[np.dtype(result).char])
    if _separable.is_rank_one(np.ascontiguousarray(v, dtype=cd), cd):
        return choice.separable
    return dataclasses.replace(choice, reason=f"{choice.reason} (kernel not of rank 1)",
                               separable=None)  # fmt: skip


def _choose(
    read: list,
    x: np.ndarray,
    v: np.ndarray,
    nd: int,
    pads: Pads,
    stride,
    dilation,
    o_sp,
    result: np.dtype,
    forced: str = "auto",
    fill: Any = 0,
) -> Choice:
    """The method for one correlation: ``forced`` if not ``"auto"``, else by cost and precision.

    ``result`` is the result dtype; it decides the arithmetic: exact integers (float64 path),
    real float32/64, complex, or NumPy shift-and-add (longdouble, object, more than 3 axes).
    Only the FFT needs the data: its precision rule reads the norms of ``x`` and ``v`` (see
    ``fastconv.algorithms.fft``).
    """
    result = np.dtype(result)
    kind = (
        "int" if result.kind in "biu"
        else "complex" if result.char in "FD"
        else "float" if result.char in "efd"
        else "numpy"
    )  # fmt: skip
    if forced == "direct":
        return Choice("direct", "forced by method='direct'")
    x_sp, k_sp = x.shape[x.ndim - nd :], v.shape[v.ndim - nd :]
    bx, bv = x.shape[: x.ndim - nd], v.shape[: v.ndim - nd]
    nbx, nbv = math.prod(bx), math.prod(bv)
    nb = math.prod(np.broadcast_shapes(bx, bv))
    # the FFT computes every stride-1 output up to the last one needed
    o1 = tuple((o - 1) * s + 1 if o > 0 else 0 for o, s in zip(o_sp, stride))
    kd = tuple(extent(k, d) for k, d in zip(k_sp, dilation))
    real = result.kind != "c"
    if forced in ("fft", "oa"):
        # 'fft': the FFT family, whole arrays or blocks, whichever is cheaper; 'oa': blocks
        p = _fft.plan(o1, kd, nbx, nbv, nb, real, True if forced == "oa" else None)
        if kind == "int" and min(math.prod(x_sp), math.prod(k_sp)) > 0:
            read.append(True)
            st = stats(x, v, fill)
            bound = _fft.exactness_bound(st.x_max, st.x_size, st.v_l1, math.prod(p.fft_shape),
                                         np.finfo(np.float64).eps)  # fmt: skip
            if bound >= 0.25:
                return Choice(
                    "direct",
                    f"method={forced!r} asked for, but for integers the "
                    f"FFT's error bound {bound:.3g} does not prove the "
                    "rounded result exact: the exact direct method runs",
                )
        return Choice(p.method, f"forced by method={forced!r}", p)
    if min(math.prod(x_sp), math.prod(k_sp), math.prod(o_sp), nb) == 0:
        return Choice("direct", "empty operand or output: nothing to transform")
    if result.kind == "O":
        return Choice("direct", "object arrays: exact Python arithmetic, shift-and-add")

    precision = _float_name(result if kind != "int" else np.float64)
    macs = nb * direct_macs(x_sp, k_sp, stride, dilation, pads, o_sp)
    if kind == "numpy" or nd > 3:
        name = {"O": "object", "c": "complex", "i": "int64", "u": "int64", "b": "int64"}
        rate = COSTS["numpy"][name.get(result.kind, precision)]
        t_direct = rate * macs + COSTS["call"]["direct"]
    else:
        t_direct = COSTS["mac"][precision if precision != "longdouble" else "float64"] * macs
        t_direct = t_direct * (4 if kind == "complex" else 1) + COSTS["call"]["direct"]
    taps = math.prod(k_sp)
    unit = COSTS["fft"][precision] * (1 if real else 2)
    # no FFT does less than a forward and an inverse transform of >= 2k points per output
    fft_floor = 2 * unit * math.log2(max(math.prod(2 * k for k in kd), 2)) * nb * math.prod(o_sp)
    if t_direct <= fft_floor:
        return Choice("direct", f"{taps} taps per output: the direct method "
                                f"({_fmt(t_direct)}) beats any FFT's transforms "
                                f"(>= {_fmt(fft_floor)}) by the cost model")  # fmt: skip
    plans = {
        "fft": _fft.plan(o1, kd, nbx, nbv, nb, real, False),
        "oa": _fft.plan(o1, kd, nbx, nbv, nb, real, True),
    }
    times = {"direct": t_direct}
    for m, p in plans.items():
        times[m] = COSTS["fft"][precision] * p.cost + COSTS["call"][m]
    best = min(times, key=times.get)
    summary = ", ".join(f"{m} {_fmt(t)}" for m, t in times.items())
    if best == "direct":
        return Choice("direct", f"direct is the fastest by the cost model ({summary})")

    p = plans[best]
    read.append(True)
    st = stats(x, v, fill)
    n_fft = math.prod(p.fft_shape)
    variant = (
        "one whole-array FFT" if p.blocks is None
        else f"overlap-save blocks of {'x'.join(map(str, p.blocks))}"
    )  # fmt: skip
    if not st.finite:
        return Choice("direct", f"inputs hold NaN or inf, which an FFT spreads to every output "
                                f"({summary})")  # fmt: skip
    if kind == "int":
        bound = _fft.exactness_bound(st.x_max, st.x_size, st.v_l1, n_fft, np.finfo(np.float64).eps)
        if bound >= 0.25:
            return Choice("direct", f"integers: the FFT's rounding error bound {bound:.3g} does "
                                    f"not prove the rounded result exact ({summary})")  # fmt: skip
        return Choice(
            best,
            f"{variant} is the fastest ({summary}); its error bound "
            f"{bound:.2g} < 0.25 keeps the rounded integers exact",
            p,
        )
    eps = float(np.finfo(np.float32 if precision == "float32" else
                         np.float64 if precision == "float64" else np.longdouble).eps)  # fmt: skip
    e_fft = _fft.error_estimate(st.x_rms, st.v_l2, n_fft, eps)
    terms = min(math.prod(kd), math.prod(x_sp))
    e_direct = terms * eps / 2 * st.x_typical * st.v_l1
    if e_fft > e_direct:
        return Choice(
            "direct",
            f"the FFT would be faster ({summary}) but its error estimate "
            f"{e_fft:.3g} exceeds the direct method's bound {e_direct:.3g} "
            "for an output of typical size (in1's dynamic range is too "
            "wide: median |in1| far below its rms)",
        )
    return Choice(best, f"{variant} is the fastest ({summary}); error estimate {e_fft:.2g} "
                        f"<= direct bound {e_direct:.2g}", p)  # fmt: skip


# --------------------------------------------------------------------------------------------
# the worker


def fft_path(x, v, nd, pads, stride, dilation, boundary, fill, o_sp, plan):
    """FFT correlation (any float or complex dtype), the boundary read by the FFT module block
    by block (:func:`extend`), then subsampled by the stride; ``filter_image``'s FFT too."""
    vd = _dilate(v, nd, dilation)
    o1 = tuple((o - 1) * s + 1 if o > 0 else 0 for o, s in zip(o_sp, stride))
    read = None
    if not zero_fill(boundary, fill):
        read = lambda ranges: extend(x, nd, ranges, boundary, fill)  # noqa: E731
    lo = tuple(p[0] for p in pads)
    out = _fft.correlate(x, vd, lo, o1, fft_plan=plan, workers=_threads.num_threads(), read=read)
    if any(s > 1 for s in stride):
        out = np.ascontiguousarray(out[(..., *(slice(None, None, s) for s in stride))])
    return out


#: float dtype the core computes a result dtype in (others: NumPy shift-and-add)
_CORE_DTYPE = {"e": np.float32, "f": np.float32, "d": np.float64, "F": np.complex64,
               "D": np.complex128}  # fmt: skip


def fft_dtype(result: np.dtype) -> np.dtype:
    """The dtype an FFT of a ``result``-dtype correlation runs in (``scipy.fft``'s rules)."""
    result = np.dtype(result)
    if result.kind in "biuO":
        return np.dtype(np.float64)
    return np.dtype(np.float32) if result.char == "e" else result


def correlate(x, v, nd, pads, stride, dilation, boundary, fill, result, choice) -> np.ndarray:
    """Correlate validated operands (module docstring) into a ``result``-dtype array.

    Integer and bool results are exact and come back as float64 (exact integers), int64 or
    object values; the caller checks their range and casts (:func:`exact_int`). ``fill`` is a
    scalar already cast to ``result``. ``choice`` comes from :func:`choose`.
    """
    x_sp, k_sp = x.shape[x.ndim - nd :], v.shape[v.ndim - nd :]
    o_sp = out_shape(x_sp, k_sp, stride, dilation, pads)
    batch = (
        () if x.ndim == nd and v.ndim == nd
        else np.broadcast_shapes(x.shape[: x.ndim - nd], v.shape[: v.ndim - nd])
    )  # fmt: skip
    result = np.dtype(result)
    exact = result.kind in "biu"
    if min((*o_sp, math.prod(batch), *k_sp, *x_sp), default=1) <= 0:
        # empty: no taps (zeros), or every output reads only the fill value
        o_sp = tuple(max(o, 0) for o in o_sp)
        dt = np.dtype(object) if exact else result
        if min((*k_sp, *o_sp, math.prod(batch)), default=1) == 0:
            return np.zeros((*batch, *o_sp), dt)
        xe = extend(x, nd, read_ranges(x_sp, k_sp, stride, dilation, pads, o_sp), boundary, fill)
        return shift_add(xe, v, nd, o_sp, stride, dilation, dt)
    if exact:
        return exact_int(x, v, nd, pads, stride, dilation, boundary, fill, result, choice, o_sp)
    if choice.method == "separable":
        cd = np.dtype(_CORE_DTYPE[result.char])
        out = _separable_filter(x.astype(cd, copy=False), v.astype(cd, copy=False), pads,
                                stride, boundary, fill, cd)  # fmt: skip
        return out.astype(result, copy=False)
    if choice.method != "direct":
        dt = fft_dtype(result)
        if dt.kind != "c" and (x.dtype.kind == "c" or v.dtype.kind == "c"):
            dt = np.result_type(dt, np.complex64)  # complex objects
        out = fft_path(x.astype(dt, copy=False), v.astype(dt, copy=False), nd, pads, stride,
                        dilation, boundary, dt.type(fill), o_sp, choice.fft_plan)  # fmt: skip
        return out.astype(result, copy=False)
    cd = _CORE_DTYPE.get(result.char)
    if cd is None or nd > 3:  # longdouble, clongdouble, object; more than 3 axes
        dt = np.dtype(cd) if cd is not None else result
        xe = extend(x, nd, read_ranges(x_sp, k_sp, stride, dilation, pads, o_sp), boundary, fill)
        return shift_add(xe, v, nd, o_sp, stride, dilation, dt).astype(result, copy=False)
    cd = np.dtype(cd)
    x = x.astype(cd, copy=False)
    v = v.astype(cd, copy=False)
    fill = cd.type(fill)
    if cd.kind == "c":
        out = _direct_complex(x, v, nd, pads, stride, dilation, boundary, fill, o_sp)
    else:
        out = direct_real(x, v, nd, pads, stride, dilation, boundary, fill, o_sp)
    return out.astype(result, copy=False)


def _direct_complex(x, v, nd, pads, stride, dilation, boundary, fill, o_sp) -> np.ndarray:
    """``(xr + i xi) * (vr + i vi)`` as real correlations (two where one operand is real)."""
    real_dt = x.real.dtype

    def corr(a, b, f):
        return direct_real(a, b, nd, pads, stride, dilation, boundary, f, o_sp)

    xr, xi, vr, vi = x.real, x.imag, v.real, v.imag
    fr, fi = real_dt.type(fill.real), real_dt.type(fill.imag)
    x_real = not xi.any() and fi == 0
    v_real = not vi.any()
    rr = corr(xr, vr, fr)
    out = np.empty(rr.shape, x.dtype)
    if v_real:
        out.real = rr
        out.imag = 0 if x_real else corr(xi, vr, fi)
    elif x_real:
        out.real = rr
        out.imag = corr(xr, vi, fr)
    else:
        out.real = rr - corr(xi, vi, fi)
        out.imag = corr(xr, vi, fr) + corr(xi, vr, fi)
    return out


# --------------------------------------------------------------------------------------------
# exact integers


def exact_int(x, v, nd, pads, stride, dilation, boundary, fill, result, choice, o_sp):
    """Exact integer correlation: float64 (exact integers), int64 or object values.

    Every output's sum of ``|x||v|`` is at most ``max|xe| * sum|v|`` (``xe`` includes the fill
    value where the boundary reads it). Below 2**53 every partial sum, in any order, is an
    integer that float64 represents exactly, so the core's float64 kernels (or an FFT whose
    error bound is below 0.25, then rounded) give the exact result; below 2**63 int64
    shift-and-add cannot overflow; beyond that Python integers.
    """
    x_sp, k_sp = x.shape[x.ndim - nd :], v.shape[v.ndim - nd :]
    f = abs(int(fill)) if BORDER_RULES[boundary] == "constant" else 0
    bound = max(int_max(x), f) * int(
        np.abs(v.astype(object)).sum()
        if v.size < 4096
        else np.abs(v.astype(np.float64)).sum() * (1 + 1e-9) + 1
    )
    if bound < 2**53 and nd <= 3:
        xf, vf, ff = x.astype(np.float64), v.astype(np.float64), np.float64(fill)
        if choice.method == "direct":
            return direct_real(xf, vf, nd, pads, stride, dilation, boundary, ff, o_sp)
        return np.rint(fft_path(xf, vf, nd, pads, stride, dilation, boundary, ff, o_sp,
                                 choice.fft_plan))  # fmt: skip
    dt = np.dtype(np.int64) if bound < 2**63 else np.dtype(object)
    if dt == np.int64 and np.uint64 in (x.dtype, v.dtype):
        dt = np.dtype(object)  # uint64 values beyond int64 can meet zero weights
    xe = extend(x, nd, read_ranges(x_sp, k_sp, stride, dilation, pads, o_sp), boundary, fill)
    return shift_add(xe, v, nd, o_sp, stride, dilation, dt)
