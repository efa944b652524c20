"""Gradients and transposed convolution: finite differences, adjoint identities, the reference
scatter and PyTorch, over Hypothesis-drawn problems.

The draws cover 1-D/2-D/3-D, N 0–3, C 1–6, every valid groups (depthwise included), stride
1–4, dilation 1–3, every padding form (int, per axis, per side, 'valid', 'same' also with
stride > 1) and every padding mode, sizes that the windows do not cover to the end, both
algorithms, float32 and float64, unbatched input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support import assert_close, tf_same_pads, typical_magnitude

import fastconv
from fastconv import grad as grad_module
from fastconv.nn import gradcheck
from fastconv.reference import conv_reference, conv_transpose_reference

METHODS = ["direct", "gemm"]
MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]
CONV = {1: fastconv.conv1d, 2: fastconv.conv2d, 3: fastconv.conv3d}
BACKWARD = {1: fastconv.conv1d_backward, 2: fastconv.conv2d_backward, 3: fastconv.conv3d_backward}
INPUT = {1: fastconv.conv1d_input, 2: fastconv.conv2d_input, 3: fastconv.conv3d_input}
WEIGHT = {1: fastconv.conv1d_weight, 2: fastconv.conv2d_weight, 3: fastconv.conv3d_weight}
TRANSPOSE = {
    1: fastconv.conv_transpose1d,
    2: fastconv.conv_transpose2d,
    3: fastconv.conv_transpose3d,
}
TORCH_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
               "circular": "circular"}  # fmt: skip


@dataclass
class Problem:
    """A forward convolution with a gradient of its output: arrays, keywords, explicit pads."""

    x: np.ndarray
    w: np.ndarray
    g: np.ndarray  # gradient of the output, shaped like it
    kwargs: dict[str, Any]
    pads: tuple[tuple[int, int], ...]
    unbatched: bool

    @property
    def nd(self) -> int:
        return self.w.ndim - 2

    def batched(self, a: np.ndarray) -> np.ndarray:
        return a[None] if self.unbatched else a

    def forward_reference(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        k = self.kwargs
        out = conv_reference(self.batched(x), w, None, k["stride"], self.pads, k["dilation"],
                             k["groups"], k["padding_mode"])  # fmt: skip
        return out[0] if self.unbatched else out


@st.composite
def problems(draw: st.DrawFn, nd: int, max_size: int = 9, max_channels: int = 6,
             dtypes: tuple = (np.float64,)) -> Problem:  # fmt: skip
    n = draw(st.sampled_from([1, 2, 3, 1, 2, 0]))
    c = draw(st.integers(1, max_channels))
    o = draw(st.integers(1, max_channels))
    groups = draw(st.sampled_from([g for g in range(1, 7) if c % g == 0 and o % g == 0]))
    if draw(st.integers(0, 4)) == 0:  # now and then a depthwise layer
        o, groups = c, c
    size = tuple(draw(st.integers(1, max_size)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    mode = draw(st.sampled_from(MODES))
    limit = [{"reflect": sz - 1, "symmetric": sz, "circular": sz}.get(mode, 4) for sz in size]
    limit = [min(lim, 4) for lim in limit]
    kernel = tuple(
        draw(st.integers(1, min(5, (sz + 2 * lim - 1) // d + 1)))
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
            mode = "zeros"
    assume(
        all(
            sz + lo + hi >= d * (k - 1) + 1
            for sz, (lo, hi), k, d in zip(size, pads, kernel, dilation)
        )
    )
    out = tuple(
        (sz + lo + hi - d * (k - 1) - 1) // s + 1
        for sz, (lo, hi), k, d, s in zip(size, pads, kernel, dilation, stride)
    )
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, c, *size)).astype(dtype)
    w = rng.standard_normal((o, c // groups, *kernel)).astype(dtype)
    g = rng.standard_normal((n, o, *out)).astype(dtype)
    unbatched = n == 1 and draw(st.booleans())
    if unbatched:
        x, g = x[0], g[0]
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  padding_mode=mode)  # fmt: skip
    return Problem(x, w, g, kwargs, pads, unbatched)


def inner(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64)))


# --------------------------------------------------------------------------------------------
# adjoint identities: <conv(x, w), g> = <x, grad_input(g)> = <w, grad_weight(x, g)>


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("nd", [1, 2, 3])
@settings(max_examples=120)
@given(data=st.data())
def test_adjoint_identities(nd: int, method: str, data: st.DataObject) -> None:
    p = data.draw(problems(nd=nd, max_size=12 if nd < 3 else 7))
    gi, gw, gb = BACKWARD[nd](p.g, p.x, p.w, method=method, **p.kwargs)
    out = p.forward_reference(p.x, p.w)
    assert gi.shape == p.x.shape and gw.shape == p.w.shape and gb.shape == (p.w.shape[0],)
    expected = inner(out, p.g)
    scale = inner(np.abs(out), np.abs(p.g)) + inner(np.abs(p.x), np.abs(gi)) + 1e-300
    assert abs(inner(p.x, gi) - expected) <= 1e-12 * scale
    assert abs(inner(p.w, gw) - expected) <= 1e-12 * scale
    np.testing.assert_allclose(gb, p.batched(p.g).sum(axis=(0, *range(2, nd + 2))), atol=1e-12)


# --------------------------------------------------------------------------------------------
# finite differences (float64, relative error <= 1e-6), through fastconv.nn.gradcheck


@pytest.mark.parametrize("nd", [1, 2, 3])
@settings(max_examples=50)
@given(data=st.data())
def test_finite_differences(nd: int, data: st.DataObject) -> None:
    p = data.draw(problems(nd=nd, max_size={1: 9, 2: 6, 3: 4}[nd], max_channels=4))
    method = data.draw(st.sampled_from(METHODS))
    bias = np.random.default_rng(0).standard_normal(p.w.shape[0])

    def layer(x, w, b):
        out = CONV[nd](x, w, b, method=method, **p.kwargs)
        return out, lambda g: BACKWARD[nd](g, x, w, method=method, **p.kwargs)

    assert gradcheck(layer, p.x, p.w, bias, tol=1e-6) <= 1e-6


# --------------------------------------------------------------------------------------------
# torch.nn.grad and the transposed convolution are the same thing


@pytest.mark.parametrize("nd", [1, 2, 3])
@settings(max_examples=60)
@given(data=st.data())
def test_input_and_weight_functions_match_backward(nd: int, data: st.DataObject) -> None:
    p = data.draw(problems(nd=nd, max_size=10 if nd < 3 else 6, dtypes=(np.float32, np.float64)))
    method = data.draw(st.sampled_from(["auto", *METHODS]))
    gi, gw, gb = BACKWARD[nd](p.g, p.x, p.w, method=method, **p.kwargs)
    assert gi.dtype == gw.dtype == gb.dtype == p.x.dtype
    # one gradient alone may take another product order than both together (stride 1, gemm):
    # float32 sums agree to rounding, relative to the size of their terms
    x_abs, w_abs, g_abs = np.abs(p.x), np.abs(p.w), np.abs(p.g)
    typical_in = typical_magnitude(INPUT[nd](p.x.shape, w_abs, g_abs, **p.kwargs), p.w.size)
    typical_w = typical_magnitude(WEIGHT[nd](x_abs, p.w.shape, g_abs, **p.kwargs), p.g.size)
    gi_alone = INPUT[nd](p.x.shape, p.w, p.g, method=method, **p.kwargs)
    assert_close(gi_alone, gi, p.x.dtype, typical_in)
    gw_alone = WEIGHT[nd](p.x, p.w.shape, p.g, method=method, **p.kwargs)
    assert_close(gw_alone, gw, p.x.dtype, typical_w)
    only = BACKWARD[nd](p.g, p.x, p.w, needs=("weight",), method=method, **p.kwargs)
    assert only[0] is None and only[2] is None
    np.testing.assert_array_equal(only[1], gw_alone)


@pytest.mark.parametrize("nd", [1, 2, 3])
@settings(max_examples=60)
@given(data=st.data())
def test_grad_input_is_conv_transpose(nd: int, data: st.DataObject) -> None:
    """With zero padding, grad_input is conv_transpose with the output_padding that restores
    the input size (when that is allowed: output_padding < stride or dilation)."""
    p = data.draw(problems(nd=nd, max_size=10 if nd < 3 else 6))
    if p.kwargs["padding_mode"] != "zeros":
        p.kwargs["padding_mode"] = "zeros"
    size, out = p.batched(p.x).shape[2:], p.batched(p.g).shape[2:]
    k, s, d = p.w.shape[2:], p.kwargs["stride"], p.kwargs["dilation"]
    op = tuple(
        n - ((m - 1) * st_ - lo - hi + di * (kk - 1) + 1)
        for n, m, st_, di, kk, (lo, hi) in zip(size, out, s, d, k, p.pads)
    )
    assume(all(o < st_ or o < di for o, st_, di in zip(op, s, d)))
    gi = INPUT[nd](p.x.shape, p.w, p.g, **p.kwargs)
    ct = TRANSPOSE[nd](p.g, p.w, None, s, p.pads, op, p.kwargs["groups"], d)
    np.testing.assert_array_equal(gi, ct)


# --------------------------------------------------------------------------------------------
# conv_transpose against the reference scatter


@st.composite
def transposed_problems(draw: st.DrawFn, nd: int, max_size: int = 7):
    n = draw(st.sampled_from([1, 2, 3, 0]))
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 3))
    per_group = draw(st.integers(1, 3))
    size = tuple(draw(st.integers(1, max_size)) for _ in range(nd))
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    symmetric = draw(st.booleans())
    pads = tuple(
        (lo, lo if symmetric else draw(st.integers(0, 6)))
        for lo in (draw(st.integers(0, 6)) for _ in range(nd))
    )
    full = [
        (m - 1) * s + d * (k - 1) + 1 + op
        for m, s, d, k, op in zip(size, stride, dilation, kernel, output_padding)
    ]
    assume(all(f - lo - hi >= 1 for f, (lo, hi) in zip(full, pads)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_in, per_group, *kernel)).astype(dtype)
    bias = rng.standard_normal(groups * per_group).astype(dtype) if draw(st.booleans()) else None
    padding = tuple(lo for lo, _ in pads) if symmetric else pads
    args = (stride, padding, output_padding, groups, dilation)
    return x, w, bias, args, pads


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("nd", [1, 2, 3])
@settings(max_examples=100)
@given(data=st.data())
def test_conv_transpose_matches_reference(nd: int, method: str, data: st.DataObject) -> None:
    x, w, bias, args, pads = data.draw(transposed_problems(nd, max_size=7 if nd < 3 else 4))
    stride, _, output_padding, groups, dilation = args
    out = TRANSPOSE[nd](x, w, bias, *args, method=method)
    ref = conv_transpose_reference(x, w, bias, stride, pads, output_padding, groups, dilation)
    assert out.dtype == x.dtype
    assert_close(out, ref, x.dtype)
    if x.shape[0] == 1:  # unbatched
        assert_close(TRANSPOSE[nd](x[0], w, bias, *args, method=method), ref[0], x.dtype)


def test_conv_transpose_bigger_padding_than_kernel() -> None:
    """Padding beyond the kernel's reach crops input elements' stamps away entirely."""
    x = np.arange(1.0, 7.0).reshape(1, 1, 6)
    w = np.array([[[1.0, 2.0]]])
    for method in METHODS:
        out = fastconv.conv_transpose1d(x, w, padding=[(3, 1)], method=method)
        ref = conv_transpose_reference(x, w, None, 1, [(3, 1)])
        assert_close(out, ref)
        out = fastconv.conv_transpose1d(x, w, stride=3, padding=[(4, 0)], method=method)
        assert_close(out, conv_transpose_reference(x, w, None, 3, [(4, 0)]))


# --------------------------------------------------------------------------------------------
# PyTorch parity: autograd of conv*d and torch.nn.functional.conv_transpose*d


def _torch_grads(p: Problem):
    import torch

    functional = torch.nn.functional
    x = torch.tensor(p.batched(p.x), dtype=torch.float64, requires_grad=True)
    w = torch.tensor(p.w, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(p.w.shape[0], dtype=torch.float64, requires_grad=True)
    flat = [q for pair in reversed(p.pads) for q in pair]
    padded = functional.pad(x, flat, mode=TORCH_MODES[p.kwargs["padding_mode"]])
    conv = {1: functional.conv1d, 2: functional.conv2d, 3: functional.conv3d}[p.nd]
    k = p.kwargs
    out = conv(padded, w, b, stride=k["stride"], dilation=k["dilation"], groups=k["groups"])
    out.backward(torch.tensor(p.batched(p.g), dtype=torch.float64))
    gi = x.grad.numpy()
    return (gi[0] if p.unbatched else gi), w.grad.numpy(), b.grad.numpy()


@pytest.mark.parametrize("nd", [1, 2, 3])
@settings(max_examples=120)
@given(data=st.data())
def test_backward_matches_torch_autograd(nd: int, data: st.DataObject) -> None:
    pytest.importorskip("torch")
    p = data.draw(problems(nd=nd, max_size=12 if nd < 3 else 7))
    if p.kwargs["padding_mode"] == "symmetric":
        p.kwargs["padding_mode"] = "zeros"  # PyTorch has no symmetric padding
    method = data.draw(st.sampled_from(METHODS))
    ours = BACKWARD[nd](p.g, p.x, p.w, method=method, **p.kwargs)
    for mine, theirs in zip(ours, _torch_grads(p)):
        assert_close(mine, theirs)


@pytest.mark.parametrize("nd", [1, 2, 3])
@settings(max_examples=100)
@given(data=st.data())
def test_conv_transpose_matches_torch(nd: int, data: st.DataObject) -> None:
    torch = pytest.importorskip("torch")
    x, w, bias, args, pads = data.draw(transposed_problems(nd, max_size=9 if nd < 3 else 5))
    stride, _, output_padding, groups, dilation = args
    fn = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d,
          3: torch.nn.functional.conv_transpose3d}[nd]  # fmt: skip
    # PyTorch pads both ends alike: compute uncropped, then crop per side
    theirs = fn(
        torch.from_numpy(x.astype(np.float64)),
        torch.from_numpy(w.astype(np.float64)),
        None if bias is None else torch.from_numpy(bias.astype(np.float64)),
        stride=stride, padding=0, output_padding=output_padding, groups=groups,
        dilation=dilation,
    ).numpy()  # fmt: skip
    crop = tuple(slice(lo, n - hi) for (lo, hi), n in zip(pads, theirs.shape[2:]))
    theirs = theirs[(slice(None), slice(None), *crop)]
    assert_close(TRANSPOSE[nd](x, w, bias, *args), theirs, x.dtype)


def test_torch_nn_grad_signatures_match() -> None:
    """fastconv.conv2d_input / conv2d_weight take torch.nn.grad's arguments in its order."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 2))
    g = rng.standard_normal((2, 6, 5, 3))
    args = ((2, 2), (1, 0), (1, 2), 2)  # stride, padding, dilation, groups
    theirs_in = torch.nn.grad.conv2d_input(x.shape, torch.from_numpy(w), torch.from_numpy(g),
                                           *args)  # fmt: skip
    theirs_w = torch.nn.grad.conv2d_weight(torch.from_numpy(x), w.shape, torch.from_numpy(g),
                                           *args)  # fmt: skip
    assert_close(fastconv.conv2d_input(x.shape, w, g, *args), theirs_in.numpy())
    assert_close(fastconv.conv2d_weight(x, w.shape, g, *args), theirs_w.numpy())


