"""``fastconv.signal`` against ``scipy.signal``: values, shapes, dtypes and exceptions.

Grids of shapes (1-D to 3-D, kernels larger and smaller than the input, even and odd), modes,
methods, boundaries and dtypes, each checked against SciPy by :func:`signal_support.check`;
a Hypothesis property test over all of it; the exceptions SciPy raises for bad arguments; and
the examples of SciPy's docstrings with deterministic data.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from signal_support import check, random_array

import fastconv
import fastconv.signal as fs

ND_SHAPES = [
    ((7,), (3,)),
    ((6,), (4,)),
    ((3,), (7,)),  # kernel larger than the input
    ((5,), (5,)),
    ((1,), (4,)),
    ((6, 5), (3, 2)),
    ((4, 4), (5, 6)),
    ((5, 7), (1, 3)),
    ((2, 9), (2, 4)),
    ((4, 5, 3), (2, 3, 2)),
    ((3, 3, 3), (4, 4, 4)),
]
ND_DTYPES = ["float64", "float32", "int16", "uint8", "complex64", "complex128", "bool",
             "float16", "longdouble", "int64", "object"]  # fmt: skip
MODES = ["full", "same", "valid"]


@pytest.mark.parametrize("dtype", ND_DTYPES)
@pytest.mark.parametrize("name", ["correlate", "convolve"])
def test_nd_grid(name: str, dtype: str) -> None:
    rng = np.random.default_rng(abs(hash((name, dtype))) % 2**32)
    for (s1, s2), mode, method in itertools.product(ND_SHAPES, MODES, ["auto", "direct", "fft"]):
        if dtype == "object" and method == "fft":
            continue  # SciPy's object FFT returns floats in an object array; not worth copying
        a, b = random_array(rng, s1, dtype), random_array(rng, s2, dtype)
        check(name, a, b, mode=mode, method=method)


@pytest.mark.parametrize(
    ("d1", "d2"),
    [("float32", "float64"), ("int8", "float32"), ("uint8", "int8"), ("bool", "int16"),
     ("complex64", "float64"), ("float16", "int32"), ("int32", "uint64"), ("uint16", "uint32"),
     ("longdouble", "float32"), ("complex64", "int8"), ("bool", "float16")],
)  # fmt: skip
def test_nd_mixed_dtypes(d1: str, d2: str) -> None:
    rng = np.random.default_rng(7)
    for (s1, s2), mode in itertools.product(ND_SHAPES[::2], MODES):
        a, b = random_array(rng, s1, d1), random_array(rng, s2, d2)
        for name in ("correlate", "convolve", "fftconvolve", "oaconvolve"):
            check(name, a, b, mode=mode)
            check(name, b, a, mode=mode)


TWO_D_SHAPES = [
    ((6, 5), (3, 3)),
    ((6, 5), (2, 4)),
    ((3, 4), (5, 6)),  # kernel larger than the input: boundaries wrap around several times
    ((7, 7), (7, 7)),
    ((1, 5), (3, 2)),
    ((5, 1), (1, 1)),
    ((9, 8), (4, 1)),
]
BOUNDARIES = [("fill", 0), ("fill", 2.5), ("pad", -1), ("wrap", 0), ("circular", 0),
              ("symm", 0), ("symmetric", 0)]  # fmt: skip
TWO_D_DTYPES = ["float64", "float32", "int8", "uint16", "complex128", "complex64", "float16",
                "bool", "longdouble", "int64"]  # fmt: skip


@pytest.mark.parametrize("dtype", TWO_D_DTYPES)
@pytest.mark.parametrize("name", ["correlate2d", "convolve2d"])
def test_2d_grid(name: str, dtype: str) -> None:
    rng = np.random.default_rng(abs(hash((name, dtype))) % 2**32)
    for (s1, s2), mode, (boundary, fill) in itertools.product(TWO_D_SHAPES, MODES, BOUNDARIES):
        a, b = random_array(rng, s1, dtype), random_array(rng, s2, dtype)
        if dtype == "bool":
            fill = bool(fill)
        check(name, a, b, mode=mode, boundary=boundary, fillvalue=fill)


def test_2d_complex_fill_and_mixed() -> None:
    rng = np.random.default_rng(3)
    a = random_array(rng, (5, 6), "complex128")
    for b, fill in [(random_array(rng, (3, 2), "float64"), 1 - 2j),
                    (random_array(rng, (2, 3), "int8"), 0.5j)]:  # fmt: skip
        for name, mode, boundary in itertools.product(
            ["correlate2d", "convolve2d"], MODES, ["fill", "symm", "wrap"]
        ):
            check(name, a, b, mode=mode, boundary=boundary, fillvalue=fill)
            check(name, b, a, mode=mode, boundary=boundary, fillvalue=fill)


FREQ_CASES = [
    ((7,), (3,), None),
    ((3,), (8,), None),
    ((6, 5), (3, 4), None),
    ((6, 5), (3, 4), 1),
    ((6, 5), (3, 4), [0]),
    ((3, 10), (1, 4), -1),  # broadcast along axis 0
    ((1, 10), (5, 3), None),  # size-1 axes are multiplied, not transformed
    ((4, 6), (4, 1), None),
    ((2, 3, 9), (2, 1, 4), [1, 2]),
    ((5, 4, 3), (2, 2, 2), None),
    ((200,), (31,), None),  # several overlap-save blocks
]


@pytest.mark.parametrize("dtype", ["float64", "float32", "complex64", "int16", "float16",
                                   "bool", "longdouble"])  # fmt: skip
@pytest.mark.parametrize("name", ["fftconvolve", "oaconvolve"])
def test_freq_grid(name: str, dtype: str) -> None:
    rng = np.random.default_rng(abs(hash((name, dtype))) % 2**32)
    for (s1, s2, axes), mode in itertools.product(FREQ_CASES, MODES):
        a, b = random_array(rng, s1, dtype), random_array(rng, s2, dtype)
        check(name, a, b, mode=mode, axes=axes)
        check(name, b, a, mode=mode, axes=axes)


@pytest.mark.parametrize(
    ("s1", "s2"),
    [((2000,), (301,)), ((300,), (2500,)), ((130, 120), (33, 31)), ((64, 70), (70, 10)),
     ((30, 26, 20), (9, 8, 7))],
)  # fmt: skip
def test_large_kernels_every_path(s1, s2) -> None:
    """Sizes where the FFT and the overlap-save blocks win: every method against SciPy."""
    rng = np.random.default_rng(11)
    for dtype in ("float64", "float32", "complex128", "int16"):
        a, b = random_array(rng, s1, dtype, -3, 3), random_array(rng, s2, dtype, -3, 3)
        for name, mode, method in itertools.product(
            ["correlate", "convolve"], MODES, ["auto", "fft", "oa"]
        ):
            check(name, a, b, mode=mode, method=method)
        if len(s1) == 2 and dtype != "int16":
            for name, (boundary, fill) in itertools.product(
                ["correlate2d", "convolve2d"], [("symm", 0), ("wrap", 0), ("fill", 1.5)]
            ):
                check(name, a, b, mode="same", boundary=boundary, fillvalue=fill)


def test_large_image_boundaries_on_threads() -> None:
    """Enough work for the thread pool (2-D index-mapped kernel and overlap-save)."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((700, 640)).astype(np.float32)
    for k in (5, 31):
        b = rng.standard_normal((k, k)).astype(np.float32)
        for name in ("correlate2d", "convolve2d"):
            got = getattr(fs, name)(a, b, mode="same", boundary="symm")
            ref = getattr(ss, name)(a[:80, :90].astype(np.float64), b, mode="same",
                                    boundary="symm")  # fmt: skip
            # away from the cut edges the cut image gives the same values
            h = k
            scale = np.abs(a).max() * np.abs(b).sum()
            assert np.abs(got[: 80 - h, : 90 - h] - ref[: 80 - h, : 90 - h]).max() < 2e-5 * scale
            assert got.dtype == np.float32 and got.shape == a.shape


