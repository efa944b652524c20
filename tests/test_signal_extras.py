"""What ``fastconv.signal`` adds to ``scipy.signal``, and its internals.

Exact integers and ``OverflowError`` instead of wrap-around; ``stride``, ``dilation`` and
``axes``; the precision rules of ``method="auto"`` and ``choose_conv_method(explain=True)``;
inputs SciPy refuses (float16, bool, object in 2-D; empty arrays); the FFT module and the
index-mapped boundary kernel on their own.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.signal as ss
from signal_support import dilate, random_array

import fastconv.signal as fs
from fastconv import _signal_engine as engine
from fastconv._border import border_index
from fastconv.algorithms import fft

# --------------------------------------------------------------------------------------------
# exact integers


@pytest.mark.parametrize(
    ("dtype", "wider"),
    [("int8", "int16"), ("uint8", "uint16"), ("int16", "int32"), ("uint32", "uint64"),
     ("int32", "int64")],
)  # fmt: skip
def test_overflow_names_a_wider_dtype(dtype: str, wider: str) -> None:
    info = np.iinfo(dtype)
    a = np.full((4, 4), info.max, dtype)
    b = np.ones((2, 2), dtype)  # sums of 4 maxima: one dtype wider holds them
    for call in (
        lambda: fs.correlate(a, b),
        lambda: fs.convolve(a, b, method="fft"),
        lambda: fs.correlate2d(a, b, boundary="symm"),
        lambda: fs.convolve2d(a, b, mode="same"),
    ):
        with pytest.raises(OverflowError, match=f"cast the inputs to {wider} for the exact"):
            call()
    with pytest.raises(OverflowError):  # a 1x1 'convolution' is NumPy's product
        fs.fftconvolve(a[:1, :1], a[:1, :1])
    # the wider dtype then gives the exact result
    exact = exact_correlate(a, b)
    assert fs.correlate(a.astype(wider), b.astype(wider)).tolist() == exact.tolist()


def exact_correlate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full 2-D correlation in Python integers, window by window (the test's own oracle)."""
    a, b = a.astype(object), b.astype(object)
    (n0, n1), (k0, k1) = a.shape, b.shape
    padded = np.zeros((n0 + 2 * k0 - 2, n1 + 2 * k1 - 2), object)
    padded[k0 - 1 : k0 - 1 + n0, k1 - 1 : k1 - 1 + n1] = a
    out = np.empty((n0 + k0 - 1, n1 + k1 - 1), object)
    for i, j in np.ndindex(*out.shape):
        out[i, j] = int((padded[i : i + k0, j : j + k1] * b).sum())
    return out


def test_int64_beyond_float64_is_exact() -> None:
    """Products beyond 2**53: float64 would round; the int64 and object paths do not."""
    rng = np.random.default_rng(0)
    a = rng.integers(-(2**40), 2**40, (6, 7))
    b = rng.integers(-1000, 1000, (3, 2))
    exact = exact_correlate(a, b)
    for method in ("auto", "direct", "fft"):
        assert fs.correlate(a, b, method=method).tolist() == exact.tolist()
    assert fs.correlate2d(a, b).tolist() == exact.tolist()
    big = np.array([2**62, -(2**62)], np.int64)
    with pytest.raises(OverflowError, match="object"):
        fs.convolve(big, np.array([3, 3], np.int64))
    # uint64 results up to 2**64 - 1 are exact too (object arithmetic inside)
    u = np.array([2**63 + 5, 7], np.uint64)
    assert fs.correlate(u, np.array([1], np.uint64)).tolist() == [2**63 + 5, 7]


def test_scalar_overflow() -> None:
    with pytest.raises(OverflowError, match="int16"):
        fs.correlate(np.int8(100), np.int8(100))
    assert fs.convolve(np.int8(10), np.int8(10)) == 100


def test_integer_fft_only_when_exact() -> None:
    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, 20_000).astype(np.int64)
    big = rng.integers(0, 2**40, 20_000).astype(np.int64)
    w = rng.integers(0, 256, 3_000).astype(np.int64)
    m, why = fs.choose_conv_method(small, w, explain=True)
    assert m == "fft" and "exact" in why
    m, why = fs.choose_conv_method(big, w, explain=True)
    assert m == "direct" and "does not prove" in why
    exact = np.convolve(big.astype(object), w.astype(object))
    assert fs.convolve(big, w, method="fft").tolist() == exact.tolist()


