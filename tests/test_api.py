"""Behaviour of the public API: array-likes, no mutation, dtypes, NaN/inf, empty and unbatched
inputs, string padding, plans, and agreement with the reference oracle on hand-picked cases.

Results are compared with :func:`fastconv.reference.conv_reference` (always given explicit
``(before, after)`` pairs) within 1e-12 (float64) or 1e-5 (float32) of ``max|reference|``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from support import assert_close, tf_same_pads

import fastconv
from fastconv import algorithms
from fastconv.reference import conv_reference

FUNCS = {1: fastconv.conv1d, 2: fastconv.conv2d, 3: fastconv.conv3d}
METHODS = ["direct", "gemm"]
MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]
parametrize_method = pytest.mark.parametrize("method", METHODS)


def problem(nd, n=2, c=3, o=4, size=7, k=3, groups=1, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, *(size,) * nd)).astype(dtype)
    w = rng.standard_normal((o, c // groups, *(k,) * nd)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    return x, w, b


# --------------------------------------------------------------------------------------------
# (a) any array-like behaves as its contiguous copy


class Wrapped:
    """A minimal array-like: only ``__array__``."""

    def __init__(self, a):
        self._a = a

    def __array__(self, dtype=None, copy=None):
        return np.array(self._a, dtype=dtype, copy=True)


def _strided(a):
    """The values of ``a`` as a view with a step of 2 on the last axis."""
    big = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), dtype=a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


FORMS = {
    "list": lambda a: a.tolist(),
    "tuple": lambda a: tuple(a.tolist()),
    "strided": _strided,
    "fortran": np.asfortranarray,
    "readonly": _readonly,
    "reversed": lambda a: a[..., ::-1].copy()[..., ::-1],
    "big-endian": lambda a: a.astype(a.dtype.newbyteorder(">")),
    "broadcast": lambda a: np.broadcast_to(a, a.shape),  # read-only view
    "wrapped": Wrapped,
}


@parametrize_method
@pytest.mark.parametrize("arg", ["input", "weight", "bias"])
@pytest.mark.parametrize("form", list(FORMS))
def test_array_like_equals_contiguous_copy(method, arg, form):
    x, w, b = problem(2, size=6)
    args = {"input": x, "weight": w, "bias": b}
    want = fastconv.conv2d(x.copy(), w.copy(), b.copy(), padding=1, method=method)
    args[arg] = FORMS[form](args[arg])
    got = fastconv.conv2d(args["input"], args["weight"], args["bias"], padding=1, method=method)
    assert got.dtype == np.float64
    assert_close(got, want)


@parametrize_method
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_strided_views_of_every_operand_at_once(method, dtype):
    """Slices like ``x[:, :, ::2]`` of larger arrays, all three operands together."""
    rng = np.random.default_rng(1)
    big_x = rng.standard_normal((3, 6, 14, 9)).astype(dtype)
    big_w = rng.standard_normal((8, 3, 3, 6)).astype(dtype, order="F")
    big_b = rng.standard_normal(8).astype(dtype)
    x = big_x[::2, 1::2, ::2, ::-1]  # (2, 3, 7, 9)
    w = big_w[::2, :, :, 1::2]  # (4, 3, 3, 3)
    b = big_b[::-2]
    assert not (x.flags.c_contiguous or w.flags.c_contiguous or b.flags.c_contiguous)
    got = fastconv.conv2d(x, w, b, stride=(1, 2), padding=(1, 0), method=method)
    want = fastconv.conv2d(
        np.ascontiguousarray(x),
        np.ascontiguousarray(w),
        np.ascontiguousarray(b),
        stride=(1, 2),
        padding=(1, 0),
        method=method,
    )
    assert got.dtype == dtype
    assert_close(got, want, dtype)
    ref = conv_reference(x, w, b, (1, 2), ((1, 1), (0, 0)))
    assert_close(got, ref, dtype)


def test_nested_lists_everywhere():
    """The doctest-style call: plain Python lists for every operand, unbatched."""
    got = fastconv.conv1d([[1, 2, 3, 4, 5]], [[[1, 0, -1]]], [0.5])
    np.testing.assert_array_equal(got, [[-1.5, -1.5, -1.5]])
    assert got.dtype == np.float64


# --------------------------------------------------------------------------------------------
# (b) inputs are never modified


@parametrize_method
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int32])
def test_inputs_not_modified(method, mode, dtype):
    x, w, b = problem(2, size=5)
    x, w, b = (a.astype(dtype) for a in (x * 4, w * 4, b * 4))
    copies = [a.copy() for a in (x, w, b)]
    out = fastconv.conv2d(
        x, w, b, stride=(2, 1), padding=(2, (1, 3)), padding_mode=mode, method=method
    )
    for before, after in zip(copies, (x, w, b)):
        np.testing.assert_array_equal(after, before)
        assert after.dtype == before.dtype
        assert after.flags.writeable
        assert not np.shares_memory(out, after)


@parametrize_method
@pytest.mark.parametrize("nd", [1, 3])
def test_inputs_not_modified_unbatched(method, nd):
    x, w, b = problem(nd, size=4)
    x = x[0]
    copies = [a.copy() for a in (x, w, b)]
    FUNCS[nd](x, w, b, padding=1, padding_mode="reflect", method=method)
    for before, after in zip(copies, (x, w, b)):
        np.testing.assert_array_equal(after, before)


# --------------------------------------------------------------------------------------------
# (c) dtype rules


@parametrize_method
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_and_float64_are_kept(method, dtype):
    x, w, b = problem(2, dtype=dtype)
    got = fastconv.conv2d(x, w, b, padding=1, method=method)
    assert got.dtype == dtype
    assert_close(got, conv_reference(x, w, b, 1, ((1, 1), (1, 1))), dtype)


@parametrize_method
@pytest.mark.parametrize("with_bias", [False, True])
def test_float16_computed_in_float32(method, with_bias):
    x, w, b = problem(2, dtype=np.float16)
    b = b if with_bias else None
    got = fastconv.conv2d(x, w, b, padding=1, method=method)
    assert got.dtype == np.float16
    want = fastconv.conv2d(
        x.astype(np.float32),
        w.astype(np.float32),
        None if b is None else b.astype(np.float32),
        padding=1,
        method=method,
    ).astype(np.float16)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("x_dtype", "w_dtype", "b_dtype", "result"),
    [
        (np.int8, np.int8, None, np.float64),
        (np.int32, np.int64, np.int16, np.float64),
        (np.uint8, np.uint16, None, np.float64),
        (np.uint64, np.uint8, None, np.float64),
        (np.bool_, np.bool_, None, np.float64),
        (np.bool_, np.int8, np.bool_, np.float64),
        (np.float32, np.float64, None, np.float64),
        (np.float64, np.float32, np.float32, np.float64),
        (np.float32, np.float32, np.float64, np.float64),
        (np.float32, np.int32, None, np.float64),
        (np.float32, np.float32, np.int8, np.float64),
        (np.uint8, np.float32, None, np.float64),
        (np.float16, np.float32, None, np.float32),
        (np.float32, np.float16, np.float16, np.float32),
        (np.float16, np.float16, np.float16, np.float16),
        (np.float16, np.float64, None, np.float64),
        (np.float16, np.int8, None, np.float64),
    ],
)
@parametrize_method
def test_dtype_promotion(method, x_dtype, w_dtype, b_dtype, result):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 2, (2, 3, 6, 5)).astype(x_dtype)
    w = rng.integers(0, 2, (4, 3, 3, 2)).astype(w_dtype)
    b = None if b_dtype is None else rng.integers(0, 2, 4).astype(b_dtype)
    got = fastconv.conv2d(x, w, b, padding=(1, 0), method=method)
    assert got.dtype == result
    plan = fastconv.plan(x, w, b, padding=(1, 0), method=method)
    assert plan.geometry.result_dtype == result
    assert plan.geometry.compute_dtype == (np.float32 if result == np.float16 else result)
    # small integers: every dtype computes these sums exactly
    np.testing.assert_array_equal(got, conv_reference(x, w, b, 1, ((1, 1), (0, 0))))


@parametrize_method
def test_integer_input_not_truncated(method):
    """Integer operands give float64 results, not integer arithmetic."""
    x = np.array([[[1, 2, 3, 4]]], dtype=np.int64)
    w = np.array([[[1, 1]]], dtype=np.int64)
    got = fastconv.conv1d(x, w, [0.5], method=method)
    np.testing.assert_array_equal(got, [[[3.5, 5.5, 7.5]]])
    assert got.dtype == np.float64


# --------------------------------------------------------------------------------------------
# (d) NaN and inf reach exactly the outputs whose window holds them

NONFINITE_CASES = [
    # nd, x shape, weight shape, stride, padding pairs, dilation, groups, padding_mode
    pytest.param(1, (2, 2, 17), (3, 2, 3), 2, ((2, 1),), 2, 1, "zeros", id="1d-s2-d2"),
    pytest.param(
        2, (1, 3, 9, 8), (2, 3, 3, 2), (2, 1), ((1, 1), (0, 2)), (1, 2), 1, "zeros", id="2d"
    ),
    pytest.param(2, (1, 4, 7, 6), (4, 2, 3, 3), 1, ((2, 2), (1, 1)), 1, 2, "reflect", id="2d-g2"),
    pytest.param(2, (2, 2, 6, 7), (3, 2, 2, 3), 3, ((2, 0), (3, 3)), 1, 1, "circular", id="2d-c"),
    pytest.param(2, (1, 2, 5, 6), (2, 2, 3, 3), 1, ((1, 2), (2, 1)), 1, 1, "replicate", id="rep"),
    pytest.param(
        3, (1, 2, 5, 5, 4), (2, 2, 2, 3, 2), 1, ((1, 1),) * 3, (2, 1, 1), 1, "symmetric", id="3d"
    ),
]


def _nonfinite_operands(shape, w_shape, dtype, value, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    spots = rng.choice(flat.size, size=3, replace=False)
    flat[spots] = value
    x.reshape(-1)[-1] = value  # the last element: a corner
    w = rng.uniform(0.5, 1.5, w_shape)  # positive, so that +inf stays +inf
    return x.astype(dtype), w.astype(dtype)


def _reached(mask, w_shape, stride, pads, dilation, groups, mode):
    """Outputs whose window contains a True of ``mask``: the reference with a ones kernel."""
    hits = conv_reference(
        mask.astype(np.float64), np.ones(w_shape), None, stride, pads, dilation, groups, mode
    )
    return hits > 0


@parametrize_method
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("nd", "shape", "w_shape", "stride", "pads", "dilation", "groups", "mode"), NONFINITE_CASES
)
def test_nan_propagates_exactly(
    method, dtype, nd, shape, w_shape, stride, pads, dilation, groups, mode
):
    x, w = _nonfinite_operands(shape, w_shape, dtype, np.nan, seed=nd)
    got = FUNCS[nd](x, w, None, stride, pads, dilation, groups, padding_mode=mode, method=method)
    expected_nan = _reached(np.isnan(x), w_shape, stride, pads, dilation, groups, mode)
    assert expected_nan.any() and not expected_nan.all()
    np.testing.assert_array_equal(np.isnan(got), expected_nan)
    # everywhere else the value is the NaN-free one
    clean = conv_reference(np.nan_to_num(x, nan=0.0), w, None, stride, pads, dilation, groups, mode)
    assert_close(np.where(expected_nan, 0.0, got), np.where(expected_nan, 0.0, clean), dtype)


@parametrize_method
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("nd", "shape", "w_shape", "stride", "pads", "dilation", "groups", "mode"), NONFINITE_CASES
)
def test_inf_propagates_exactly(
    method, dtype, nd, shape, w_shape, stride, pads, dilation, groups, mode
):
    x, w = _nonfinite_operands(shape, w_shape, dtype, np.inf, seed=nd + 10)
    got = FUNCS[nd](x, w, None, stride, pads, dilation, groups, padding_mode=mode, method=method)
    expected_inf = _reached(np.isinf(x), w_shape, stride, pads, dilation, groups, mode)
    assert expected_inf.any() and not expected_inf.all()
    assert not np.isnan(got).any()
    np.testing.assert_array_equal(np.isposinf(got), expected_inf)
    clean = conv_reference(
        np.where(np.isinf(x), 0.0, x), w, None, stride, pads, dilation, groups, mode
    )
    assert_close(np.where(expected_inf, 0.0, got), np.where(expected_inf, 0.0, clean), dtype)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize(
    ("method", "padding"),
    [("direct", 0), ("gemm", 0), ("direct", 1), ("gemm", 1)],
)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_weight_poisons_its_output_channel_only(method, padding, bad):
    """Every output of channel 1 multiplies the bad tap (0 * inf is nan too)."""
    x, w, b = problem(2, size=6)
    w[1, 0, 0, 0] = bad
    got = fastconv.conv2d(x, w, b, padding=padding, method=method)
    ref = conv_reference(x, w, b, 1, ((padding, padding),) * 2)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
    assert not np.isfinite(got[:, 1]).any()
    assert np.isfinite(np.delete(got, 1, axis=1)).all()


# --------------------------------------------------------------------------------------------
# (e) empty arrays


@parametrize_method
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_empty_batch(method, nd, dtype):
    x, w, b = problem(nd, n=0, size=5, dtype=dtype)
    got = FUNCS[nd](x, w, b, stride=2, padding=1, method=method)
    assert got.shape == (0, 4, *(3,) * nd)
    assert got.dtype == dtype
    assert fastconv.plan(x, w, b, stride=2, padding=1).output_shape == got.shape


@parametrize_method
@pytest.mark.parametrize("batched", [True, False])
def test_zero_output_channels(method, batched):
    x, _, _ = problem(2, size=5)
    x = x if batched else x[0]
    w = np.zeros((0, 3, 3, 3))
    got = fastconv.conv2d(x, w, np.zeros(0), method=method)
    assert got.shape == (*x.shape[:-3], 0, 3, 3)
    assert got.dtype == np.float64


@parametrize_method
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_input_channels_gives_bias(method, dtype):
    x = np.zeros((2, 0, 6, 5), dtype=dtype)
    w = np.zeros((3, 0, 3, 2), dtype=dtype)
    b = np.array([1.5, -2.0, 0.25], dtype=dtype)
    got = fastconv.conv2d(x, w, b, padding=(1, 0), method=method)
    assert got.shape == (2, 3, 6, 4)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.broadcast_to(b[None, :, None, None], got.shape))
    no_bias = fastconv.conv2d(x, w, padding=(1, 0), method=method)
    np.testing.assert_array_equal(no_bias, np.zeros((2, 3, 6, 4)))


# --------------------------------------------------------------------------------------------
# (f) unbatched input


@parametrize_method
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("mode", ["zeros", "circular"])
def test_unbatched_equals_batched(method, nd, mode):
    x, w, b = problem(nd, n=1, c=4, o=2, size=5, groups=2)
    got = FUNCS[nd](x[0], w, b, 2, 1, 1, 2, padding_mode=mode, method=method)
    want = FUNCS[nd](x, w, b, 2, 1, 1, 2, padding_mode=mode, method=method)
    assert got.shape == want.shape[1:]
    np.testing.assert_array_equal(got, want[0])
    plan = fastconv.plan(x[0], w, b, 2, 1, 1, 2, padding_mode=mode, method=method)
    assert plan.output_shape == got.shape


# --------------------------------------------------------------------------------------------
# (g) string and per-dim padding


@parametrize_method
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("s", [1, 2, 3])
def test_same_padding_1d(method, k, s):
    rng = np.random.default_rng(k * 10 + s)
    for size in (7, 8, 9):
        for d in (1, 2):
            x = rng.standard_normal((2, 2, size))
            w = rng.standard_normal((3, 2, k))
            got = fastconv.conv1d(x, w, stride=s, dilation=d, padding="same", method=method)
            assert got.shape == (2, 3, math.ceil(size / s))
            pads = (tf_same_pads(size, k, s, d),)
            assert fastconv.plan(x, w, stride=s, dilation=d, padding="same").spec.padding == pads
            assert_close(got, conv_reference(x, w, None, s, pads, d))


@parametrize_method
@pytest.mark.parametrize("mode", MODES)
def test_same_padding_2d_modes(method, mode):
    x, w, b = problem(2, size=9)
    w = w[..., :2]  # (4, 3, 3, 2): an odd and an even kernel size
    stride, dilation = (2, 3), (2, 1)
    got = fastconv.conv2d(x, w, b, stride, "same", dilation, padding_mode=mode, method=method)
    assert got.shape == (2, 4, 5, 3)
    pads = (tf_same_pads(9, 3, 2, 2), tf_same_pads(9, 2, 3, 1))
    assert_close(got, conv_reference(x, w, b, stride, pads, dilation, 1, mode))


@parametrize_method
def test_same_padding_stride_1_keeps_size(method):
    for nd in (1, 2, 3):
        x, w, _ = problem(nd, size=6, k=4)
        assert FUNCS[nd](x, w, padding="same", method=method).shape == (2, 4, *(6,) * nd)


@parametrize_method
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_valid_equals_zero_padding(method, nd):
    x, w, b = problem(nd, size=6)
    np.testing.assert_array_equal(
        FUNCS[nd](x, w, b, 2, "valid", method=method), FUNCS[nd](x, w, b, 2, 0, method=method)
    )


@parametrize_method
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("mode", ["zeros", "reflect"])
def test_padding_forms_are_equivalent(method, nd, mode):
    x, w, b = problem(nd, size=5)
    per_dim = (1, 2, 0)[:nd]
    pairs = tuple((p, p) for p in per_dim)

    def conv(padding):
        return FUNCS[nd](x, w, b, padding=padding, padding_mode=mode, method=method)

    want = conv(pairs)
    np.testing.assert_array_equal(conv(per_dim), want)
    np.testing.assert_array_equal(conv(list(per_dim)), want)
    np.testing.assert_array_equal(conv([list(p) for p in pairs]), want)
    np.testing.assert_array_equal(conv(np.array(pairs)), want)
    np.testing.assert_array_equal(conv(2), conv(((2, 2),) * nd))
    assert_close(want, conv_reference(x, w, b, 1, pairs, 1, 1, mode))


# --------------------------------------------------------------------------------------------
# (h) plan


PLAN_CASES = [
    pytest.param(2, {}, id="tiny"),
    pytest.param(2, {"c": 8, "o": 8, "size": 12}, id="multi-channel"),
    pytest.param(1, {"c": 1, "o": 1, "size": 300}, id="single-channel"),
    pytest.param(3, {"c": 4, "o": 4, "groups": 4, "size": 6}, id="depthwise"),
]


@pytest.mark.parametrize(("nd", "shape"), PLAN_CASES)
@pytest.mark.parametrize("method", ["auto", *METHODS])
@pytest.mark.parametrize("batched", [True, False])
def test_plan_describes_the_call(monkeypatch, nd, shape, method, batched):
    groups = shape.get("groups", 1)
    x, w, b = problem(nd, **shape)
    x = x if batched else x[0]
    kwargs = {"stride": 2, "padding": 1, "groups": groups, "method": method}
    plan = fastconv.plan(x, w, b, **kwargs)
    assert isinstance(plan, fastconv.Plan)
    assert plan.method in (fastconv.Method.DIRECT, fastconv.Method.GEMM)
    assert isinstance(plan.reason, str) and plan.reason.strip()
    if method == "auto":
        assert not plan.reason.startswith("forced")
    else:
        assert plan.method == method
        assert plan.reason == f"forced by method={method!r}"
    assert plan.geometry.batched is batched
    assert plan.spec.stride == (2,) * nd
    assert plan.spec.padding == ((1, 1),) * nd
    assert plan.spec.groups == groups

    ran = []
    real_get = algorithms.get

    def recording_get(m):
        ran.append(m)
        return real_get(m)

    monkeypatch.setattr(algorithms, "get", recording_get)
    out = FUNCS[nd](x, w, b, **kwargs)
    assert out.shape == plan.output_shape
    assert out.dtype == plan.geometry.result_dtype
    assert ran == [plan.method]  # the planned algorithm is the one that runs
    text = str(plan)
    assert str(plan.method) in text and str(plan.geometry.output_shape) in text


def test_plan_is_deterministic_and_list_tuple_agnostic():
    x, w, b = problem(2)
    p1 = fastconv.plan(x, w, b, stride=(2, 1), padding=((1, 0), (2, 2)), dilation=2)
    p2 = fastconv.plan(x, w, b, stride=(2, 1), padding=((1, 0), (2, 2)), dilation=2)
    p3 = fastconv.plan(x.copy(), w.copy(), b.copy(), [2, 1], [[1, 0], [2, 2]], [2, 2])
    assert p1 == p2 == p3
    assert fastconv.plan(x, w, b, method="gemm") != fastconv.plan(x, w, b, method="direct")


def test_plan_computes_nothing(monkeypatch):
    """A 64 GiB problem is planned instantly from zero-stride views, without allocating."""

    def tripwire(*args, **kwargs):
        raise AssertionError("plan ran an algorithm")

    monkeypatch.setattr(algorithms, "get", tripwire)
    x = np.broadcast_to(np.float32(0), (64, 256, 1024, 1024))
    w = np.broadcast_to(np.float32(0), (256, 256, 3, 3))
    plan = fastconv.plan(x, w, stride=2, padding="same")
    assert plan.output_shape == (64, 256, 512, 512)
    assert plan.geometry.compute_dtype == np.float32


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        ({"stride": 2}, {"stride": 2.0}),
        ({"stride": (2, 2)}, {"stride": (2, 2.0)}),
        ({"stride": np.array([2, 2])}, {"stride": np.array([2.0, 2.0])}),
        ({"dilation": 1}, {"dilation": True}),
        ({"dilation": (1, 1)}, {"dilation": (1, np.True_)}),
        ({"groups": 1}, {"groups": True}),
        ({"groups": 1}, {"groups": 1.0}),
        ({"padding": 1}, {"padding": 1.0}),
        ({"padding": ((1, 1), (0, 1))}, {"padding": ((1, 1), (0, 1.0))}),
        ({"padding": 1}, {"padding": True}),
    ],
    ids=lambda d: repr(next(iter(d.values()))),
)
@pytest.mark.parametrize("func", ["plan", "conv2d"])
def test_plan_cache_does_not_accept_equal_but_invalid_values(good, bad, func):
    """2 == 2.0 and 1 == True, but only the int is valid: the cache must not answer for it."""
    fn = getattr(fastconv, func)
    x, w, _ = problem(2)
    fn(x, w, **good)
    fn(x, w, **good)  # now certainly cached
    (name,) = bad
    with pytest.raises(TypeError, match=rf"^conv2d: expected {name} to be an integer"):
        fn(x, w, **bad)


# --------------------------------------------------------------------------------------------
# (i) hand-picked cases: literal values, both methods, the reference

TUTORIAL_IMAGE = np.arange(1.0, 17.0).reshape(4, 4)
TUTORIAL_KERNEL = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
EDGE_KERNEL = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])


def _check_all(got_by_method, want, ref):
    for got in got_by_method:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ref, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("kernel", "kwargs", "pads", "want"),
    [
        pytest.param(TUTORIAL_KERNEL, {}, ((0, 0), (0, 0)), [[30, 35], [50, 55]], id="tutorial"),
        pytest.param(
            TUTORIAL_KERNEL,
            {"padding": 1},
            ((1, 1), (1, 1)),
            [[7, 14, 17, 11], [17, 30, 35, 22], [29, 50, 55, 34], [23, 34, 37, 27]],
            id="tutorial-pad1",
        ),
        pytest.param(EDGE_KERNEL, {}, ((0, 0), (0, 0)), [[-6, -6], [-6, -6]], id="edge"),
        pytest.param(np.ones((3, 3)), {}, ((0, 0), (0, 0)), [[54, 63], [90, 99]], id="box"),
        pytest.param(
            EDGE_KERNEL,
            {"padding": 1},
            ((1, 1), (1, 1)),
            [[-8, -4, -4, 10], [-18, -6, -6, 21], [-30, -6, -6, 33], [-24, -4, -4, 26]],
            id="edge-pad1",
        ),
        pytest.param(
            np.ones((3, 3)),
            {"padding": 1, "stride": 2},
            ((1, 1), (1, 1)),
            [[14, 30], [57, 99]],
            id="box-pad1-stride2",
        ),
        pytest.param(
            np.ones((2, 2)), {"dilation": 2}, ((0, 0), (0, 0)), [[24, 28], [40, 44]], id="dil2"
        ),
        pytest.param(
            np.ones((3, 3)),
            {"padding": ((0, 0), (0, 1)), "stride": (1, 2)},
            ((0, 0), (0, 1)),
            [[54, 45], [90, 69]],
            id="asymmetric",
        ),
    ],
)
def test_tutorial_image(kernel, kwargs, pads, want):
    """The tutorial's 4×4 image ``1..16``; expected values computed by hand."""
    x = TUTORIAL_IMAGE[None]  # (C, H, W)
    w = kernel[None, None]
    got = [fastconv.conv2d(x, w, method=m, **kwargs)[0] for m in METHODS]
    stride = kwargs.get("stride", 1)
    dilation = kwargs.get("dilation", 1)
    ref = conv_reference(x[None], w, None, stride, pads, dilation)[0, 0]
    _check_all(got, np.array(want, dtype=float), ref)


