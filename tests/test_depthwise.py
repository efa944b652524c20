"""The depthwise algorithm against the reference: a grid, Hypothesis draws, choice and gradients.

The grid covers kernels 1×1 to 7×7 (odd, even and non-square), strides 1–2 (also different per
axis), dilations 1–2, no, symmetric, asymmetric and 'same' padding, both dtypes, bias; further
cases take the other padding modes, channel multipliers, unbatched and 1-D input, NaN weights.
Hypothesis draws from ``test_methods.problems`` the problems with one input channel per group.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from support import assert_close
from test_methods import MODES, Problem, check, problems

import fastconv
from fastconv.reference import conv_reference

GRID = list(
    itertools.product(
        [(1, 1), (2, 2), (3, 3), (4, 3), (5, 5), (7, 7)],  # kernel
        [1, 2, (2, 1)],  # stride
        [1, 2],  # dilation
        [0, 1, ((1, 2), (0, 3)), "same"],  # padding
    )
)


def _pads(padding, size, kernel, stride, dilation):
    """Explicit ``((lo, hi), (lo, hi))`` for the reference (TensorFlow's rule for 'same')."""
    from support import tf_same_pads

    if padding == "same":
        s2 = stride if isinstance(stride, tuple) else (stride, stride)
        return tuple(tf_same_pads(n, k, s, dilation) for n, k, s in zip(size, kernel, s2))
    if isinstance(padding, int):
        return ((padding, padding),) * 2
    return padding


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("kernel", "stride", "dilation", "padding"), GRID)
def test_grid(dtype, kernel, stride, dilation, padding) -> None:
    rng = np.random.default_rng(sum(kernel))
    size = (13, 16)
    x = rng.standard_normal((2, 3, *size)).astype(dtype)
    w = rng.standard_normal((3, 1, *kernel)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    out = fastconv.conv2d(x, w, b, stride, padding, dilation, 3, method="depthwise")
    pads = _pads(padding, size, kernel, stride, dilation)
    assert out.dtype == dtype
    assert_close(out, conv_reference(x, w, b, stride, pads, dilation, 3), dtype)


@pytest.mark.jitless
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("multiplier", [1, 3])
def test_padding_modes_and_channel_multiplier(mode: str, multiplier: int) -> None:
    rng = np.random.default_rng(multiplier)
    x = rng.standard_normal((2, 4, 9, 7))
    w = rng.standard_normal((4 * multiplier, 1, 3, 4))
    pads = ((2, 1), (1, 2))
    out = fastconv.conv2d(x, w, None, (1, 2), pads, 1, 4, padding_mode=mode, method="depthwise")
    assert_close(out, conv_reference(x, w, None, (1, 2), pads, 1, 4, mode), np.float64)


def test_unbatched_1d_and_large_planes() -> None:
    """Unbatched and 1-D input, and a plane cut into several bands of rows."""
    from fastconv.algorithms.depthwise import BAND_ELEMENTS

    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 40)).astype(np.float32)
    w = rng.standard_normal((4, 1, 5)).astype(np.float32)
    out = fastconv.conv1d(x, w, None, 2, 3, 1, 2, method="depthwise")
    ref = conv_reference(x[None], w, None, 2, ((3, 3),), 1, 2)[0]
    assert_close(out, ref, np.float32)
    side = int(BAND_ELEMENTS**0.5) * 3  # about nine bands per plane
    x = rng.standard_normal((2, side, side))
    w = rng.standard_normal((2, 1, 3, 3))
    for stride in (1, 2):
        out = fastconv.conv2d(x, w, None, stride, 1, 1, 2, method="depthwise")
        ref = conv_reference(x[None], w, None, stride, ((1, 1), (1, 1)), 1, 2)[0]
        assert_close(out, ref, np.float64)


def test_nan_weight_meets_the_zero_padding_like_the_reference() -> None:
    x = np.ones((1, 2, 5, 5))
    w = np.ones((2, 1, 3, 3))
    w[0, 0, 0, 0] = np.nan
    out = fastconv.conv2d(x, w, padding=1, groups=2, method="depthwise")
    ref = conv_reference(x, w, None, 1, ((1, 1), (1, 1)), 1, 2)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    assert_close(out[:, 1], ref[:, 1], np.float64)