# --------------------------------------------------------------------------------------------
# paths Hypothesis reaches rarely: tiling, the thread pool, dtypes


@pytest.fixture
def always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastconv.algorithms import direct, gemm, gemm_grad

    for module in (direct, gemm, gemm_grad):
        monkeypatch.setattr(module, "PARALLEL_MIN_MACS", 0)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=problems(nd=2, max_size=12))
def test_parallel_paths(always_parallel, p: Problem, method: str) -> None:
    gi, gw, _ = fastconv.conv2d_backward(p.g, p.x, p.w, method=method, **p.kwargs)
    expected = inner(p.forward_reference(p.x, p.w), p.g)
    scale = inner(np.abs(p.x), np.abs(gi)) + inner(np.abs(p.w), np.abs(gw)) + 1e-300
    assert abs(inner(p.x, gi) - expected) <= 1e-12 * scale
    assert abs(inner(p.w, gw) - expected) <= 1e-12 * scale


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_weight_gradient_flat_tiles(monkeypatch: pytest.MonkeyPatch, stride: int) -> None:
    """The weight gradient on the flat window matrix, the batch folded into the reduction:
    512-byte tiles (most across an image boundary) on both threads equal whole tiles and
    the per-image im2col path, and meet the adjoint identity."""
    from fastconv.algorithms import gemm, gemm_grad

    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 4, 11, 10))
    w = rng.standard_normal((6, 2, 3, 2))
    kwargs = dict(stride=stride, padding=(2, 1), dilation=(1, 2), groups=2)
    out = conv_reference(x, w, None, stride, ((2, 2), (1, 1)), (1, 2), 2)
    g = rng.standard_normal(out.shape)
    whole = fastconv.conv2d_weight(x, w.shape, g, method="gemm", **kwargs)
    for module in (gemm, gemm_grad):
        monkeypatch.setattr(module, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(gemm, "FLAT_MIN_WIDTH", 1)
    monkeypatch.setattr(gemm, "FLAT_TILE_BYTES", 512)
    monkeypatch.setattr(gemm, "FLAT_MAX_EXTENSION", 100.0)
    monkeypatch.setattr(gemm, "FLAT_MIN_REUSE", 0.0)
    tiled = fastconv.conv2d_weight(x, w.shape, g, method="gemm", **kwargs)
    monkeypatch.setattr(gemm, "FLAT_MAX_EXTENSION", 0.0)
    im2col = fastconv.conv2d_weight(x, w.shape, g, method="gemm", **kwargs)
    assert_close(tiled, whole)
    assert_close(im2col, whole)
    assert abs(inner(w, whole) - inner(out, g)) <= 1e-12 * inner(np.abs(out), np.abs(g))


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("cap", [1024, 4096, 65536])
def test_gemm_tiny_workspace(cap: int, stride: int) -> None:
    """Caps that split positions, channels and (at 1 KiB) the reduction of every product:
    the scatter (stride 2), the weight gradient, and both gradients from one window matrix
    (stride 1)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 12, 9, 11))
    w = rng.standard_normal((6, 12, 3, 3))
    kwargs = dict(stride=stride, padding=(2, 1), dilation=(1, 2))
    out = conv_reference(x, w, None, stride, ((2, 2), (1, 1)), (1, 2))
    g = rng.standard_normal(out.shape)
    full = fastconv.conv2d_backward(g, x, w, method="gemm", **kwargs)
    with fastconv.workspace_limit(cap):
        tiled = fastconv.conv2d_backward(g, x, w, method="gemm", **kwargs)
        alone = (
            fastconv.conv2d_input(x.shape, w, g, method="gemm", **kwargs),
            fastconv.conv2d_weight(x, w.shape, g, method="gemm", **kwargs),
        )
        ct = fastconv.conv_transpose2d(g, w, stride=stride, padding=(2, 1), dilation=(1, 2),
                                       method="gemm")  # fmt: skip
    for a, b, c in zip(tiled, full, alone):
        assert_close(a, b)
        assert_close(c, b)
    assert_close(ct, full[0])
    assert abs(inner(x, full[0]) - inner(out, g)) <= 1e-12 * inner(np.abs(out), np.abs(g))
    assert abs(inner(w, full[1]) - inner(out, g)) <= 1e-12 * inner(np.abs(out), np.abs(g))


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.bool_])
def test_dtypes(dtype) -> None:
    """float16 computes in float32 and returns float16; integers and bool give float64."""
    x = np.ones((1, 2, 5, 5), dtype)
    w = np.ones((3, 2, 3, 3), dtype)
    g = np.ones((1, 3, 3, 3), dtype)
    gi, gw, gb = fastconv.conv2d_backward(g, x, w)
    expected = np.float16 if dtype == np.float16 else np.float64
    assert gi.dtype == gw.dtype == gb.dtype == expected
    assert gw[0, 0, 0, 0] == 9 and gb[0] == 9 and gi[0, 0, 2, 2] == 27
    ct = fastconv.conv_transpose2d(g, np.ones((3, 2, 3, 3), dtype))
    assert ct.dtype == expected and ct.shape == (1, 2, 5, 5)


def test_mixed_dtypes_promote() -> None:
    x = np.ones((1, 1, 4, 4), np.float32)
    w = np.ones((1, 1, 3, 3), np.float64)
    g = np.ones((1, 1, 2, 2), np.float32)
    assert all(a.dtype == np.float64 for a in fastconv.conv2d_backward(g, x, w))
    assert fastconv.conv2d_input(x.shape, w.astype(np.float32), g).dtype == np.float32


def test_empty_batch() -> None:
    x = np.zeros((0, 2, 5, 5))
    w = np.ones((3, 2, 3, 3))
    gi, gw, gb = fastconv.conv2d_backward(np.zeros((0, 3, 3, 3)), x, w)
    assert gi.shape == x.shape and not gw.any() and gw.shape == w.shape and not gb.any()
    assert fastconv.conv_transpose2d(np.zeros((0, 3, 3, 3)), w).shape == (0, 2, 5, 5)


def test_nan_weights_meet_only_real_elements_like_torch() -> None:
    """A NaN weight spoils the products it takes part in, as in PyTorch's grad_input and
    conv_transpose; the zeros around grad_output in the correlation form are not data."""
    torch = pytest.importorskip("torch")
    x = np.ones((1, 1, 4, 4))
    w = np.ones((1, 1, 3, 3))
    w[0, 0, 0, 0] = np.nan
    g = np.ones((1, 1, 4, 4))
    theirs = torch.nn.grad.conv2d_input(x.shape, torch.from_numpy(w), torch.from_numpy(g), 1, 1)
    theirs_ct = torch.nn.functional.conv_transpose2d(torch.from_numpy(g), torch.from_numpy(w))
    for method in METHODS:
        ours = fastconv.conv2d_input(x.shape, w, g, padding=1, method=method)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs.numpy()))
        ct = fastconv.conv_transpose2d(g, w, method=method)
        np.testing.assert_array_equal(np.isnan(ct), np.isnan(theirs_ct.numpy()))


def test_needs_skips_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def tripwire(*args, **kwargs):
        raise AssertionError("computed a gradient that was not asked for")

    x, w, g = np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), np.ones((1, 2, 3, 3))
    monkeypatch.setattr(grad_module, "weight_canonical", tripwire)
    gi, gw, gb = fastconv.conv2d_backward(g, x, w, needs=("input", "bias"))
    assert gw is None and gi.shape == x.shape and gb.tolist() == [9.0, 9.0]
    monkeypatch.undo()
    monkeypatch.setattr(grad_module, "transpose_canonical", tripwire)
    assert fastconv.conv2d_backward(g, x, w, needs="weight")[0] is None


@pytest.mark.jitless
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["zeros", "reflect", "symmetric"])
def test_grid_backward_and_transpose(method: str, mode: str) -> None:
    """A small fixed grid, also run with NUMBA_DISABLE_JIT=1 (col2im and im2col line by line)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 2, 3, 2))
    for stride in (1, 2):
        kwargs = dict(stride=stride, padding=((1, 2), (1, 0)), dilation=(1, 2), groups=2,
                      padding_mode=mode)  # fmt: skip
        out = conv_reference(x, w, None, stride, ((1, 2), (1, 0)), (1, 2), 2, mode)
        g = rng.standard_normal(out.shape)
        gi, gw, _ = fastconv.conv2d_backward(g, x, w, method=method, **kwargs)
        scale = inner(np.abs(out), np.abs(g))
        assert abs(inner(x, gi) - inner(out, g)) <= 1e-12 * scale
        assert abs(inner(w, gw) - inner(out, g)) <= 1e-12 * scale
        ct = fastconv.conv_transpose2d(g, w, None, stride, 1, 0, 2, (1, 2), method=method)
        ref = conv_transpose_reference(g, w, None, stride, 1, 0, 2, (1, 2))
        assert_close(ct, ref, np.float64)