# --------------------------------------------------------------------------------------------
# property test


DTYPES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "float16",
          "float32", "float64", "longdouble", "complex64", "complex128"]  # fmt: skip


@st.composite
def problems(draw):
    name = draw(st.sampled_from(["correlate", "convolve", "correlate2d", "convolve2d",
                                 "fftconvolve", "oaconvolve"]))  # fmt: skip
    nd = 2 if name.endswith("2d") else draw(st.integers(1, 3))
    s1 = tuple(draw(st.lists(st.integers(1, 9), min_size=nd, max_size=nd)))
    s2 = tuple(draw(st.lists(st.integers(1, 9), min_size=nd, max_size=nd)))
    d1 = draw(st.sampled_from(DTYPES))
    d2 = draw(st.sampled_from([d1, *DTYPES]))
    kw = {"mode": draw(st.sampled_from(MODES))}
    if name in ("correlate", "convolve"):
        kw["method"] = draw(st.sampled_from(["auto", "direct", "fft"]))
    elif name.endswith("2d"):
        kw["boundary"] = draw(st.sampled_from(["fill", "wrap", "symm"]))
        kw["fillvalue"] = draw(st.sampled_from([0, 1, 2]))
    seed = draw(st.integers(0, 2**32 - 1))
    return name, s1, s2, d1, d2, kw, seed