@pytest.mark.parametrize(
    ("mode", "pad", "want"),
    [
        # x = [1, 2, 3, 4], k = [1, 1, 1]; the padded signal is written out in the comment
        ("zeros", 1, [3, 6, 9, 7]),  # 0 1 2 3 4 0
        ("reflect", 1, [5, 6, 9, 10]),  # 2 1 2 3 4 3
        ("reflect", 2, [6, 5, 6, 9, 10, 9]),  # 3 2 1 2 3 4 3 2
        ("replicate", 2, [3, 4, 6, 9, 11, 12]),  # 1 1 1 2 3 4 4 4
        ("circular", 1, [7, 6, 9, 8]),  # 4 1 2 3 4 1
        ("circular", 4, [6, 9, 8, 7, 6, 9, 8, 7, 6, 9]),  # 1 2 3 4 | 1 2 3 4 | 1 2 3 4
        ("symmetric", 1, [4, 6, 9, 11]),  # 1 1 2 3 4 4
        ("symmetric", 2, [4, 4, 6, 9, 11, 11]),  # 2 1 1 2 3 4 4 3
    ],
)
def test_padding_modes_by_hand(mode, pad, want):
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    w = np.ones((1, 1, 3))
    got = [fastconv.conv1d(x, w, padding=pad, padding_mode=mode, method=m)[0, 0] for m in METHODS]
    ref = conv_reference(x, w, None, 1, ((pad, pad),), 1, 1, mode)[0, 0]
    _check_all(got, np.array(want, dtype=float), ref)