def test_bool_is_any_product() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.random((9, 8)) < 0.2, rng.random((3, 3)) < 0.3
    counts = ss.correlate2d(a.astype(int), b.astype(int), boundary="wrap")
    for method in ("direct", "fft"):  # SciPy's FFT keeps rounding noise as True; ours is exact
        got = fs.correlate(a, b, method=method)
        assert got.dtype == bool
        assert np.array_equal(got, ss.correlate(a.astype(int), b.astype(int)) != 0)
    got = fs.correlate2d(a, b, boundary="wrap")  # SciPy refuses bool in 2-D
    assert got.dtype == bool and np.array_equal(got, counts != 0)


@pytest.mark.parametrize("name", ["correlate2d", "convolve2d"])
def test_2d_dtypes_scipy_refuses(name: str) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((7, 6)), rng.standard_normal((3, 4))
    for boundary, mode in itertools.product(["fill", "wrap", "symm"], ["full", "same", "valid"]):
        ref = getattr(ss, name)(a, b, mode, boundary, 0.5)
        got16 = getattr(fs, name)(a.astype(np.float16), b.astype(np.float16), mode, boundary,
                                  0.5)  # fmt: skip
        ref16 = getattr(ss, name)(
            a.astype(np.float16).astype(float),
            b.astype(np.float16).astype(float),
            mode,
            boundary,
            0.5,
        )
        assert got16.dtype == np.float16
        assert np.abs(got16 - ref16).max() <= 4e-3 * np.abs(ref16).max()
        ai, bi = np.round(a * 3).astype(object), np.round(b * 3).astype(object)
        goto = getattr(fs, name)(ai, bi, mode, boundary, 2)
        refo = getattr(ss, name)(ai.astype(np.int64), bi.astype(np.int64), mode, boundary, 2)
        assert goto.dtype == object and goto.tolist() == refo.tolist()
        assert ref.shape == got16.shape


def test_empty_inputs() -> None:
    # where SciPy's N-D paths raise (1-D refuses empty arrays; N-D 'full' fails to broadcast):
    # zeros of the mode's shape, as its own 2-D functions and the algebra say
    assert fs.correlate(np.array([]), [1.0, 2.0]).tolist() == [0.0]
    assert fs.convolve(np.zeros((0, 3)), np.ones((2, 2))).shape == (1, 4)
    assert fs.correlate(np.zeros((0, 3)), np.ones((2, 2)), "same").shape == (0, 3)
    assert fs.correlate(np.ones(3), np.zeros(0), "same").tolist() == [0.0, 0.0, 0.0]
    assert fs.correlate(np.zeros(0, np.int8), np.ones(2, np.int8)).dtype == np.int8
    # correlate2d: SciPy's values, and the fill value where only fill is read
    got = fs.correlate2d(np.zeros((0, 3)), np.ones((2, 2)), fillvalue=2)
    assert got.tolist() == ss.correlate2d(np.zeros((0, 3)), np.ones((2, 2)), fillvalue=2).tolist()
    assert fs.convolve2d(np.ones((2, 2)), np.zeros((0, 3)), "same").tolist() == [[0, 0], [0, 0]]
    # SciPy divides by zero (SIGFPE) extending an empty input symmetrically or periodically
    with pytest.raises(ValueError, match="correlate2d: boundary='symm' needs a non-empty in1"):
        fs.correlate2d(np.zeros((0, 3)), np.ones((2, 2)), boundary="symm")
    assert fs.convolve2d(np.zeros((0, 3)), np.ones((2, 2)), "same", "wrap").shape == (0, 3)
    with pytest.raises(ValueError, match="negative output size"):
        fs.correlate(np.zeros((0, 3)), np.zeros((0, 3)))
    for name in ("fftconvolve", "oaconvolve"):  # SciPy: an empty float64 array, any mode
        got = getattr(fs, name)(np.zeros((0, 3), np.complex64), np.ones((2, 2)), mode="same")
        assert got.shape == (0,) and got.dtype == np.float64


# --------------------------------------------------------------------------------------------
# stride, dilation, axes