@settings(max_examples=150, deadline=None)
@given(problems())
def test_property_matches_scipy(problem) -> None:
    name, s1, s2, d1, d2, kw, seed = problem
    rng = np.random.default_rng(seed)
    a, b = random_array(rng, s1, d1), random_array(rng, s2, d2)
    if kw.get("method") == "fft" and np.result_type(a, b) == np.bool_:
        kw["method"] = "direct"  # SciPy's bool FFT keeps rounding noise as True (see extras)
    check(name, a, b, **kw)


# --------------------------------------------------------------------------------------------
# exceptions: the types SciPy raises, messages naming the function and the parameter

A1, A2 = np.arange(6.0), np.ones((3, 3))
BAD_CALLS = [
    ("correlate", (A1, [1.0, 2.0]), {"mode": "bad"}, "mode"),
    ("correlate", (A1, [1.0, 2.0]), {"mode": 0}, "mode"),
    ("correlate", (A1, [1.0, 2.0]), {"mode": ["full"]}, "mode"),
    ("convolve", (A1, [1.0, 2.0]), {"mode": ["full"]}, "mode"),
    ("correlate", (A1, [1.0, 2.0]), {"method": "bad"}, "method"),
    ("convolve", (A1, [1.0, 2.0]), {"method": ["fft"]}, "method"),
    ("correlate", (A1, A2), {}, "dimensions"),
    ("convolve", (A1, A2), {}, "dimensions"),
    ("correlate", (np.ones((2, 3)), np.ones((3, 2))), {"mode": "valid"}, "valid"),
    ("convolve", (np.ones((2, 3)), np.ones((3, 2))), {"mode": "valid"}, "valid"),
    ("correlate", (["a", "b"], ["c"]), {}, "dtype"),
    ("convolve", (["a", "b"], ["c"]), {}, "dtype"),
    ("fftconvolve", (["a", "b"], ["c"]), {}, "dtype"),
    ("fftconvolve", (A1, [1.0, 2.0]), {"mode": "bad"}, "mode"),
    ("fftconvolve", (A1, A2), {}, "dimensions"),
    ("oaconvolve", (np.ones((3, 4)), np.ones((1, 2))), {"axes": 5}, "axes"),
    ("fftconvolve", (np.ones((3, 4)), np.ones((1, 2))), {"axes": -3}, "axes"),
    ("fftconvolve", (np.ones((3, 4)), np.ones((1, 2))), {"axes": [1, -1]}, "axes"),
    ("fftconvolve", (np.ones((3, 4)), np.ones((1, 2))), {"axes": 1.0}, "axes"),
    ("oaconvolve", (np.ones((3, 4)), np.ones((1, 2))), {"axes": []}, "axes"),
    ("fftconvolve", (np.ones((3, 4)), np.ones((1, 2))), {"axes": "a"}, "axes"),
    ("fftconvolve", (np.ones((3, 4)), np.ones((2, 2))), {"axes": 1}, "equal sizes"),
    ("oaconvolve", (np.ones((2, 3)), np.ones((3, 2))), {"mode": "valid"}, "valid"),
    ("correlate2d", (A1, A1), {}, "2-D"),
    ("convolve2d", (A2, 3.0), {}, "2-D"),
    ("correlate2d", (A2, A2), {"mode": "bad"}, "mode"),
    ("convolve2d", (A2, A2), {"mode": ["full"]}, "mode"),
    ("correlate2d", (A2, A2), {"boundary": "bad"}, "boundary"),
    ("convolve2d", (A2, A2), {"boundary": "reflect"}, "boundary"),
    ("correlate2d", (A2, A2), {"boundary": ["fill"]}, "boundary"),
    ("correlate2d", (A2, A2), {"fillvalue": 1j}, "fillvalue"),
    ("convolve2d", (A2, A2), {"fillvalue": "a"}, "fillvalue"),
    ("convolve2d", (A2, A2), {"fillvalue": object()}, "fillvalue"),
    ("correlate2d", (A2, A2), {"fillvalue": [1, 2]}, "fillvalue"),
    ("correlate2d", (A2, A2), {"fillvalue": []}, "fillvalue"),
    ("correlate2d", (np.ones((2, 2), int), np.ones((2, 2), int)), {"fillvalue": np.nan},
     "fillvalue"),
    ("convolve2d", (np.ones((2, 2), np.int8), np.ones((2, 2), np.int8)), {"fillvalue": 300},
     "fillvalue"),
    ("correlate2d", (np.ones((2, 3)), np.ones((3, 2))), {"mode": "valid"}, "valid"),
    ("correlate2d", ([["a"]], [["b"]]), {}, "dtype"),
    ("convolve2d", ([["a"]], [["b"]]), {}, "dtype"),
    ("correlate2d", (np.zeros((0, 3)), np.zeros((0, 3))), {}, "negative"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "kwargs", "word"), BAD_CALLS)
