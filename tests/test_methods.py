"""Every algorithm against the reference oracle: a fixed grid, then Hypothesis-drawn problems.

The draws cover N 0–3, C 1–6, every valid groups, sizes 1–17, kernels 1–7 (up to the padded
input, so also wider than the input), stride 1–4, dilation 1–3, every padding form and mode,
bias or not, float32 and float64, unbatched and non-contiguous input. Where PyTorch is
installed the same draws are also compared with ``torch.nn.functional.conv1d/2d/3d``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support import assert_close, tf_same_pads, typical_magnitude

import fastconv
from fastconv.reference import conv_reference

METHODS = ["direct", "gemm"]
MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]
CONV = {1: fastconv.conv1d, 2: fastconv.conv2d, 3: fastconv.conv3d}


@dataclass
class Problem:
    """One drawn convolution: arrays, call keywords, and the explicit pads for the oracle."""

    x: np.ndarray
    w: np.ndarray
    bias: np.ndarray | None
    kwargs: dict[str, Any]
    pads: tuple[tuple[int, int], ...]
    unbatched: bool

    def reference(self, absolute: bool = False) -> np.ndarray:
        """The oracle's result; with ``absolute``, that of ``|x|`` and ``|w|`` (no bias)."""
        x = self.x[None] if self.unbatched else self.x
        x, w, b = (np.abs(x), np.abs(self.w), None) if absolute else (x, self.w, self.bias)
        spec = self.kwargs
        ref = conv_reference(x, w, b, spec["stride"], self.pads, spec["dilation"],
                             spec["groups"], spec["padding_mode"])  # fmt: skip
        return ref[0] if self.unbatched else ref

    def typical(self) -> float:
        """How large an output of these products usually is (see ``support.assert_close``)."""
        return typical_magnitude(self.reference(absolute=True), self.w[0].size)


