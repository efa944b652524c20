"""SciPy-compatible signal functions: ``scipy.signal``'s convolution API on fastconv's engines.

``correlate``, ``convolve``, ``correlate2d``, ``convolve2d``, ``fftconvolve``, ``oaconvolve``
and ``choose_conv_method`` take ``scipy.signal``'s arguments and return its values, shapes and
dtypes; what differs is documented as an improvement:

- **integers never wrap**: results are exact (float64 arithmetic where every output's sum of
  ``|x||w|`` is below 2**53, int64 or Python integers beyond) and an ``OverflowError`` naming a
  wider dtype replaces SciPy's silent wrap-around when the exact result does not fit the result
  dtype SciPy returns (int8 inputs give int8 results in SciPy);
- **``method="auto"``** compares three candidates by a measured cost model (the direct Numba
  kernel, one whole-array FFT, overlap-save FFT blocks; a 2-D kernel of rank 1 runs as two 1-D
  passes), and never picks an FFT that would lose
  precision: not for integers unless the FFT's error bound proves the rounded result exact, not
  for inputs holding NaN or inf, and not where the input's dynamic range makes the FFT's error
  exceed the direct method's error bound. ``choose_conv_method(..., explain=True)`` says why;
- extra keywords: ``stride=`` and ``dilation=`` (per axis) on ``correlate``, ``convolve``,
  ``correlate2d`` and ``convolve2d``; ``axes=`` on ``correlate`` and ``convolve``; the extra
  method name ``"oa"`` (overlap-save blocks) on ``correlate`` and ``convolve``;
- inputs SciPy refuses without a reason are computed: float16, bool and object arrays in
  ``correlate2d``/``convolve2d`` and in N-D ``correlate``/``convolve``; empty inputs in every
  mode (zeros of the mode's shape where SciPy's 1-D and N-D paths raise); a ``"symm"`` or
  ``"wrap"`` boundary on an empty input raises ``ValueError`` (SciPy crashes).

Convolution flips the kernel, correlation does not: every function reduces to one correlation
worker (``fastconv._signal_engine``), and ``convolve(x, w) == correlate(x, flip(conj(w)))`` goes
through one helper, :func:`_flip_conj`.
"""

from __future__ import annotations

import numbers
import operator
import timeit
import warnings
from typing import Any

import numpy as np

from . import _signal_engine as engine
from . import _threads
from ._border import BORDER_RULES, SIGNAL_NAMES
from ._spec import _per_axis, dask_refusal, is_dask_array
from .algorithms import fft as _fft

__all__ = [
    "choose_conv_method",
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "fftconvolve",
    "oaconvolve",
]

_MODES = frozenset(("full", "same", "valid"))
_METHODS = ("auto", "direct", "fft", "oa")
#: SciPy's boundary names -> their rules (``correlate2d``'s part of the one name table,
#: ``fastconv._border.BORDER_RULES``: fill -> constant, wrap -> wrap, symm -> reflect)
_BOUNDARIES = {name: BORDER_RULES[name] for name in SIGNAL_NAMES}


# --------------------------------------------------------------------------------------------
# validation: every message names the function, the parameter, what was expected and given


def _array(fname: str, name: str, value: Any) -> np.ndarray:
    if is_dask_array(value):  # never computed behind the caller's back
        raise TypeError(dask_refusal(fname, name))
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nesting and the like
        raise type(exc)(f"{fname}: expected {name} to be an array-like, got {exc}") from None


def _check_dtype(fname: str, arrays: dict[str, np.ndarray], exc: type[Exception]) -> None:
    for name, arr in arrays.items():
        if arr.dtype.kind not in "biufcO":
            raise exc(
                f"{fname}: expected {name} to have a numeric (bool, integer, floating or complex) "
                f"or object dtype, got dtype {arr.dtype}"
            )


def _check_mode(fname: str, mode: Any, unhashable: type[Exception] = TypeError) -> str:
    """``mode`` must be 'full', 'same' or 'valid' (SciPy raises TypeError for an unhashable
    mode in some functions and ValueError in others; ``unhashable`` keeps that)."""
    msg = f"{fname}: expected mode to be 'full', 'same' or 'valid', got mode={mode!r}"
    try:
        ok = mode in _MODES
    except TypeError:
        raise unhashable(msg) from None
    if not ok:
        raise ValueError(msg)
    return str(mode)


def _check_method(fname: str, method: Any) -> str:
    try:
        ok = any(method == m for m in _METHODS) and isinstance(method, str)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"{fname}: expected method to be 'auto', 'direct', 'fft' or 'oa', got method={method!r}"
        )
    return str(method)


def _check_boundary(fname: str, boundary: Any) -> str:
    msg = (
        f"{fname}: expected boundary to be 'fill' (or 'pad'), 'wrap' (or 'circular') or "
        f"'symm' (or 'symmetric'), got boundary={boundary!r}"
    )
    try:
        known = boundary in _BOUNDARIES
    except TypeError:
        raise TypeError(msg) from None
    if not known:
        raise ValueError(msg)
    return _BOUNDARIES[boundary]


def _fill_value(fname: str, fillvalue: Any, dtype: np.dtype) -> Any:
    """``fillvalue`` cast to the result dtype, as SciPy's ``_convolve2d`` casts it."""
    try:
        f = np.array(fillvalue, dtype=dtype)
    except Exception:
        try:  # SciPy retries through complex, then refuses anyway
            np.array(fillvalue, dtype=np.complex128)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{fname}: expected fillvalue to be a number, got fillvalue={fillvalue!r}"
            ) from None
        raise ValueError(
            f"{fname}: expected fillvalue to be castable to the result dtype {dtype}, "
            f"got fillvalue={fillvalue!r}"
        ) from None
    if f.size != 1:
        what = "cannot be an empty array" if f.size == 0 else "to be a scalar or one element"
        raise ValueError(f"{fname}: expected fillvalue {what}, got fillvalue={fillvalue!r}")
    return f.reshape(())[()]


