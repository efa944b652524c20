"""The separable algorithm in ``conv2d``: against the oracle, and chosen from the weight values.

A rank-1 kernel ``outer(u, v)`` runs as a row pass and a column pass. ``method="auto"`` picks
it per call when the geometry allows it (one input channel per output, one filter per group,
at least 9 taps) and every kernel is of rank 1; the plan cache is keyed on shapes, so a
cached plan must never carry "separable" over to other weights of the same shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from support import assert_close

import fastconv
from fastconv import kernels
from fastconv.algorithms import separable
from fastconv.reference import conv_reference


def rank_one(rng: np.random.Generator, count: int, kh: int, kw: int) -> np.ndarray:
    """``count`` rank-1 kernels, shaped ``(count, 1, kh, kw)``."""
    return np.stack(
        [np.outer(rng.standard_normal(kh), rng.standard_normal(kw)) for _ in range(count)]
    )[:, None]


def pads_of(padding, kh, kw):
    p = (padding, padding) if isinstance(padding, int) else padding
    return ((p[0], p[0]), (p[1], p[1]))


@pytest.mark.jitless
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("kernel", "stride", "dilation", "padding", "mode"),
    [
        ((5, 5), 1, 1, 2, "zeros"),
        ((4, 3), (2, 1), 1, (1, 2), "zeros"),
        ((2, 7), 1, (2, 1), 3, "reflect"),
        ((7, 2), 3, 2, (4, 1), "circular"),
        ((3, 3), 2, 1, 0, "replicate"),
        ((6, 6), 1, 1, 5, "zeros"),  # padding wider than half the kernel: rows of zeros
        ((5, 4), 1, 3, (6, 0), "symmetric"),
        ((11, 13), 1, 1, (5, 6), "reflect"),  # five taps and shared rows per pass, then three
        ((6, 10), 1, 1, (3, 5), "zeros"),  # exactly one, two blocks of five
    ],
)
def test_forced_separable_matches_the_oracle(dtype, kernel, stride, dilation, padding, mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 13, 11)).astype(dtype)
    w = rank_one(rng, 3, *kernel).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=3, padding_mode=mode)
    out = fastconv.conv2d(x, w, b, method="separable", **args)
    st_ = (stride, stride) if isinstance(stride, int) else stride
    di = (dilation, dilation) if isinstance(dilation, int) else dilation
    ref = conv_reference(x, w, b, st_, pads_of(padding, *kernel), di, 3, mode)
    assert out.dtype == dtype
    assert_close(out, ref, dtype)


def test_one_channel_into_several_filters() -> None:
    """C/groups == 1 with several filters per group: separable when forced."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 9, 10))
    w = rank_one(rng, 6, 4, 5)  # groups=2: three filters per input channel
    out = fastconv.conv2d(x, w, padding=2, groups=2, method="separable")
    assert_close(out, conv_reference(x, w, None, 1, ((2, 2), (2, 2)), 1, 2))
    assert fastconv.plan(x, w, padding=2, groups=2).method != "separable"  # auto: gemm's case


def test_auto_picks_separable_for_rank_one_kernels_and_says_why() -> None:
    x = np.random.default_rng(3).standard_normal((1, 128, 128)).astype(np.float32)
    g = kernels.gaussian(7)[None, None].astype(np.float32)
    p = fastconv.plan(x, g, padding="same")
    assert p.method == "separable"
    assert (
        p.reason == "rank-1 7x7 kernel: two 1-D passes, 14 instead of 49 multiply-adds per output"
    )
    assert str(p).startswith("method: separable (rank-1 7x7 kernel")
    out = fastconv.conv2d(x, g, padding="same")
    assert_close(out, conv_reference(x[None], g, None, 1, ((3, 3), (3, 3)))[0], np.float32)
    direct = fastconv.conv2d(x, g, padding="same", method="direct")
    assert np.abs(out - direct).max() <= 1e-5 * np.abs(direct).max()


@pytest.mark.parametrize(
    ("shape", "kwargs", "why"),
    [
        ((1, 1, 2, 4), {}, "2x4: fewer than 9 taps"),
        ((1, 1, 1, 15), {}, "a single row"),
        ((4, 1, 5, 5), {"groups": 2}, "two filters per group"),
        ((2, 2, 5, 5), {}, "two input channels per output"),
    ],
)
def test_auto_does_not_look_where_separable_cannot_pay(shape, kwargs, why) -> None:
    c = shape[1] * kwargs.get("groups", 1)
    x = np.zeros((1, c, 20, 20))
    w = np.ones(shape)  # rank 1 everywhere
    assert fastconv.plan(x, w, **kwargs).method != "separable", why


