"""Measured autotuning of ``method="auto"`` (``fastconv.autotune``), like PyTorch's
``torch.backends.cudnn.benchmark``.

While it is on, the first ``method="auto"`` call of each geometry runs every candidate
algorithm once on the call's own arguments, times it, and keeps the fastest whose output agrees
with the others; later calls of that geometry run the winner at once. The winners live in an
in-memory cache keyed on the geometry (shapes, stride, padding, dilation, groups, padding
mode), the compute dtype, integer inputs, fastconv's thread count and whether the kernel is of
rank 1. :func:`save_autotune` writes them to a JSON file (by default under the user's cache
directory) together with a fingerprint of the machine (CPU model and count, fastconv's
version); :func:`load_autotune` reads one back, and ignores, with a warning, a file that is
corrupt or comes from another machine or version. Turning autotuning on loads the default
file once per process, so the next process starts with what the last one saved. Forced
``method=`` calls never tune.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ._dispatch import inexact_allowed
from ._files import atomic_write
from ._spec import Geometry
from .algorithms import Method

if TYPE_CHECKING:
    from .functional import Plan

_FORMAT = "fastconv-autotune"
_FORMAT_VERSION = 1

#: candidates the cost model predicts more than this many times slower than its cheapest are
#: not timed: each candidate runs at least twice on the real arguments, and a 20x slower one
#: would make the first call of a large geometry cost minutes for nothing
MAX_PREDICTED_RATIO = 20.0
#: candidates must agree with the reference output (direct where it applies) within this
#: fraction of the largest reference value, or they are discarded; well above every method's
#: error bound (Winograd and FFT in float32: 1e-4, ``fastconv._dispatch.inexact_allowed``)
AGREEMENT = {np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-9}
#: rounds of timed calls after the warm-up calls, the candidates interleaved in each round so
#: that a moment of load on a shared machine does not fall on one candidate alone (the minimum
#: counts); a candidate whose call took longer than ``LONG_CALL_S`` is not timed again
REPEATS = 3
LONG_CALL_S = 0.2


class Entry(NamedTuple):
    """One tuned geometry: the winner and every candidate's measured seconds."""

    method: Method
    seconds: dict[str, float]
    discarded: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """``"autotuned: direct 0.002 ms against gemm 0.03 ms, ..."``."""
        best = self.seconds[self.method.value]
        rest = [
            f"{m} {t * 1e3:.3g} ms"
            for m, t in sorted(self.seconds.items(), key=_by_time)
            if m != self.method.value
        ]
        text = f"autotuned: {self.method} {best * 1e3:.3g} ms"
        if rest:
            text += " against " + ", ".join(rest)
        if self.discarded:
            text += " (output disagreed: " + ", ".join(self.discarded) + ")"
        return text


def _by_time(item: tuple[str, float]) -> float:
    return item[1]


_enabled = False
_TUNED: dict[str, Entry] = {}
_default_loaded = False


# --------------------------------------------------------------------------------------------
# the public switch


class _Previous:
    """What :func:`autotune` returns: the previous setting, which a ``with`` block restores."""

    def __init__(self, previous: bool) -> None:
        self.previous = previous

    def __bool__(self) -> bool:
        return self.previous

    def __repr__(self) -> str:
        return repr(self.previous)

    def __enter__(self) -> _Previous:
        return self

    def __exit__(self, *exc: object) -> None:
        global _enabled
        _enabled = self.previous


def autotune(enabled: bool = True) -> _Previous:
    """Turn measured autotuning of ``method="auto"`` on or off; returns the previous setting.

    While on, the first ``method="auto"`` call of each geometry (shapes, parameters, dtype,
    thread count) times every candidate algorithm on its own arguments and keeps the fastest
    whose output agrees with the others; later calls of the geometry run it at once, and
    :func:`plan` reports it (``"autotuned: ..."``). Forced ``method=`` calls never tune. The
    winners are kept for the process; :func:`save_autotune` writes them to a file, and turning
    autotuning on reads the default file (:func:`autotune_path`) once per process. Like
    ``torch.backends.cudnn.benchmark`` it pays off where a geometry is run many times; the
    first call of each geometry costs a few runs of every candidate. The setting is
    process-wide; used as a context manager the returned value restores the previous one.

    Parameters
    ----------
    enabled : bool, default True
        Whether ``method="auto"`` calls measure and use the measured winner.

    Returns
    -------
    previous
        The previous setting: true or false like a bool, and a context manager that restores
        it on exit.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.autotune(True)
    False
    >>> fastconv.autotune(False)
    True
    >>> with fastconv.autotune():
    ...     pass  # method="auto" calls in here are tuned
    >>> fastconv.autotune(False)    # the block restored the previous setting
    False
    """
    global _enabled
    if not isinstance(enabled, bool | np.bool_):
        raise TypeError(f"autotune: expected enabled to be a bool, got enabled={enabled!r}")
    previous = _Previous(_enabled)
    if enabled and not _default_loaded:
        _load_default()
    _enabled = bool(enabled)
    return previous