def test_groups_and_bias_by_hand():
    """Two groups, one filter each: channel sums of 0..5 and 6..11, plus the bias."""
    x = np.arange(12.0).reshape(1, 2, 6)
    w = np.array([[[1.0, 1.0]], [[1.0, -1.0]]])  # (O=2, C/groups=1, k=2)
    b = np.array([100.0, -100.0])
    want = np.array([[[101, 103, 105, 107, 109], [-101, -101, -101, -101, -101]]], dtype=float)
    got = [fastconv.conv1d(x, w, b, groups=2, method=m) for m in METHODS]
    _check_all(got, want, conv_reference(x, w, b, 1, ((0, 0),), 1, 2))


@pytest.mark.parametrize(
    ("nd", "shape", "stride", "pads", "dilation", "mode"),
    [
        (1, {"c": 4, "o": 6, "size": 13, "k": 4, "groups": 2}, 3, ((2, 1),), 2, "zeros"),
        (2, {"c": 3, "o": 5, "size": 8, "k": 3}, (2, 1), ((0, 2), (1, 1)), (1, 2), "zeros"),
        (2, {"c": 6, "o": 6, "size": 7, "k": 3, "groups": 6}, 1, ((1, 1), (2, 0)), 1, "reflect"),
        (2, {"c": 4, "o": 8, "size": 32, "k": 3}, 1, ((1, 1), (1, 1)), 1, "zeros"),  # threaded
        (3, {"c": 2, "o": 3, "size": 5, "k": 2}, (1, 2, 1), ((1, 0), (0, 1), (1, 1)), 2, "zeros"),
        (3, {"c": 4, "o": 2, "size": 4, "k": 3, "groups": 2}, 2, ((1, 1),) * 3, 1, "circular"),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_methods_agree_with_reference(nd, shape, stride, pads, dilation, mode, dtype):
    groups = shape.get("groups", 1)
    x, w, b = problem(nd, dtype=dtype, seed=nd, **shape)
    ref = conv_reference(x, w, b, stride, pads, dilation, groups, mode)
    results = {
        m: FUNCS[nd](x, w, b, stride, pads, dilation, groups, padding_mode=mode, method=m)
        for m in ("auto", *METHODS)
    }
    for got in results.values():
        assert got.dtype == dtype
        assert_close(got, ref, dtype)
    assert_close(results["direct"], results["gemm"], dtype)


# --------------------------------------------------------------------------------------------
# (j) workspace_limit


def test_workspace_limit_restores_on_exit_and_on_exception():
    before = fastconv.get_workspace_limit()
    with fastconv.workspace_limit(4096):
        assert fastconv.get_workspace_limit() == 4096
        with fastconv.workspace_limit(8192):
            assert fastconv.get_workspace_limit() == 8192
        assert fastconv.get_workspace_limit() == 4096
    assert fastconv.get_workspace_limit() == before

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with fastconv.workspace_limit(2048):
            assert fastconv.get_workspace_limit() == 2048
            raise Boom
    assert fastconv.get_workspace_limit() == before

    with pytest.raises(ValueError):  # an error from the convolution inside the block
        with fastconv.workspace_limit(1024):
            fastconv.conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)))
    assert fastconv.get_workspace_limit() == before


def test_set_workspace_limit_returns_previous():
    before = fastconv.get_workspace_limit()
    try:
        assert fastconv.set_workspace_limit(10_000) == before
        assert fastconv.set_workspace_limit(20_000) == 10_000
    finally:
        fastconv.set_workspace_limit(before)
    assert fastconv.get_workspace_limit() == before
