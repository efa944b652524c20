"""The benchmark's structure, not its timings: the table and JSON of a tiny ``--quick`` run,
the roofline model, ``--check-choice`` on tiny problems, the charts (read back with Pillow),
and the fixed list of random geometries."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fastconv import bench
from fastconv._bench import choice, plot
from fastconv._bench.measure import Result, peak_extra_bytes
from fastconv._bench.roofline import Roofline, measure_bandwidth_gbs, measure_peak_gflops

ROOT = Path(__file__).resolve().parents[1]


def read_png(path: Path) -> Image.Image:
    with Image.open(path) as img:
        assert img.format == "PNG"
        img.load()
        return img


# ------------------------------------------------------------------------- the main table


def test_quick_run_prints_every_column_and_writes_json_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json, out_png = tmp_path / "bench.json", tmp_path / "ratios.png"
    argv = ["--workloads", "W0", "--quick", "--gap", "0", "--repeats", "1"]
    assert bench.main([*argv, "--json", str(out_json), "--plot", str(out_png)]) == 0
    text = capsys.readouterr().out
    assert "roofline: float32 np.matmul peak" in text and "GB/s" in text
    header = next(ln for ln in text.splitlines() if ln.startswith("workload "))
    for column in bench.report.SUMMARY_HEADERS:
        assert column in header
    row = next(ln for ln in text.splitlines() if ln.startswith("W0 "))
    assert " direct " in row and "x " in row

    doc = json.loads(out_json.read_text())
    assert doc["roofline"]["peak_gflops"] > 0 and doc["roofline"]["bandwidth_gbs"] > 0
    assert doc["settings"]["quick"] is True and doc["machine"]["cpu_count"] >= 1
    (summary,) = doc["summary"]
    assert summary["row"] == "W0" and summary["call"] == "fastconv" and summary["ok"]
    assert summary["method"] == "direct" and summary["reason"]
    assert summary["max_rel_err"] < 1e-6 and summary["error_bound"] == 1e-5
    assert summary["best_peer"] and summary["ratio"] > 0
    assert summary["flops"] == 2 * 4 * 9 and summary["gflops"] > 0
    assert 0 < summary["roofline_fraction"] < 1
    assert summary["peak_bytes"] >= 4 * 4  # at least the 2x2 float32 output
    (workload,) = doc["workloads"]
    assert workload["workload"]["name"] == "W0"
    assert {r["impl"] for r in workload["results"]} >= {"fastconv", "scipy.correlate2d"}
    assert read_png(out_png).size[0] > 200


def test_summary_rows_have_one_row_per_fastconv_call() -> None:
    wl = next(w for w in bench.WORKLOADS if w.name == "W1s")
    fc = Result("fastconv.filter_image", times_s=[0.002], rel_err=1e-7, method="direct")
    sig = Result("fastconv.correlate2d", times_s=[0.004], rel_err=1e-7)
    peer = Result("cv2.filter2D", times_s=[0.001], rel_err=1e-7)
    rep = bench.WorkloadReport(wl, [fc, sig, peer])
    rows = bench.report.summary_rows([rep], Roofline(100.0, 10.0))
    assert [r["row"] for r in rows] == ["W1s filter_image", "W1s correlate2d"]
    assert [r["ratio"] for r in rows] == [2.0, 4.0]
    assert rows[0]["gflops"] == pytest.approx(wl.flops() / 0.002 / 1e9)
    table = bench.format_summary(rows)
    assert "W1s filter_image" in table and "2.00x" in table and "4.00x" in table


def test_accuracy_check_holds_fastconv_to_its_method_bound() -> None:
    """Within the peers' 1e-3 but over the method's documented bound: a failure."""
    assert Result("fastconv", rel_err=5e-5, bound=1e-4).ok
    assert not Result("fastconv", rel_err=5e-5, bound=1e-5).ok
    assert Result("cv2.filter2D", rel_err=5e-4).ok and not Result("x", rel_err=2e-3).ok


def test_gap_modes_sleep_or_spin() -> None:
    import time

    from fastconv._bench import measure

    previous = measure.set_gap_mode("spin")
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        measure.idle(0.05)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert wall >= 0.05 and cpu >= 0.03  # busy: the thread used the CPU while waiting
    finally:
        measure.set_gap_mode(previous)
    with pytest.raises(ValueError, match="expected one of"):
        measure.set_gap_mode("nap")


# ------------------------------------------------------------------------- roofline


def test_roofline_model() -> None:
    roof = Roofline(peak_gflops=200.0, bandwidth_gbs=20.0)
    assert roof.ridge == 10.0
    assert roof.attainable_gflops(1.0) == 20.0  # memory-bound: intensity x bandwidth
    assert roof.attainable_gflops(10.0) == 200.0  # at the ridge both roofs agree
    assert roof.attainable_gflops(1e3) == 200.0  # compute-bound: the peak
    # 1 GFLOP moving 1 GB (intensity 1) in 0.1 s: 10 of the attainable 20 GFLOP/s
    assert roof.fraction(1e9, 1e9, 0.1) == pytest.approx(0.5)
    # 10 GFLOP moving 10 MB in 0.1 s: 100 of the peak 200
    assert roof.fraction(1e10, 1e7, 0.1) == pytest.approx(0.5)


def test_workload_flops_and_bytes() -> None:
    w4, w9 = (next(w for w in bench.WORKLOADS if w.name == n) for n in ("W4", "W9"))
    macs = 8 * 64 * 56 * 56 * 64 * 9
    assert w4.macs() == macs and w4.flops() == 2 * macs
    x, w, out = 8 * 64 * 56 * 56, 64 * 64 * 9, 8 * 64 * 56 * 56
    assert w4.min_bytes() == 4 * (x + w + out)
    assert w9.flops() == 4 * macs  # grad_input and grad_weight
    assert w9.min_bytes() == 4 * (2 * x + 2 * w + out)
    w10 = next(w for w in bench.WORKLOADS if w.name == "W10")
    assert w10.flops() == 2 * 2048 * 2048 * 225  # the direct algorithm's count
    assert w10.min_bytes() == 4 * (2 * 2048 * 2048 + 225)


def test_roofs_are_measured() -> None:
    assert measure_peak_gflops(n=128, repeats=1) > 0
    assert measure_bandwidth_gbs(mib=4, repeats=1, threads=2) > 0


def test_peak_extra_bytes_sees_numpy_allocations() -> None:
    nbytes = peak_extra_bytes(lambda: np.ones(1 << 18))  # 2 MiB of float64
    assert 2 << 20 <= nbytes < (2 << 20) + (64 << 10)


# ------------------------------------------------------------------------- check-choice

TINY = [
    choice.ConvCase("T1", (1, 1, 128, 128), (1, 1, 3, 3), padding="same", rank1=True),
    choice.ConvCase("T2", (2, 4, 9), (6, 2, 3), stride=2, dilation=2, groups=2),
]


def test_check_choice_on_two_tiny_geometries() -> None:
    problems = [choice.conv_problem(case) for case in TINY]
    reports = choice.check_choice(problems, repeats=1, gap=0.0, min_sample=0.0)
    assert [r.name for r in reports] == ["T1", "T2"]
    rank1, one_d = reports
    assert rank1.chosen == "separable"  # the plan sees a rank-1 kernel
    assert {r.impl for r in rank1.results} >= {"direct", "gemm", "separable"}
    skipped = {r.impl: r.skipped for r in one_d.results if r.skipped}
    assert "does not apply" in skipped["separable"]  # a 1-D kernel: ValueError
    for rep in reports:
        assert rep.fastest in rep.timed() and rep.chosen in rep.timed()
        assert rep.ratio >= 1.0 and rep.within == (rep.ratio <= choice.TOLERANCE)
        assert not any(r.error for r in rep.results)
    stats = choice.summary(reports)
    assert stats["problems"] == 2 and stats["within"] == sum(r.within for r in reports)
    assert stats["fraction"] == stats["within"] / 2
    text = bench.report.format_choice_summary(reports, stats)
    assert "T1" in text and "T2" in text and "of 2 problems" in text


def test_check_choice_cli_on_w0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json, out_png = tmp_path / "choice.json", tmp_path / "choice.png"
    argv = ["--check-choice", "--workloads", "W0", "--geometries", "none", "--quick", "--gap",
            "0", "--repeats", "1", "--json", str(out_json), "--plot", str(out_png)]  # fmt: skip
    assert bench.main(argv) == 0
    text = capsys.readouterr().out
    assert "chosen within 1.3x of the fastest method on" in text and "of 1 problems" in text
    doc = json.loads(out_json.read_text())
    (problem,) = doc["problems"]  # one sample each: whether auto is within 1.3x is noise here
    assert problem["problem"] == "W0" and problem["chosen"] == "direct"
    assert problem["ratio"] >= 1.0
    assert problem["fastest"] in ("direct", "gemm", "separable", "depthwise")
    assert doc["check_choice"]["problems"] == 1
    read_png(out_png)


def test_method_names_reads_plan_candidates() -> None:
    class Plan:
        candidates = (("gemm", 1.0), ("direct", 2.0))

    import fastconv

    every = [m.value for m in fastconv.Method]
    names = choice.method_names(Plan())
    assert names[:2] == ["gemm", "direct"] and sorted(names) == sorted(every)
    assert choice.method_names(None) == every  # no plan: every fastconv.Method


def test_geometries_option_needs_check_choice() -> None:
    with pytest.raises(SystemExit) as exc:
        bench.main(["--geometries", "G01"])
    assert exc.value.code == 2


# ------------------------------------------------------------------------- the geometries


def test_random_geometries_are_thirty_fixed_and_listed_in_bench() -> None:
    cases = choice.random_geometries()
    assert len(cases) == 30 and cases == choice.random_geometries()
    assert [c.name for c in cases] == [f"G{i:02d}" for i in range(1, 31)]
    assert choice.read_geometries((ROOT / "bench" / "geometries.json").read_text()) == cases
    assert {c.ndim for c in cases} == {1, 2, 3}
    assert any(c.groups > 1 and c.w_shape[1] == 1 for c in cases)  # depthwise
    assert any(1 < c.groups < c.x_shape[1] for c in cases)  # grouped
    assert any(c.rank1 for c in cases) and any(c.padding == "same" for c in cases)
    assert {c.stride for c in cases} == {1, 2, 3} and {c.dilation for c in cases} == {1, 2, 3}
    kernels = [k for c in cases for k in c.w_shape[2:]]
    assert min(kernels) == 1 and max(kernels) >= 21
    for c in cases:
        assert choice.MIN_MACS <= c.macs() <= choice.MAX_MACS
        x, w = c.inputs()
        assert x.shape == c.x_shape and w.shape == c.w_shape and w.dtype == np.float32


def test_conv_case_output_shape_matches_fastconv() -> None:
    import fastconv

    for c in choice.random_geometries()[:10]:
        p = fastconv.plan(np.zeros(c.x_shape, np.float32), np.zeros(c.w_shape, np.float32),
                          stride=c.stride, padding=c.padding, dilation=c.dilation,
                          groups=c.groups)  # fmt: skip
        assert p.output_shape[2:] == c.out_spatial()


# ------------------------------------------------------------------------- charts


def test_bar_chart_is_a_png(tmp_path: Path) -> None:
    path = plot.bar_chart(
        tmp_path / "sub" / "bars.png", ["W0", "W1", "W2 missing"], [3.0, 0.5, None],
        title="ratios", axis_label="ratio", reference_label="same speed",
    )  # fmt: skip
    img = read_png(path)
    assert img.mode == "RGB" and img.size[1] > 100
    colours = {c for _, c in img.getcolors(1 << 16)}
    assert plot.FASTER in colours and plot.SLOWER in colours  # one bar on each side


def test_scaling_plot_is_a_png(tmp_path: Path) -> None:
    points = [
        {"series": "W1", "x": s, "fastconv_s": 1e-3 * s / 256, "peer_s": 2e-3 * s / 256,
         "best_peer": "cv2.filter2D"}
        for s in (256, 512, 1024)
    ] + [{"series": "W4", "x": n, "fastconv_s": 0.01 * n, "peer_s": None, "best_peer": None}
         for n in (1, 2)]  # fmt: skip
    img = read_png(bench.plot_scaling(tmp_path / "scaling.png", points))
    assert img.size == (1200, 480)


def test_log_ticks() -> None:
    assert plot.log_ticks(0.3, 12) == [0.5, 1.0, 2.0, 5.0, 10.0]
    assert plot.log_ticks(0.9, 1.6) == [1.0, 1.1, 1.2, 1.3, 1.5]
    assert all(math.isfinite(t) for t in plot.log_ticks(1e-4, 1e4))


def test_scaling_series() -> None:
    series = bench.scaling_series()
    assert [wl.x_shape for wl in series["W1"]] == [(s, s) for s in bench.SCALING_SIDES]
    assert [wl.x_shape[0] for wl in series["W4"]] == list(bench.SCALING_BATCHES)
    assert series["W1"][0].name == "W1@256" and series["W4"][-1].x_shape == (64, 64, 56, 56)
    quick = bench.scaling_series(quick=True)
    assert max(wl.x_shape[0] for wl in quick["W4"]) <= 8