def autotune_cache() -> dict[str, str]:
    """The tuned geometries of this process: key -> the winning method's name (a copy).

    >>> autotune_cache() == {} or isinstance(autotune_cache(), dict)
    True
    """
    return {key: entry.method.value for key, entry in _TUNED.items()}


def clear_autotune() -> None:
    """Forget every tuned geometry of this process (the file on disk stays)."""
    _TUNED.clear()


# --------------------------------------------------------------------------------------------
# keys and tuning


def geometry_key(fname: str, geo: Geometry, exact: bool, threads: int) -> str:
    """The autotune cache's key of a planned ``method="auto"`` call (readable, for JSON).

    >>> from fastconv._spec import normalize_conv
    >>> f4 = np.dtype("float32")
    >>> geo = normalize_conv("conv2d", 2, (1, 4, 4), f4, (1, 1, 3, 3), f4,
    ...                      None, None, 1, 0, 1, 1, "zeros")
    >>> geometry_key("conv2d", geo, False, 2).split()  # doctest: +NORMALIZE_WHITESPACE
    ['conv2d', 'x=1x1x4x4', 'w=1x1x3x3', 'stride=1,1', 'padding=0,0,0,0', 'dilation=1,1',
     'groups=1', 'zeros', 'float32', 'threads=2']
    """
    s = geo.spec

    def ints(values: Any) -> str:
        return ",".join(str(v) for v in values)

    return (
        f"{fname} x={'x'.join(map(str, geo.input_shape))} "
        f"w={'x'.join(map(str, geo.weight_shape))} stride={ints(s.stride)} "
        f"padding={ints(p for pair in s.padding for p in pair)} dilation={ints(s.dilation)} "
        f"groups={s.groups} {s.padding_mode} {geo.compute_dtype}"
        f"{' integer' if exact else ''} threads={threads}"
    )


def choose(p: Plan, chosen: Method, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> Method:
    """The tuned method for plan ``p`` (``chosen``: the model's choice for these weights),
    measured now on ``x``, ``w``, ``b`` if this geometry has not been tuned yet."""
    key = _key(p, chosen)
    entry = _TUNED.get(key)
    if entry is None:
        entry = _tune(p, chosen, x, w, b)
        _TUNED[key] = entry
    return entry.method


def tuned(p: Plan, chosen: Method) -> Entry | None:
    """The tuned entry for plan ``p`` and the model's choice ``chosen``, if there is one."""
    return None if p.tune_key is None else _TUNED.get(_key(p, chosen))


def _key(p: Plan, chosen: Method) -> str:
    # a rank-1 kernel adds the separable candidate: tuned apart from the other kernels
    assert p.tune_key is not None
    return p.tune_key + (" rank1" if chosen is Method.SEPARABLE else "")


def _measure(method: Method, call: Callable[[], object]) -> float:
    """Seconds of one ``call()`` of ``method`` (tests replace this to fix the outcome)."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _agrees(out: np.ndarray, ref: np.ndarray, tol: float) -> bool:
    """Same non-finite positions, and finite values within ``tol`` of ``max|ref|``."""
    finite = np.isfinite(ref)
    if not np.array_equal(finite, np.isfinite(out)):
        return False
    if not finite.any():
        return True
    r = ref[finite].astype(np.float64)
    scale = max(float(np.max(np.abs(r))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(out[finite].astype(np.float64) - r))) <= tol * scale


def _tune(p: Plan, chosen: Method, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> Entry:
    from ._core import conv_general

    geo = p.geometry
    exact = x.dtype.kind in "biu" and w.dtype.kind in "biu"
    predicted = [(m, t) for m, t in p.candidates if inexact_allowed(m, geo, exact) is None]
    cheapest = min((t for _, t in predicted), default=math.inf)
    methods = [m for m, t in predicted if t <= MAX_PREDICTED_RATIO * cheapest]
    if chosen not in methods:  # separable for a rank-1 kernel, which the model cannot price
        methods.append(chosen)
    # the reference: direct (plain sums) where it is a candidate; every other candidate's
    # warm-up call (Numba loads or compiles it) is compared with it and then dropped
    ref_method = Method.DIRECT if Method.DIRECT in methods else chosen
    ref = conv_general(x, w, b, geo, ref_method, p.layout)
    tol = AGREEMENT.get(np.dtype(geo.compute_dtype), 1e-3)
    agreeing = [ref_method]
    for m in methods:
        if m is not ref_method and _agrees(conv_general(x, w, b, geo, m, p.layout), ref, tol):
            agreeing.append(m)
    del ref
    discarded = tuple(m.value for m in methods if m not in agreeing)
    seconds = {m.value: math.inf for m in agreeing}
    for _ in range(REPEATS):
        for m in agreeing:
            if seconds[m.value] > LONG_CALL_S and seconds[m.value] != math.inf:
                continue
            t = _measure(m, lambda m=m: conv_general(x, w, b, geo, m, p.layout))
            seconds[m.value] = min(seconds[m.value], t)
    best = min(agreeing, key=lambda m: seconds[m.value])
    return Entry(best, seconds, discarded)


# --------------------------------------------------------------------------------------------
# the file


def autotune_path() -> Path:
    """Where :func:`save_autotune` and :func:`load_autotune` go by default:
    ``$XDG_CACHE_HOME/fastconv/autotune.json``, else ``~/.cache/fastconv/autotune.json``.

    >>> autotune_path().parts[-2:]
    ('fastconv', 'autotune.json')
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "fastconv" / "autotune.json"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fingerprint() -> dict[str, Any]:
    """What a tuned cache depends on besides the geometry: CPU model and count, versions.

    >>> sorted(fingerprint())
    ['cpu', 'cpus', 'fastconv', 'machine']
    """
    from . import __version__

    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "fastconv": __version__,
    }


