"""The oracle of the signal tests: SciPy itself, run where it is exact.

:func:`expected` asks ``scipy.signal`` for the answer to the same call and turns it into what
fastconv must return:

- SciPy raises -> fastconv raises the same exception type (unless SciPy refuses a dtype or an
  empty input that fastconv computes: then the answer is computed as below);
- integer results -> SciPy run on int64 operands, which is exact for the small values the tests
  draw; if that exact result does not fit the result dtype, ``OverflowError``;
- bool results -> the same exact computation, then ``!= 0``;
- floating results -> SciPy run on long double / complex long double operands (the dtype and
  shape come from SciPy's own call), compared within a tolerance relative to the size of the
  products (:func:`assert_matches`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal as ss

import fastconv.signal as fs

#: max error / max over outputs of sum |x||w| (+ |fill| sum |w|), by the least precise dtype
#: among the operands and the result
TOLERANCE = {2: 4e-3, 4: 2e-5, 8: 1e-12, 16: 1e-12}

REFUSALS = ("not available for this type", "Unsupported type", "cannot be empty",
            "could not broadcast", "negative dimensions", "zero-size array")  # fmt: skip


@dataclass
class Expected:
    """What fastconv must do: raise ``error``, or return ``value`` with ``dtype``/``shape``."""

    error: type[BaseException] | None = None
    value: np.ndarray | None = None
    dtype: np.dtype | None = None
    scale: float = 0.0  # max over outputs of the sum of |products|
    precision: int = 8  # bytes of the least precise real dtype involved
    exact: bool = False


def _real_bytes(dt: np.dtype) -> int:
    dt = np.dtype(dt)
    if dt.kind == "c":
        return dt.itemsize // 2
    if dt.kind == "f":
        return dt.itemsize
    return 8


def _wide(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "c":
        return a.astype(np.clongdouble)
    return a.astype(np.longdouble)


def _exact_operand(a: np.ndarray, nd_function: bool) -> np.ndarray:
    """int64: exact for the small values of these tests (SciPy's object path fails in some
    modes)."""
    return a.astype(np.int64)


def _call(name: str, a, b, kw) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(ss, name)(a, b, **kw)


def _scipy_kwargs(kw: dict) -> dict:
    out = dict(kw)
    if out.get("method") == "oa":
        out["method"] = "fft"
    return out


def expected(name: str, a: np.ndarray, b: np.ndarray, **kw: Any) -> Expected:
    """SciPy's answer to ``name(a, b, **kw)`` in the form fastconv must give it."""
    kw = _scipy_kwargs(kw)
    try:
        got = _call(name, a, b, kw)
    except Exception as exc:
        if not any(r in str(exc) for r in REFUSALS):
            return Expected(error=type(exc))
        got = None
    result = np.result_type(a, b)
    freq = name in ("fftconvolve", "oaconvolve")
    if got is not None:
        result = np.asarray(got).dtype
    nd_function = name in ("correlate", "convolve")
    if not freq and result.kind in "biu":
        exact = _exact_reference(name, a, b, kw, nd_function)
        if isinstance(exact, Expected):
            return exact
        if result.kind == "b":
            return Expected(value=np.asarray(exact != 0), dtype=result, exact=True)
        info = np.iinfo(result)
        if exact.size and (exact.min() < info.min or exact.max() > info.max):
            return Expected(error=OverflowError)
        return Expected(value=exact.astype(result), dtype=result, exact=True)
    if not freq and result.kind == "O":  # the tests' object arrays hold small Python ints
        exact = _exact_reference(name, a, b, kw, nd_function)
        if isinstance(exact, Expected):
            return exact
        return Expected(value=exact.astype(object), dtype=result, exact=True)
    # floating: SciPy in long double
    try:
        wide = np.asarray(_call(name, _wide(a), _wide(b), kw))
    except Exception as exc:
        if got is None and any(r in str(exc) for r in REFUSALS):
            wide = _empty_answer(name, a, b, kw)
        else:
            raise
    if got is None:
        got = wide.astype(result)
    scale = _scale(name, a, b, kw)
    precision = min(_real_bytes(a.dtype), _real_bytes(b.dtype), _real_bytes(np.asarray(got).dtype))
    return Expected(value=wide, dtype=np.asarray(got).dtype, scale=scale, precision=precision)


def _exact_reference(name, a, b, kw, nd_function) -> np.ndarray | Expected:
    """Exact integer answer from SciPy on object (N-D) or int64 (2-D) operands."""
    kw = dict(kw)
    if nd_function:
        kw["method"] = "direct"
    if "fillvalue" in kw:
        try:  # the fill value is cast to the result dtype first, as SciPy does
            kw["fillvalue"] = np.array(kw["fillvalue"], dtype=np.result_type(a, b)).item()
        except Exception:
            return Expected(error=ValueError)
    try:
        out = _call(name, _exact_operand(a, nd_function), _exact_operand(b, nd_function), kw)
    except Exception as exc:
        if any(r in str(exc) for r in REFUSALS):
            return _empty_answer(name, a, b, kw).astype(object)
        return Expected(error=type(exc))
    return np.asarray(out)


