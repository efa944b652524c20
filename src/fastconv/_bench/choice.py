"""``fastconv bench --check-choice``: does ``method="auto"`` pick a fast method?

For each problem (W0–W10 and :func:`random_geometries`) every method that applies is timed,
interleaved, with the benchmark's warm-up and idle gaps: the plan's ``candidates`` (where plans
have them) and every other value of :class:`fastconv.Method` are forced with ``method=``, and a
method the call refuses with ``ValueError`` does not apply. The report gives the method ``auto``
chooses, the fastest, their ratio and whether it is within :data:`TOLERANCE`.

The random geometries are drawn once from a fixed seed; ``bench/geometries.json`` lists them
(``python bench/geometries.py`` writes it, and a test checks that it matches).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .measure import Fn, Result, interleave, warm_up

#: The issue's bar: the chosen method within this factor of the fastest candidate ...
TOLERANCE = 1.3
#: ... on at least this fraction of the problems.
TARGET_FRACTION = 0.9
#: Seed and count of the random geometries.
GEOMETRY_SEED = 6
GEOMETRY_COUNT = 30
#: Bounds on a random geometry's multiply-adds: large enough to be worth choosing for, small
#: enough that the slowest method runs in well under a second.
MIN_MACS, MAX_MACS = 200_000, 100_000_000


@dataclass(frozen=True)
class ConvCase:
    """One convolution geometry: ``conv{1,2,3}d(x, w, stride, padding, dilation, groups)``.

    ``x_shape`` is ``(N, C, *spatial)``, ``w_shape`` ``(O, C // groups, *kernel)``; ``padding``
    an int or ``"same"``; ``rank1`` makes every kernel an outer product (a separable filter).
    """

    name: str
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    stride: int = 1
    padding: int | str = 0
    dilation: int = 1
    groups: int = 1
    rank1: bool = False

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.x_shape) - 2

    def out_spatial(self) -> tuple[int, ...]:
        """Spatial output shape (PyTorch's rule; TensorFlow's ``ceil(in / stride)`` for
        ``"same"``)."""
        if self.padding == "same":
            return tuple(-(-n // self.stride) for n in self.x_shape[2:])
        p, s, d = int(self.padding), self.stride, self.dilation
        sizes = zip(self.x_shape[2:], self.w_shape[2:])
        return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k in sizes)

    def macs(self) -> int:
        """Multiply-adds of the direct algorithm."""
        return self.x_shape[0] * math.prod(self.w_shape) * math.prod(self.out_spatial())

    def describe(self) -> str:
        """One line: shapes and the parameters that differ from their defaults."""
        n, c, *sp = self.x_shape
        o, _, *k = self.w_shape
        text = f"conv{self.ndim}d N={n} C={c} {_by(sp)} -> {o} {_by(k)}"
        for name, default in (("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1)):
            value = getattr(self, name)
            if value != default:
                text += f", {name} {value}"
        return text + (", rank-1" if self.rank1 else "")

    def inputs(self, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Float32 standard-normal input and weight (outer products where ``rank1``)."""
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(self.x_shape, dtype=np.float32)
        if not self.rank1:
            return x, rng.standard_normal(self.w_shape, dtype=np.float32)
        o, cg, *k = self.w_shape
        w = np.ones((o, cg, *k), dtype=np.float32)
        for axis, size in enumerate(k):
            shape = [o, cg] + [1] * len(k)
            shape[2 + axis] = size
            w = w * rng.standard_normal(shape, dtype=np.float32)
        return x, np.ascontiguousarray(w)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (:meth:`from_json` reads it back)."""
        return {**asdict(self), "macs": self.macs(), "description": self.describe()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ConvCase:
        """The case :meth:`to_json` wrote."""
        fields = {k: d[k] for k in cls.__dataclass_fields__}
        return cls(**{**fields, "x_shape": tuple(d["x_shape"]), "w_shape": tuple(d["w_shape"])})


def _by(sizes: Sequence[int]) -> str:
    return "x".join(map(str, sizes))


def _draw_case(rng: np.random.Generator, name: str, nd: int) -> ConvCase:
    """One random geometry of ``nd`` spatial axes (not yet checked for size)."""
    kind = str(rng.choice(["dense", "dense", "grouped", "depthwise", "single"]))
    n = int(rng.choice([1, 2, 4, 8]))
    groups, rank1 = 1, False
    if kind == "dense":
        c, o = int(rng.choice([3, 8, 16, 32, 64])), int(rng.choice([8, 16, 32, 64, 128]))
    elif kind == "grouped":
        groups = int(rng.choice([2, 4, 8]))
        c, o = groups * int(rng.choice([2, 4, 8])), groups * int(rng.choice([2, 4, 8]))
    elif kind == "depthwise":
        c = groups = int(rng.choice([8, 16, 32, 64]))
        o = c * int(rng.choice([1, 1, 2]))
    else:  # one image, one filter
        c = o = 1
        rank1 = nd == 2 and bool(rng.random() < 0.5)
    if nd == 1:
        k = (int(rng.integers(1, 32)),)
        size = (int(rng.choice([256, 1024, 4096, 16384])),)
    elif nd == 2:
        side = int(rng.choice([1, 3, 3, 5, 7, 11, 15, 21, 31]))
        k = (side, side) if rng.random() < 0.8 else (side, int(rng.choice([1, 3, 5])))
        hw = int(rng.choice([16, 32, 56, 64, 128, 256, 512]))
        size = (hw, hw)
    else:
        k = (int(rng.choice([1, 3, 3, 5])),) * 3
        size = (int(rng.choice([8, 12, 16, 24, 32])),) * 3
    stride = int(rng.choice([1, 1, 2, 3]))
    dilation = int(rng.choice([1, 1, 1, 2, 3])) if max(k) > 1 else 1
    pad_kind = str(rng.choice(["zero", "same", "half"]))
    padding: int | str = {"zero": 0, "same": "same", "half": dilation * (max(k) // 2)}[pad_kind]
    return ConvCase(name, (n, c, *size), (o, c // groups, *k), stride, padding, dilation,
                    groups, rank1)  # fmt: skip


def random_geometries(count: int = GEOMETRY_COUNT, seed: int = GEOMETRY_SEED) -> list[ConvCase]:
    """The fixed list of random geometries ``G01``... (deterministic for a given seed).

    1-, 2- and 3-D convolutions in the proportion 1:3:1, dense, grouped, depthwise and
    single-image layers (half of the 2-D single images with a rank-1 kernel), batch 1–8,
    kernels 1–31, stride 1–3, dilation 1–3, padding 0, ``"same"`` or half the kernel; drawn
    until ``count`` have between :data:`MIN_MACS` and :data:`MAX_MACS` multiply-adds and an
    output of at least one element per axis.
    """
    rng = np.random.default_rng(seed)
    cases: list[ConvCase] = []
    while len(cases) < count:
        nd = (1, 2, 2, 3, 2)[len(cases) % 5]
        case = _draw_case(rng, f"G{len(cases) + 1:02d}", nd)
        if min(case.out_spatial()) >= 1 and MIN_MACS <= case.macs() <= MAX_MACS:
            cases.append(case)
    return cases


def geometries_json(cases: Sequence[ConvCase]) -> str:
    """The text of ``bench/geometries.json`` for ``cases``."""
    about = (
        "Random geometries of `fastconv bench --check-choice` "
        f"(fastconv._bench.choice.random_geometries(count={len(cases)}, seed={GEOMETRY_SEED}))"
    )
    rows = ",\n".join("  " + json.dumps(c.to_json()) for c in cases)
    return f'{{\n "about": {json.dumps(about)},\n "geometries": [\n{rows}\n ]\n}}\n'


def read_geometries(text: str) -> list[ConvCase]:
    """The cases of a ``bench/geometries.json`` text."""
    return [ConvCase.from_json(d) for d in json.loads(text)["geometries"]]


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """A call whose method can be forced.

    ``run(method)`` returns a zero-argument callable that computes the problem with
    ``method=`` (``"auto"`` included) and raises ``ValueError`` when the method does not
    apply; ``chosen()`` returns the method ``auto`` runs and why; ``candidates()`` the method
    names worth trying.
    """

    name: str
    title: str
    run: Callable[[str], Fn]
    chosen: Callable[[], tuple[str, str]]
    candidates: Callable[[], list[str]]


def method_names(plan: Any = None) -> list[str]:
    """Names of the methods to try: the plan's ``candidates`` first, in its order, then every
    other value of :class:`fastconv.Method` (a method the model left out may still apply, and
    be faster; those that do not apply raise ``ValueError`` and are skipped).

    ``candidates`` may hold methods, names, ``(method, ...)`` tuples, objects with a
    ``method`` attribute, or be a mapping keyed by method.

    >>> class Plan:
    ...     candidates = (("gemm", 1e-3), ("direct", 2e-3))
    >>> method_names(Plan())[:3]
    ['gemm', 'direct', 'separable']
    """
    from fastconv import Method

    names: list[str] = []
    for c in [*(getattr(plan, "candidates", None) or ()), *Method]:
        if isinstance(c, tuple):
            c = c[0]
        c = getattr(c, "method", c)
        name = str(getattr(c, "value", c))
        if name not in names:
            names.append(name)
    return names


def conv_problem(case: ConvCase) -> Problem:
    """The :class:`Problem` of ``fastconv.conv{1,2,3}d`` on ``case``'s random inputs."""
    import fastconv

    x, w = case.inputs()
    conv = getattr(fastconv, f"conv{case.ndim}d")
    kw = dict(stride=case.stride, padding=case.padding, dilation=case.dilation, groups=case.groups)

    def run(method: str) -> Fn:
        return lambda: conv(x, w, **kw, method=method)

    def plan() -> Any:
        return fastconv.plan(x, w, **kw)

    def chosen() -> tuple[str, str]:
        p = plan()
        return str(getattr(p.method, "value", p.method)), p.reason

    return Problem(case.name, case.describe(), run, chosen, lambda: method_names(plan()))


# --------------------------------------------------------------------------- measuring


@dataclass
class ChoiceReport:
    """The methods timed on one problem and how the chosen one compares."""

    name: str
    title: str
    chosen: str
    reason: str
    results: list[Result] = field(default_factory=list)

    def timed(self) -> dict[str, float]:
        """Median seconds per call of every method that ran."""
        return {r.impl: r.median_s for r in self.results if r.times_s}

    @property
    def fastest(self) -> str | None:
        """The method with the smallest median."""
        t = self.timed()
        return min(t, key=t.get) if t else None

    @property
    def chosen_s(self) -> float | None:
        """Median of the chosen method (or of ``auto`` where the choice is not one method)."""
        t = self.timed()
        return t.get(self.chosen, t.get("auto"))

    @property
    def ratio(self) -> float | None:
        """Chosen median / fastest median (1 when auto chose the fastest)."""
        t, c = self.timed(), self.chosen_s
        return None if c is None or not t else c / min(t.values())

    @property
    def within(self) -> bool | None:
        """Whether the ratio is at most :data:`TOLERANCE`."""
        return None if self.ratio is None else self.ratio <= TOLERANCE


def check_problem(problem: Problem, *, repeats: int, gap: float, min_sample: float) -> ChoiceReport:
    """Time every applicable method of ``problem`` (interleaved) and compare the chosen one."""
    try:
        chosen, reason = problem.chosen()
    except Exception as exc:  # report, do not crash: auto is then timed as it is
        chosen, reason = "auto", f"plan unavailable: {type(exc).__name__}: {exc}"
    try:
        names = problem.candidates()
    except Exception:  # the plan failed above too: try every method
        names = method_names(None)
    if chosen not in names:  # a choice that is not one forced method (e.g. per-part methods)
        names = [*names, "auto"]
    report = ChoiceReport(problem.name, problem.title, chosen, reason)
    entries = []
    for name in names:
        res = Result(name)
        report.results.append(res)
        try:
            fn = problem.run(name)
            warm_up(fn, res, cap=repeats, min_sample=min_sample, gap=gap, floor=1)
        except ValueError as exc:
            res.skipped = f"does not apply: {exc}"
            continue
        except Exception as exc:  # report, do not crash
            res.skipped = f"error: {type(exc).__name__}: {exc}"
            res.error = True
            continue
        entries.append((res, fn))
    interleave(entries, gap)
    return report


def check_choice(
    problems: Sequence[Problem],
    *,
    repeats: int,
    gap: float,
    min_sample: float,
    progress: Callable[[ChoiceReport], None] | None = None,
) -> list[ChoiceReport]:
    """:func:`check_problem` on each problem in turn; ``progress`` sees each report."""
    reports = []
    for problem in problems:
        rep = check_problem(problem, repeats=repeats, gap=gap, min_sample=min_sample)
        reports.append(rep)
        if progress is not None:
            progress(rep)
    return reports


def summary(reports: Sequence[ChoiceReport]) -> dict[str, Any]:
    """Counts: problems measured, those within :data:`TOLERANCE`, the fraction, the target."""
    measured = [r for r in reports if r.within is not None]
    within = sum(bool(r.within) for r in measured)
    return {
        "problems": len(measured),
        "within": within,
        "fraction": within / len(measured) if measured else None,
        "tolerance": TOLERANCE,
        "target_fraction": TARGET_FRACTION,
    }