def save_autotune(path: str | os.PathLike[str] | None = None) -> Path:
    """Write the tuned geometries to ``path`` (default :func:`autotune_path`), atomically.

    The file holds the machine's :func:`fingerprint`, so that :func:`load_autotune` on another
    machine or fastconv version ignores it. Missing folders are created.

    Returns
    -------
    Path
        The file written.
    """
    target = autotune_path() if path is None else Path(os.fspath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "format": _FORMAT,
        "version": _FORMAT_VERSION,
        "fingerprint": fingerprint(),
        "entries": {
            key: {"method": e.method.value, "seconds": e.seconds, "discarded": list(e.discarded)}
            for key, e in sorted(_TUNED.items())
        },
    }
    data = json.dumps(doc, indent=1).encode()
    return atomic_write(target, lambda fh: fh.write(data))


def load_autotune(path: str | os.PathLike[str] | None = None) -> int:
    """Add the tuned geometries saved in ``path`` (default :func:`autotune_path`).

    A missing default file is no error (nothing is loaded). A file that is not a fastconv
    autotune file, is corrupt, or was saved on another machine or fastconv version (its
    :func:`fingerprint` differs) is ignored with a ``UserWarning``. Geometries already tuned
    in this process keep their measurement.

    Returns
    -------
    int
        How many geometries were added.

    Raises
    ------
    FileNotFoundError
        An explicitly given ``path`` does not exist.
    """
    target = autotune_path() if path is None else Path(os.fspath(path))
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        if path is None:
            return 0
        raise
    except (OSError, UnicodeDecodeError) as exc:
        warnings.warn(f"load_autotune: ignored {target}: {exc}", UserWarning, stacklevel=2)
        return 0
    try:
        entries = _parse(text)
    except ValueError as exc:
        warnings.warn(f"load_autotune: ignored {target}: {exc}", UserWarning, stacklevel=2)
        return 0
    added = 0
    for key, entry in entries.items():
        if key not in _TUNED:
            _TUNED[key] = entry
            added += 1
    return added


def _parse(text: str) -> dict[str, Entry]:
    """The entries of an autotune file; ``ValueError`` saying why one is unusable."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise ValueError(f"not a {_FORMAT} file")
    if doc.get("version") != _FORMAT_VERSION:
        raise ValueError(f"format version {doc.get('version')!r}, expected {_FORMAT_VERSION}")
    mine = fingerprint()
    if doc.get("fingerprint") != mine:
        raise ValueError(
            f"saved on another machine or version ({doc.get('fingerprint')!r}; this one: {mine!r})"
        )
    raw = doc.get("entries")
    if not isinstance(raw, dict):
        raise ValueError("no 'entries' mapping")
    parsed: dict[str, Entry] = {}
    for key, item in raw.items():
        try:
            method = Method(item["method"])
            seconds = {str(Method(m).value): float(t) for m, t in item["seconds"].items()}
            discarded = tuple(str(Method(m).value) for m in item.get("discarded", []))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"entry {key!r} is malformed ({exc!r})") from None
        if method.value not in seconds or not all(t >= 0 for t in seconds.values()):
            raise ValueError(f"entry {key!r} is malformed (no valid time for its method)")
        parsed[str(key)] = Entry(method, seconds, discarded)
    return parsed


def _load_default() -> None:
    global _default_loaded
    _default_loaded = True
    load_autotune()