def _normalize_axes(fname: str, axes: Any, ndim: int) -> list[int]:
    """SciPy's ``axes`` rules: an int or iterable of ints, in range, unique, not empty."""
    if axes is None:
        return list(range(ndim))
    items = (axes,) if isinstance(axes, numbers.Number) else axes
    try:
        out = [operator.index(a) for a in items]
    except TypeError:
        raise ValueError(
            f"{fname}: expected axes to be an int or an iterable of ints, got axes={axes!r}"
        ) from None
    out = [a + ndim if a < 0 else a for a in out]
    if any(a < 0 or a >= ndim for a in out):
        raise ValueError(
            f"{fname}: expected axes within the {ndim} dimensions of the input, got axes={axes!r}"
        )
    if len(set(out)) != len(out):
        raise ValueError(f"{fname}: expected unique axes, got axes={axes!r}")
    if not out:
        raise ValueError(f"{fname}: expected at least one axis when axes is given, got axes=[]")
    return out


def _check_broadcast(fname: str, s1, s2, conv_axes) -> None:
    for a in range(len(s1)):
        if a not in conv_axes and not (s1[a] == s2[a] or s1[a] == 1 or s2[a] == 1):
            raise ValueError(
                f"{fname}: expected in1 and in2 to have equal sizes or size 1 along the axes not "
                f"convolved, got shapes {s1} and {s2} (axes={list(conv_axes)})"
            )


def _swap_needed(fname: str, mode: str, s1, s2, axes) -> bool:
    """SciPy's 'valid' rule: one input must be at least as large as the other on every axis;
    the larger one becomes the input."""
    if mode != "valid" or not len(s1):
        return False
    ok1 = all(s1[a] >= s2[a] for a in axes)
    ok2 = all(s2[a] >= s1[a] for a in axes)
    if not (ok1 or ok2):
        raise ValueError(
            f"{fname}: for mode='valid' expected one input at least as large as the other along "
            f"every axis, got shapes {tuple(s1)} and {tuple(s2)}"
        )
    return not ok1


# --------------------------------------------------------------------------------------------
# shared pieces


def _conj(w: np.ndarray) -> np.ndarray:
    """Conjugate complex arrays only (SciPy's convention: object arrays are not conjugated)."""
    return np.conj(w) if w.dtype.kind == "c" else w


def _flip_conj(w: np.ndarray, axes) -> np.ndarray:
    """The kernel that makes a correlation a convolution: ``convolve(x, w) ==
    correlate(x, _flip_conj(w))`` -- reversed along the convolution axes and conjugated.

    >>> _flip_conj(np.array([1 + 2j, 3]), [0])
    array([3.-0.j, 1.-2.j])
    """
    return _conj(np.flip(w, axis=tuple(axes)))


def _wider(lo: Any, hi: Any, dtype: np.dtype) -> str:
    """The smallest dtype wider than ``dtype`` that holds ``[lo, hi]``, or 'object'."""
    unsigned = dtype.kind == "u" and lo >= 0
    for bits in (16, 32, 64):
        cand = np.dtype(f"{'u' if unsigned else ''}int{bits}")
        info = np.iinfo(cand)
        if cand.itemsize > dtype.itemsize and info.min <= lo and hi <= info.max:
            return str(cand)
    return "object (Python integers)"


def _finish_int(fname: str, out: np.ndarray, result: np.dtype, dtypes: str) -> np.ndarray:
    """Exact integer results: bool as 'any product', else range-checked and cast."""
    if result.kind == "b":
        return np.asarray(out != 0)
    if out.size == 0:
        return out.astype(result)
    lo, hi = out.min(), out.max()
    lo, hi = int(lo), int(hi)
    info = np.iinfo(result)
    if lo < info.min or hi > info.max:
        raise OverflowError(
            f"{fname}: the exact result spans [{lo}, {hi}], which does not fit {result}, the "
            f"result dtype of {dtypes} inputs (SciPy would wrap around silently); cast the "
            f"inputs to {_wider(lo, hi, result)} for the exact result"
        )
    return out.astype(result)


def _scalar_product(fname: str, a: np.ndarray, b: np.ndarray) -> Any:
    """``a * b`` of 0-d operands, as SciPy returns it, but exact for integers."""
    product = np.multiply(a, b)
    result = np.result_type(a, b)
    if result.kind in "iu":
        exact = int(a) * int(b)
        _finish_int(fname, np.array([exact], dtype=object), result, f"{a.dtype} and {b.dtype}")
    return product


def _mode_pads(mode: str, k_ext: int, anchor_low: bool = False) -> tuple[int, int]:
    """Leading and trailing padding of a correlation in ``mode`` for a kernel spanning
    ``k_ext``; 'same' centres on the full output (SciPy's N-D rule puts the larger half of an
    even kernel before, ``anchor_low`` -- correlate2d's rule -- after)."""
    if mode == "full":
        return k_ext - 1, k_ext - 1
    if mode == "valid":
        return 0, 0
    lo = (k_ext - 1) // 2 if anchor_low else k_ext // 2
    return lo, k_ext - 1 - lo


def _trailing(arr: np.ndarray, axes) -> bool:
    """``axes`` already are the trailing axes, in order (then nothing moves)."""
    return list(axes) == list(range(arr.ndim - len(axes), arr.ndim))


def _move_in(arr: np.ndarray, axes) -> np.ndarray:
    """The convolution axes to the end (the engine's layout)."""
    if _trailing(arr, axes):
        return arr
    return np.moveaxis(arr, axes, range(arr.ndim - len(axes), arr.ndim))


def _move_out(arr: np.ndarray, axes) -> np.ndarray:
    if _trailing(arr, axes):
        return arr
    return np.moveaxis(arr, range(arr.ndim - len(axes), arr.ndim), axes)