@pytest.mark.parametrize("name", ["correlate", "convolve"])
def test_stride_dilation_nd(name: str) -> None:
    rng = np.random.default_rng(4)
    shapes = [((17,), (3,)), ((11, 9), (3, 2)), ((7, 8, 6), (2, 3, 2)), ((4, 5), (9, 11))]
    for (s1, s2), mode, method in itertools.product(shapes, ["full", "same", "valid"],
                                                    ["direct", "fft"]):  # fmt: skip
        a, b = rng.standard_normal(s1), rng.standard_normal(s2)
        nd = len(s1)
        for stride, dil in [(2, 1), (1, 2), (3, 2), ((1, 2, 3)[:nd], (2, 1, 3)[:nd])]:
            st = (stride,) * nd if isinstance(stride, int) else stride
            bd = dilate(b, dil)
            try:
                ref = getattr(ss, name)(a, bd, mode)
            except ValueError:
                with pytest.raises(ValueError):
                    getattr(fs, name)(a, b, mode, method, stride=stride, dilation=dil)
                continue
            ref = ref[tuple(slice(None, None, s) for s in st)]
            got = getattr(fs, name)(a, b, mode, method, stride=stride, dilation=dil)
            assert got.shape == ref.shape
            np.testing.assert_allclose(got, ref, atol=1e-10 * np.abs(ref).max(initial=1))


@pytest.mark.parametrize("name", ["correlate2d", "convolve2d"])
def test_stride_dilation_2d(name: str) -> None:
    rng = np.random.default_rng(5)
    for (s1, s2), mode, boundary in itertools.product(
        [((13, 12), (3, 3)), ((9, 10), (2, 4)), ((4, 5), (3, 7))],
        ["full", "same", "valid"],
        ["fill", "wrap", "symm"],
    ):
        a, b = rng.integers(-5, 5, s1), rng.integers(-5, 5, s2)
        for stride, dil in [(2, 1), (1, 2), ((3, 1), (2, 3))]:
            st = (stride, stride) if isinstance(stride, int) else stride
            try:
                ref = getattr(ss, name)(a, dilate(b, dil), mode, boundary, 3)
            except ValueError:
                continue
            ref = ref[:: st[0], :: st[1]]
            got = getattr(fs, name)(a, b, mode, boundary, 3, stride=stride, dilation=dil)
            assert got.dtype == ref.dtype and got.tolist() == ref.tolist()


def test_axes_batch_like_fftconvolve() -> None:
    rng = np.random.default_rng(6)
    cases = [((4, 30), (1, 5), [1]), ((4, 30), (4, 5), -1), ((3, 1, 20), (1, 2, 7), [2]),
             ((6, 5, 8), (3, 2, 1), [0, 1]), ((5, 9), (2, 3), [1, 0])]  # fmt: skip
    for (s1, s2, axes), mode in itertools.product(cases, ["full", "same", "valid"]):
        a, b = rng.standard_normal(s1), rng.standard_normal(s2)
        ax = [axes] if isinstance(axes, int) else axes
        try:
            ref = ss.fftconvolve(a, b, mode, axes=axes)
        except ValueError:
            continue
        got = fs.convolve(a, b, mode, axes=axes)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=1e-12 * np.abs(ref).max())
        flipped = np.conj(np.flip(b, axis=tuple(ax)))
        np.testing.assert_allclose(fs.correlate(a, flipped, mode, axes=axes), ref, atol=1e-12)
    # integers stay exact along the batch axes too
    a, b = rng.integers(-9, 9, (3, 40)), rng.integers(-9, 9, (3, 6))
    got = fs.correlate(a, b, axes=1, method="fft")
    ref = np.stack([np.correlate(a[i], b[i], "full") for i in range(3)])
    assert got.dtype == np.int64 and got.tolist() == ref.tolist()


def test_convolve_is_correlate_with_flipped_conjugated_kernel() -> None:
    rng = np.random.default_rng(7)
    for s1, s2 in [((9,), (4,)), ((6, 7), (3, 2)), ((3, 4), (6, 6))]:
        a = rng.standard_normal(s1) + 1j * rng.standard_normal(s1)
        b = rng.standard_normal(s2) + 1j * rng.standard_normal(s2)
        for mode in ("full", "same", "valid"):
            assert np.allclose(fs.convolve(a, b, mode), fs.correlate(a, np.conj(np.flip(b)), mode))