@st.composite
def problems(draw: st.DrawFn, nd: int, max_size: int = 17) -> Problem:
    n = draw(st.sampled_from([1, 2, 3, 1, 2, 3, 0]))  # now and then an empty batch
    c = draw(st.integers(1, 6))
    o = draw(st.integers(1, 6))
    groups = draw(st.sampled_from([g for g in range(1, 7) if c % g == 0 and o % g == 0]))
    size = tuple(draw(st.integers(1, max_size)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    mode = draw(st.sampled_from(MODES))
    # largest padding the mode allows on each axis
    limit = [{"reflect": sz - 1, "symmetric": sz, "circular": sz}.get(mode, 4) for sz in size]
    limit = [min(lim, 4) for lim in limit]
    # the dilated kernel fits the input padded by at most `limit` on both sides; draws whose
    # padding turns out too small for it are rejected below
    kernel = tuple(
        draw(st.integers(1, min(7, (sz + 2 * lim - 1) // d + 1)))
        for sz, lim, d in zip(size, limit, dilation)
    )
    form = draw(st.sampled_from(["int", "per-axis", "per-side", "valid", "same"]))
    if form == "int":
        p = draw(st.integers(0, min(limit)))
        padding: Any = p
        pads = ((p, p),) * nd
    elif form == "per-axis":
        padding = tuple(draw(st.integers(0, lim)) for lim in limit)
        pads = tuple((p, p) for p in padding)
    elif form == "per-side":
        pads = tuple((draw(st.integers(0, lim)), draw(st.integers(0, lim))) for lim in limit)
        padding = pads
    elif form == "valid":
        padding, pads = "valid", ((0, 0),) * nd
    else:
        padding = "same"
        pads = tuple(tf_same_pads(*a) for a in zip(size, kernel, stride, dilation))
        if any(max(pr) > lim for pr, lim in zip(pads, limit)):
            mode = "zeros"  # 'same' asked for more than the mode allows here
    assume(
        all(
            sz + lo + hi >= d * (k - 1) + 1
            for sz, (lo, hi), k, d in zip(size, pads, kernel, dilation)
        )
    )
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, c, *size)).astype(dtype)
    if draw(st.booleans()):  # non-contiguous input: every other element of a wider array
        wide = rng.standard_normal((n, c, *size[:-1], 2 * size[-1])).astype(dtype)
        wide[..., ::2] = x
        x = wide[..., ::2]
    w = rng.standard_normal((o, c // groups, *kernel)).astype(dtype)
    bias = rng.standard_normal(o).astype(dtype) if draw(st.booleans()) else None
    unbatched = n == 1 and draw(st.booleans())
    if unbatched:
        x = x[0]
    kwargs = dict(
        stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode
    )
    return Problem(x, w, bias, kwargs, pads, unbatched)


def check(problem: Problem, nd: int, method: str) -> None:
    out = CONV[nd](problem.x, problem.w, problem.bias, method=method, **problem.kwargs)
    assert out.dtype == problem.x.dtype
    assert_close(out, problem.reference(), problem.x.dtype, problem.typical())


# --------------------------------------------------------------------------------------------
# Hypothesis: every algorithm, every geometry


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=150)
@given(problem=problems(nd=1))
def test_conv1d_matches_reference(problem: Problem, method: str) -> None:
    check(problem, 1, method)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=300)
@given(problem=problems(nd=2))
def test_conv2d_matches_reference(problem: Problem, method: str) -> None:
    check(problem, 2, method)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=100)
@given(problem=problems(nd=3, max_size=9))
def test_conv3d_matches_reference(problem: Problem, method: str) -> None:
    check(problem, 3, method)


@given(problem=problems(nd=2))
def test_auto_matches_reference(problem: Problem) -> None:
    check(problem, 2, "auto")


# --------------------------------------------------------------------------------------------
# a fixed grid, small enough to also run with NUMBA_DISABLE_JIT=1 (see test_jitless.py)

GRID = list(
    itertools.product(
        [1, 2],  # stride
        [1, 2],  # dilation
        [0, (1, 2)],  # padding: none, asymmetric per side
        ["zeros", "reflect", "circular"],
        [(1, 3), (3, 1), (2, 2)],  # (groups, out channels per group): even kernels via k=2
    )
)


@pytest.mark.jitless
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("stride", "dilation", "pad", "mode", "grouping"), GRID)
def test_grid_2d(method, stride, dilation, pad, mode, grouping) -> None:
    groups, per_group = grouping
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 2 * groups, 7, 6))
    w = rng.standard_normal((groups * per_group, 2, 3, 2))
    b = rng.standard_normal(groups * per_group)
    pads = ((0, 0), (0, 0)) if pad == 0 else (pad, pad)
    out = fastconv.conv2d(x, w, b, stride, pads, dilation, groups, padding_mode=mode, method=method)
    ref = conv_reference(x, w, b, stride, pads, dilation, groups, mode)
    assert_close(out, ref, np.float64)


@pytest.mark.jitless
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("nd", [1, 3])
def test_grid_1d_3d(method: str, nd: int) -> None:
    rng = np.random.default_rng(nd)
    x = rng.standard_normal((2, 4, *(5,) * nd)).astype(np.float32)
    w = rng.standard_normal((4, 2, *(3,) * nd)).astype(np.float32)
    out = CONV[nd](x, w, None, 2, 1, 1, 2, padding_mode="symmetric", method=method)
    ref = conv_reference(x, w, None, 2, 1, 1, 2, "symmetric")
    assert_close(out, ref, np.float32)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
def test_kernel_larger_than_input(method: str, mode: str) -> None:
    """A kernel wider than the input is fine as long as it fits in the padded input."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 3, 4))
    w = rng.standard_normal((3, 2, 5, 5))
    pads = ((1, 2), (1, 1)) if mode != "reflect" else ((2, 2), (1, 1))
    out = fastconv.conv2d(x, w, padding=pads, padding_mode=mode, method=method)
    assert_close(out, conv_reference(x, w, None, 1, pads, 1, 1, mode), np.float64)


@pytest.mark.jitless
@pytest.mark.parametrize("method", METHODS)
def test_tutorial_example(method: str) -> None:
    image = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    kernel = np.array([[[[1.0, 0, 1], [0, 1, 0], [1, 0, 1]]]])
    out = fastconv.conv2d(image, kernel, method=method)
    np.testing.assert_array_equal(out, [[[[30.0, 35.0], [50.0, 55.0]]]])


@pytest.mark.parametrize("cap", [1024, 4096, 65536])
def test_gemm_tiny_workspace_matches_reference(cap: int) -> None:
    """Caps so small that tiles split the positions and, at 1 KiB, the reduction too."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 12, 9, 11))
    w = rng.standard_normal((6, 12, 3, 3))
    with fastconv.workspace_limit(cap):
        out = fastconv.conv2d(x, w, padding=(2, 1), stride=(1, 2), method="gemm")
    assert_close(out, conv_reference(x, w, None, (1, 2), ((2, 2), (1, 1))), np.float64)