def test_exceptions_match_scipy(name, args, kwargs, word) -> None:
    with pytest.raises(Exception) as scipy_exc, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy casts a complex fill value, with a warning
        getattr(ss, name)(*args, **kwargs)
    # SciPy's own type, or its builtin base (NumPy's UFuncTypeError is a TypeError)
    builtin = next(t for t in scipy_exc.type.__mro__ if t.__module__ == "builtins")
    with pytest.raises(builtin) as ours:
        getattr(fs, name)(*args, **kwargs)
    message = str(ours.value)
    assert message.startswith(f"{name}: "), message
    assert word in message, message


def test_extra_keyword_errors() -> None:
    with pytest.raises(ValueError, match="correlate: expected stride to be positive"):
        fs.correlate(A1, [1.0, 2.0], stride=0)
    with pytest.raises(TypeError, match="convolve2d: expected dilation to be an integer"):
        fs.convolve2d(A2, A2, dilation=1.5)
    with pytest.raises(ValueError, match="correlate2d: expected stride to be an int or a sequence"):
        fs.correlate2d(A2, A2, stride=(1, 2, 3))
    with pytest.raises(ValueError, match="correlate: expected axes within the 1 dimensions"):
        fs.correlate(A1, [1.0], axes=1)
    with pytest.raises(ValueError, match="convolve: expected in1 and in2 to have equal sizes"):
        fs.convolve(np.ones((3, 4)), np.ones((2, 2)), axes=1)


def test_scalars_like_scipy() -> None:
    for name in ("correlate", "convolve", "fftconvolve", "oaconvolve"):
        for a, b in [(2, 3), (2, 3j), (np.float32(2), np.float32(3)), (np.int8(3), np.int8(4))]:
            ref = getattr(ss, name)(a, b)
            got = getattr(fs, name)(a, b)
            assert type(got) is type(ref) and got == ref
    assert fs.correlate(2, 3, "bad", "bad") == 6  # SciPy returns before checking 0-d calls


# --------------------------------------------------------------------------------------------
# SciPy's documentation examples, with deterministic data instead of random draws/downloads


def test_doc_correlate_matched_filter() -> None:
    rng = np.random.default_rng(1)
    sig = np.repeat([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0], 128)
    sig_noise = sig + rng.standard_normal(len(sig))
    corr = fs.correlate(sig_noise, np.ones(128), mode="same") / 128
    ref = ss.correlate(sig_noise, np.ones(128), mode="same") / 128
    np.testing.assert_allclose(corr, ref, rtol=0, atol=1e-12)
    clock = np.arange(64, len(sig), 128)
    assert (corr[clock] > 0.5).tolist() == [False, True, True, False, True, False, False, True]


def test_doc_correlate_lags() -> None:
    rng = np.random.default_rng(2)
    x = np.arange(128) / 128
    sig = np.sin(2 * np.pi * x)
    sig_noise = sig + rng.standard_normal(len(sig))
    corr = fs.correlate(sig_noise, sig)
    np.testing.assert_allclose(corr, ss.correlate(sig_noise, sig), atol=1e-11)
    lags = ss.correlation_lags(len(sig), len(sig_noise))
    assert lags[np.argmax(corr)] == lags[np.argmax(ss.correlate(sig_noise, sig))]