# --------------------------------------------------------------------------------------------
# method="auto" and choose_conv_method


def test_choose_returns_scipy_values() -> None:
    rng = np.random.default_rng(8)
    assert fs.choose_conv_method(rng.random(100), rng.random(5)) == "direct"
    assert fs.choose_conv_method(rng.random(200_000), rng.random(3_000)) == "fft"
    assert fs.choose_conv_method([True, False], [True]) == "direct"
    assert fs.choose_conv_method(np.ones(3), np.ones((2, 2))) == "direct"
    assert fs.choose_conv_method(np.ones(300, object), np.ones(30, object)) == "direct"
    method, why = fs.choose_conv_method(rng.random(100), rng.random(5), explain=True)
    assert method == "direct" and "direct" in why and "cost model" in why
    method, times = fs.choose_conv_method(rng.random(300), rng.random(30), measure=True)
    assert method in ("direct", "fft") and set(times) == {"fft", "direct"}
    assert method == min(times, key=times.get)
    _, _, why = fs.choose_conv_method(rng.random(300), rng.random(30), measure=True, explain=True)
    assert why.startswith("measured")
    with pytest.raises(ValueError, match="choose_conv_method: expected mode"):
        fs.choose_conv_method(rng.random(3), rng.random(2), mode="bad")


def test_auto_candidates_and_reasons() -> None:
    rng = np.random.default_rng(9)
    x = rng.standard_normal((512, 512)).astype(np.float32)
    cases = [(3, "direct", "taps per output"), (31, "oa", "overlap-save")]
    for k, method, words in cases:
        p = _plan(x, rng.standard_normal((k, k)).astype(np.float32))
        assert p.choice.method == method and words in p.choice.reason, p.choice.reason
    # two long signals: one whole-array transform
    p = _plan(rng.standard_normal(50_000), rng.standard_normal(40_000))
    assert p.choice.method == "fft" and "whole-array" in p.choice.reason


class _Resolved:
    """A plan's method for these very operands (rank-1 kernels, the FFT's data rules)."""

    def __init__(self, plan, a, b):
        self.choice = plan.resolve(*plan.operands(a, b))


def _plan(a, b, mode="full"):
    return _Resolved(fs._Plan("correlate", a, b, mode, "auto", list(range(a.ndim)), 1, 1), a, b)


def test_auto_keeps_precision() -> None:
    rng = np.random.default_rng(10)
    w = rng.standard_normal(4000)
    x = rng.standard_normal(200_000)
    assert _plan(x, w).choice.method != "direct"
    spiky = x * 1e-6
    spiky[::20_000] = 1e9
    p = _plan(spiky, w)
    assert p.choice.method == "direct" and "dynamic range" in p.choice.reason
    got = fs.correlate(spiky, w, "valid")
    fft_result = fs.correlate(spiky, w, "valid", method="fft")
    quiet = slice(1, 16_000)  # outputs whose windows miss the spikes at 0 and 20 000
    exact = np.correlate(spiky[:20_000].astype(np.longdouble), w.astype(np.longdouble))[quiet]
    rel_auto = np.abs(got[quiet] - exact).max() / np.abs(exact).max()
    rel_fft = np.abs(fft_result[quiet] - exact).max() / np.abs(exact).max()
    assert rel_auto < 1e-13 and rel_fft > 1e-6  # the FFT's error swamps the small outputs
    nan = x.copy()
    nan[7] = np.nan
    p = _plan(nan, w)
    assert p.choice.method == "direct" and "NaN" in p.choice.reason
    out = fs.correlate(nan, w, "valid")
    assert np.isnan(out[:8]).all() and np.isfinite(out[8:]).all()
    with pytest.warns(RuntimeWarning, match="NaN or inf"):
        fs.correlate(nan, w, "valid", method="fft")


def test_forced_methods_agree() -> None:
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((90, 70)), rng.standard_normal((20, 17))
    ref = ss.correlate(a, b, method="direct")
    for method in ("direct", "fft", "oa", "auto"):
        np.testing.assert_allclose(fs.correlate(a, b, method=method), ref, atol=1e-10)
    assert _plan_forced(a, b, "oa").method == "oa"
    assert _plan_forced(a, b, "fft").method in ("fft", "oa")


