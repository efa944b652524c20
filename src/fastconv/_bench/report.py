"""Tables and JSON of the benchmark: one workload's details, the summary rows, the machine."""

from __future__ import annotations

import importlib
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from .choice import TOLERANCE, ChoiceReport
from .measure import Result, WorkloadReport
from .roofline import Roofline

MIB = 2**20


def fmt_ms(seconds: float | None) -> str:
    """Milliseconds with 3–4 significant digits, ``-`` for ``None``.

    >>> fmt_ms(0.1234), fmt_ms(0.0012345), fmt_ms(1.2e-5), fmt_ms(None)
    ('123.4', '1.234', '0.0120', '-')
    """
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.1f}" if ms >= 100 else f"{ms:.3f}" if ms >= 1 else f"{ms:.4f}"


def fmt_ratio(ratio: float | None) -> str:
    """``1.23x``, or ``-``."""
    return "-" if ratio is None else f"{ratio:.2f}x"


def _fmt_gflops(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}" if v < 100 else f"{v:.0f}"


def _fmt_pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2g}%" if v < 0.1 else f"{100 * v:.0f}%"


def _fmt_mib(nbytes: int | None) -> str:
    if nbytes is None:
        return "-"
    mib = nbytes / MIB
    return f"{mib:.3g}" if mib < 100 else f"{mib:.0f}"


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    indent: str = "",
    align: str | None = None,
) -> str:
    """Align string cells in columns: first column left-aligned, the others right-aligned.

    Parameters
    ----------
    headers : sequence of str
        Column titles.
    rows : sequence of sequence of str
        Cells. A row shorter than ``headers`` is a note: its first cell goes in the first
        column and the rest is printed after it as is, without widening any column.
    indent : str, optional
        Prefix of every line.
    align : str, optional
        One letter per column, ``l`` (left) or ``r`` (right), instead of the default.

    Returns
    -------
    str
        The table, lines joined by newlines.

    Examples
    --------
    >>> rows = [["a", "1.5", "ok"], ["bb", "10.25", "ok"], ["c", "skipped: no module"]]
    >>> print(format_table(["name", "ms", "check"], rows))
    name     ms  check
    ----  -----  -----
    a       1.5     ok
    bb    10.25     ok
    c     skipped: no module
    """
    align = align or "l" + "r" * (len(headers) - 1)
    widths = [len(h) for h in headers]
    for row in rows:
        cells = row if len(row) == len(headers) else row[:1]
        for i, cell in enumerate(cells):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        if len(cells) < len(headers):
            parts = [cells[0].ljust(widths[0]), *cells[1:]]
        else:
            parts = [
                c.ljust(widths[i]) if align[i] == "l" else c.rjust(widths[i])
                for i, c in enumerate(cells)
            ]
        return (indent + "  ".join(parts)).rstrip()

    out = [line(headers), indent + "  ".join("-" * n for n in widths)]
    out += [line(row) for row in rows]
    return "\n".join(out)


# --------------------------------------------------------------------------- the main table


def summary_rows(reports: Sequence[WorkloadReport], roof: Roofline | None) -> list[dict[str, Any]]:
    """One row per fastconv call and workload: what the summary table, the JSON file and the
    ratio chart show.

    Keys: ``row`` (e.g. ``"W4"``, ``"W1s filter_image"``), ``workload``, ``call``,
    ``fastconv_s``, ``best_peer``, ``peer_s``, ``ratio``, ``gflops`` (effective: 2 x the direct
    algorithm's multiply-adds per second), ``intensity`` (flop/byte), ``attainable_gflops``,
    ``roofline_fraction``, ``method``, ``reason``, ``max_rel_err``, ``error_bound`` (the
    method's documented bound, :func:`fastconv.algorithms.error_bound`), ``ok``, ``peak_bytes``.
    """
    rows = []
    for rep in reports:
        wl, best = rep.workload, rep.best_peer()
        # a fastconv call this build lacks (skipped, not failed) gets no row
        calls = [r for r in rep.fastconv_results() if r.skipped is None or r.error]
        for fc in calls or [None]:
            name = wl.name
            if fc is not None and fc.impl != "fastconv":
                name += " " + fc.impl.removeprefix("fastconv.")
            row: dict[str, Any] = {
                "row": name,
                "workload": wl.name,
                "call": fc.impl if fc else None,
                "fastconv_s": fc.median_s if fc else None,
                "best_peer": best.impl if best else None,
                "peer_s": best.median_s if best else None,
                "ratio": rep.ratio(fc) if fc else None,
                "method": fc.method if fc else None,
                "reason": fc.reason if fc else None,
                "max_rel_err": fc.rel_err if fc else None,
                "error_bound": fc.bound if fc else None,
                "ok": bool(fc and fc.skipped is None and fc.ok),
                "peak_bytes": fc.peak_bytes if fc else None,
            }
            row.update(_rates(wl, fc, roof))
            rows.append(row)
    return rows