def test_pointwise_gemm_is_a_matrix_product() -> None:
    """1×1 stride-1 convolutions read the input as the window matrix (no copy)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 8, 5, 7)).astype(np.float32)
    w = rng.standard_normal((4, 8, 1, 1)).astype(np.float32)
    out = fastconv.conv2d(x, w, method="gemm")
    expected = np.einsum("oc,nchw->nohw", w[:, :, 0, 0].astype(np.float64), x)
    assert_close(out, expected, np.float32)


# the flat window matrix (stride phases, tiles across images) against the oracle and im2col

FLAT_CASES = [  # (x shape, weight shape, stride, padding, dilation, groups)
    ((3, 4, 9, 11), (6, 4, 3, 3), 2, 1, 1, 1),  # W5's geometry, small
    ((2, 3, 16, 15), (8, 3, 7, 7), 2, 3, 1, 1),  # W8's
    ((2, 6, 12, 13), (6, 2, 3, 3), 1, 1, 2, 3),  # dilation and groups
    ((2, 4, 10, 9), (4, 2, 1, 1), 2, 0, 1, 2),  # 1x1 strided: one phase
    ((2, 4, 7, 9), (5, 4, 3, 2), (1, 3), (0, 2), (2, 1), 1),  # strides, dilations differ
    ((2, 2, 5, 6, 7), (4, 2, 2, 3, 2), (2, 1, 2), 1, 1, 1),  # 3-D
]


@pytest.mark.parametrize("tile_bytes", [512, 1 << 20])
@pytest.mark.parametrize("case", FLAT_CASES)
def test_gemm_flat_window_matrix(monkeypatch: pytest.MonkeyPatch, case, tile_bytes) -> None:
    """Tiles of a few columns (512 B: many tiles, most across an image boundary) and whole
    problems, on both threads; equal to the oracle and to the per-image im2col tiles."""
    from fastconv.algorithms import gemm

    xs, ws, stride, padding, dilation, groups = case
    nd = len(xs) - 2
    rng = np.random.default_rng(7)
    x = rng.standard_normal(xs)
    w = rng.standard_normal(ws)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    monkeypatch.setattr(gemm, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(gemm, "FLAT_MIN_WIDTH", 1)
    monkeypatch.setattr(gemm, "FLAT_TILE_BYTES", tile_bytes)
    monkeypatch.setattr(gemm, "FLAT_MAX_EXTENSION", 100.0)  # small images: force it
    monkeypatch.setattr(gemm, "FLAT_MIN_REUSE", 0.0)  # and 1x1 strided
    out = CONV[nd](x, w, method="gemm", **kwargs)
    monkeypatch.setattr(gemm, "FLAT_MAX_EXTENSION", 0.0)  # im2col tiles instead
    tiles = CONV[nd](x, w, method="gemm", **kwargs)
    pads = padding if isinstance(padding, tuple) else (padding,) * nd
    ref = conv_reference(x, w, None, stride, tuple((p, p) for p in pads), dilation, groups)
    assert_close(out, ref, np.float64)
    np.testing.assert_allclose(out, tiles, rtol=1e-12, atol=1e-12)


def test_gemm_flat_layout_reads_inside_the_phases() -> None:
    """Every real output's reads land inside its image's part of its phase: the bound the
    flat kernels rely on, checked over strides, dilations, kernels and paddings."""
    from fastconv.algorithms import Canonical
    from fastconv.algorithms.gemm import flat_layout

    for size, k, s, d, lo, hi in itertools.product(
        (1, 5, 8), (1, 2, 3, 5), (1, 2, 3), (1, 2), (0, 2), (0, 1)
    ):
        span = (k - 1) * d + 1
        if size + lo + hi < span:
            continue
        o = (size + lo + hi - span) // s + 1
        lay = flat_layout((2, 1, 1, 1, size), (1, 1, k), (1, 1, o), Canonical(
            (1, 1, s), (1, 1, d), (0, 0, lo), 1))  # fmt: skip
        per_image = math.prod(lay.ext)
        assert lay.columns == per_image + o  # the last real output is the last column
        assert max(lay.tap_offset) + o - 1 < per_image


def test_pointwise_gemm_groups() -> None:
    """1×1 products of every image and group in one batched product, one image or three."""
    rng = np.random.default_rng(8)
    for n in (1, 3):
        x = rng.standard_normal((n, 6, 5, 7))
        w = rng.standard_normal((4, 3, 1, 1))
        out = fastconv.conv2d(x, w, groups=2, method="gemm")
        assert_close(out, conv_reference(x, w, None, 1, ((0, 0),) * 2, 1, 2), np.float64)


# --------------------------------------------------------------------------------------------
# PyTorch parity (skipped when torch is not installed)


def _torch_conv(problem: Problem, nd: int) -> np.ndarray:
    import torch

    functional = torch.nn.functional
    x = torch.from_numpy(np.ascontiguousarray(problem.x, np.float64))
    if problem.unbatched:
        x = x[None]
    mode = problem.kwargs["padding_mode"]
    flat = [p for pair in reversed(problem.pads) for p in pair]  # F.pad: last axis first
    torch_mode = {
        "zeros": "constant",
        "replicate": "replicate",
        "reflect": "reflect",
        "circular": "circular",
    }[mode]
    x = functional.pad(x, flat, mode=torch_mode)
    w = torch.from_numpy(problem.w.astype(np.float64))
    b = None if problem.bias is None else torch.from_numpy(problem.bias.astype(np.float64))
    conv = {1: functional.conv1d, 2: functional.conv2d, 3: functional.conv3d}[nd]
    out = conv(
        x,
        w,
        b,
        stride=problem.kwargs["stride"],
        dilation=problem.kwargs["dilation"],
        groups=problem.kwargs["groups"],
    ).numpy()
    return out[0] if problem.unbatched else out


@pytest.mark.parametrize("nd", [1, 2, 3])
@given(data=st.data())
def test_matches_torch(nd: int, data: st.DataObject) -> None:
    pytest.importorskip("torch")
    problem = data.draw(problems(nd=nd, max_size=17 if nd < 3 else 9))
    if problem.kwargs["padding_mode"] == "symmetric":
        problem.kwargs["padding_mode"] = "zeros"  # PyTorch has no symmetric padding
    out = CONV[nd](problem.x, problem.w, problem.bias, **problem.kwargs)
    assert_close(out, _torch_conv(problem, nd), problem.x.dtype, problem.typical())


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@pytest.mark.parametrize("padding", [0, 1, 2, "same", "valid"])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_padding_forms_match_torch_conv2d(padding: Any, mode: str) -> None:
    """PyTorch's own padding argument and padding_mode (stride 1, where 'same' is allowed)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 4, 8, 7))
    w = rng.standard_normal((6, 2, 3, 4))  # an even kernel width
    ours = fastconv.conv2d(x, w, padding=padding, groups=2, padding_mode=mode)
    theirs = torch.nn.functional.conv2d if mode == "zeros" else None
    if theirs is not None:
        ref = theirs(torch.from_numpy(x), torch.from_numpy(w), padding=padding, groups=2)
    else:
        layer = torch.nn.Conv2d(
            4,
            6,
            (3, 4),
            padding=padding,
            groups=2,
            padding_mode=mode,
            bias=False,
            dtype=torch.float64,
        )
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w))
            ref = layer(torch.from_numpy(x))
    assert_close(ours, ref.detach().numpy(), np.float64)