def _plan_forced(a, b, method):
    return _Resolved(fs._Plan("correlate", a, b, "full", method, [0, 1], 1, 1), a, b).choice


# --------------------------------------------------------------------------------------------
# internals: the FFT module, the boundary maps, the mapped kernel


def test_fft_correlate_matches_direct_everywhere() -> None:
    rng = np.random.default_rng(12)
    for trial in range(60):
        nd = int(rng.integers(1, 4))
        n = tuple(int(v) for v in rng.integers(1, 12, nd))
        k = tuple(int(v) for v in rng.integers(1, 6, nd))
        lo = tuple(int(v) for v in rng.integers(0, 5, nd))
        out = tuple(int(v) for v in rng.integers(1, 14, nd))
        x = rng.standard_normal((2, *n)) + (1j * rng.standard_normal((2, *n)) if trial % 3 == 0
                                             else 0)  # fmt: skip
        w = rng.standard_normal((1, *k))
        ranges = [(-p, o + kk - 1 - p) for p, o, kk in zip(lo, out, k)]
        xe = engine.extend(x, nd, ranges, "fill", 0)
        ref = engine.shift_add(xe, w, nd, out, (1,) * nd, (1,) * nd, xe.dtype)
        for blocks in (False, True):
            p = fft.plan(out, k, 2, 1, 2, trial % 3 != 0, blocks)
            got = fft.correlate(x, w, lo, out, fft_plan=p)
            np.testing.assert_allclose(got, ref, atol=1e-10)


def test_fft_plan_prefers_blocks_for_small_kernels() -> None:
    assert fft.plan((4096, 4096), (31, 31)).blocks == (256, 256)
    assert fft.plan((100_000,), (512,)).method == "oa"
    assert fft.plan((2000,), (1900,)).method == "fft"


def test_fft_error_estimate_holds() -> None:
    """The estimate of ``fastconv.algorithms.fft`` bounds the observed error."""
    rng = np.random.default_rng(13)
    for dt, n, k in [(np.float32, 20_000, 301), (np.float64, 50_000, 1001)]:
        a, b = rng.standard_normal(n).astype(dt), rng.standard_normal(k).astype(dt)
        p = fft.plan((n - k + 1,), (k,), blocks=False)
        got = fft.correlate(a, b, (0,), (n - k + 1,), fft_plan=p)
        ref = ss.correlate(a.astype(np.longdouble), b.astype(np.longdouble), "valid")
        est = fft.error_estimate(float(np.sqrt(np.mean(a.astype(float) ** 2))),
                                 float(np.linalg.norm(b.astype(float))),
                                 int(np.prod(p.fft_shape)), float(np.finfo(dt).eps))  # fmt: skip
        assert float(np.abs(got - ref).max()) <= est


def test_index_maps_match_scipy_boundaries() -> None:
    """Boundary extension of any width equals SciPy's (reflect_symm / circular_wrap)."""
    for n, lo, count in [(5, 7, 25), (1, 3, 7), (4, 0, 4), (3, 10, 12)]:
        x = np.arange(1.0, n + 1)[None, :]
        for boundary in ("symm", "wrap"):
            kernel = np.zeros((1, lo + 1))
            got = [x[0, j] for j in border_index(n, lo, count - lo - n, boundary)]
            for i, value in enumerate(got):  # SciPy reads x_ext[i - lo] through the same rule
                kernel[:] = 0
                ref = _scipy_extended_value(x, i - lo, boundary)
                assert value == ref


def _scipy_extended_value(x: np.ndarray, j: int, boundary: str) -> float:
    """x_ext[j] as SciPy's correlate2d reads it: correlate a 1 x (|j|+1) unit kernel."""
    n = x.shape[1]
    width = abs(j) + n + 1
    k = np.zeros((1, 2 * width + 1))
    k[0, width + j] = 1  # picks x_ext[m + j] at output m = 0 in 'same' mode
    out = ss.correlate2d(x, k, mode="same", boundary=boundary)
    return float(out[0, 0])