def _rates(wl: Any, fc: Result | None, roof: Roofline | None) -> dict[str, float | None]:
    flops, nbytes = wl.flops(), wl.min_bytes()
    t = fc.median_s if fc else None
    intensity = flops / nbytes
    return {
        "flops": flops,
        "min_bytes": nbytes,
        "gflops": flops / t / 1e9 if t else None,
        "intensity": intensity,
        "attainable_gflops": roof.attainable_gflops(intensity) if roof else None,
        "roofline_fraction": roof.fraction(flops, nbytes, t) if roof and t else None,
    }


SUMMARY_HEADERS = ["workload", "fastconv ms", "best peer", "peer ms", "ratio", "GFLOP/s",
                   "roofline", "method", "max err", "bound", "mem MiB"]  # fmt: skip


def format_summary(rows: Sequence[dict[str, Any]]) -> str:
    """The final table of :func:`summary_rows`, with a note on the columns."""
    cells = []
    for r in rows:
        fc_ms = fmt_ms(r["fastconv_s"])
        if r["call"] is not None and not r["ok"]:
            fc_ms += " !"
        err = r["max_rel_err"]
        cells.append([
            r["row"], fc_ms, r["best_peer"] or "-", fmt_ms(r["peer_s"]), fmt_ratio(r["ratio"]),
            _fmt_gflops(r["gflops"]), _fmt_pct(r["roofline_fraction"]), r["method"] or "-",
            "-" if err is None else f"{err:.1e}",
            "-" if r.get("error_bound") is None else f"{r['error_bound']:.0e}",
            _fmt_mib(r["peak_bytes"]),
        ])  # fmt: skip
    note = (
        "ratio = fastconv / best peer median (< 1: fastconv faster); GFLOP/s = 2 x the direct "
        "algorithm's multiply-adds\nper second; roofline = GFLOP/s / min(peak, intensity x "
        "bandwidth); max err = max|fastconv - float64| / max|float64|;\nbound = the method's "
        "documented error bound; mem = peak extra memory of one fastconv call (tracemalloc,\n"
        "output included); '!' = fastconv failed (an error, or max err over 1e-3 or the bound)"
    )
    return format_table(SUMMARY_HEADERS, cells) + "\n" + note


def format_report(rep: WorkloadReport, roof: Roofline | None = None) -> str:
    """Render one workload's results as an aligned table with each fastconv call's ratio."""
    wl = rep.workload
    head = f"{wl.name}: {wl.title}   x{wl.x_shape} w{wl.w_shape}\n  fastconv plan: {rep.plan}"
    rows = []
    for r in rep.results:
        if r.skipped is not None:
            rows.append([r.impl, f"skipped: {r.skipped}"])
            continue
        rows.append([
            r.impl, fmt_ms(r.median_s), fmt_ms(min(r.times_s, default=None)),
            f"{r.rel_err:.1e}", "ok" if r.ok else "FAIL", f"{len(r.times_s)} x {r.loops}",
        ])  # fmt: skip
    table = format_table(
        ["implementation", "median ms", "min ms", "rel err", "check", "samples x loop"],
        rows,
        indent="  ",
    )
    best = rep.best_peer()
    name = best.impl if best else "no peer"
    tails = []
    for fc in rep.fastconv_results():
        if fc.skipped is not None and not fc.error:
            continue
        tail = f"  {fc.impl} / best peer ({name}): {fmt_ratio(rep.ratio(fc))}"
        if fc.rel_err is not None and not fc.ok:
            tail += f"   ({fc.impl} FAILED the accuracy check)"
        rates = _rates(wl, fc, roof)
        if rates["gflops"] is not None:
            tail += f"; {rates['gflops']:.3g} GFLOP/s"
            if rates["roofline_fraction"] is not None:
                tail += (
                    f" = {_fmt_pct(rates['roofline_fraction'])} of "
                    f"{rates['attainable_gflops']:.3g} attainable at "
                    f"{rates['intensity']:.3g} flop/B"
                )
        if fc.method:
            tail += f"; method {fc.method}"
        if fc.peak_bytes is not None:
            tail += f"; peak extra memory {_fmt_mib(fc.peak_bytes)} MiB"
        tails.append(tail)
    return "\n".join([head, table, *tails])