def _empty_answer(name, a, b, kw) -> np.ndarray:
    """fastconv's answer where SciPy refuses empty operands: zeros of the mode's shape."""
    mode = kw.get("mode", "full")
    if mode == "full":
        shape = [n + k - 1 for n, k in zip(a.shape, b.shape)]
    elif mode == "same":
        shape = list(a.shape)
    else:
        shape = [abs(n - k) + 1 for n, k in zip(a.shape, b.shape)]
    if min(shape, default=1) < 0:
        raise ValueError("negative dimensions")
    fill = kw.get("fillvalue", 0) if kw.get("boundary", "fill") in ("fill", "pad") else 0
    value = fill * np.sum(b) if a.size == 0 and b.size else 0
    return np.full(shape, value, dtype=np.clongdouble if np.iscomplexobj(b) else np.longdouble)


def _scale(name: str, a, b, kw) -> float:
    """max over outputs of sum |x||w|, plus a floor for FFT rounding (the fill's part is added
    by :func:`assert_matches`)."""
    aa, bb = np.abs(a.astype(np.complex128)).real, np.abs(b.astype(np.complex128)).real
    if aa.size == 0 or bb.size == 0:
        return 1.0
    kw = {k: v for k, v in kw.items() if k in ("mode", "axes")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            s = ss.fftconvolve(aa, bb, **kw) if name in ("fftconvolve", "oaconvolve") else (
                ss.fftconvolve(aa, bb))  # fmt: skip
        except ValueError:
            s = np.zeros(1)
    # FFT rounding errors do not shrink with the local products: a floor of 1% of the
    # Cauchy-Schwarz bound ||a||_2 ||b||_2 (every |output| is below it)
    floor = 0.01 * float(np.sqrt((aa**2).sum() * (bb**2).sum()))
    return float(np.max(np.abs(s), initial=0.0)) + floor + 1e-300


def assert_matches(exp: Expected, got: Any, fill: float = 0.0, b: Any = None) -> None:
    """``got`` has the expected dtype and shape, and values within the tolerance."""
    got = np.asarray(got)
    assert exp.error is None
    assert got.dtype == exp.dtype, (got.dtype, exp.dtype)
    assert got.shape == exp.value.shape, (got.shape, exp.value.shape)
    if exp.exact:
        assert got.tolist() == exp.value.tolist()
        return
    if got.size == 0:
        return
    scale = exp.scale + (abs(fill) * float(np.abs(np.asarray(b, complex)).sum()) if b is not None
                         else 0.0)  # fmt: skip
    ref = exp.value
    ok = np.isfinite(ref)
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    err = float(np.max(np.abs(got[ok].astype(np.clongdouble) - ref[ok]), initial=0.0))
    tol = TOLERANCE[exp.precision] * max(scale, 1e-300)
    assert err <= tol, f"error {err:.3g} > {tol:.3g} (scale {scale:.3g})"


def check(name: str, a: np.ndarray, b: np.ndarray, **kw: Any) -> None:
    """fastconv's ``name`` does what SciPy's does (see the module docstring)."""
    exp = expected(name, a, b, **kw)
    fn = getattr(fs, name)
    if exp.error is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fn(a, b, **kw)
            except exp.error:
                return
            except Exception as exc:
                raise AssertionError(f"raised {exc!r}, SciPy raises {exp.error.__name__}") from exc
        raise AssertionError(f"did not raise; SciPy raises {exp.error.__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = fn(a, b, **kw)
    fill = kw.get("fillvalue", 0) if kw.get("boundary", "fill") in ("fill", "pad") else 0
    assert_matches(exp, got, abs(complex(fill)) if np.ndim(fill) == 0 else 0.0, b)


def random_array(rng: np.random.Generator, shape, dtype, low: int = -4, high: int = 5) -> Any:
    """Small integers (so products fit), normal floats, or complex normals of ``dtype``."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        return rng.integers(0 if dt.kind == "u" else low, high, shape).astype(dt)
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    if dt.kind == "O":
        return rng.integers(low, high, shape).astype(object)
    return rng.standard_normal(shape).astype(dt)


def dilate(w: np.ndarray, d) -> np.ndarray:
    """``w`` with ``d - 1`` zeros between taps along every axis."""
    d = (d,) * w.ndim if isinstance(d, int) else tuple(d)
    out = np.zeros(tuple(max(0, (k - 1) * dd + 1) for k, dd in zip(w.shape, d)), w.dtype)
    out[tuple(slice(None, None, dd) for dd in d)] = w
    return out
