"""Timing and memory measurement of zero-argument calls.

Thread pools (PyTorch's OpenMP, OpenBLAS, Numba, fastconv's own) keep spinning for a while after
a call and slow down whatever runs next on the same cores, so every timed sample is preceded by
an idle gap, and the calls compared on one problem are interleaved round-robin (the order
rotated each round) rather than timed one after another.
"""

from __future__ import annotations

import math
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Largest error, relative to ``max|reference|``, that still passes the check.
REL_TOL = 1e-3
#: A sample shorter than this loops the call and divides (seconds).
MIN_SAMPLE_S = 0.02
#: Timed-sample budget per implementation and workload; slower calls get fewer repeats.
SAMPLE_BUDGET_S = 3.0
#: A warm-up call at least this long may have compiled: a second call gives the estimate.
COMPILE_SUSPECT_S = 1.0

Fn = Callable[[], Any]


@dataclass
class Result:
    """Timings, accuracy and memory of one implementation (or one method) on one problem."""

    impl: str
    times_s: list[float] = field(default_factory=list)
    repeats: int = 0
    loops: int = 1
    rel_err: float | None = None
    skipped: str | None = None
    error: bool = False  # the implementation raised (not a deliberate skip)
    method: str | None = None  # what fastconv ran (fastconv calls only)
    reason: str | None = None  # why (fastconv calls only)
    peak_bytes: int | None = None  # peak extra memory of one untimed call (fastconv calls only)
    bound: float | None = None  # the method's documented error bound (fastconv calls only)

    @property
    def is_fastconv(self) -> bool:
        """Whether this is a fastconv call rather than a peer."""
        return self.impl.startswith("fastconv")

    @property
    def ok(self) -> bool:
        """Whether the implementation ran and passed the accuracy check: within
        :data:`REL_TOL`, and for fastconv within the documented bound of the method it ran."""
        limit = REL_TOL if self.bound is None else min(REL_TOL, self.bound)
        return self.rel_err is not None and self.rel_err <= limit

    @property
    def median_s(self) -> float | None:
        """Median time per call in seconds, ``None`` if never timed."""
        return statistics.median(self.times_s) if self.times_s else None


@dataclass
class WorkloadReport:
    """Everything measured on one workload."""

    workload: Any  # fastconv.bench.Workload
    results: list[Result]
    plan: str = ""

    def fastconv_results(self) -> list[Result]:
        """The results of every fastconv call run on this workload, in order."""
        return [r for r in self.results if r.is_fastconv]

    def fastconv(self) -> Result | None:
        """The first fastconv result (``conv2d`` or ``filter_image``), if any ran."""
        return next(iter(self.fastconv_results()), None)

    def best_peer(self) -> Result | None:
        """The fastest peer that ran and passed the accuracy check."""
        peers = [r for r in self.results if not r.is_fastconv and r.ok and r.times_s]
        return min(peers, key=lambda r: r.median_s, default=None)

    def ratio(self, fc: Result | None = None) -> float | None:
        """fastconv median / best peer median (below 1 means fastconv is faster), for ``fc``
        (default: the first fastconv result)."""
        fc = self.fastconv() if fc is None else fc
        best = self.best_peer()
        if fc is None or best is None or not fc.times_s:
            return None
        return fc.median_s / best.median_s


#: How the idle gap before each sample passes: ``"sleep"`` (the CPU idles) or ``"spin"``
#: (the calling thread busy-waits, as a program doing other work between calls would). On the
#: shared development VM a core that slept even 10 ms ran the next few calls up to 2x slower
#: (W4: 16 ms after a 0.2 s sleep, 9 ms after a 0.2 s spin, 8 ms back to back), for PyTorch and
#: fastconv alike; other libraries' spinning threads settle during either kind of gap.
GAP_MODES = ("sleep", "spin")
_gap_mode = "sleep"


def set_gap_mode(mode: str) -> str:
    """Choose how :func:`idle` waits (one of :data:`GAP_MODES`); returns the previous mode.

    >>> previous = set_gap_mode("spin"); set_gap_mode(previous)
    'spin'
    """
    global _gap_mode
    if mode not in GAP_MODES:
        raise ValueError(f"set_gap_mode: expected one of {GAP_MODES}, got {mode!r}")
    previous, _gap_mode = _gap_mode, mode
    return previous


def idle(gap: float) -> None:
    """Let ``gap`` seconds pass before a sample: asleep, or spinning (:func:`set_gap_mode`)."""
    if _gap_mode == "sleep":
        time.sleep(gap)
        return
    end = time.perf_counter() + gap
    while time.perf_counter() < end:
        pass


def time_once(fn: Fn, loops: int, gap: float) -> float:
    """Idle ``gap`` seconds, then return the time per call of ``loops`` back-to-back calls."""
    idle(gap)
    t0 = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - t0) / loops


def calibrate(fn: Fn, min_sample: float, gap: float) -> tuple[int, float]:
    """Find how many back-to-back calls make a sample of at least ``min_sample`` seconds.

    Returns the loop count and the time per call measured with it.
    """
    loops = 1
    while True:
        per_call = time_once(fn, loops, gap)
        if per_call * loops >= min_sample or loops >= 10**6:
            return loops, per_call
        loops = min(loops * 100, math.ceil(1.2 * min_sample / max(per_call, 1e-9)))


def warm_up(
    fn: Fn, res: Result, *, cap: int, min_sample: float, gap: float, floor: int = 3
) -> tuple[Any, float]:
    """Call ``fn`` once (compilation, caches) and set ``res.loops`` and ``res.repeats``.

    A warm-up of :data:`COMPILE_SUSPECT_S` or more may have compiled, so a second call gives
    the estimate; a call faster than a second is calibrated into loops of ``min_sample``.
    ``res.repeats`` is ``cap``, fewer where the samples would exceed :data:`SAMPLE_BUDGET_S`,
    but not below ``floor``. Returns the warm-up's result and the estimated seconds per call.
    """
    idle(gap)
    t0 = time.perf_counter()
    out = fn()
    estimate = time.perf_counter() - t0
    if estimate >= COMPILE_SUSPECT_S:
        estimate = time_once(fn, 1, gap)
    if estimate < COMPILE_SUSPECT_S:
        res.loops, estimate = calibrate(fn, min_sample, gap)
    res.repeats = min(cap, max(floor, int(SAMPLE_BUDGET_S / max(estimate, 1e-9))))
    return out, estimate


def interleave(entries: Sequence[tuple[Result, Fn]], gap: float) -> None:
    """Time every entry ``repeats`` times, round-robin, the order rotated each round."""
    for k in range(max((r.repeats for r, _ in entries), default=0)):
        due = [(r, fn) for r, fn in entries if len(r.times_s) < r.repeats]
        shift = k % len(due)
        for res, fn in due[shift:] + due[:shift]:
            res.times_s.append(time_once(fn, res.loops, gap))


def peak_extra_bytes(fn: Fn) -> int:
    """Peak memory allocated through Python's allocators (NumPy arrays included) during one
    call of ``fn``, above what was allocated when it started (``tracemalloc``).

    Call it on a warm ``fn``: compilation and plan caches would count otherwise. Memory
    allocated inside Numba kernels or by other libraries' own allocators is not seen.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
        del out
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return max(0, peak - before)
