"""Winograd ``F(4×4, 3×3)`` / ``F(2×2, 3×3)`` and the FFT algorithm against the reference.

The grid covers every padding form the 3×3 stride-1 case has (none, symmetric, asymmetric,
wider than the kernel; every padding mode), groups, output sizes that are and are not
multiples of the tile, tiny images, batches, both dtypes. Winograd's float32 error is measured
against the float64 reference relative to ``max|reference|`` and must stay within
``ERROR_BOUND`` (1e-4), the bound under which ``method="auto"`` may pick it.
"""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest
from support import assert_close, relative_error

import fastconv
from fastconv.algorithms.winograd import ERROR_BOUND
from fastconv.reference import conv_reference

WINOGRAD = {"winograd": 4, "winograd_f2": 2}
GRID = list(
    itertools.product(
        [(1, 1, 1, 1), (2, 3, 4, 1), (1, 4, 6, 2), (2, 6, 6, 3)],  # N, C, O, groups
        [(1, 1), (5, 5), (8, 8), (9, 7), (13, 17)],  # H, W
        [0, 1, ((0, 2), (1, 0)), 3],  # padding
        ["zeros", "reflect", "circular"],
    )
)


def _pads(padding):
    if isinstance(padding, int):
        return ((padding, padding),) * 2
    return padding


def _case(n_c_o_g, hw, padding, mode, dtype, seed=0):
    n, c, o, g = n_c_o_g
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, *hw)).astype(dtype)
    w = rng.standard_normal((o, c // g, 3, 3)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    pads = _pads(padding)
    if any(s + lo + hi < 3 for (lo, hi), s in zip(pads, hw)):
        pads = ((1, 1), (1, 1))
        padding = 1
    if any(p >= s for pr, s in zip(pads, hw) for p in pr) and mode != "zeros":
        mode = "zeros"
    return x, w, b, padding, pads, g, mode


@pytest.mark.parametrize("method", [*WINOGRAD, "fft"])
@pytest.mark.parametrize(("shape", "hw", "padding", "mode"), GRID)
def test_grid_float64(method, shape, hw, padding, mode) -> None:
    x, w, b, padding, pads, g, mode = _case(shape, hw, padding, mode, np.float64)
    out = fastconv.conv2d(x, w, b, padding=padding, groups=g, padding_mode=mode, method=method)
    assert out.dtype == np.float64
    assert_close(out, conv_reference(x, w, b, 1, pads, 1, g, mode), np.float64)


@pytest.mark.parametrize("method", [*WINOGRAD, "fft"])
@pytest.mark.parametrize(("shape", "hw", "padding", "mode"), GRID[::3])
def test_grid_float32_within_error_bound(method, shape, hw, padding, mode) -> None:
    x, w, b, padding, pads, g, mode = _case(shape, hw, padding, mode, np.float32, seed=1)
    out = fastconv.conv2d(x, w, b, padding=padding, groups=g, padding_mode=mode, method=method)
    assert out.dtype == np.float32
    ref = conv_reference(x.astype(np.float64), w.astype(np.float64), b, 1, pads, 1, g, mode)
    bound = ERROR_BOUND[WINOGRAD[method]] if method in WINOGRAD else 1e-5
    assert relative_error(out, ref) <= bound


@pytest.mark.parametrize("method", list(WINOGRAD))
@pytest.mark.parametrize("channels", [16, 64, 256, 512])
def test_float32_error_bound_on_wide_layers(method: str, channels: int) -> None:
    """The error grows with the channels summed; measured up to WINOGRAD_MAX_CHANNELS."""
    from fastconv._dispatch import WINOGRAD_MAX_CHANNELS

    assert channels <= WINOGRAD_MAX_CHANNELS
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((1, channels, 12, 12)).astype(np.float32)
    w = rng.standard_normal((8, channels, 3, 3)).astype(np.float32)
    out = fastconv.conv2d(x, w, padding=1, method=method)
    ref = conv_reference(x.astype(np.float64), w.astype(np.float64), None, 1, ((1, 1), (1, 1)))
    err = relative_error(out, ref)
    assert err <= ERROR_BOUND[WINOGRAD[method]], err


@pytest.mark.parametrize("method", list(WINOGRAD))
def test_non_finite_values_stay_where_they_belong(method: str) -> None:
    """NaN and inf reach only the outputs whose window holds them, as in PyTorch."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 9, 9))
    w = rng.standard_normal((3, 2, 3, 3))
    x[0, 1, 4, 4] = np.nan
    x[0, 0, 0, 0] = np.inf
    ref = conv_reference(x, w, None, 1, ((1, 1), (1, 1)))
    with np.errstate(invalid="ignore"):
        out = fastconv.conv2d(x, w, padding=1, method=method)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    finite = np.isfinite(ref)
    assert_close(out[finite], ref[finite], np.float64)
    w[0, 0, 1, 1] = np.nan
    x = rng.standard_normal((1, 2, 9, 9))
    out = fastconv.conv2d(x, w, padding=1, method=method)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(conv_reference(x, w, None, 1, 1)))


@pytest.mark.parametrize("method", [*WINOGRAD, "fft"])
def test_transposed_and_grad_input(method: str) -> None:
    """grad_input of a stride-1 layer is a correlation with the flipped kernel: same methods."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 10, 9))
    w = rng.standard_normal((6, 4, 3, 3))
    g = rng.standard_normal((2, 6, 10, 9))
    gi, gw, gb = fastconv.conv2d_backward(g, x, w, padding=1, method=method)
    ri, rw, rb = fastconv.conv2d_backward(g, x, w, padding=1, method="direct")
    assert_close(gi, ri, np.float64)
    assert_close(gw, rw, np.float64)
    assert_close(gb, rb, np.float64)
    t = fastconv.conv_transpose2d(g, w, padding=1, method=method)
    assert_close(t, fastconv.conv_transpose2d(g, w, padding=1, method="direct"), np.float64)
    t = fastconv.conv_transpose2d(g, w, stride=2, padding=1, output_padding=1, method=method)
    ref = fastconv.conv_transpose2d(g, w, stride=2, padding=1, output_padding=1, method="direct")
    assert_close(t, ref, np.float64)


def test_fft_1d_3d_and_large_kernels() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 40))
    w = rng.standard_normal((4, 3, 9))
    assert_close(fastconv.conv1d(x, w, padding=4, method="fft"),
                 conv_reference(x, w, None, 1, ((4, 4),)), np.float64)  # fmt: skip
    x = rng.standard_normal((1, 2, 6, 7, 8))
    w = rng.standard_normal((2, 1, 3, 2, 3))
    assert_close(fastconv.conv3d(x, w, padding=1, groups=2, method="fft"),
                 conv_reference(x, w, None, 1, ((1, 1),) * 3, 1, 2), np.float64)  # fmt: skip
    img = rng.standard_normal((1, 1, 300, 280)).astype(np.float32)
    k = rng.standard_normal((1, 1, 31, 31)).astype(np.float32)
    out = fastconv.conv2d(img, k, method="fft")
    ref = conv_reference(img.astype(np.float64), k.astype(np.float64))
    assert relative_error(out, ref) <= 1e-5