# --------------------------------------------------------------------------------------------
# validation: the forward call's messages, plus those of the new parameters


def _raises(exc, message: str):
    return pytest.raises(exc, match="^" + re.escape(message) + "$")


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        (dict(output_padding=2, stride=2),
         ValueError, "conv_transpose2d: expected output_padding < stride or dilation along each "
         "axis, got output_padding=(2, 2) with stride=(2, 2) and dilation=(1, 1)"),
        (dict(output_padding=(1, 0)),
         ValueError, "conv_transpose2d: expected output_padding < stride or dilation along each "
         "axis, got output_padding=(1, 0) with stride=(1, 1) and dilation=(1, 1)"),
        (dict(output_padding=-1),
         ValueError, "conv_transpose2d: expected output_padding to be non-negative, got "
         "output_padding=-1"),
        (dict(output_padding=(1, 1, 1), stride=2),
         ValueError, "conv_transpose2d: expected output_padding to be an int or a sequence of 2 "
         "ints, got output_padding=(1, 1, 1) of length 3"),
        (dict(output_padding=0.5),
         TypeError, "conv_transpose2d: expected output_padding to be an integer, got "
         "output_padding=0.5"),
        (dict(padding="same"),
         ValueError, "conv_transpose2d: expected padding to be an int, a sequence of 2 ints or a "
         "sequence of 2 (before, after) pairs, got padding='same'"),
        (dict(padding=(1, 2, 3)),
         ValueError, "conv_transpose2d: expected padding to be an int, a sequence of 2 ints or a "
         "sequence of 2 (before, after) pairs, got padding=(1, 2, 3)"),
        (dict(padding=4),
         ValueError, "conv_transpose2d: expected every output size to be positive, got output "
         "spatial shape (-3, -3) from input of spatial shape (3, 3), weight of shape "
         "(4, 2, 3, 3), stride=(1, 1), padding=((4, 4), (4, 4)), dilation=(1, 1), "
         "output_padding=(0, 0)"),
        (dict(groups=3),
         ValueError, "conv_transpose2d: given groups=3, expected weight.shape[0] (4) to be "
         "divisible by 3"),
        (dict(stride=0),
         ValueError, "conv_transpose2d: expected stride to be positive, got stride=0"),
        (dict(bias=np.zeros(3)),
         ValueError, "conv_transpose2d: expected bias of shape (2,), got bias of shape (3,)"),
        (dict(method="separable"),
         ValueError, "conv_transpose2d: expected method to be one of 'auto', 'direct', 'gemm', "
         "'winograd', 'winograd_f2', 'fft', 'depthwise', got method='separable'"),
        (dict(method="winograd", dilation=2),
         ValueError, "conv_transpose2d: method='winograd' needs a 2-D 3x3 kernel with dilation 1, "
         "got kernel (3, 3) and dilation=(2, 2)"),
    ],
)  # fmt: skip
def test_conv_transpose_refuses(kwargs, exc, message) -> None:
    x = np.ones((1, 4, 3, 3))
    w = np.ones((4, 2, 3, 3))
    with _raises(exc, message):
        fastconv.conv_transpose2d(x, w, **kwargs)


