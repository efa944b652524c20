"""Which steps a rendering shows: ``max_steps`` and ``region``, and how to say so."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .trace import Trace


def _index(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"explain: expected {what} to be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"explain: expected {what} to be an integer, got {value!r}") from None


def region_ranges(trace: Trace, region: Any) -> tuple[range, ...]:
    """Output positions of ``region`` per spatial axis (see :meth:`Trace.select`)."""
    outs = trace.output_spatial
    if region is None:
        return tuple(range(n) for n in outs)
    form = (
        f"explain: expected region to be one (start, stop) pair, slice or int per spatial "
        f"axis ({trace.ndim}), got region={region!r}"
    )
    if not isinstance(region, Sequence) or isinstance(region, str) or len(region) != trace.ndim:
        raise ValueError(form)
    ranges = []
    for item, n in zip(region, outs):
        if isinstance(item, slice):
            if _index(item.step, "a region step") not in (None, 1):
                raise ValueError(form)
            sl = slice(_index(item.start, "a region start"), _index(item.stop, "a region stop"))
        elif isinstance(item, Sequence) and not isinstance(item, str):
            if len(item) != 2:
                raise ValueError(form)
            sl = slice(_index(item[0], "a region start"), _index(item[1], "a region stop"))
        elif item is None:
            sl = slice(None)
        else:
            i = _index(item, "a region position") or 0
            i = i + n if i < 0 else i
            if not 0 <= i < n:
                raise ValueError(
                    f"explain: expected region positions within the output size {outs}, "
                    f"got region={region!r}"
                )
            sl = slice(i, i + 1)
        ranges.append(range(*sl.indices(n)))
    return tuple(ranges)


def select_steps(trace: Trace, max_steps: int | None, region: Any) -> list[int]:
    """Step numbers (from 1) inside ``region``, in order, at most ``max_steps`` of them."""
    limit = _index(max_steps, "max_steps")
    if limit is not None and limit < 0:
        raise ValueError(f"explain: expected max_steps to be >= 0 or None, got {max_steps!r}")
    ranges = region_ranges(trace, region)
    n_batch, n_out = trace.batched_output_shape[:2]
    shape = trace.batched_output_shape
    positions = itertools.product(range(n_batch), range(n_out), *ranges)
    chosen = itertools.islice(positions, limit)
    return [int(np.ravel_multi_index(p, shape)) + 1 for p in chosen]


def region_size(trace: Trace, region: Any) -> int:
    """Number of steps inside ``region``."""
    n_batch, n_out = trace.batched_output_shape[:2]
    return n_batch * n_out * int(np.prod([len(r) for r in region_ranges(trace, region)]))


def count(n: int) -> str:
    """An integer with its digits in groups of three, separated by spaces: ``50 176``.

    >>> count(50176), count(999)
    ('50 176', '999')
    """
    return f"{n:,}".replace(",", " ")


def runs(numbers: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted step numbers.

    >>> runs([1, 2, 3, 7, 9, 10])
    [(1, 3), (7, 7), (9, 10)]
    """
    out: list[tuple[int, int]] = []
    for k in numbers:
        if out and k == out[-1][1] + 1:
            out[-1] = (out[-1][0], k)
        else:
            out.append((k, k))
    return out


def summary(trace: Trace, numbers: Sequence[int]) -> str | None:
    """``"steps 1–20 of 50 176 shown"``, or None when every step is shown.

    >>> from fastconv import explain
    >>> t = explain(np.zeros((226, 226)), np.ones((3, 3)))
    >>> summary(t, t.select(max_steps=20))
    'steps 1–20 of 50 176 shown'
    >>> summary(t, t.select(max_steps=4, region=[(1, 3), (0, 2)]))
    'steps 225–226, 449–450 of 50 176 shown'
    """
    total = trace.n_steps
    if len(numbers) == total:
        return None
    if not numbers:
        return f"no step of {count(total)} shown"
    parts = runs(numbers)
    if len(parts) > 4:
        return f"{count(len(numbers))} of {count(total)} steps shown"
    text = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in parts)
    noun = "step" if len(numbers) == 1 else "steps"
    return f"{noun} {text} of {count(total)} shown"