def test_doc_convolve_hann() -> None:
    sig = np.repeat([0.0, 1.0, 0.0], 100)
    win = ss.windows.hann(50)
    got = fs.convolve(sig, win, mode="same") / sum(win)
    np.testing.assert_allclose(got, ss.convolve(sig, win, mode="same") / sum(win), atol=1e-14)
    assert got[[0, 80, 90, 100, 110, 150, 200, 210, 230]].round(4).tolist() == [
        0.0, 0.005, 0.1432, 0.5, 0.8568, 1.0, 0.5, 0.1432, 0.0]  # fmt: skip


def test_doc_fftconvolve_blur() -> None:
    image = np.add.outer(np.arange(120.0), np.arange(100.0)) % 37  # instead of datasets.face
    kernel = np.outer(ss.windows.gaussian(70, 8), ss.windows.gaussian(70, 8))
    blurred = fs.fftconvolve(image, kernel, mode="same")
    np.testing.assert_allclose(blurred, ss.fftconvolve(image, kernel, mode="same"), atol=1e-9)
    assert blurred.shape == image.shape and blurred[0, 0] < blurred[60, 50]  # dark borders


def test_doc_oaconvolve_firwin() -> None:
    sig = np.random.default_rng(3).standard_normal(100_000)
    filt = ss.firwin(512, 0.01)
    fsig = fs.oaconvolve(sig, filt)
    np.testing.assert_allclose(fsig, ss.oaconvolve(sig, filt), atol=1e-12)


def test_doc_correlate2d_template() -> None:
    rng = np.random.default_rng(4)
    face = np.add.outer(np.sin(np.arange(120) / 7), np.cos(np.arange(140) / 5)) * 50
    face = face + rng.standard_normal(face.shape) * 5
    template = np.copy(face[60:90, 70:105])
    template -= template.mean()
    noisy = face + rng.standard_normal(face.shape) * 50
    corr = fs.correlate2d(noisy, template, boundary="symm", mode="same")
    ref = ss.correlate2d(noisy, template, boundary="symm", mode="same")
    np.testing.assert_allclose(corr, ref, atol=1e-8 * np.abs(ref).max())
    assert np.unravel_index(np.argmax(corr), corr.shape) == np.unravel_index(
        np.argmax(ref), ref.shape
    )


def test_doc_convolve2d_scharr() -> None:
    ascent = (np.add.outer(np.arange(64), np.arange(48)) * 7 % 255).astype(np.int64)
    scharr = np.array([[-3 - 3j, 0 - 10j, +3 - 3j], [-10 + 0j, 0 + 0j, +10 + 0j],
                       [-3 + 3j, 0 + 10j, +3 + 3j]])  # fmt: skip
    grad = fs.convolve2d(ascent, scharr, boundary="symm", mode="same")
    ref = ss.convolve2d(ascent, scharr, boundary="symm", mode="same")
    assert grad.dtype == ref.dtype == np.complex128
    np.testing.assert_allclose(grad, ref, atol=1e-9)


def test_doc_choose_conv_method() -> None:
    rng = np.random.default_rng(5)
    img, filt = rng.random((32, 32)), rng.random((8, 8))
    method = fs.choose_conv_method(img, filt, mode="same")
    assert method in ("direct", "fft")
    img2, filt2 = rng.random((32, 32)), rng.random((8, 8))
    corr2 = fs.correlate(img2, filt2, mode="same", method=method)
    conv2 = fs.convolve(img2, filt2, mode="same", method=method)
    np.testing.assert_allclose(corr2, ss.correlate(img2, filt2, mode="same"), atol=1e-12)
    np.testing.assert_allclose(conv2, ss.convolve(img2, filt2, mode="same"), atol=1e-12)


def test_exported_from_package() -> None:
    for name in fs.__all__:
        assert getattr(fastconv, name) is getattr(fs, name)


def test_nan_propagates_like_direct() -> None:
    x = np.array([1.0, np.nan, 2.0, 3.0, 4.0, 5.0])
    w = np.array([1.0, 2.0])
    for name in ("correlate", "convolve"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = getattr(fs, name)(x, w)
        ref = getattr(ss, name)(x, w, method="direct")
        assert np.array_equal(np.isnan(got), np.isnan(ref))