def _peak(fn) -> int:
    fn()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def test_fft_overlap_save_memory_is_bounded_by_its_batches() -> None:
    """A large single-channel image: overlap-save transforms batches of BATCH_BYTES blocks."""
    from fastconv._threads import num_threads
    from fastconv.algorithms.fft import BATCH_BYTES

    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 1, 2048, 2048)).astype(np.float32)
    w = rng.standard_normal((1, 1, 31, 31)).astype(np.float32)
    extra = _peak(lambda: fastconv.conv2d(x, w, method="fft"))
    out_bytes = 2018 * 2018 * 4
    assert extra <= out_bytes + 6 * BATCH_BYTES * num_threads(), extra


@pytest.mark.parametrize("method", list(WINOGRAD))
def test_peak_memory_within_workspace_cap(method: str) -> None:
    """Winograd's strips (and the transformed weights) stay within the cap."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 32, 40, 40)).astype(np.float32)
    w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
    cap = 1 << 20
    out_bytes = x.nbytes
    with fastconv.workspace_limit(cap):
        fastconv.conv2d(x, w, padding=1, method=method)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            fastconv.conv2d(x, w, padding=1, method=method)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    extra = peak - before
    u_bytes = 36 * w.nbytes // 9 * 2  # the transformed weights, and their float64 first form
    limit = out_bytes + cap + u_bytes + 64 * 1024
    assert extra <= limit, (extra, limit)


@pytest.mark.parametrize("groups", [1, 2])
def test_fft_multichannel_spectra_within_workspace_cap(groups: int) -> None:
    """Several input channels per group: filters and images are taken in chunks whose spectra
    fit the cap, and the chunked sums equal the reference."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 8, 30, 33))
    w = rng.standard_normal((6, 8 // groups, 7, 6))
    ref = conv_reference(x, w, None, 1, ((3, 3), (2, 3)), 1, groups)
    cap = 96 * 1024  # far below one image's spectra over all filters (~700 KiB)
    with fastconv.workspace_limit(cap):
        out = fastconv.conv2d(x, w, padding=((3, 3), (2, 3)), groups=groups, method="fft")
        extra = _peak(
            lambda: fastconv.conv2d(x, w, padding=((3, 3), (2, 3)), groups=groups, method="fft")
        )
    assert_close(out, ref, np.float64)
    out_bytes = ref.nbytes
    # the result, the input's cropped copy per group, one chunk's spectra (<= cap) and slack
    assert extra <= out_bytes + x.nbytes // groups + cap + 64 * 1024, extra


def test_fft_whole_array_spectra_taken_for_few_images_within_the_cap() -> None:
    """One channel per output with a large kernel (whole-array transforms): the batch is cut
    into chunks of images whose spectra fit the cap."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((6, 4, 50, 40))
    w = rng.standard_normal((8, 1, 31, 29))  # depthwise, two filters per channel
    ref = conv_reference(x, w, None, 1, ((15, 15), (14, 14)), 1, 4)
    full = _peak(lambda: fastconv.conv2d(x, w, padding=(15, 14), groups=4, method="fft"))
    cap = 3 << 20  # the kernels' spectra and about two images' (the whole batch: ~7 MiB)
    with fastconv.workspace_limit(cap):
        out = fastconv.conv2d(x, w, padding=(15, 14), groups=4, method="fft")
        extra = _peak(lambda: fastconv.conv2d(x, w, padding=(15, 14), groups=4, method="fft"))
    assert_close(out, ref, np.float64)
    assert extra <= ref.nbytes + cap + 128 * 1024, (extra, full)
    assert extra < full / 2, (extra, full)
