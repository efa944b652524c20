"""The ``method="auto"`` rule: a pure function of shapes, with measured thresholds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fastconv
from fastconv._dispatch import GEMM_MIN_WORK, THRESHOLDS

F32 = np.float32


def method_for(x_shape, w_shape, **kwargs) -> str:
    return fastconv.plan(np.zeros(x_shape, F32), np.zeros(w_shape, F32), **kwargs).method.value


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kwargs", "expected"),
    [
        ((1, 1, 4, 4), (1, 1, 3, 3), {}, "direct"),  # W0: the tutorial
        ((1, 1, 512, 512), (1, 1, 3, 3), {}, "direct"),  # W1: single-filter filtering
        ((8, 128, 56, 56), (128, 1, 3, 3), {"groups": 128, "padding": 1}, "depthwise"),  # W6
        ((8, 64, 56, 56), (64, 64, 3, 3), {"padding": 1}, "winograd"),  # W4
        ((8, 64, 56, 56), (64, 64, 3, 3), {"padding": 1, "stride": 2}, "gemm"),  # W5-like
        ((8, 256, 28, 28), (64, 256, 1, 1), {}, "gemm"),  # W7: pointwise
        ((8, 3, 224, 224), (64, 3, 7, 7), {"stride": 2, "padding": 3}, "gemm"),  # W8
        ((2, 8, 9, 9), (8, 2, 3, 3), {"groups": 4}, "direct"),  # 2 filters x 18 = 36 < 48
        ((2, 8, 9, 9), (24, 2, 3, 3), {"groups": 4}, "gemm"),  # 6 filters x 18 >= 48
        ((2, 4, 9, 9), (24, 1, 3, 3), {"groups": 4}, "depthwise"),  # C/groups == 1
    ],
)
def test_auto_rule(x_shape, w_shape, kwargs, expected) -> None:
    assert method_for(x_shape, w_shape, **kwargs) == expected


def test_integer_inputs_stay_exact() -> None:
    p = fastconv.plan(np.zeros((8, 64, 56, 56), np.int16), np.zeros((64, 64, 3, 3), np.int16),
                      padding=1)  # fmt: skip
    assert p.method == "gemm"
    assert ("winograd" in [m for m, _ in p.candidates]) and p.candidates[0][0] == "winograd"


def test_large_kernel_takes_the_fft() -> None:
    assert method_for((1, 1, 1024, 1024), (1, 1, 31, 31)) == "fft"


def test_plan_lists_candidates_with_predictions() -> None:
    p = fastconv.plan(np.zeros((8, 64, 56, 56), F32), np.zeros((64, 64, 3, 3), F32), padding=1)
    names = [m.value for m, _ in p.candidates]
    assert set(names) == {"direct", "gemm", "winograd", "winograd_f2", "fft"}
    times = [t for _, t in p.candidates]
    assert times == sorted(times) and all(t > 0 for t in times)
    assert "candidates: winograd" in str(p)


def test_every_cost_names_its_provenance_script() -> None:
    from fastconv._dispatch import COSTS

    root = Path(__file__).resolve().parents[1]
    assert (root / "bench" / "cost_model.py").exists()
    script = (root / "bench" / "cost_model.py").read_text()
    for name, (value, provenance) in COSTS.items():
        assert value > 0 and provenance, name
        assert name in script, name  # the script measures (and documents) every constant


@pytest.mark.parametrize("method", ["winograd", "winograd_f2"])
def test_winograd_refuses_other_geometries(method: str) -> None:
    x, w = np.zeros((1, 2, 8, 8)), np.zeros((2, 2, 3, 3))
    with pytest.raises(ValueError, match=f"conv2d: method='{method}' needs stride 1"):
        fastconv.conv2d(x, w, stride=2, method=method)
    with pytest.raises(ValueError, match="needs a 3x3 kernel, got 5x5"):
        fastconv.conv2d(x, np.zeros((2, 2, 5, 5)), method=method)
    with pytest.raises(ValueError, match="needs a 3x3 kernel, got 1x3"):
        fastconv.conv1d(x[0, :, 0], w[:, :, 0], method=method)


def test_fft_refuses_strides() -> None:
    with pytest.raises(ValueError, match="conv2d: method='fft' needs stride 1 and dilation 1"):
        fastconv.conv2d(np.zeros((1, 8, 8)), np.zeros((1, 1, 3, 3)), dilation=2, method="fft")


def test_rule_boundary_is_the_threshold() -> None:
    below = method_for((1, 2, 8, 8), (GEMM_MIN_WORK // 4 - 1, 2, 1, 2))  # work = 4*(T/4 - 1)
    at = method_for((1, 2, 8, 8), (GEMM_MIN_WORK // 4, 2, 1, 2))  # work = T
    assert (below, at) == ("direct", "gemm")


@pytest.mark.parametrize("method", ["direct", "gemm"])
def test_forced_method_overrides_and_says_so(method: str) -> None:
    p = fastconv.plan(np.zeros((8, 64, 8, 8)), np.zeros((64, 64, 3, 3)), method=method)
    assert p.method == method
    assert p.reason == f"forced by method={method!r}"


def test_every_threshold_names_its_provenance_script() -> None:
    root = Path(__file__).resolve().parents[1]
    for name, (value, provenance) in THRESHOLDS.items():
        assert value > 0, name
        scripts = [word for word in provenance.split() if word.startswith("bench/")]
        assert scripts and all((root / s).exists() for s in scripts), (name, provenance)


def test_plan_prints_method_reason_and_geometry() -> None:
    text = str(fastconv.plan(np.zeros((2, 3, 10, 10)), np.zeros((4, 3, 3, 3)), padding="same"))
    assert text.splitlines()[0].startswith("method: ")
    assert "padding=((1, 1), (1, 1))" in text and "output (2, 4, 10, 10)" in text


def test_rates_measured_on_both_threads_scale_with_the_thread_count() -> None:
    """GEMM and Winograd's products were measured on two threads: on one thread they take
    twice as long, so W4 stays on Winograd (gemm took 28.6 ms there, Winograd 16.6 ms)."""
    from fastconv._dispatch import COSTS, choose_method, predict
    from fastconv._spec import normalize_conv
    from fastconv._threads import num_threads, set_num_threads
    from fastconv.algorithms import Method

    f4 = np.dtype("float32")
    geo = normalize_conv("conv2d", 2, (8, 64, 56, 56), f4, (64, 64, 3, 3), f4, None, None,
                         1, 1, 1, 1, "zeros")  # fmt: skip
    call = COSTS["CALL_S"][0]
    one, two = predict(Method.GEMM, geo, 1), predict(Method.GEMM, geo, 2)
    assert one - call == pytest.approx(2 * (two - call))
    previous = set_num_threads(1)
    try:
        assert num_threads() == 1 and choose_method(geo)[0] is Method.WINOGRAD
    finally:
        set_num_threads(previous)