def machine_info() -> dict[str, object]:
    """Collect CPU, library versions and thread counts for the report header."""
    info: dict[str, object] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            models = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        info["cpu"] = models[0]
    except (OSError, IndexError):
        info["cpu"] = platform.processor() or "unknown"
    for mod in ("fastconv", "numpy", "scipy", "numba", "torch", "cv2"):
        try:
            info[mod] = getattr(importlib.import_module(mod), "__version__", "?")
        except Exception:
            info[mod] = "not installed"
    threads = {}
    for mod, getter in (
        ("torch", "get_num_threads"),
        ("fastconv", "get_num_threads"),  # its pool and FFT workers (not Numba's setting)
        ("cv2", "getNumThreads"),
    ):
        try:
            threads[mod] = getattr(importlib.import_module(mod), getter)()
        except Exception:
            pass
    info["threads"] = threads
    return info


def workload_json(rep: WorkloadReport) -> dict[str, Any]:
    """One workload's measurements, every implementation included."""
    best = rep.best_peer()
    return {
        "workload": asdict(rep.workload),
        "fastconv_plan": rep.plan,
        "results": [{**asdict(r), "median_s": r.median_s, "ok": r.ok} for r in rep.results],
        "best_peer": best.impl if best else None,
        "ratio": rep.ratio(),
        "ratios": {fc.impl: rep.ratio(fc) for fc in rep.fastconv_results()},
    }


# --------------------------------------------------------------------------- check-choice


def format_choice_report(rep: ChoiceReport) -> str:
    """One problem of ``--check-choice``: every method's median, the choice and the ratio."""
    rows = []
    for r in rep.results:
        if r.skipped is not None:
            rows.append([r.impl, r.skipped if len(r.skipped) < 90 else r.skipped[:87] + "..."])
            continue
        mark = ("chosen" if r.impl == rep.chosen else "") + (
            " fastest" if r.impl == rep.fastest else ""
        )
        rows.append([r.impl, fmt_ms(r.median_s), f"{len(r.times_s)} x {r.loops}", mark.strip()])
    table = format_table(["method", "median ms", "samples x loop", "note"], rows, indent="  ")
    verdict = (
        "-"
        if rep.ratio is None
        else f"{rep.ratio:.2f}x" + ("" if rep.within else f"  (over {TOLERANCE}x)")
    )
    return (
        f"{rep.name}: {rep.title}\n  auto: {rep.chosen} ({rep.reason})\n{table}\n"
        f"  chosen / fastest: {verdict}"
    )


def format_choice_summary(reports: Sequence[ChoiceReport], stats: dict[str, Any]) -> str:
    """The ``--check-choice`` table and its verdict line."""
    rows = []
    for r in reports:
        rows.append([
            r.name, r.chosen, fmt_ms(r.chosen_s), r.fastest or "-",
            fmt_ms(r.timed().get(r.fastest)) if r.fastest else "-", fmt_ratio(r.ratio),
            "-" if r.within is None else "yes" if r.within else "NO", r.title,
        ])  # fmt: skip
    headers = ["problem", "chosen", "ms", "fastest", "ms", "ratio", f"<={TOLERANCE}x",
               "geometry"]  # fmt: skip
    table = format_table(headers, rows, align="llrlrrrl")
    frac, target = stats["fraction"], stats["target_fraction"]
    verdict = (
        f"chosen within {TOLERANCE}x of the fastest method on {stats['within']} of "
        f"{stats['problems']} problems"
    )
    if frac is not None:
        verdict += f" ({100 * frac:.0f}%; target >= {100 * target:.0f}%)"
    return table + "\n" + verdict


def choice_json(rep: ChoiceReport) -> dict[str, Any]:
    """One problem of ``--check-choice`` as JSON."""
    return {
        "problem": rep.name,
        "geometry": rep.title,
        "chosen": rep.chosen,
        "reason": rep.reason,
        "fastest": rep.fastest,
        "ratio": rep.ratio,
        "within": rep.within,
        "methods": [{**asdict(r), "median_s": r.median_s} for r in rep.results],
    }
