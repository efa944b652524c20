"""``fastconv.kernels``: the named kernels' values and properties, and the text syntax."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from fastconv import kernels
from fastconv.kernels import KernelSpecError

RANK_ONE = [
    "box",
    "gaussian",
    "sobel-x",
    "sobel-y",
    "scharr-x",
    "scharr-y",
    "prewitt-x",
    "prewitt-y",
    "identity",
    "motion-blur",
]
SUM_ONE = ["identity", "box", "gaussian", "unsharp", "motion-blur", "sharpen"]
SUM_ZERO = [
    "sobel-x",
    "sobel-y",
    "scharr-x",
    "scharr-y",
    "prewitt-x",
    "prewitt-y",
    "laplacian",
    "laplacian-of-gaussian",
    "outline",
]


@pytest.mark.parametrize("name", kernels.names())
def test_every_named_kernel_is_a_fresh_float64_matrix(name: str) -> None:
    k = kernels.get(name)
    assert k.dtype == np.float64 and k.ndim == 2 and k.flags.c_contiguous
    assert np.isfinite(k).all()
    k[...] = 123.0  # a caller may modify its copy
    assert not np.any(kernels.get(name) == 123.0)


@pytest.mark.parametrize("name", SUM_ONE)
def test_smoothing_kernels_sum_to_one(name: str) -> None:
    assert kernels.get(name).sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("name", SUM_ZERO)
def test_derivative_kernels_sum_to_zero(name: str) -> None:
    assert kernels.get(name).sum() == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("name", RANK_ONE)
def test_separable_kernels_have_rank_one(name: str) -> None:
    assert np.linalg.matrix_rank(kernels.get(name)) == 1


@pytest.mark.parametrize("spec", ["laplacian", "sharpen", "outline", "emboss", "gabor:7,2,0.6"])
def test_non_separable_kernels_have_higher_rank(spec: str) -> None:
    assert np.linalg.matrix_rank(kernels.parse(spec)) > 1


def test_derivatives_agree_with_scipy_ndimage() -> None:
    image = np.random.default_rng(0).standard_normal((9, 11))

    def correlate(k: np.ndarray) -> np.ndarray:
        return ndimage.correlate(image, k, mode="reflect")

    np.testing.assert_allclose(correlate(kernels.sobel_x()), ndimage.sobel(image, axis=1))
    np.testing.assert_allclose(correlate(kernels.sobel_y()), ndimage.sobel(image, axis=0))
    np.testing.assert_allclose(correlate(kernels.prewitt_x()), ndimage.prewitt(image, axis=1))
    np.testing.assert_allclose(correlate(kernels.laplacian()), ndimage.laplace(image))


def test_sobel_x_responds_to_intensity_growing_to_the_right() -> None:
    ramp = np.tile(np.arange(5.0), (5, 1))
    assert (ndimage.correlate(ramp, kernels.sobel_x(), mode="nearest")[1:-1, 1:-1] > 0).all()
    assert np.array_equal(kernels.sobel_y(), kernels.sobel_x().T)
    assert np.array_equal(kernels.scharr_y(), kernels.scharr_x().T)


def test_gaussian_profile_and_default_sigma() -> None:
    g = kernels.gaussian(7, 1.5)
    assert np.allclose(g, g.T) and np.allclose(g, g[::-1, ::-1])
    assert np.unravel_index(g.argmax(), g.shape) == (3, 3)
    row = g[3] / g[3, 3]
    np.testing.assert_allclose(row, np.exp(-((np.arange(7) - 3.0) ** 2) / (2 * 1.5**2)))
    # OpenCV's default sigma rule: 0.3 * ((11 - 1) / 2 - 1) + 0.8 = 2.0
    np.testing.assert_allclose(kernels.gaussian(11), kernels.gaussian(11, 2.0))


def test_gaussian_matches_opencv() -> None:
    cv2 = pytest.importorskip("cv2")
    for size, sigma in ((5, 1.3), (11, 0.0), (15, 3.0)):
        g1 = cv2.getGaussianKernel(size, sigma).ravel()
        mine = kernels.gaussian(size, sigma if sigma > 0 else None)
        np.testing.assert_allclose(mine, np.outer(g1, g1), atol=1e-15)


def test_gabor_matches_opencv_rotated_half_a_turn() -> None:
    cv2 = pytest.importorskip("cv2")
    params = (2.0, 0.6, 4.0, 0.5, 0.7)  # sigma, theta, lambd, gamma, psi
    theirs = cv2.getGaborKernel((7, 7), *params, ktype=cv2.CV_64F)
    # OpenCV stores the kernel with both axes reversed; the formula is the same.
    np.testing.assert_allclose(kernels.gabor(7, *params), theirs[::-1, ::-1], atol=1e-14)


def test_laplacian_of_gaussian_is_a_centred_dip() -> None:
    k = kernels.laplacian_of_gaussian(9, 1.4)
    assert k.argmin() == 40 and np.allclose(k, k.T)
    assert k.sum() == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("angle", [0, 30, 45, 60, 90, 135, -30, 200])
def test_motion_blur_is_a_line_through_the_centre(angle: float) -> None:
    k = kernels.motion_blur(7, angle)
    assert np.count_nonzero(k) == 7 and k[3, 3] == pytest.approx(1 / 7)
    assert np.array_equal(k, k[::-1, ::-1])  # a segment through the centre is point-symmetric
    rows, cols = np.nonzero(k)
    assert np.abs(np.diff(np.sort(rows))).max() <= 1 and np.abs(np.diff(np.sort(cols))).max() <= 1


def test_motion_blur_directions() -> None:
    assert np.count_nonzero(kernels.motion_blur(5, 0)[2]) == 5
    assert np.count_nonzero(kernels.motion_blur(5, 90)[:, 2]) == 5
    assert kernels.motion_blur(5, 45)[0, 4] > 0  # up and to the right on screen


def test_unsharp_adds_back_the_detail() -> None:
    k = kernels.unsharp(5, 1.0, 0.5)
    np.testing.assert_allclose(k, 1.5 * kernels.identity(5) - 0.5 * kernels.gaussian(5, 1.0))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: kernels.identity(2), ValueError, "identity: expected size to be a positive odd"),
        (lambda: kernels.box(0), ValueError, "box: expected n to be a positive integer, got 0"),
        (lambda: kernels.box(2.5), TypeError, "box: expected n to be an integer, got 2.5"),
        (lambda: kernels.box(True), TypeError, "box: expected n to be an integer, got True"),
        (lambda: kernels.gaussian(5, 0.0), ValueError, "gaussian: expected sigma to be a posit"),
        (lambda: kernels.gaussian(5, "1"), TypeError, "gaussian: expected sigma to be a real"),
        (lambda: kernels.laplacian(6), ValueError, "laplacian: expected neighbours to be 4 or 8"),
        (lambda: kernels.motion_blur(5, np.inf), ValueError, "motion_blur: expected angle"),
        (lambda: kernels.gabor(7, lambd=-1), ValueError, "gabor: expected lambd to be a posit"),
    ],
)
def test_bad_parameters_are_named(call, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------------------------
# the text syntax


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("sobel-x", kernels.sobel_x()),
        ("Sobel_X", kernels.sobel_x()),
        ("  scharr-y ", kernels.scharr_y()),
        ("laplacian:8", kernels.laplacian(8)),
        ("gaussian:7,1.5", kernels.gaussian(7, 1.5)),
        ("gaussian: 7 , 1.5", kernels.gaussian(7, 1.5)),
        ("gaussian:7", kernels.gaussian(7)),
        ("box:4", kernels.box(4)),
        ("motion-blur:7,45", kernels.motion_blur(7, 45)),
        ("gabor:9,2,0.5,5,0.7,1e-1", kernels.gabor(9, 2, 0.5, 5, 0.7, 0.1)),
        ("1 0 -1; 2 0 -2; 1 0 -1", -kernels.sobel_x()),
        ("1,0,-1\n2,0,-2\n1,0,-1", -kernels.sobel_x()),
        ("1/9 1/9 1/9; 1/9 1/9 1/9; 1/9 1/9 1/9", kernels.box(3)),
        ("-1 2.5e1 .5", np.array([-1.0, 25.0, 0.5])),
        ("1 2; 3 4 | 5 6; 7 8", np.arange(1.0, 9.0).reshape(2, 2, 2)),
        ("7", np.array([7.0])),
        ("7;", np.array([[7.0]])),
    ],
)
def test_parse_reads_names_parameters_and_matrices(spec: str, expected: np.ndarray) -> None:
    got = kernels.parse(spec)
    assert got.shape == expected.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-15)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("", "kernel: expected a name, an inline matrix or a file, got ''"),
        ("sobel", r"unknown kernel name 'sobel'; did you mean sobel-x, sobel-y\?"),
        ("blurry", "unknown kernel name 'blurry'; known: identity, box"),
        ("gaussian:7,wide", "could not read parameter 2 'wide' of 'gaussian:7,wide'"),
        ("gaussian:7,", "could not read parameter 2 '' of 'gaussian:7,'"),
        ("sobel-x:3", "sobel-x takes at most 0 parameters, got 1"),
        ("box:3,4", "box takes at most 1 parameter, got 2"),
        ("gaussian:4,0", r"gaussian: expected sigma to be a positive finite number, got 0.0 \(in"),
        ("box:2.5", "box: expected n to be an integer, got 2.5"),
        ("1 2 x; 3 4 5", r"could not read 'x' \(row 1, column 3\) as a number"),
        ("1 2 3; 4 5", r"row 2 has 2 values, row 1 has 3 \(ragged rows"),
        ("1 2 | 3", "planes of different shapes"),
        ("1 2 | 3 4; 5 6", "planes of different shapes"),
        ("1 2; 3 4 | 5 6; 7", r"plane 2, row 2 has 1 value, row 1 has 2"),
        ("1/0 1", r"division by zero in '1/0' \(position 1\)"),
        ("1 2 3e", r"could not read '3e' \(position 3\)"),
        ("; ;", "no values in"),
        ("kernel.png", r"expected a file ending in \.npy, \.csv, \.txt, got 'kernel.png'"),
    ],
)
def test_parse_errors_name_the_bad_token(spec: str, match: str) -> None:
    with pytest.raises(KernelSpecError, match=match):
        kernels.parse(spec)


def test_kernel_spec_error_is_a_value_error() -> None:
    assert issubclass(KernelSpecError, ValueError)
    with pytest.raises(TypeError, match="parse: expected spec to be a str, got int"):
        kernels.parse(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".txt"])
def test_parse_and_read_matrix_read_files(tmp_path, suffix: str) -> None:
    k = np.array([[1.0, -2.5, 3.0], [0.125, 5.0, -6.0]])
    path = tmp_path / f"kernel{suffix}"
    if suffix == ".npy":
        np.save(path, k)
    else:
        np.savetxt(path, k, delimiter="," if suffix == ".csv" else " ")
    np.testing.assert_array_equal(kernels.parse(str(path)), k)
    np.testing.assert_array_equal(kernels.read_matrix(str(path)), k)


def test_file_errors_are_one_clear_line(tmp_path) -> None:
    with pytest.raises(KernelSpecError, match=r"cannot read '.*missing\.npy': No such file"):
        kernels.parse(str(tmp_path / "missing.npy"))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,2,3\n4,5\n")
    with pytest.raises(KernelSpecError, match=r"cannot read '.*ragged\.csv'"):
        kernels.parse(str(ragged))
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(KernelSpecError, match=r"cannot read '.*objects\.npy'"):
        kernels.parse(str(objects))  # pickled files are never loaded
    strings = tmp_path / "strings.npy"
    np.save(strings, np.array(["a", "b"]))
    with pytest.raises(KernelSpecError, match=r"expected numbers in .*, got dtype <U1"):
        kernels.parse(str(strings))


def test_read_matrix_reads_inline_matrices_and_rejects_names() -> None:
    np.testing.assert_array_equal(kernels.read_matrix("1 2; 3 4"), [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(KernelSpecError, match="expected a file ending in"):
        kernels.read_matrix("sobel-x")
    with pytest.raises(KernelSpecError, match="matrix: expected an inline matrix or a file"):
        kernels.read_matrix("  ")


def test_describe_lists_every_kernel_with_its_values() -> None:
    text = kernels.describe()
    blocks = text.split("\n\n")
    assert [b.split("[")[0].split("\n")[0] for b in blocks] == list(kernels.names())
    assert "gaussian[:SIZE[,SIGMA]]" in text and "values (gaussian:5):" in text
    assert "    -1  0  1\n    -2  0  2\n    -1  0  1" in text  # sobel-x
    assert ":func:" not in text and "``" not in text


def test_format_matrix_aligns_and_cleans_values() -> None:
    assert kernels.format_matrix(np.array([[-0.0, 1e-20], [2.0, 10.5]])) == "   0    0\n   2 10.5"
    assert kernels.format_matrix(np.array([1.0, 2.0])) == "1 2"