@settings(max_examples=150)
@given(problem=problems(nd=2).filter(lambda p: p.w.shape[1] == 1))
def test_matches_reference(problem: Problem) -> None:
    check(problem, 2, "depthwise")


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "groups", "message"),
    [
        ((1, 4, 8, 8), (4, 2, 3, 3), 2, "conv2d: method='depthwise' needs groups == "
         "in_channels (one input channel per group), got groups=2 for 4 channels"),
        ((1, 2, 4, 4, 4), (2, 1, 3, 3, 3), 2, "conv3d: method='depthwise' needs one or two "
         "spatial axes, got a 3-D kernel (3, 3, 3)"),
        ((1, 2, 3, 4, 4), (2, 1, 1, 3, 3), 2, "conv3d: method='depthwise' needs one or two "
         "spatial axes, got input depth 3 and output depth 3"),
    ],
)  # fmt: skip
def test_refuses_other_geometries(x_shape, w_shape, groups, message) -> None:
    conv = {4: fastconv.conv2d, 5: fastconv.conv3d}[len(w_shape)]
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        conv(np.zeros(x_shape), np.zeros(w_shape), groups=groups, method="depthwise")


def test_conv3d_with_a_flat_kernel() -> None:
    """Depth 1 throughout runs depthwise; depth padding (output depth 3) does not."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 1, 6, 5))
    w = rng.standard_normal((3, 1, 1, 3, 3))
    out = fastconv.conv3d(x, w, None, 1, (0, 1, 1), 1, 3, method="depthwise")
    ref = conv_reference(x, w, None, 1, ((0, 0), (1, 1), (1, 1)), 1, 3)
    assert_close(out, ref, np.float64)
    padded = fastconv.conv3d(x, w, None, 1, 1, 1, 3)
    assert_close(padded, conv_reference(x, w, None, 1, ((1, 1),) * 3, 1, 3), np.float64)
    assert fastconv.plan(x, w, None, 1, 1, 1, 3).method != "depthwise"


def test_auto_picks_it_for_depthwise_layers_only() -> None:
    x = np.zeros((8, 128, 56, 56), np.float32)
    w = np.random.default_rng(0).standard_normal((128, 1, 3, 3)).astype(np.float32)
    p = fastconv.plan(x, w, padding=1, groups=128)
    assert p.method == "depthwise"
    assert p.reason.startswith("depthwise (128 groups of one input channel, 1 filter(s) each)")
    assert fastconv.plan(x, np.zeros((256, 1, 3, 3), np.float32), groups=128).method == "depthwise"
    # one image and one filter: the direct algorithm's register tiles from 128x128 outputs,
    # the depthwise kernel below (SINGLE_DIRECT_MIN_POSITIONS)
    assert fastconv.plan(np.zeros((1, 1, 130, 130)), w[:1]).method == "direct"
    assert fastconv.plan(np.zeros((1, 1, 64, 64)), w[:1]).method == "depthwise"
    assert fastconv.plan(np.zeros((1, 1, 4, 4)), w[:1]).method == "direct"  # one-call path
    assert fastconv.plan(x, np.zeros((128, 2, 3, 3), np.float32), groups=64).method != "depthwise"


@pytest.mark.parametrize("stride", [1, 2])
def test_backward_uses_it_and_matches_the_adjoint(stride: int) -> None:
    """grad_input of a depthwise layer is a depthwise correlation (also forced)."""
    from fastconv._dispatch import choose_transpose_method
    from fastconv._spec import normalize_conv

    rng = np.random.default_rng(stride)
    x = rng.standard_normal((2, 6, 11, 10))
    w = rng.standard_normal((6, 1, 3, 3))
    f8 = np.dtype(np.float64)
    geo = normalize_conv("conv2d", 2, x.shape, f8, w.shape, f8, None, None, stride, 1, 1, 6,
                         "zeros")  # fmt: skip
    assert choose_transpose_method(geo)[0] == "depthwise"
    out = conv_reference(x, w, None, stride, ((1, 1), (1, 1)), 1, 6)
    g = rng.standard_normal(out.shape)
    for method in ("auto", "depthwise"):
        gi, gw, _ = fastconv.conv2d_backward(g, x, w, stride, 1, 1, 6, method=method)
        expected = float(np.vdot(out, g))
        assert abs(float(np.vdot(x, gi)) - expected) <= 1e-12 * float(np.vdot(abs(out), abs(g)))
        assert abs(float(np.vdot(w, gw)) - expected) <= 1e-12 * float(np.vdot(abs(out), abs(g)))
    with pytest.raises(ValueError, match="conv_transpose2d: method='depthwise' needs"):
        fastconv.conv_transpose2d(g, np.zeros((6, 2, 3, 3)), groups=3, method="depthwise")