def test_conv_transpose_refuses_shapes() -> None:
    with _raises(ValueError, "conv_transpose2d: given weight of shape (4, 2, 3, 3), expected "
                 "input to have 4 channels, but got input of shape (1, 3, 3, 3) with 3 "
                 "channels"):  # fmt: skip
        fastconv.conv_transpose2d(np.ones((1, 3, 3, 3)), np.ones((4, 2, 3, 3)))
    with _raises(ValueError, "conv_transpose1d: expected weight with 3 dimensions (in_channels, "
                 "out_channels/groups, kW), got weight of shape (4, 2)"):  # fmt: skip
        fastconv.conv_transpose1d(np.ones((4, 3)), np.ones((4, 2)))
    with _raises(ValueError, "conv_transpose3d: expected input with 4 (unbatched) or 5 "
                 "(batched) dimensions, got input of shape (4, 3)"):  # fmt: skip
        fastconv.conv_transpose3d(np.ones((4, 3)), np.ones((4, 2, 1, 1, 1)))
    with _raises(ValueError, "conv_transpose1d: expected every spatial size of the input to be "
                 "at least 1, got input of shape (1, 4, 0)"):  # fmt: skip
        fastconv.conv_transpose1d(np.ones((1, 4, 0)), np.ones((4, 2, 1)))
    with _raises(TypeError, "conv_transpose1d: expected input to have a real floating "
                 "(float16/32/64), integer or bool dtype, got dtype complex128"):  # fmt: skip
        fastconv.conv_transpose1d(np.ones((4, 3), complex), np.ones((4, 2, 1)))