# --------------------------------------------------------------------------------------------
# the thread pool: small problems run on the calling thread, so force the parallel paths


@pytest.fixture
def always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastconv.algorithms import direct, gemm

    monkeypatch.setattr(direct, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(gemm, "PARALLEL_MIN_MACS", 0)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problem=problems(nd=2))
def test_parallel_paths_match_reference(always_parallel, problem: Problem, method: str) -> None:
    check(problem, 2, method)


# --------------------------------------------------------------------------------------------
# the direct method's register tiles: unit steps with a 3×3 or 5×5 kernel take several output
# rows per pass (fastconv._numba.direct); rows that meet the zero padding take the generic loop


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pad", [0, 1, ((2, 0), (1, 3))])
def test_direct_tiles_match_reference(k: int, dtype: type, pad: Any) -> None:
    """Output heights 1–8 (+ padding): full tiles, single-row tails and no tile at all; padded
    columns finished tap by tap; channels summed into one tile; groups."""
    rng = np.random.default_rng(k)
    pads = ((pad, pad), (pad, pad)) if isinstance(pad, int) else pad
    for h in range(k, k + 8):
        for c, o, groups in [(1, 1, 1), (3, 2, 1), (4, 2, 2)]:
            x = rng.standard_normal((2, c, h, k + 6)).astype(dtype)
            w = rng.standard_normal((o, c // groups, k, k)).astype(dtype)
            out = fastconv.conv2d(x, w, padding=pads, groups=groups, method="direct")
            assert_close(out, conv_reference(x, w, None, 1, pads, 1, groups, "zeros"), dtype)


def test_direct_tiles_do_not_depend_on_the_row_split(always_parallel) -> None:
    """A row gives the same bits in a full tile and in a single-row tail: the pool's row
    ranges (other tile boundaries) change nothing."""
    rng = np.random.default_rng(5)
    for k in (3, 5):
        x = rng.standard_normal((1, 1, 31, 40)).astype(np.float32)
        w = rng.standard_normal((1, 1, k, k)).astype(np.float32)
        whole = fastconv.conv2d(x, w, padding=1, method="direct")
        rows = [fastconv.conv2d(x[:, :, i : i + k], w, padding=(0, 1), method="direct")
                for i in range(31 - k + 1)]  # fmt: skip
        assert np.array_equal(whole[..., 1 : 33 - k, :], np.concatenate(rows, axis=-2))


@pytest.mark.jitless
@pytest.mark.parametrize("k", [3, 5])
def test_direct_tiles_propagate_nan_and_inf(k: int) -> None:
    """NaN and inf reach exactly the outputs whose window holds them; an inf weight meets the
    zero padding (0 * inf = NaN), as in PyTorch."""
    x = np.zeros((1, 2, 12, 14), np.float32)
    x[0, 0, 5, 6] = np.nan
    x[0, 1, 9, 2] = np.inf
    w = np.ones((1, 2, k, k), np.float32)
    for weights in (w, np.where(np.arange(k) == 0, np.inf, w)):
        with np.errstate(invalid="ignore"):  # 0 * inf, in the oracle (and in jitless kernels)
            out = fastconv.conv2d(x, weights, padding=1, method="direct")
            ref = conv_reference(x.astype(np.float64), weights.astype(np.float64), None, 1,
                                 ((1, 1), (1, 1)), 1, 1, "zeros")  # fmt: skip
        np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(out), np.isinf(ref))


@pytest.mark.parametrize(
    ("w_shape", "kwargs"),
    [
        ((2, 1, 1, 1, 1), {"stride": 3, "padding": 1, "groups": 2}),  # reads only depth padding
        ((2, 1, 1, 3, 3), {"padding": ((0, 2), (1, 1), (1, 1)), "groups": 2}),  # output depth 3
        ((2, 2, 1, 3, 3), {"padding": ((1, 1), (1, 1), (1, 1))}),
    ],
)
def test_conv3d_with_a_flat_depth_axis_and_depth_padding(w_shape, kwargs) -> None:
    """Input and kernel of depth 1 but padding along depth: the 2-D methods (winograd,
    depthwise) must refuse it, and every method that runs must give the reference."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 1, 4, 4))
    w = rng.standard_normal(w_shape)
    pad = kwargs["padding"]
    pads = pad if isinstance(pad, tuple) else ((pad, pad),) * 3
    ref = conv_reference(x, w, None, kwargs.get("stride", 1), pads, 1, kwargs.get("groups", 1))
    for method in ["auto", *(m.value for m in fastconv.Method)]:
        try:
            out = fastconv.conv3d(x, w, method=method, **kwargs)
        except ValueError as exc:
            assert method in ("winograd", "winograd_f2", "depthwise", "fft", "separable"), exc
            continue
        assert_close(out, ref, np.float64)