def test_full_rank_or_degenerate_weights_stay_direct() -> None:
    x = np.random.default_rng(4).standard_normal((1, 1, 132, 132))  # 128x128 outputs
    cases = {
        "laplacian of Gaussian": kernels.laplacian_of_gaussian(5, 1.0),
        "identity": np.eye(5),
        "zeros": np.zeros((5, 5)),
        "NaN": np.full((5, 5), np.nan),
    }
    for name, w in cases.items():
        p = fastconv.plan(x, w[None, None])
        assert p.method == "direct", name
        assert p.reason.endswith("(kernel not of rank 1)"), name


def test_depthwise_layers_stay_depthwise_whatever_the_rank() -> None:
    """The depthwise algorithm beat separable on depthwise layers (see separable_candidate)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 16, 16))
    for w in (rank_one(rng, 2, 5, 5), np.stack([np.ones((5, 5)), np.eye(5)])[:, None]):
        assert fastconv.plan(x, w, groups=2).method == "depthwise"


def test_the_plan_cache_never_carries_separable_to_other_weights() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 1, 128, 128))
    w_rank1 = rank_one(rng, 1, 5, 5)
    w_full = rng.standard_normal((1, 1, 5, 5))
    for first, second in ((w_rank1, w_full), (w_full, w_rank1)):
        fastconv.conv2d(x, first, padding=2)
        out = fastconv.conv2d(x, second, padding=2)
        assert_close(out, conv_reference(x, second, None, 1, ((2, 2), (2, 2))))
        out = fastconv.conv2d(x, second, padding=2)
        assert_close(out, conv_reference(x, second, None, 1, ((2, 2), (2, 2))))
    assert fastconv.plan(x, w_full, padding=2).method == "direct"
    assert fastconv.plan(x, w_rank1, padding=2).method == "separable"


def test_forcing_separable_on_other_kernels_or_geometries_is_an_error() -> None:
    x = np.zeros((1, 2, 8, 8))
    with pytest.raises(ValueError, match=r"^conv2d: method='separable' needs every kernel to "
                       r"be of rank 1 .* got weight\[1, 0\] with ratio"):  # fmt: skip
        fastconv.conv2d(x, np.stack([np.ones((3, 3)), np.eye(3)])[:, None], groups=2,
                        method="separable")  # fmt: skip
    with pytest.raises(ValueError, match=r"^conv2d: method='separable' needs each output to "
                       r"read one input channel .* weight of shape \(4, 2, 3, 3\)"):  # fmt: skip
        fastconv.plan(x, np.ones((4, 2, 3, 3)), method="separable")
    with pytest.raises(ValueError, match=r"^conv1d: method='separable' needs a 2-D kernel"):
        fastconv.conv1d(np.zeros((1, 8)), np.ones((1, 1, 3)), method="separable")
    with pytest.raises(ValueError, match=r"^conv3d: method='separable' needs a 2-D kernel"):
        fastconv.conv3d(np.zeros((1, 4, 4, 4)), np.ones((1, 1, 2, 2, 2)), method="separable")


def test_forced_separable_plan_says_so() -> None:
    p = fastconv.plan(np.zeros((1, 9, 9)), np.ones((1, 1, 3, 3)), method="separable")
    assert p.method == "separable" and p.reason == "forced by method='separable'"


def test_pool_path_gives_the_serial_result(monkeypatch) -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 2, 40, 33)).astype(np.float32)
    w = rank_one(rng, 2, 5, 6).astype(np.float32)
    serial = fastconv.conv2d(x, w, padding=3, groups=2, method="separable")
    monkeypatch.setattr(separable, "PARALLEL_MIN_MACS", 0)
    assert np.array_equal(fastconv.conv2d(x, w, padding=3, groups=2, method="separable"), serial)
    single = fastconv.conv2d(x[:, :1], w[:1], padding=3, method="separable")  # rows split
    assert np.array_equal(single, serial[:, :1])


def test_factors_are_exact_for_integer_kernels() -> None:
    u, v = separable.factors(kernels.sobel_x())
    np.testing.assert_array_equal(np.outer(u, v), kernels.sobel_x())
    u, v = separable.factors(np.stack([kernels.prewitt_y(), kernels.box(3)]))
    np.testing.assert_allclose(u[..., :, None] * v[..., None, :],
                               np.stack([kernels.prewitt_y(), kernels.box(3)]))  # fmt: skip


@settings(max_examples=50)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    kernel=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pad=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_drawn_depthwise_problems(n, c, size, kernel, stride, dilation, pad, dtype, seed):
    rng = np.random.default_rng(seed)
    pads = ((pad[0], pad[0]), (pad[1], pad[1]))
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    assume(all(e <= s + 2 * p for e, s, p in zip(extent, size, pad)))  # the kernel fits
    x = rng.standard_normal((n, c, *size)).astype(dtype)
    w = rank_one(rng, c, *kernel).astype(dtype)
    out = fastconv.conv2d(x, w, None, stride, pad, dilation, c, method="separable")
    ref = conv_reference(x, w, None, stride, pads, dilation, c)
    scale = conv_reference(np.abs(x), np.abs(w), None, stride, pads, dilation, c)
    assert_close(out, ref, dtype, typical=float(np.max(scale, initial=0)) / max(w[0].size, 1))


# --------------------------------------------------------------------------------------------
# kernels of rank r > 1: r pairs of 1-D passes


def rank_r(rng: np.random.Generator, rank: int, kh: int, kw: int) -> np.ndarray:
    """One ``(1, 1, kh, kw)`` kernel: a sum of ``rank`` random outer products."""
    return np.einsum("rh,rw->hw", rng.standard_normal((rank, kh)), rng.standard_normal((rank, kw)))[
        None, None
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("rank", "kernel", "stride", "dilation", "padding"),
    [
        (2, (11, 11), 1, 1, "same"),
        (2, (11, 13), 2, 1, ((1, 4), (6, 0))),
        (3, (15, 15), (1, 2), 1, 7),
        (2, (12, 11), 1, 2, 0),
        (3, (16, 15), 2, (2, 1), "same"),
    ],
)
def test_rank_r_kernels_match_reference(dtype, rank, kernel, stride, dilation, padding) -> None:
    rng = np.random.default_rng(rank + kernel[0])
    # planes of SINGLE_DIRECT_MIN_POSITIONS outputs or more (smaller ones run depthwise)
    x = rng.standard_normal((1, 1, 280, 270)).astype(dtype)
    w = rank_r(rng, rank, *kernel).astype(dtype)
    p = fastconv.plan(x, w, None, stride, padding, dilation)
    assert p.method == "separable"
    kh, kw = kernel
    assert p.reason == (
        f"rank-{rank} {kh}x{kw} kernel: {rank} pairs of 1-D passes, {rank * (kh + kw)} instead "
        f"of {kh * kw} multiply-adds per output"
    )
    out = fastconv.conv2d(x, w, None, stride, padding, dilation)
    ref = fastconv.conv2d(x.astype(np.float64), w.astype(np.float64), None, stride, padding,
                          dilation, method="direct")  # fmt: skip
    assert_close(out, ref, dtype)
    pads = p.geometry.spec.padding
    assert_close(out, conv_reference(x, w, None, stride, pads, dilation), dtype)


def test_rank_r_in_blocks_of_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pairs after the first add a few rows at a time when the block is small."""
    monkeypatch.setattr(separable, "PAIR_BLOCK_VALUES", 64)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 1, 130, 130))
    w = rank_r(rng, 3, 15, 15)
    out = fastconv.conv2d(x, w, padding=7)
    assert_close(out, conv_reference(x, w, None, 1, ((7, 7), (7, 7))))


def test_rank_r_is_taken_only_where_it_pays() -> None:
    rng = np.random.default_rng(10)
    x = np.zeros((1, 1, 140, 140))
    # kernels the register tiles do not take run depthwise unless the pairs pay
    assert fastconv.plan(x, rank_r(rng, 2, 7, 7)).method == "depthwise"  # 28 of 49: 57 %
    assert fastconv.plan(x, rank_r(rng, 4, 11, 11)).method == "depthwise"  # 88 of 121
    full = rng.standard_normal((1, 1, 11, 11))
    assert fastconv.plan(x, full).method == "depthwise"  # full rank
    assert fastconv.plan(x, rank_r(rng, 2, 11, 11)).method == "separable"
    # forced, the separable method still takes rank-1 kernels only
    with pytest.raises(ValueError, match="method='separable' needs every kernel to be of rank 1"):
        fastconv.conv2d(x, rank_r(rng, 2, 11, 11), method="separable")