def test_output_padding_below_dilation_is_allowed() -> None:
    """output_padding may reach the stride when it stays below the dilation (PyTorch's rule)."""
    x = np.ones((1, 1, 3))
    w = np.ones((1, 1, 2))
    out = fastconv.conv_transpose1d(x, w, stride=1, output_padding=1, dilation=2)
    assert_close(out, conv_transpose_reference(x, w, None, 1, 0, 1, 1, 2))


def test_backward_refuses() -> None:
    x, w = np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3))
    with _raises(ValueError, "conv2d_backward: expected grad_output of shape (1, 3, 3, 3) (the "
                 "output of the forward convolution for these arguments), got grad_output of "
                 "shape (1, 3, 5, 5)"):  # fmt: skip
        fastconv.conv2d_backward(np.ones((1, 3, 5, 5)), x, w)
    with _raises(ValueError, "conv2d_backward: expected grad_output of shape (3, 5, 5) (the "
                 "output of the forward convolution for these arguments), got grad_output of "
                 "shape (1, 3, 5, 5)"):  # fmt: skip
        fastconv.conv2d_backward(np.ones((1, 3, 5, 5)), x[0], w, padding="same")
    with _raises(ValueError, "conv2d_backward: expected needs to be a collection of 'input', "
                 "'weight', 'bias', got needs=('input', 'grad')"):  # fmt: skip
        fastconv.conv2d_backward(np.ones((1, 3, 3, 3)), x, w, needs=("input", "grad"))
    with _raises(ValueError, "conv2d_backward: given groups=2, expected weight.shape[0] (3) to "
                 "be divisible by 2"):  # fmt: skip
        fastconv.conv2d_backward(np.ones((1, 3, 3, 3)), x, w, groups=2)
    with _raises(ValueError, "conv2d_backward: padding_mode='reflect' needs padding < input "
                 "size along each padded axis, got padding ((5, 5), (5, 5)) for input of "
                 "spatial shape (5, 5)"):  # fmt: skip
        fastconv.conv2d_backward(np.ones((1, 3, 3, 3)), x, w, padding=5, padding_mode="reflect")
    with _raises(TypeError, "conv2d_backward: expected grad_output to have a real floating "
                 "(float16/32/64), integer or bool dtype, got dtype <U1"):  # fmt: skip
        fastconv.conv2d_backward(np.full((1, 3, 3, 3), "a"), x, w)
    with _raises(ValueError, "conv2d_input: expected input_shape to be a sequence of 3 or 4 "
                 "non-negative ints, got input_shape=(2, 5, 5, 5, 1)"):  # fmt: skip
        fastconv.conv2d_input((2, 5, 5, 5, 1), w, np.ones((1, 3, 3, 3)))
    with _raises(TypeError, "conv2d_input: expected input_shape to be a sequence of 3 or 4 ints, "
                 "got input_shape=5"):  # fmt: skip
        fastconv.conv2d_input(5, w, np.ones((1, 3, 3, 3)))
    with _raises(TypeError, "conv2d_weight: expected weight_shape to be an integer, got "
                 "weight_shape=(3, 2, 3, 3.0)"):  # fmt: skip
        fastconv.conv2d_weight(x, (3, 2, 3, 3.0), np.ones((1, 3, 3, 3)))


def test_both_gradients_share_gemm_where_grad_weight_takes_it() -> None:
    """W9's rule: with both gradients asked for, grad_input follows grad_weight onto gemm (the
    fused form); asked alone, grad_input takes the forward rule's choice (Winograd here)."""
    from fastconv._spec import normalize_conv
    from fastconv.algorithms import Method
    from fastconv.grad import backward_methods

    f4 = np.dtype("float32")
    geo = normalize_conv("conv2d", 2, (8, 64, 56, 56), f4, (64, 64, 3, 3), f4, None, None,
                         1, 1, 1, 1, "zeros")  # fmt: skip
    (mi, why), (mw, _) = backward_methods(geo)
    assert (mi, mw) == (Method.GEMM, Method.GEMM) and "one window matrix" in why
    (mi, _), _ = backward_methods(geo, needs=frozenset({"input"}))
    assert mi is Method.WINOGRAD
    (mi, _), (mw, _) = backward_methods(geo, "direct")
    assert (mi, mw) == (Method.DIRECT, Method.DIRECT)
