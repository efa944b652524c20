"""filter_image against scipy.ndimage.correlate: every border mode, dtype, layout and method.

The oracle is ``scipy.ndimage.correlate`` on the float64 image (same size, kernel centred at
``k // 2``), then sampled for ``stride``, cropped for ``mode="valid"``, and for integer results
rounded to nearest and saturated (ndimage itself truncates and wraps around).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from support import RELATIVE_TOLERANCE

import fastconv
from fastconv import kernels
from fastconv.image import BORDERS, border_index, filter_image, plan_filter

MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]


def oracle(image, kernel, border="reflect", cval=0.0, mode="same", stride=(1, 1),
           channel_axis=-1, dtype=None, filter_alpha=False):  # fmt: skip
    """The expected result, from ndimage, channel by channel."""
    image = np.asarray(image)
    kernel = np.asarray(kernel, dtype=np.float64)
    dtype = np.dtype(dtype or (np.float64 if image.dtype == bool else image.dtype))
    kh, kw = kernel.shape
    sh, sw = stride

    def one(plane: np.ndarray, filtered: bool) -> np.ndarray:
        plane = plane.astype(np.float64)
        full = ndi.correlate(plane, kernel, mode=border, cval=cval) if filtered else plane
        if mode == "valid":
            full = full[kh // 2 : plane.shape[0] - (kh - 1 - kh // 2),
                        kw // 2 : plane.shape[1] - (kw - 1 - kw // 2)]  # fmt: skip
        return full[::sh, ::sw]

    if image.ndim == 2:
        out = one(image, True)
    else:
        planes = np.moveaxis(image, channel_axis, 0)
        alpha = len(planes) in (2, 4) and not filter_alpha
        out = np.stack([one(p, not (alpha and i == len(planes) - 1)) for i, p in enumerate(planes)])
        out = np.moveaxis(out, 0, channel_axis)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(dtype)
    return out


def assert_matches(result: np.ndarray, expected: np.ndarray, compute: np.dtype) -> None:
    assert result.shape == expected.shape, (result.shape, expected.shape)
    if expected.dtype.kind in "iu":
        assert result.dtype == expected.dtype
        # float32 arithmetic may round a value within its precision of .5 the other way
        limit = 0 if compute == np.float64 else 1
        assert np.abs(result.astype(np.int64) - expected).max(initial=0) <= limit
        return
    scale = max(float(np.abs(expected).max(initial=0)), 1.0)
    err = float(np.abs(result.astype(np.float64) - expected).max(initial=0)) / scale
    assert err <= 10 * RELATIVE_TOLERANCE[np.dtype(compute)], err


def random_image(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "u":
        return rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------------------------ grid


@pytest.mark.parametrize("border", MODES)
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float64"])
@pytest.mark.parametrize("layout", ["gray", "rgb"])
def test_every_border_dtype_and_layout_matches_ndimage(border, dtype, layout) -> None:
    rng = np.random.default_rng(hash((border, dtype, layout)) % 2**32)
    shape = (13, 17) if layout == "gray" else (13, 17, 3)
    image = random_image(rng, shape, dtype)
    for kshape in [(3, 3), (4, 5), (1, 6), (5, 1)]:
        kernel = rng.standard_normal(kshape) / 4
        result = filter_image(image, kernel, border=border, cval=0.5)
        assert result.dtype == image.dtype
        compute = np.dtype(np.float32 if dtype == "float32" else np.float64)
        assert_matches(result, oracle(image, kernel, border, 0.5), compute)


@pytest.mark.jitless
@pytest.mark.parametrize("border", [*MODES, "grid-mirror", "grid-wrap", "grid-constant"])
@pytest.mark.parametrize("kshape", [(9, 9), (11, 4), (2, 13)])
def test_kernel_larger_than_the_image(border, kshape) -> None:
    """Borders for any width: the kernel is wider than the image (wrap goes round twice)."""
    rng = np.random.default_rng(5)
    image = rng.standard_normal((3, 5))
    kernel = rng.standard_normal(kshape)
    result = filter_image(image, kernel, border=border, cval=-1.5)
    expected = ndi.correlate(image, kernel, mode=border, cval=-1.5)
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12)


def test_wrap_is_periodic_unlike_opencv() -> None:
    image = np.arange(4.0)[None, :]  # one row: 0 1 2 3
    shift = np.zeros((1, 9))
    shift[0, 0] = 1.0  # output j reads input j - 4, i.e. j (mod 4)
    np.testing.assert_array_equal(filter_image(image, shift, border="wrap"), image)
    shift = np.zeros((1, 7))
    shift[0, -1] = 1.0  # reads j + 3 (mod 4)
    np.testing.assert_array_equal(filter_image(image, shift, border="wrap"), [[3, 0, 1, 2]])


def test_single_pixel_and_single_row_images() -> None:
    for border in MODES:
        one = filter_image(np.array([[7.0]]), np.ones((3, 3)), border=border)
        assert one.shape == (1, 1)
        assert one[0, 0] == ndi.correlate(np.array([[7.0]]), np.ones((3, 3)), mode=border)
        row = np.arange(1.0, 6.0)[None]
        np.testing.assert_allclose(
            filter_image(row, np.ones((3, 5)), border=border),
            ndi.correlate(row, np.ones((3, 5)), mode=border),
        )


@pytest.mark.jitless
@pytest.mark.parametrize("mode", ["same", "valid"])
@pytest.mark.parametrize("stride", [1, 2, (3, 2)])
def test_stride_and_valid_mode(mode, stride) -> None:
    rng = np.random.default_rng(7)
    image = rng.standard_normal((20, 23)).astype(np.float32)
    kernel = rng.standard_normal((4, 3))
    result = filter_image(image, kernel, mode=mode, stride=stride)
    st_pair = (stride, stride) if isinstance(stride, int) else stride
    assert_matches(result, oracle(image, kernel, mode=mode, stride=st_pair), np.float32)
    assert plan_filter(image, kernel, mode=mode, stride=stride).output_shape == result.shape


@pytest.mark.jitless
def test_channel_axis_first_and_strided_views() -> None:
    rng = np.random.default_rng(8)
    chw = rng.standard_normal((3, 16, 12)).astype(np.float32)
    kernel = rng.standard_normal((3, 3))
    result = filter_image(chw, kernel, channel_axis=0, border="nearest")
    assert_matches(result, oracle(chw, kernel, "nearest", channel_axis=0), np.float32)
    view = rng.standard_normal((40, 30))[::2, ::-3]  # non-contiguous, negative stride
    assert_matches(filter_image(view, kernel), oracle(view, kernel), np.float64)
    fortran = np.asfortranarray(rng.standard_normal((9, 11, 3)))
    assert_matches(filter_image(fortran, kernel), oracle(fortran, kernel), np.float64)


# ------------------------------------------------------------------- dtypes and outputs


def test_integer_results_round_to_nearest_even_and_saturate() -> None:
    image = np.array([[1, 2, 3, 250]], dtype=np.uint8)
    half = np.array([[0.5, 0.5, 0.0]])  # (left + centre) / 2 with nearest border
    np.testing.assert_array_equal(filter_image(image, half, border="nearest"), [[1, 2, 2, 126]])
    #                                                 (1+1)/2, 1.5 -> 2, 2.5 -> 2, 126.5 -> 126
    np.testing.assert_array_equal(filter_image(image, [[3.0]]), [[3, 6, 9, 255]])
    np.testing.assert_array_equal(filter_image(image, [[-1.0]]), [[0, 0, 0, 0]])
    big = np.array([[60000, 1]], dtype=np.uint16)
    np.testing.assert_array_equal(filter_image(big, [[2.0]]), [[65535, 2]])
    signed = np.array([[100, -100]], dtype=np.int8)
    np.testing.assert_array_equal(filter_image(signed, [[2.0]]), [[127, -128]])


def test_output_dtype_array_and_aliasing() -> None:
    rng = np.random.default_rng(9)
    image = rng.integers(0, 256, (10, 12, 3)).astype(np.uint8)
    kernel = rng.standard_normal((3, 3))
    as_float = filter_image(image, kernel, output=np.float32)
    assert as_float.dtype == np.float32
    assert_matches(as_float, oracle(image, kernel, dtype=np.float32), np.float32)
    assert filter_image(image.astype(np.float32), kernel, output="uint8").dtype == np.uint8

    out = np.empty((10, 12, 3), np.float64)
    assert filter_image(image, kernel, output=out) is out
    assert_matches(out, oracle(image, kernel, dtype=np.float64), np.float64)

    gray = rng.standard_normal((15, 14))
    expected = oracle(gray, kernel)
    assert filter_image(gray, kernel, output=gray) is gray  # in place: read before written
    assert_matches(gray, expected, np.float64)

    half = rng.standard_normal((6, 7)).astype(np.float16)
    assert filter_image(half, kernel).dtype == np.float16
    assert filter_image(np.eye(5, dtype=bool), np.ones((3, 3))).dtype == np.float64


def test_alpha_is_copied_unless_filter_alpha() -> None:
    rng = np.random.default_rng(10)
    rgba = rng.integers(0, 256, (11, 9, 4)).astype(np.uint8)
    kernel = np.ones((3, 3)) / 9
    result = filter_image(rgba, kernel)
    np.testing.assert_array_equal(result[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(result, oracle(rgba, kernel))
    filtered = filter_image(rgba, kernel, filter_alpha=True)
    np.testing.assert_array_equal(filtered, oracle(rgba, kernel, filter_alpha=True))
    la = rgba[..., 2:]
    np.testing.assert_array_equal(filter_image(la, kernel)[..., 1], la[..., 1])
    strided = filter_image(rgba, np.ones((3, 4)) / 11.5, stride=2, mode="valid")  # no .5 ties
    np.testing.assert_array_equal(strided, oracle(rgba, np.ones((3, 4)) / 11.5, mode="valid",
                                                  stride=(2, 2)))  # fmt: skip
    p = plan_filter(rgba, kernel)
    assert p.alpha and p.channels == 4 and "alpha (copied)" in str(p)


@pytest.mark.jitless
def test_nan_and_inf_follow_the_window() -> None:
    image = np.zeros((7, 7))
    image[3, 3] = np.nan
    result = filter_image(image, np.ones((3, 3)), border="constant")
    assert np.isnan(result[2:5, 2:5]).all() and np.isfinite(result).sum() == 49 - 9
    as_int = filter_image(image, np.ones((3, 3)), output=np.uint8)
    assert as_int[3, 3] == 0 and as_int.dtype == np.uint8  # NaN becomes 0, not garbage


def test_empty_image_gives_empty_result() -> None:
    assert filter_image(np.zeros((0, 5)), np.ones((3, 3))).shape == (0, 5)
    assert filter_image(np.zeros((4, 0, 3), np.uint8), np.ones((3, 3))).shape == (4, 0, 3)


# ------------------------------------------------------------------------ threads, sizes


def test_large_image_runs_on_the_pool_like_the_serial_path(monkeypatch) -> None:
    from fastconv.algorithms import direct, separable

    rng = np.random.default_rng(11)
    image = rng.standard_normal((70, 90, 3)).astype(np.float32)
    for kernel in (rng.standard_normal((5, 4)), kernels.gaussian(7)):
        serial = filter_image(image, kernel)
        monkeypatch.setattr(direct, "PARALLEL_MIN_MACS", 0)
        monkeypatch.setattr(separable, "PARALLEL_MIN_MACS", 0)
        assert np.array_equal(filter_image(image, kernel), serial)
        monkeypatch.undo()


@pytest.mark.jitless
def test_strips_smaller_than_the_image(monkeypatch) -> None:
    """Tiny strip buffers: many strips and edge bands, same result."""
    import fastconv.image as image_module

    rng = np.random.default_rng(12)
    image = rng.standard_normal((60, 40))
    kernel = rng.standard_normal((5, 7))
    monkeypatch.setattr(image_module, "STRIP_BYTES", 64)
    for border in MODES:
        for stride in (1, 3):
            assert_matches(filter_image(image, kernel, border=border, stride=stride),
                           oracle(image, kernel, border, stride=(stride, stride)),
                           np.float64)  # fmt: skip
    rgb = np.ascontiguousarray(rng.standard_normal((30, 20, 3)))  # gathered, not in place
    assert_matches(filter_image(rgb, kernel), oracle(rgb, kernel), np.float64)


@settings(max_examples=60)
@given(
    h=st.integers(1, 14),
    w=st.integers(1, 14),
    kh=st.integers(1, 9),
    kw=st.integers(1, 9),
    border=st.sampled_from(MODES),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    mode=st.sampled_from(["same", "valid"]),
    rank_one=st.booleans(),
    layout=st.sampled_from(["gray", "hwc", "chw"]),
    seed=st.integers(0, 2**16),
)
def test_drawn_problems_match_ndimage(h, w, kh, kw, border, stride, mode, rank_one, layout,
                                      seed) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    if mode == "valid":
        kh, kw = min(kh, h), min(kw, w)
    shape = {"gray": (h, w), "hwc": (h, w, 3), "chw": (3, h, w)}[layout]
    image = rng.standard_normal(shape)
    kernel = (np.outer(rng.standard_normal(kh), rng.standard_normal(kw)) if rank_one
              else rng.standard_normal((kh, kw)))  # fmt: skip
    axis = 0 if layout == "chw" else -1
    result = filter_image(image, kernel, border=border, cval=0.25, mode=mode, stride=stride,
                          channel_axis=axis)  # fmt: skip
    expected = oracle(image, kernel, border, 0.25, mode, stride, channel_axis=axis)
    assert_matches(result, expected, np.float64)


def test_one_border_mechanism_for_filter_image_and_correlate2d() -> None:
    """filter_image and correlate2d run the same kernels through the same border tables:
    ndimage's reflect/wrap/constant are SciPy's symm/wrap/fill, bit for bit."""
    rng = np.random.default_rng(20)
    image = rng.standard_normal((61, 70)).astype(np.float32)
    for k in (3, 5, 9):
        kernel = rng.standard_normal((k, k)).astype(np.float32)
        for border, boundary in [("reflect", "symm"), ("wrap", "wrap"), ("constant", "fill")]:
            ours = filter_image(image, kernel, border=border, cval=0.5, method="direct")
            theirs = fastconv.correlate2d(image, kernel, "same", boundary, 0.5)
            assert np.array_equal(ours, theirs), (k, border)
    assert border_index(4, 2, 2, "symm").tolist() == border_index(4, 2, 2, "reflect").tolist()


# ----------------------------------------------------------------------------------- fft


@pytest.mark.parametrize("border", MODES)
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_large_kernels_run_through_the_fft_and_match_ndimage(border, dtype) -> None:
    rng = np.random.default_rng(21)
    shape = (128, 140, 3) if dtype == "uint8" else (128, 140)
    image = random_image(rng, shape, dtype)
    kernel = rng.standard_normal((25, 25)) / 25
    p = plan_filter(image, kernel, border=border, cval=7)
    assert p.method == "fft" and ("overlap-save" in p.reason or "FFT" in p.reason), p.reason
    result = filter_image(image, kernel, border=border, cval=7)
    compute = np.float32 if dtype == "float32" else np.float64
    assert_matches(result, oracle(image, kernel, border, 7), np.dtype(compute))


def test_fft_auto_rule_is_the_signal_engines() -> None:
    """One cost model and one precision rule: filter_image picks the FFT where correlate2d
    does, and not for an image holding NaN (an FFT spreads it to every output)."""
    rng = np.random.default_rng(22)
    image = rng.standard_normal((512, 512)).astype(np.float32)
    for k in (5, 9, 31):
        kernel = rng.standard_normal((k, k)).astype(np.float32)
        expected = fastconv.choose_conv_method(image, kernel, mode="same")
        assert (plan_filter(image, kernel).method == "fft") == (expected == "fft")
    assert plan_filter(image, kernel).method == "fft"
    image[5, 5] = np.nan
    p = plan_filter(image, kernel)
    assert p.method == "direct" and "NaN" in p.reason, p.reason
    result = filter_image(image, kernel)
    assert np.isfinite(result[:, 40:]).all() and np.isnan(result[5, 5])


@pytest.mark.parametrize("border", MODES)
def test_forced_fft_with_stride_valid_and_interleaved_channels(border) -> None:
    rng = np.random.default_rng(23)
    image = random_image(rng, (30, 26, 3), "float32")  # interleaved: strided planes
    kernel = rng.standard_normal((6, 5))
    for mode, stride in [("same", (1, 1)), ("same", (2, 3)), ("valid", (3, 2))]:
        p = plan_filter(image, kernel, border=border, mode=mode, stride=stride, method="fft")
        assert p.method == "fft" and "forced by method='fft'" in p.reason
        result = filter_image(image, kernel, border=border, cval=-1.5, mode=mode, stride=stride,
                              method="fft")  # fmt: skip
        expected = oracle(image, kernel, border, -1.5, mode, stride)
        assert_matches(result, expected, np.dtype(np.float32))


# ----------------------------------------------------------------------------- separable


@pytest.mark.parametrize(
    "spec",
    ["gaussian:7,1.5", "box:5", "gaussian:15", "motion-blur:5,0", "1 0 -1; 2 0 -2; 3 0 -3; 4 0 -4"],
)
def test_rank_one_kernels_run_separable_and_match(spec: str) -> None:
    kernel = kernels.parse(spec)
    rng = np.random.default_rng(13)
    image = rng.standard_normal((40, 37)).astype(np.float32)
    p = plan_filter(image, kernel)
    assert p.method == "separable", p.reason
    assert p.reason.startswith(f"rank-1 {kernel.shape[0]}x{kernel.shape[1]} kernel")
    separable = filter_image(image, kernel)
    direct = filter_image(image, kernel, method="direct")
    assert_matches(separable, oracle(image, kernel), np.float32)
    scale = np.abs(direct).max()
    assert np.abs(separable - direct).max() <= 1e-5 * scale


@pytest.mark.parametrize("name", ["sobel-x", "sobel-y", "scharr-x", "prewitt-y"])
def test_3x3_edge_kernels_are_separable_exactly(name: str) -> None:
    kernel = kernels.parse(name)
    image = np.random.default_rng(14).integers(0, 256, (20, 30)).astype(np.uint8)
    assert plan_filter(image, kernel).method == "separable"
    result = filter_image(image, kernel, output=np.float64)  # integer factors: exact sums
    np.testing.assert_array_equal(result, oracle(image, kernel, dtype=np.float64))


def test_small_rank_one_kernels_stay_direct_but_can_be_forced() -> None:
    kernel = np.outer([1.0, 2.0], [1.0, 0.0, -1.0, 2.0])  # 2x4: fewer than 9 taps
    image = np.random.default_rng(17).integers(0, 256, (20, 30)).astype(np.uint8)
    assert plan_filter(image, kernel).method == "direct"
    forced = filter_image(image, kernel, method="separable", output=np.float64)
    np.testing.assert_allclose(forced, oracle(image, kernel, dtype=np.float64), atol=1e-9)


@pytest.mark.parametrize(
    "name",
    ["laplacian", "sharpen", "emboss", "outline", "gabor:7,2,0.7", "laplacian-of-gaussian:9,1.5"],
)
def test_full_rank_kernels_are_not_separable(name: str) -> None:
    kernel = kernels.parse(name)
    image = np.zeros((16, 16), np.float32)
    assert plan_filter(image, kernel).method == "direct"
    with pytest.raises(ValueError, match=r"filter_image: method='separable' needs a kernel of "
                       r"rank 1 .* got a \d+x\d+ kernel with ratio"):  # fmt: skip
        filter_image(image, kernel, method="separable")


def test_rank_tolerance_follows_the_compute_dtype() -> None:
    from fastconv.algorithms.separable import is_rank_one

    g = kernels.gaussian(9)
    noisy = g + 1e-9 * np.random.default_rng(15).standard_normal(g.shape)  # s1/s0 ~ 1e-8
    assert is_rank_one(noisy, np.dtype(np.float32))
    assert not is_rank_one(noisy, np.dtype(np.float64))
    assert plan_filter(np.zeros((8, 8), np.float32), noisy).method == "separable"
    assert plan_filter(np.zeros((8, 8)), noisy).method == "direct"
    assert not is_rank_one(np.full((3, 3), np.nan), np.dtype(np.float64))


# --------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"image": np.zeros(5)}, ValueError, r"expected a 2-D \(grayscale\) or 3-D .* \(5,\)"),
        ({"kernel": np.zeros((3, 3, 3))}, ValueError, r"expected a 2-D kernel .* \(3, 3, 3\)"),
        ({"kernel": np.zeros((0, 3))}, ValueError,
         r"expected a 2-D kernel with at least one row .* \(0, 3\)"),
        ({"border": "symmetric"}, ValueError, r"expected border to be one of 'reflect', .* "
                                              r"got border='symmetric'"),
        ({"cval": "0"}, TypeError, r"expected cval to be a real number, got cval='0'"),
        ({"cval": True}, TypeError, r"expected cval to be a real number, got cval=True"),
        ({"mode": "full"}, ValueError, r"expected mode to be 'same' or 'valid', got mode='full'"),
        ({"stride": 0}, ValueError, r"expected stride to be positive, got stride=0"),
        ({"stride": (1, 2, 3)}, ValueError,
         r"expected stride to be an int or a sequence of 2 ints"),
        ({"stride": 1.5}, TypeError, r"expected stride to be an integer"),
        ({"image": np.zeros((4, 4, 3)), "channel_axis": 3}, ValueError,
         r"expected channel_axis in -3..2 .* got channel_axis=3"),
        ({"image": np.zeros((4, 4, 3)), "channel_axis": None}, ValueError,
         r"expected channel_axis to be an integer for a 3-D image"),
        ({"image": np.zeros((4, 4, 3)), "channel_axis": 1.0}, TypeError,
         r"expected channel_axis to be an integer, got channel_axis=1.0"),
        ({"output": np.complex64}, TypeError,
         r"expected output to have an integer or real floating .* got dtype complex64"),
        ({"output": "pixels"}, TypeError, r"expected output to be None, a dtype or an ndarray"),
        ({"output": np.zeros((3, 3))}, ValueError,
         r"expected output of shape \(4, 5\), got output of shape \(3, 3\)"),
        ({"filter_alpha": 1}, TypeError, r"expected filter_alpha to be True or False"),
        ({"method": "gemm"}, ValueError, r"expected method to be one of 'auto', 'direct', "
                                         r"'separable', 'fft', got method='gemm'"),
        ({"mode": "valid", "kernel": np.ones((5, 5))}, ValueError,
         r"mode='valid' needs the kernel to fit in the image, got kernel of shape \(5, 5\)"),
        ({"image": np.zeros((4, 5), complex)}, TypeError, r"expected image to have a real"),
        ({"kernel": [[1, 2], [3]]}, TypeError, r"expected kernel to be an array-like"),
    ],
)  # fmt: skip
def test_bad_arguments_name_the_parameter(kwargs, error, message) -> None:
    call = {"image": np.zeros((4, 5)), "kernel": np.ones((3, 3)), **kwargs}
    with pytest.raises(error, match=r"^filter_image: " + message):
        filter_image(**call)
    with pytest.raises(error, match=r"^filter_image: " + message):
        plan_filter(**call)


def test_cached_setups_are_per_kernel_values_and_parameter_types() -> None:
    image = np.random.default_rng(16).standard_normal((12, 12))
    box, eye = np.ones((5, 5)) / 25, np.eye(5)
    assert plan_filter(image, box).method == "separable"
    assert plan_filter(image, eye).method == "direct"  # same shapes, other values
    np.testing.assert_allclose(filter_image(image, eye), oracle(image, eye))
    filter_image(image, box, stride=1)
    with pytest.raises(TypeError, match="stride"):
        filter_image(image, box, stride=1.0)  # never served from the entry for stride=1
    filter_image(image, box, cval=1)
    with pytest.raises(TypeError, match="cval"):
        filter_image(image, box, cval=True)


def test_border_table_matches_numpy_pad_within_one_period() -> None:
    numpy_name = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge",
                  "wrap": "wrap"}  # fmt: skip
    values = np.arange(5)
    for border, np_mode in numpy_name.items():
        np.testing.assert_array_equal(border_index(5, 3, 4, border),
                                      np.pad(values, (3, 4), mode=np_mode))  # fmt: skip
    np.testing.assert_array_equal(border_index(2, 1, 1, "constant"), [-1, 0, 1, -1])
    assert set(BORDERS.values()) == {"reflect", "mirror", "nearest", "wrap", "constant"}


def test_exported_from_the_package() -> None:
    assert fastconv.filter_image is filter_image


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_tiles_with_every_border(k: int, dtype: type) -> None:
    """3×3 and 5×5 take the register tiles of the direct method, their rows read through the
    border tables; heights 1–11 give full tiles, single-row tails and fill rows (constant)."""
    rng = np.random.default_rng(k)
    kernel = rng.standard_normal((k, k))
    for h in range(1, 12):
        image = rng.standard_normal((h, 13)).astype(dtype)
        for border in MODES:
            assert_matches(filter_image(image, kernel, border=border, cval=0.5, method="direct"),
                           oracle(image, kernel, border, 0.5), np.dtype(dtype))  # fmt: skip