@pytest.mark.jitless
def test_mapped_kernel_small_grid() -> None:
    """The index-mapped boundary kernel on every tap-block shape (also run without the JIT)."""
    rng = np.random.default_rng(14)
    for (s1, s2), boundary in itertools.product(
        [((5, 6), (3, 3)), ((4, 7), (2, 4)), ((3, 3), (5, 4)), ((6, 2), (1, 3))],
        ["fill", "wrap", "symm"],
    ):
        a = rng.standard_normal(s1)
        b = rng.standard_normal(s2)
        for mode, stride, dil in [("same", 1, 1), ("full", 2, 1), ("same", 1, 2)]:
            ref = ss.correlate2d(a, dilate(b, dil), mode, boundary, 1.5)[::stride, ::stride]
            got = fs.correlate2d(a, b, mode, boundary, 1.5, stride=stride, dilation=dil)
            np.testing.assert_allclose(got, ref, atol=1e-12)


def test_extend_3d_fallback() -> None:
    """The engine's 3-D boundary path (no public function reaches it yet)."""
    rng = np.random.default_rng(15)
    x, w = rng.standard_normal((5, 6, 4)), rng.standard_normal((3, 2, 3))
    pads = ((1, 1), (1, 0), (2, 0))
    o = engine.out_shape(x.shape, w.shape, (1, 1, 1), (1, 1, 1), pads)
    for boundary in ("wrap", "symm"):
        got = engine.direct_real(x, w, 3, pads, (1, 1, 1), (1, 1, 1), boundary, 0.0, o)
        xe = engine.extend(x, 3, engine.read_ranges(x.shape, w.shape, (1, 1, 1), (1, 1, 1),
                                                    pads, o), boundary, 0)  # fmt: skip
        ref = engine.shift_add(xe, w, 3, o, (1, 1, 1), (1, 1, 1), np.float64)
        np.testing.assert_allclose(got, ref, atol=1e-12)


def test_many_dimensions() -> None:
    rng = np.random.default_rng(16)
    a = rng.integers(-3, 3, (4, 3, 5, 2))
    b = rng.integers(-3, 3, (2, 2, 3, 2))
    for mode in ("full", "same", "valid"):
        ref = ss.correlate(a, b, mode, method="direct")
        assert fs.correlate(a, b, mode).tolist() == ref.tolist()
        got = fs.convolve(a.astype(np.float32), b.astype(np.float32), mode)
        np.testing.assert_allclose(got, ss.convolve(a, b, mode), atol=1e-4)


def test_no_warning_for_finite_fft() -> None:
    rng = np.random.default_rng(17)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fs.correlate(rng.standard_normal(50), rng.standard_normal(5), method="fft")
        fs.oaconvolve(random_array(rng, (40, 30), "float32"), random_array(rng, (5, 4), "int8"))


def test_rank_one_kernels_run_separable() -> None:
    """Rank-1 2-D kernels (Gaussian, box, Sobel) run as two 1-D passes, every boundary."""
    rng = np.random.default_rng(18)
    g = np.exp(-(np.arange(-5, 6) ** 2) / 6.0)
    x = rng.standard_normal((40, 37)).astype(np.float32)
    for k in (np.outer(g, g), np.outer(g[:10], g[1:]), np.ones((4, 4))):
        k32 = k.astype(np.float32)
        for name, mode, boundary, stride in itertools.product(
            ["correlate2d", "convolve2d"], ["same", "valid"], ["fill", "wrap", "symm"], [1, 2]
        ):
            plan = fs._Plan2D(name, x, k32, mode, boundary, 0.5, stride, 1, name == "convolve2d")
            p = _Resolved(plan, x, k32)
            assert p.choice.method == "separable", p.choice.reason
            got = getattr(fs, name)(x, k32, mode, boundary, 0.5, stride=stride)
            ref = getattr(ss, name)(x.astype(float), k, mode, boundary, 0.5)[::stride, ::stride]
            assert got.dtype == np.float32 and got.shape == ref.shape
            np.testing.assert_allclose(got, ref, atol=2e-5 * np.abs(k).sum() * 4)
    assert fs.choose_conv_method(x, np.outer(g, g), "same") == "direct"
    p = _plan(x.astype(float), np.outer(g, g), "same")
    assert p.choice.method == "separable" and "two 1-D passes" in p.choice.reason
    not_rank_one = rng.standard_normal((11, 11))
    assert _plan(x.astype(float), not_rank_one, "same").choice.method != "separable"