def _warn_nonfinite(out: np.ndarray, choice: engine.Choice) -> None:
    if choice.method != "direct" and out.dtype.kind in "fc" and not np.isfinite(out).all():
        warnings.warn(
            "FFT convolution of input holding NaN or inf gives NaN or inf far beyond those "
            "values; use method='direct' (or 'auto', which never takes the FFT then)",
            RuntimeWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------------------------
# N-D correlate / convolve


class _Plan:
    """A validated N-D correlation: everything about a call but the data, cached per signature.

    ``a`` and ``u`` are ``in1`` and the kernel as :func:`correlate` sees it (``convolve`` passes
    ``_flip_conj(in2)``); :meth:`operands` moves them to the engine's layout, :meth:`run`
    computes. The method is kept with the plan when the cost model decided it from shapes
    alone; when an FFT is in the running its precision rule reads each call's data.
    """

    def __init__(self, fname, a, u, mode, method, conv_axes, stride, dilation):
        self.fname = fname
        self.conv_axes = conv_axes
        self.mode = mode
        self.method = method
        u_shape = _centre_broadcast_shape(a.shape, u.shape, conv_axes) if mode == "same" else (
            u.shape)  # fmt: skip
        nd = self.nd = len(conv_axes)
        self.stride = _per_axis(fname, "stride", stride, nd)
        self.dilation = _per_axis(fname, "dilation", dilation, nd)
        self.result = np.result_type(a.dtype, u.dtype)
        self.dtypes = (a.dtype, u.dtype)
        k_ext = [engine.extent(u_shape[ax], d) for ax, d in zip(conv_axes, self.dilation)]
        s2 = list(u_shape)
        for ax, e in zip(conv_axes, k_ext):
            s2[ax] = e
        self.swapped = _swap_needed(fname, mode, a.shape, tuple(s2), conv_axes)
        if self.swapped:  # the dilated kernel is the input now; stride subsamples afterwards
            self.run_stride, self.run_dilation = (1,) * nd, (1,) * nd
            x_shape = tuple(s2)
            k_sp = tuple(a.shape[ax] for ax in conv_axes)
        else:
            self.run_stride, self.run_dilation = self.stride, self.dilation
            x_shape = a.shape
            k_sp = tuple(u_shape[ax] for ax in conv_axes)
        x_sp = tuple(x_shape[ax] for ax in conv_axes)
        kx = [engine.extent(k, d) for k, d in zip(k_sp, self.run_dilation)]
        self.pads = tuple(_mode_pads(mode, e) for e in kx)
        self.o_sp = engine.out_shape(x_sp, k_sp, self.run_stride, self.run_dilation, self.pads)
        if any(o < 0 for o in self.o_sp):
            raise ValueError(
                f"{fname}: mode={mode!r} gives a negative output size for shapes {a.shape} and "
                f"{u.shape}"
            )
        self.choice = self.choose(*self.operands(a, u))

    def choose(self, x: np.ndarray, v: np.ndarray) -> engine.Choice:
        return engine.choose(x, v, self.nd, self.pads, self.run_stride, self.run_dilation,
                             self.o_sp, self.result, self.method)  # fmt: skip

    def resolve(self, x: np.ndarray, v: np.ndarray) -> engine.Choice:
        """This call's method: the plan's, the separable one for a rank-1 kernel, or -- when
        an FFT's precision rule must read the data -- chosen again for these operands."""
        choice = engine.resolve(self.choice, v, self.result)
        if choice.method != "separable" and not choice.static:
            choice = engine.resolve(self.choose(x, v), v, self.result)
        return choice

    def operands(self, a: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(x, v)`` of the engine: SciPy's swap, conjugation, axes moved to the end."""
        if self.mode == "same":
            u = _centre_broadcast(a, u, self.conv_axes)
        if self.swapped:  # SciPy: correlate(in2, in1), reversed and conjugated afterwards
            ud = engine._dilate(_move_in(u, self.conv_axes), self.nd, self.dilation)
            return ud, _move_in(_conj(a), self.conv_axes)
        return _move_in(a, self.conv_axes), _move_in(_conj(u), self.conv_axes)

    def run(self, a: np.ndarray, u: np.ndarray) -> np.ndarray:
        x, v = self.operands(a, u)
        choice = self.resolve(x, v)
        out = engine.correlate(x, v, self.nd, self.pads, self.run_stride, self.run_dilation,
                               "constant", self.result.type(0), self.result, choice)  # fmt: skip
        if self.result.kind in "biu":
            out = _finish_int(self.fname, out, self.result, "{} and {}".format(*self.dtypes))
        if self.swapped:
            sp = tuple(range(out.ndim - self.nd, out.ndim))
            out = _conj(np.flip(out, axis=sp))[(..., *(slice(None, None, s) for s in self.stride))]
            out = np.ascontiguousarray(out)
        _warn_nonfinite(out, choice)
        return _move_out(out, self.conv_axes)


#: plans by call signature (function, shapes, dtypes, frozen parameters); cleared when full
_PLANS: dict[tuple, Any] = {}


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a parameter: typed scalars (so 1, 1.0 and True differ),
    tuples for sequences; unhashable values raise TypeError (and are not cached)."""
    if type(value) is int or type(value) is str:  # the common case, kept cheap
        return value
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.ndarray):
        return (np.ndarray, value.dtype.str, value.shape, value.tobytes())
    hash(value)
    return (type(value), value)


def _cached(key_parts: tuple, make):
    """The cached plan for ``key_parts`` -- function name, both shapes and dtypes, then the
    parameters as given -- or ``make()``, which validates and may raise."""
    try:
        key = (*key_parts[:5], *(_freeze(p) for p in key_parts[5:]))
        plan = _PLANS.get(key)
    except TypeError:  # an unhashable parameter: validation will say what is wrong with it
        key, plan = None, None
    if plan is None:
        plan = make()
        if key is not None:
            if len(_PLANS) >= 512:
                _PLANS.clear()
            _PLANS[key] = plan
    return plan


def _centre_broadcast_shape(s1, s2, conv_axes) -> tuple[int, ...]:
    return tuple(
        1 if ax not in conv_axes and s1[ax] == 1 and s2[ax] > 1 else s2[ax] for ax in range(len(s1))
    )


def _centre_broadcast(a: np.ndarray, b: np.ndarray, conv_axes) -> np.ndarray:
    """For 'same' mode: where ``a`` has size 1 on an axis not convolved and ``b`` more, keep
    ``b``'s centre slice, so that the result has ``a``'s size (SciPy's centring)."""
    for ax in range(a.ndim):
        if ax not in conv_axes and a.shape[ax] == 1 and b.shape[ax] > 1:
            c = (b.shape[ax] - 1) // 2
            b = b[(slice(None),) * ax + (slice(c, c + 1),)]
    return b


def _nd_call(fname, in1, in2, mode, method, axes, stride, dilation, convolve: bool):
    """Validate (once per call signature), then correlate ``in1`` with ``in2`` -- flipped and
    conjugated by :func:`_flip_conj` for a convolution."""
    if is_dask_array(in1) or is_dask_array(in2):
        from .dask import _signal_nd  # a Dask array, computed chunk by chunk

        return _signal_nd(fname, in1, in2, mode, method, axes, stride, dilation, convolve)
    a = _array(fname, "in1", in1)
    b = _array(fname, "in2", in2)
    if a.ndim == b.ndim == 0:  # SciPy returns the product before looking at anything else
        return _scalar_product(fname, a, b if convolve else _conj(b))

    def make() -> _Plan:
        if a.ndim != b.ndim:
            raise ValueError(
                f"{fname}: expected in1 and in2 with the same number of dimensions, got shapes "
                f"{a.shape} and {b.shape}"
            )
        # SciPy's correlate raises TypeError for an unhashable mode, its convolve ValueError
        mode_ = _check_mode(fname, mode, ValueError if convolve else TypeError)
        method_ = _check_method(fname, method)
        _check_dtype(fname, {"in1": a, "in2": b}, ValueError)
        conv_axes = _normalize_axes(fname, axes, a.ndim)
        _check_broadcast(fname, a.shape, b.shape, conv_axes)
        u = _flip_conj(b, conv_axes) if convolve else b
        return _Plan(fname, a, u, mode_, method_, conv_axes, stride, dilation)

    plan = _cached((fname, a.shape, a.dtype, b.shape, b.dtype, mode, method, axes, stride,
                    dilation), make)  # fmt: skip
    return plan.run(a, _flip_conj(b, plan.conv_axes) if convolve else b)


def correlate(
    in1: Any,
    in2: Any,
    mode: str = "full",
    method: str = "auto",
    *,
    axes: Any = None,
    stride: Any = 1,
    dilation: Any = 1,
) -> np.ndarray:
    """Cross-correlate two N-D arrays (no kernel flip; ``in2`` is conjugated), like SciPy.

    ``z[k] = sum_l in1[l] * conj(in2[l - k])``: ``scipy.signal.correlate`` with the same
    arguments, values, shapes and dtypes, plus exact integers and the extras below.

    Parameters
    ----------
    in1, in2 : array_like
        The input and the kernel, with the same number of dimensions (0-d: their product).
    mode : {"full", "valid", "same"}, default "full"
        ``full``: every overlap; ``valid``: no zero padding (the larger input becomes the
        input -- SciPy's swap rule -- which must be at least as large on every axis);
        ``same``: the size of ``in1``, centred on the full output.
    method : {"auto", "direct", "fft", "oa"}, default "auto"
        ``direct``: sums of products (fastconv's Numba kernel); ``fft``: FFT convolution
        (whole arrays or overlap-save blocks, whichever the cost model prefers); ``oa``
        (fastconv only): overlap-save blocks; ``auto``: see :func:`choose_conv_method`.
        Integer inputs are exact whatever the method (an FFT only runs where its error bound
        proves the rounded result exact).
    axes : int or sequence of ints, optional (fastconv only)
        Axes to correlate along (default all); along the others ``in1`` and ``in2`` must have
        equal sizes or size 1, and broadcast, as in ``scipy.signal.fftconvolve``.
    stride, dilation : int or sequence of ints, default 1 (fastconv only)
        Per correlated axis. ``dilation=d`` spreads the taps of ``in2`` ``d`` apart (the same
        as ``in2`` with ``d - 1`` zeros between taps); ``stride=s`` returns ``result[::s]`` of
        the stride-1 result, without computing the skipped outputs.

    Returns
    -------
    out : ndarray
        Along each correlated axis, with ``N = in1`` size and ``K = d * (k - 1) + 1`` the
        dilated kernel size: ``full``: ``ceil((N + K - 1) / s)``; ``same``: ``ceil(N / s)``;
        ``valid``: ``ceil((max(N, K) - min(N, K) + 1) / s)``. Dtype: ``np.result_type(in1,
        in2)`` (float16 stays float16, bool stays bool: whether any product is true).

    Raises
    ------
    ValueError, TypeError
        Where SciPy raises them (bad mode, method, shapes, dtypes), naming the parameter.
    OverflowError
        When the exact integer result does not fit the result dtype (SciPy wraps around).

    Examples
    --------
    >>> import numpy as np
    >>> correlate([1, 2, 3], [0, 1, 0.5])
    array([0.5, 2. , 3.5, 3. , 0. ])
    >>> correlate([1, 2, 3, 4], [1, 1], mode="valid", stride=2)
    array([3, 7])
    >>> correlate(np.arange(6).reshape(2, 3), [[1, -1]], axes=1, mode="valid")
    array([[-1, -1],
           [-1, -1]])
    >>> correlate(np.array([100], np.int8), np.array([2], np.int8))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    OverflowError: correlate: the exact result spans [200, 200], which does not fit int8, ...
    """
    return _nd_call("correlate", in1, in2, mode, method, axes, stride, dilation, False)


def convolve(
    in1: Any,
    in2: Any,
    mode: str = "full",
    method: str = "auto",
    *,
    axes: Any = None,
    stride: Any = 1,
    dilation: Any = 1,
) -> np.ndarray:
    """Convolve two N-D arrays (the kernel ``in2`` is flipped), like ``scipy.signal.convolve``.

    ``convolve(in1, in2) == correlate(in1, flip(conj(in2)))`` exactly, in every mode; the
    arguments are those of :func:`correlate` (``axes``, ``stride``, ``dilation`` and
    ``method="oa"`` are fastconv's).

    Returns
    -------
    out : ndarray
        Along each convolved axis (``N`` the size of ``in1``, ``K = d * (k - 1) + 1``):
        ``full``: ``ceil((N + K - 1) / s)``; ``same``: ``ceil(N / s)``; ``valid``:
        ``ceil((max(N, K) - min(N, K) + 1) / s)``. Dtype: ``np.result_type(in1, in2)``.

    Examples
    --------
    >>> import numpy as np
    >>> convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])

    SciPy's example, smoothing a square pulse with a Hann window:

    >>> sig = np.repeat([0.0, 1.0, 0.0], 100)
    >>> win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(50) / 49)   # signal.windows.hann(50)
    >>> filtered = convolve(sig, win, mode="same") / win.sum()
    >>> filtered[[0, 80, 90, 100, 110, 150, 200, 210, 230]].round(4)
    array([0.    , 0.005 , 0.1432, 0.5   , 0.8568, 1.    , 0.5   , 0.1432, 0.    ])
    >>> convolve(np.eye(3, dtype=np.uint8), np.full((2, 2), 200, np.uint8))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    OverflowError: convolve: the exact result spans [0, 400], which does not fit uint8, ...
    """
    return _nd_call("convolve", in1, in2, mode, method, axes, stride, dilation, True)


# --------------------------------------------------------------------------------------------
# 2-D correlate2d / convolve2d


class _Plan2D:
    """A validated ``correlate2d``/``convolve2d`` call: everything but the data (see
    :class:`_Plan`)."""

    def __init__(self, fname, a, b, mode, boundary, fillvalue, stride, dilation, flip):
        if not a.ndim == b.ndim == 2:
            raise ValueError(
                f"{fname}: expected in1 and in2 to be 2-D arrays, got shapes {a.shape} and "
                f"{b.shape}"
            )
        _check_dtype(fname, {"in1": a, "in2": b}, ValueError if flip else TypeError)
        self.fname, self.flip = fname, flip
        self.stride = _per_axis(fname, "stride", stride, 2)
        self.dilation = _per_axis(fname, "dilation", dilation, 2)
        k_ext = tuple(engine.extent(k, d) for k, d in zip(b.shape, self.dilation))
        self.swapped = (
            _swap_needed(fname, mode, a.shape, k_ext, (0, 1)) if isinstance(mode, str) else False
        )
        mode = _check_mode(fname, mode, TypeError)
        self.boundary = _check_boundary(fname, boundary)
        self.result = result = np.result_type(a.dtype, b.dtype)
        self.dtypes = f"{a.dtype} and {b.dtype}"
        self.fill = (
            _fill_value(fname, fillvalue, result) if self.boundary == "constant" else result.type(0)
        )
        if self.swapped:
            # SciPy runs _convolve2d(in2, in1) -- convolve2d: the commutative convolution;
            # correlate2d: correlate2d(in2, in1) reversed (not conjugated)
            self.pads, self.run_stride, self.run_dilation = ((0, 0), (0, 0)), (1, 1), (1, 1)
            x_shape, k_shape = k_ext, a.shape
        else:
            self.pads = tuple(_mode_pads(mode, e, anchor_low=not flip) for e in k_ext)
            self.run_stride, self.run_dilation = self.stride, self.dilation
            x_shape, k_shape = a.shape, b.shape
        self.o_sp = engine.out_shape(x_shape, k_shape, self.run_stride, self.run_dilation,
                                     self.pads)  # fmt: skip
        if any(o < 0 for o in self.o_sp):
            raise ValueError(
                f"{fname}: mode={mode!r} gives a negative output size for shapes {a.shape} and "
                f"{b.shape}"
            )
        if self.boundary != "constant" and a.size == 0 and b.size and min(self.o_sp) > 0:
            raise ValueError(  # SciPy divides by zero here and crashes
                f"{fname}: boundary={boundary!r} needs a non-empty in1 to extend, got in1 of "
                f"shape {a.shape}"
            )
        self.choice = self.choose(*self.operands(a, b))

    def choose(self, x: np.ndarray, v: np.ndarray) -> engine.Choice:
        return engine.choose(x, v, 2, self.pads, self.run_stride, self.run_dilation, self.o_sp,
                             self.result, "auto", self.fill)  # fmt: skip

    resolve = _Plan.resolve

    def operands(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # correlate2d conjugates in2 as SciPy does (b.conj(), objects included)
        kernel = (lambda k: np.flip(k)) if self.flip else (
            lambda k: k.conj() if k.dtype.kind in "cO" else k)  # fmt: skip
        if self.swapped:
            return engine._dilate(b, 2, self.dilation), kernel(a)
        return a, kernel(b)

    def run(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        x, v = self.operands(a, b)
        choice = self.resolve(x, v)
        out = engine.correlate(x, v, 2, self.pads, self.run_stride, self.run_dilation,
                               self.boundary, self.fill, self.result, choice)  # fmt: skip
        if self.result.kind in "biu":
            out = _finish_int(self.fname, out, self.result, self.dtypes)
        if self.swapped:
            if not self.flip:
                out = out[::-1, ::-1]
            out = np.ascontiguousarray(out[:: self.stride[0], :: self.stride[1]])
        return out


def _two_d(fname, in1, in2, mode, boundary, fillvalue, stride, dilation, flip):
    if is_dask_array(in1) or is_dask_array(in2):
        from .dask import _signal_2d  # a Dask array, computed chunk by chunk

        return _signal_2d(fname, in1, in2, mode, boundary, fillvalue, stride, dilation, flip)
    a = _array(fname, "in1", in1)
    b = _array(fname, "in2", in2)
    plan = _cached(
        (fname, a.shape, a.dtype, b.shape, b.dtype, mode, boundary, fillvalue, stride, dilation),
        lambda: _Plan2D(fname, a, b, mode, boundary, fillvalue, stride, dilation, flip),
    )
    return plan.run(a, b)


_TWO_D_PARAMS = """
    Parameters
    ----------
    in1, in2 : array_like
        2-D input and kernel.
    mode : {{"full", "valid", "same"}}, default "full"
        ``full``: every overlap; ``valid``: no boundary values (the larger input becomes the
        input -- SciPy's swap rule); ``same``: the size of ``in1``, {anchor}.
    boundary : {{"fill", "wrap", "symm"}}, default "fill"
        Values beyond the edges of ``in1``: ``fill`` -- ``fillvalue``
        (``v v | a b c d | v v``); ``wrap`` -- periodic (``c d | a b c d | a b``); ``symm`` --
        mirrored with the edge repeated (``b a | a b c d | d c``); any width. ``pad``,
        ``circular`` and ``symmetric`` are SciPy's aliases.
    fillvalue : scalar, default 0
        Cast to the result dtype as SciPy casts it (a value that does not fit is refused).
    stride, dilation : int or pair of ints, default 1 (fastconv only)
        ``dilation=d`` spreads the kernel taps ``d`` apart; ``stride=s`` returns
        ``result[::s]`` of the stride-1 result without computing the skipped outputs.

    Returns
    -------
    out : ndarray
        2-D; per axis, with ``N`` the size of ``in1`` and ``K = d * (k - 1) + 1``: ``full``:
        ``ceil((N + K - 1) / s)``; ``same``: ``ceil(N / s)``; ``valid``:
        ``ceil((max(N, K) - min(N, K) + 1) / s)``. Dtype ``np.result_type(in1, in2)``;
        integers exact (``OverflowError`` where the exact result does not fit).
"""


def correlate2d(
    in1: Any,
    in2: Any,
    mode: str = "full",
    boundary: str = "fill",
    fillvalue: Any = 0,
    *,
    stride: Any = 1,
    dilation: Any = 1,
) -> np.ndarray:
    """Cross-correlate two 2-D arrays (no kernel flip; ``in2`` conjugated) with a boundary rule.

    ``scipy.signal.correlate2d`` with the same arguments, values, shapes and dtypes. For an
    even kernel, 'same' mode is one sample off :func:`correlate`'s (SciPy's convention).
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(1.0, 17.0).reshape(4, 4)
    >>> correlate2d(image, [[1, 0, -1], [1, 0, -1], [1, 0, -1]], mode="valid")
    array([[-6., -6.],
           [-6., -6.]])
    >>> correlate2d([[1, 2], [3, 4]], [[1, 1], [1, 1]], mode="same", boundary="symm")
    array([[10, 12],
           [14, 16]])

    SciPy's example: find a template in a noisy image (here a deterministic one).

    >>> rng = np.random.default_rng(0)
    >>> scene = rng.standard_normal((60, 80))
    >>> template = scene[20:30, 45:55] - scene[20:30, 45:55].mean()
    >>> noisy = scene + 0.5 * rng.standard_normal(scene.shape)
    >>> corr = correlate2d(noisy, template, boundary="symm", mode="same")
    >>> np.unravel_index(np.argmax(corr), corr.shape)   # the template's centre (25, 50)
    (np.int64(24), np.int64(49))
    """
    return _two_d("correlate2d", in1, in2, mode, boundary, fillvalue, stride, dilation, False)


def convolve2d(
    in1: Any,
    in2: Any,
    mode: str = "full",
    boundary: str = "fill",
    fillvalue: Any = 0,
    *,
    stride: Any = 1,
    dilation: Any = 1,
) -> np.ndarray:
    """Convolve two 2-D arrays (the kernel ``in2`` is flipped) with a boundary rule.

    ``scipy.signal.convolve2d`` with the same arguments, values, shapes and dtypes: the
    correlation with ``flip(conj(in2))`` (:func:`_flip_conj`), whose 'same' output of an even
    kernel starts half a kernel earlier than ``correlate2d``'s (SciPy's anchors).
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> convolve2d([[1, 2], [3, 4]], [[0, 1], [1, 0]])
    array([[0, 1, 2],
           [1, 5, 4],
           [3, 4, 0]])

    SciPy's example: the gradient of an image by a complex Scharr operator, with a symmetric
    boundary (a deterministic 'image' instead of ``scipy.datasets.ascent``):

    >>> image = np.add.outer(np.arange(5.0), 2 * np.arange(6.0)) ** 2
    >>> scharr = np.array([[ -3-3j, 0-10j,  +3 -3j],
    ...                    [-10+0j, 0+ 0j, +10 +0j],
    ...                    [ -3+3j, 0+10j,  +3 +3j]])   # Gx + j*Gy
    >>> grad = convolve2d(image, scharr, boundary="symm", mode="same")
    >>> grad[2, 2]
    np.complex128(-768-384j)
    """
    return _two_d("convolve2d", in1, in2, mode, boundary, fillvalue, stride, dilation, True)


correlate2d.__doc__ = correlate2d.__doc__.format(
    params=_TWO_D_PARAMS.format(anchor="its centre at kernel index ``(k - 1) // 2``")
)
convolve2d.__doc__ = convolve2d.__doc__.format(
    params=_TWO_D_PARAMS.format(anchor="its centre at kernel index ``k // 2``")
)


# --------------------------------------------------------------------------------------------
# fftconvolve / oaconvolve


def _product(fname: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a * b`` (broadcast), exact for integers: OverflowError instead of wrapping."""
    result = np.result_type(a, b)
    if result.kind in "iu":
        bound = engine.int_max(a) * engine.int_max(b)
        if bound > np.iinfo(result).max or -bound < np.iinfo(result).min:
            exact = a.astype(object) * b.astype(object)
            return _finish_int(fname, exact, result, f"{a.dtype} and {b.dtype}")
    return a * b


def _freq(fname: str, in1, in2, mode, axes, blocks) -> np.ndarray:
    a = _array(fname, "in1", in1)
    b = _array(fname, "in2", in2)
    if a.ndim == b.ndim == 0:
        return _scalar_product(fname, a, b)
    if a.ndim != b.ndim:
        raise ValueError(
            f"{fname}: expected in1 and in2 with the same number of dimensions, got shapes "
            f"{a.shape} and {b.shape}"
        )
    if a.size == 0 or b.size == 0:  # SciPy: an empty float64 array, whatever the mode
        return np.asarray([])
    if blocks and a.shape == b.shape:  # SciPy's oaconvolve: same shapes -> fftconvolve
        blocks = False
    _check_dtype(fname, {"in1": a, "in2": b}, TypeError)
    conv_axes = _normalize_axes(fname, axes, a.ndim) if axes is not None else list(range(a.ndim))
    # axes where either input has size 1 are a broadcast product, not a convolution
    conv_axes = [ax for ax in conv_axes if a.shape[ax] != 1 and b.shape[ax] != 1]
    if blocks:
        conv_axes.sort()
    _check_broadcast(fname, a.shape, b.shape, conv_axes)
    if _swap_needed(fname, mode, a.shape, b.shape, conv_axes):
        a, b = b, a
    mode = _check_mode(fname, mode, ValueError)
    s1, s2 = a.shape, b.shape
    if mode == "same":  # the broadcast axes are cut to in1's size, centred
        b = _centre_broadcast(a, b, conv_axes)
    if not conv_axes:
        return np.ascontiguousarray(_product(fname, a, b))

    def fft_in(arr: np.ndarray) -> np.ndarray:
        dt = engine.fft_dtype(arr.dtype)
        if arr.dtype.kind == "O":
            try:
                return arr.astype(np.float64)
            except TypeError:
                return arr.astype(np.complex128)
        return arr.astype(dt, copy=False)

    x = _move_in(fft_in(a), conv_axes)
    v = _move_in(np.flip(fft_in(b), axis=tuple(conv_axes)), conv_axes)
    nd = len(conv_axes)
    pads = tuple(_mode_pads(mode, s2[ax]) for ax in conv_axes)
    o_sp = tuple(n + lo + hi - k + 1 for n, k, (lo, hi) in
                 zip((s1[ax] for ax in conv_axes), (s2[ax] for ax in conv_axes), pads))  # fmt: skip
    nbx = int(np.prod(x.shape[: x.ndim - nd]))
    nbv = int(np.prod(v.shape[: v.ndim - nd]))
    nb = int(np.prod(np.broadcast_shapes(x.shape[: x.ndim - nd], v.shape[: v.ndim - nd])))
    real = x.dtype.kind != "c" and v.dtype.kind != "c"
    k_sp = tuple(s2[ax] for ax in conv_axes)
    p = _fft.plan(o_sp, k_sp, nbx, nbv, nb, real, blocks)
    if blocks and p.tiles == 1:
        p = _fft.plan(o_sp, k_sp, nbx, nbv, nb, real, False)
    out = _fft.correlate(x, v, tuple(lo for lo, _ in pads), o_sp, fft_plan=p,
                         workers=_threads.num_threads())  # fmt: skip
    return _move_out(out, conv_axes)


_FREQ_DOC = """
    Parameters
    ----------
    in1, in2 : array_like
        Input and kernel with the same number of dimensions (0-d: their product).
    mode : {{"full", "valid", "same"}}, default "full"
        ``full``: every overlap; ``valid``: no zero padding (the larger input becomes the
        input); ``same``: the size of ``in1``, centred on the full output.
    axes : int or sequence of ints, optional
        Axes to convolve along (default all); along the others the sizes must be equal or 1
        and broadcast. Axes where either input has size 1 are multiplied, not transformed.

    Returns
    -------
    out : ndarray
        Per convolved axis, ``N`` and ``K`` the sizes of ``in1`` and ``in2``: ``full``:
        ``N + K - 1``; ``same``: ``N``; ``valid``: ``max(N, K) - min(N, K) + 1``; other axes
        broadcast (``same``: ``in1``'s size). Dtype as ``scipy.fft`` computes it: float32 for
        float16/float32, float64 for integers, bool and object, complex where either input is
        complex, long double kept. An empty input gives an empty float64 array of shape
        ``(0,)``, as in SciPy.
"""


def fftconvolve(in1: Any, in2: Any, mode: str = "full", axes: Any = None) -> np.ndarray:
    """Convolve two N-D arrays (the kernel is flipped) with one FFT of the whole arrays.

    ``scipy.signal.fftconvolve`` with the same arguments, values, shapes and dtypes: real
    transforms for real inputs, fast lengths from ``scipy.fft.next_fast_len``, and fastconv's
    threads (``workers``) in every transform.
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> fftconvolve([1, 2, 3], [0, 1, 0.5]).round(12)
    array([0. , 1. , 2.5, 4. , 1.5])

    SciPy's example: the autocorrelation of white noise is an impulse.

    >>> sig = np.random.default_rng(0).standard_normal(1000)
    >>> autocorr = fftconvolve(sig, sig[::-1], mode="full")
    >>> int(np.argmax(autocorr)), bool(autocorr[999] > 10 * np.abs(autocorr[:990]).max())
    (999, True)
    """
    return _freq("fftconvolve", in1, in2, mode, axes, False)


def oaconvolve(in1: Any, in2: Any, mode: str = "full", axes: Any = None) -> np.ndarray:
    """Convolve two N-D arrays (the kernel is flipped) with overlap-save FFT blocks.

    ``scipy.signal.oaconvolve`` with the same arguments, values, shapes and dtypes. The output
    is cut into blocks whose FFT length the cost model of :func:`fastconv.algorithms.fft.plan`
    chooses; like SciPy, inputs of equal shape (or too small for two blocks) take one
    whole-array FFT. Overlap-save and overlap-add compute the same sums.
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> oaconvolve([1, 2, 3, 4, 5, 6, 7, 8], [1, -1]).round(12)
    array([ 1.,  1.,  1.,  1.,  1.,  1.,  1.,  1., -8.])

    SciPy's example: a 100 000-sample signal through a 512-tap low-pass filter (a windowed
    sinc instead of ``signal.firwin(512, 0.01)``).

    >>> sig = np.random.default_rng(0).standard_normal(100_000)
    >>> t = np.arange(512) - 255.5
    >>> filt = 0.01 * np.sinc(0.01 * t) * np.hamming(512)
    >>> fsig = oaconvolve(sig, filt)
    >>> fsig.shape, bool(np.allclose(fsig[5000:5010], np.convolve(sig, filt)[5000:5010]))
    ((100511,), True)
    """
    return _freq("oaconvolve", in1, in2, mode, axes, True)


fftconvolve.__doc__ = fftconvolve.__doc__.format(params=_FREQ_DOC)
oaconvolve.__doc__ = oaconvolve.__doc__.format(params=_FREQ_DOC)


# --------------------------------------------------------------------------------------------
# choose_conv_method


def _time(fn) -> float:
    """Seconds per call: loops of at least 5 ms, the best of 3 (as SciPy's ``measure``)."""
    timer = timeit.Timer(fn)
    number = 1
    while True:
        t = timer.timeit(number)
        if t >= 5e-3 or number >= 10**6:
            break
        number *= 10
    return min([t, *timer.repeat(2, number)]) / number


def choose_conv_method(
    in1: Any, in2: Any, mode: str = "full", measure: bool = False, *, explain: bool = False
) -> Any:
    """Which method ``convolve(in1, in2, mode)`` runs: ``'direct'`` or ``'fft'`` (no flip here).

    SciPy's return values: ``'fft'`` stands for both FFT variants (one whole-array transform
    or overlap-save blocks), since ``method='fft'`` in :func:`convolve` and :func:`correlate`
    picks between them by the same cost model. The rule of ``method='auto'``:

    1. the cost model (``fastconv._signal_engine.COSTS``, measured on the development machine)
       estimates the time of the direct kernel, of one whole-array FFT and of overlap-save
       blocks, and takes the fastest; a real 2-D kernel of numerical rank 1 (both sides >= 2,
       >= 9 taps, 'same' or 'valid' output) runs as two 1-D passes (``'direct'``);
    2. an FFT winner is kept only if it keeps the precision: for integers, only when the FFT's
       rigorous error bound is below 0.25 (the rounded result is then exact -- else the exact
       direct method); for floats, never with NaN or inf in the inputs, and only when the FFT's
       error estimate ``4 u log2(N) rms(in1) ||in2||_2`` (the same at every output) is at most
       the direct method's error bound ``k u typical|in1| ||in2||_1`` for an output of typical
       size, ``typical|in1|`` being the median magnitude of a sample of ``in1`` (a wide
       dynamic range -- a few large values in a sea of small ones, or mostly zeros -- makes
       the FFT's uniform error swamp the small outputs);
    3. bool, object and arrays SciPy cannot convolve (mismatched dimensions, 0-d, non-numeric)
       give ``'direct'``, as in SciPy.

    Parameters
    ----------
    in1, in2 : array_like
        The arguments of the convolution.
    mode : {"full", "valid", "same"}, default "full"
    measure : bool, default False
        Time both methods on these inputs and return the faster, with the times.
    explain : bool, default False (fastconv only)
        Also return the reason, as the last element of a tuple.

    Returns
    -------
    method : str
        ``'direct'`` or ``'fft'``.
    times : dict, only with ``measure=True``
        Seconds per call of ``'fft'`` and ``'direct'``.
    reason : str, only with ``explain=True``

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img, filt = rng.random((32, 32)), rng.random((8, 8))
    >>> choose_conv_method(img, filt, mode="same")
    'direct'
    >>> method, why = choose_conv_method(rng.random(100_000), rng.random(5_000), explain=True)
    >>> method, why.startswith("overlap-save blocks")
    ('fft', True)
    >>> spiky = rng.random(100_000) * 1e-3
    >>> spiky[::1000] = 1e12          # a dynamic range the FFT's uniform error would swamp
    >>> method, why = choose_conv_method(spiky, rng.random(5_000), explain=True)
    >>> method, why.startswith("the FFT would be faster")
    ('direct', True)
    """
    for name, value in (("in1", in1), ("in2", in2)):
        if is_dask_array(value):
            raise TypeError(dask_refusal("choose_conv_method", name))
    a = np.asarray(in1)
    b = np.asarray(in2)
    if measure:
        times = {m: _time(lambda m=m: convolve(a, b, mode=mode, method=m))
                 for m in ("fft", "direct")}  # fmt: skip
        method = "fft" if times["fft"] < times["direct"] else "direct"
        reason = f"measured: fft {times['fft']:.3g} s, direct {times['direct']:.3g} s per call"
        return (method, times, reason) if explain else (method, times)

    def answer(method: str, reason: str) -> Any:
        return (method, reason) if explain else method

    if a.ndim != b.ndim or a.ndim == 0:
        return answer("direct", "0-d or mismatched dimensions: no convolution to speed up")
    if a.dtype.kind not in "biufc" or b.dtype.kind not in "biufc":
        return answer("direct", f"dtypes {a.dtype} and {b.dtype}: only the direct method")
    if a.dtype.kind == "b" and b.dtype.kind == "b":
        return answer("direct", "bool inputs: the direct method")
    mode = _check_mode("choose_conv_method", mode, ValueError)
    try:
        plan = _Plan("choose_conv_method", a, _flip_conj(b, range(a.ndim)), mode, "auto",
                     list(range(a.ndim)), 1, 1)  # fmt: skip
    except ValueError as exc:
        return answer("direct", f"convolve would raise: {exc}")
    a_, b_ = plan.operands(a, _flip_conj(b, range(a.ndim)))
    choice = plan.resolve(a_, b_)
    method = "fft" if choice.method in ("fft", "oa") else "direct"  # separable is direct
    return answer(method, choice.reason)
