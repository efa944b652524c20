"""fastconv.autotune: measured choice per geometry, its cache file, and the model without it.

The timer is replaced by a table of seconds per method, so every outcome is deterministic;
the outputs are still computed by every candidate and checked against the reference.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support import assert_close

import fastconv
from fastconv import _autotune
from fastconv.algorithms import Method
from fastconv.reference import conv_reference

RNG = np.random.default_rng(7)
X = RNG.standard_normal((2, 4, 10, 10))
W = RNG.standard_normal((6, 4, 3, 3))


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Autotuning off, nothing tuned, the default file under ``tmp_path``; restored after."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(_autotune, "_TUNED", {})
    monkeypatch.setattr(_autotune, "_enabled", False)
    monkeypatch.setattr(_autotune, "_default_loaded", False)


@pytest.fixture
def timer(monkeypatch: pytest.MonkeyPatch):
    """``timer({method: seconds})``: what the measurement says; records what it timed."""
    timed: list[Method] = []

    def install(seconds: dict[str, float]) -> list[Method]:
        timed.clear()

        def measure(method: Method, call) -> float:
            call()
            timed.append(method)
            return seconds.get(method.value, 1.0)

        monkeypatch.setattr(_autotune, "_measure", measure)
        return timed

    return install


def model_choice() -> Method:
    return fastconv.plan(X, W).method


def test_a_tuned_geometry_runs_the_measured_winner(timer) -> None:
    timed = timer({"fft": 1e-4, "direct": 2e-4, "gemm": 3e-4})
    assert model_choice() is not Method.FFT
    with fastconv.autotune():
        out = fastconv.conv2d(X, W)
        assert_close(out, conv_reference(X, W))
        assert set(timed) == {Method.DIRECT, Method.GEMM, Method.WINOGRAD,
                              Method.WINOGRAD_F2, Method.FFT}  # fmt: skip
        p = fastconv.plan(X, W)
        assert p.method is Method.FFT
        assert p.reason.startswith("autotuned: fft 0.1 ms against direct 0.2 ms, gemm 0.3 ms")
        timed.clear()
        fastconv.conv2d(X, W)  # tuned once per geometry
        assert timed == []
        assert list(fastconv.autotune_cache().values()) == ["fft"]


def test_autotune_off_restores_the_models_choice(timer) -> None:
    timer({"fft": 1e-4})
    model = fastconv.plan(X, W)
    assert fastconv.autotune(True) is not None
    fastconv.conv2d(X, W)
    assert fastconv.plan(X, W).method is Method.FFT
    assert fastconv.autotune(False)  # it was on
    off = fastconv.plan(X, W)
    assert (off.method, off.reason) == (model.method, model.reason)


def test_plan_says_when_a_geometry_is_not_measured_yet(timer) -> None:
    timed = timer({})
    with fastconv.autotune():
        p = fastconv.plan(X, W)
    assert p.reason.endswith("(autotune: not measured yet, the next call is)")
    assert timed == []  # plan never runs anything


def test_forced_methods_never_tune(timer) -> None:
    timed = timer({"fft": 1e-4})
    with fastconv.autotune():
        fastconv.conv2d(X, W, method="gemm")
    assert timed == [] and fastconv.autotune_cache() == {}


def test_a_candidate_whose_output_disagrees_is_discarded(timer, monkeypatch) -> None:
    from fastconv import algorithms

    def wrong(x, w, out, canon) -> None:
        out[...] = 0.0

    monkeypatch.setitem(algorithms._registry, Method.WINOGRAD, wrong)
    timer({"winograd": 1e-5, "gemm": 2e-5})
    with fastconv.autotune():
        assert_close(fastconv.conv2d(X, W), conv_reference(X, W))
        p = fastconv.plan(X, W)
    assert p.method is Method.GEMM
    assert p.reason.endswith("(output disagreed: winograd)")


def test_integer_inputs_tune_among_the_exact_methods_only(timer) -> None:
    timed = timer({"fft": 1e-6, "winograd": 1e-6, "gemm": 1e-4})
    xi, wi = (X * 10).astype(np.int64), (W * 10).astype(np.int64)
    with fastconv.autotune():
        out = fastconv.conv2d(xi, wi)
    assert set(timed) <= {Method.DIRECT, Method.GEMM}
    assert np.array_equal(out, conv_reference(xi, wi))


def test_a_rank_one_kernel_also_times_separable(timer) -> None:
    timed = timer({"separable": 1e-3, "direct": 1e-4})
    x = RNG.standard_normal((1, 1, 130, 130))  # 128x128 outputs: direct's tiles or separable
    rank1 = np.outer([1.0, 2.0, 1.0], [1.0, 0.0, -1.0])[None, None]
    full = RNG.standard_normal((1, 1, 3, 3))
    assert fastconv.plan(x, rank1).method is Method.SEPARABLE
    with fastconv.autotune():
        assert_close(fastconv.conv2d(x, rank1), conv_reference(x, rank1))
        assert Method.SEPARABLE in timed
        assert fastconv.plan(x, rank1).method is Method.DIRECT  # measured faster
        timed.clear()
        fastconv.conv2d(x, full)  # same shapes, not rank 1: tuned apart, without separable
        assert timed and Method.SEPARABLE not in timed
    assert len(fastconv.autotune_cache()) == 2


def test_the_cache_round_trips_through_a_file(timer, tmp_path: Path) -> None:
    timer({"fft": 1e-4})
    with fastconv.autotune():
        fastconv.conv2d(X, W)
        path = fastconv.save_autotune(tmp_path / "tuned.json")
        saved = fastconv.autotune_cache()
        fastconv.clear_autotune()
        assert fastconv.autotune_cache() == {}
        assert fastconv.load_autotune(path) == 1
        assert fastconv.autotune_cache() == saved
        timed = timer({})
        fastconv.conv2d(X, W)
        assert timed == []  # the loaded winner runs without measuring
        assert fastconv.plan(X, W).reason.startswith("autotuned: fft 0.1 ms")


def test_turning_autotune_on_loads_the_default_file(timer) -> None:
    timer({"fft": 1e-4})
    with fastconv.autotune():
        fastconv.conv2d(X, W)
    path = fastconv.save_autotune()
    assert path == fastconv.autotune_path() and path.exists()
    assert path.parts[-2:] == ("fastconv", "autotune.json")
    fastconv.clear_autotune()
    _autotune._default_loaded = False  # as in a new process
    with fastconv.autotune():
        assert fastconv.plan(X, W).method is Method.FFT


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "not JSON"),
        ('{"format": "something else"}', "not a fastconv-autotune file"),
        ("foreign", "saved on another machine or version"),
        ("malformed", "entry 'k' is malformed"),
    ],
)
def test_a_corrupt_or_foreign_file_is_ignored_with_a_warning(
    tmp_path: Path, content: str, why: str
) -> None:
    path = tmp_path / "tuned.json"
    doc = {"format": "fastconv-autotune", "version": 1, "fingerprint": _autotune.fingerprint()}
    if content == "foreign":
        doc["fingerprint"] = {**doc["fingerprint"], "cpu": "another CPU"}
        doc["entries"] = {"k": {"method": "fft", "seconds": {"fft": 1.0}}}
        content = json.dumps(doc)
    elif content == "malformed":
        doc["entries"] = {"k": {"method": "no such method", "seconds": {}}}
        content = json.dumps(doc)
    path.write_text(content)
    with pytest.warns(UserWarning, match=f"load_autotune: ignored {path}: {why}"):
        assert fastconv.load_autotune(path) == 0
    assert fastconv.autotune_cache() == {}


def test_load_autotune_needs_an_existing_explicit_file(tmp_path: Path) -> None:
    assert fastconv.load_autotune() == 0  # no default file yet: nothing to load
    with pytest.raises(FileNotFoundError):
        fastconv.load_autotune(tmp_path / "missing.json")


def test_autotune_refuses_a_non_bool() -> None:
    with pytest.raises(TypeError, match=r"^autotune: expected enabled to be a bool, got "):
        fastconv.autotune("yes")  # type: ignore[arg-type]


def test_the_key_separates_thread_counts_and_dtypes() -> None:
    from fastconv._spec import normalize_conv

    f4, f8 = np.dtype("float32"), np.dtype("float64")
    geo4 = normalize_conv("conv2d", 2, X.shape, f4, W.shape, f4, None, None, 1, 0, 1, 1, "zeros")
    geo8 = normalize_conv("conv2d", 2, X.shape, f8, W.shape, f8, None, None, 1, 0, 1, 1, "zeros")
    keys = {
        _autotune.geometry_key("conv2d", geo4, False, 1),
        _autotune.geometry_key("conv2d", geo4, False, 2),
        _autotune.geometry_key("conv2d", geo8, False, 2),
        _autotune.geometry_key("conv2d", geo8, True, 2),
    }
    assert len(keys) == 4
