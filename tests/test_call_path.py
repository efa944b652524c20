"""The per-call hot path: a plan found before any conversion, the rank-1 answer remembered per
plan, and one compiled call for small direct problems -- never at the cost of a wrong plan."""

from __future__ import annotations

import numpy as np
import pytest
from support import assert_close

import fastconv
from fastconv import _core, functional
from fastconv.algorithms import Method
from fastconv.reference import conv_reference

IMAGE = np.arange(1, 17, dtype=np.float32).reshape(1, 1, 4, 4)  # the W0 benchmark call
KERNEL = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=np.float32)[None, None]


@pytest.fixture
def methods_run(monkeypatch: pytest.MonkeyPatch) -> list[Method]:
    """The methods that went through ``conv_general`` (the short path does not)."""
    seen: list[Method] = []
    real = functional.conv_general

    def spy(x, w, b, geo, method, lay):
        seen.append(method)
        return real(x, w, b, geo, method, lay)

    monkeypatch.setattr(functional, "conv_general", spy)
    monkeypatch.setattr(_core, "conv_general", spy)  # where the short path hands over
    return seen


def cached_plan(x, w, b=None, **kwargs) -> functional.Plan:
    """The plan that ``conv2d(x, w, b, **kwargs)`` leaves in the cache."""
    fastconv.conv2d(x, w, b, **kwargs)
    params = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "padding_mode": "zeros",
              "method": "auto", **kwargs}  # fmt: skip
    return functional._PLANS[functional._plan_key("conv2d", 2, x, w, b, *params.values())]


def test_the_w0_call_takes_the_short_path(methods_run) -> None:
    assert cached_plan(IMAGE, KERNEL).runner is not None
    out = fastconv.conv2d(IMAGE, KERNEL)
    assert out.dtype == np.float32 and methods_run == []
    assert_close(out, conv_reference(IMAGE, KERNEL), np.float32)


@pytest.mark.parametrize(
    ("x", "w", "bias", "kwargs"),
    [
        (IMAGE[0], KERNEL, None, {}),  # unbatched
        (IMAGE, KERNEL, np.array([0.5], np.float32), {}),
        (IMAGE.astype(np.float64), KERNEL.astype(np.float64), None, {"stride": 2}),
        (np.ones((1, 4, 7, 9)), np.ones((4, 2, 2, 3)), None, {"groups": 2, "dilation": 2}),
        (np.ones((3, 1, 8, 12))[:, :, ::2, ::3], np.eye(3)[None, None], None, {}),  # strided
    ],
)
def test_the_short_path_agrees_with_the_reference(x, w, bias, kwargs, methods_run) -> None:
    p = cached_plan(x, w, bias, **kwargs)
    assert p.runner is not None
    out = fastconv.conv2d(x, w, bias, **kwargs)
    assert methods_run == [] or methods_run == [Method.DIRECT]  # the first call may plan
    expected = conv_reference(x if x.ndim == 4 else x[None], w, bias, **kwargs)
    assert_close(out, expected if x.ndim == 4 else expected[0], x.dtype)


@pytest.mark.parametrize(
    "kwargs",
    [{"padding": 1}, {"padding": 1, "padding_mode": "reflect"}],
)
def test_padding_the_windows_read_keeps_the_full_path(kwargs) -> None:
    assert cached_plan(IMAGE, KERNEL, **kwargs).runner is None
    w = KERNEL.copy()
    w[0, 0, 0, 0] = np.inf  # inf meets the zero padding: NaN there, as in PyTorch
    out = fastconv.conv2d(IMAGE, w, **kwargs)
    with np.errstate(invalid="ignore"):  # inf * 0 in the oracle too
        expected = conv_reference(IMAGE, w, **kwargs)
    assert np.array_equal(np.isnan(out), np.isnan(expected))


def test_larger_problems_keep_the_full_path(methods_run) -> None:
    from fastconv._core import SMALL_DIRECT_MACS

    x = np.ones((1, 1, 130, 130), np.float32)  # 128 * 128 * 9 multiply-adds: direct's tiles
    assert 128 * 128 * 9 > SMALL_DIRECT_MACS
    assert cached_plan(x, KERNEL).runner is None
    methods_run.clear()
    assert_close(fastconv.conv2d(x, KERNEL), conv_reference(x, KERNEL), np.float32)
    assert methods_run == [Method.DIRECT]


def test_float16_keeps_the_full_path() -> None:
    p = cached_plan(IMAGE.astype(np.float16), KERNEL.astype(np.float16))
    assert p.runner is None  # computed in float32, cast back
    assert fastconv.conv2d(IMAGE.astype(np.float16), KERNEL).dtype == np.float32


def test_arrays_of_other_dtypes_and_subclasses_never_reuse_a_plan() -> None:
    fastconv.conv2d(IMAGE, KERNEL)  # cached for float32 ndarrays
    swapped = IMAGE.astype(">f4")
    assert_close(fastconv.conv2d(swapped, KERNEL), conv_reference(IMAGE, KERNEL), np.float32)
    with pytest.raises(TypeError, match=r"^conv2d: expected input to have a real floating"):
        fastconv.conv2d(IMAGE.astype(np.complex64), KERNEL)
    masked = np.ma.masked_array(IMAGE, mask=np.zeros(IMAGE.shape, bool))
    out = fastconv.conv2d(masked, KERNEL)
    assert type(out) is np.ndarray
    assert np.array_equal(out, fastconv.conv2d(IMAGE, KERNEL))


def test_the_rank_one_answer_follows_the_weight_values(methods_run) -> None:
    x = np.random.default_rng(0).standard_normal((1, 1, 130, 130)).astype(np.float32)
    full = KERNEL
    rank1 = np.outer([1, 2, 1], [1, 0, -1]).astype(np.float32)[None, None]
    for w, method in [(full, None), (rank1, Method.SEPARABLE), (full, None),
                      (rank1, Method.SEPARABLE)]:  # fmt: skip
        methods_run.clear()
        out = fastconv.conv2d(x, w)
        assert_close(out, conv_reference(x, w), np.float32)
        if method is None:
            assert methods_run in ([], [Method.DIRECT])
        else:
            assert methods_run == [method]
    w = rank1.copy()
    fastconv.conv2d(x, w)
    w[0, 0, 1, 1] = 5.0  # changed in place: no longer of rank 1
    methods_run.clear()
    assert_close(fastconv.conv2d(x, w), conv_reference(x, w), np.float32)
    assert Method.SEPARABLE not in methods_run


def test_read_only_operands_take_the_full_path(methods_run) -> None:
    x, w = IMAGE.copy(), KERNEL.copy()
    x.setflags(write=False)
    w.setflags(write=False)
    assert cached_plan(x, w).runner is not None
    methods_run.clear()
    assert_close(fastconv.conv2d(x, w), conv_reference(IMAGE, KERNEL), np.float32)
    assert methods_run == [Method.DIRECT]
