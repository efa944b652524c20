"""Transposed convolution, step by step: each input element scatters the kernel into the output.

``out_full[i * stride + j * dilation] += x[i] * kernel[j]`` for every input position ``i``
(row by row) and kernel tap ``j``; the output is ``out_full`` with ``padding`` elements cut from
both ends of each axis (and ``output_padding`` extra elements at the end), as in PyTorch's
``conv_transpose1d/2d``. Per axis the output size is
``(in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``. Only what the
animation draws: one channel, one filter, 1-D or 2-D.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._shapes import dilated_size
from .._spec import as_array


@dataclass(frozen=True, eq=False)
class ScatterStep:
    """One input element and where its scaled copy of the kernel lands.

    ``taps`` are coordinates in the uncropped output (``ScatterTrace.full_shape``).
    """

    number: int
    position: tuple[int, ...]
    value: float
    taps: tuple[tuple[int, ...], ...]
    contributions: np.ndarray


@dataclass(frozen=True, eq=False)
class ScatterTrace:
    """A 1-D or 2-D single-channel transposed convolution (see the module docstring).

    >>> t = scatter_trace(np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2)), stride=2)
    >>> t.output
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.],
           [3., 3., 4., 4.],
           [3., 3., 4., 4.]])
    >>> t.step(2).taps
    ((0, 1), (2, 3))
    """

    input: np.ndarray
    kernel: np.ndarray
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]

    @property
    def n_steps(self) -> int:
        """One step per input element."""
        return int(self.input.size)

    @property
    def full_shape(self) -> tuple[int, ...]:
        """Uncropped output: ``(in - 1) * stride + dilation * (k - 1) + 1 + output_padding``."""
        return tuple(
            (n - 1) * s + dilated_size(k, d) + op
            for n, k, s, d, op in zip(
                self.input.shape,
                self.kernel.shape,
                self.stride,
                self.dilation,
                self.output_padding,
            )
        )

    @property
    def crop(self) -> tuple[slice, ...]:
        """The part of the full output that is the result."""
        return tuple(slice(p, n - p) for p, n in zip(self.padding, self.full_shape))

    def step(self, number: int) -> ScatterStep:
        """The step of this number (from 1)."""
        if not 1 <= number <= self.n_steps:
            raise IndexError(f"step number {number} out of range 1..{self.n_steps}")
        pos = tuple(int(i) for i in np.unravel_index(number - 1, self.input.shape))
        taps = tuple(
            tuple(int(i * s + j * d) for j in range(k))
            for i, s, d, k in zip(pos, self.stride, self.dilation, self.kernel.shape)
        )
        value = float(self.input[pos])
        return ScatterStep(number, pos, value, taps, value * self.kernel)

    def canvas_after(self, number: int) -> np.ndarray:
        """The uncropped output after step ``number``; NaN where nothing has landed yet."""
        first = (np.arange(self.input.size) < number).reshape(self.input.shape)
        canvas = self._scatter(np.where(first, self.input, 0.0), self.kernel)
        covered = self._scatter(first.astype(np.float64), np.ones_like(self.kernel))
        return np.where(covered > 0, canvas, np.nan)

    @property
    def output(self) -> np.ndarray:
        """The result: the full output after every step, cropped by ``padding``."""
        return self._scatter(self.input, self.kernel)[self.crop]

    def _scatter(self, values: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """Every input element times the kernel, added at its place: one strided add per tap."""
        full = np.zeros(self.full_shape)
        for tap in np.ndindex(kernel.shape):
            where = tuple(
                slice(j * d, j * d + (n - 1) * s + 1, s)
                for j, d, n, s in zip(tap, self.dilation, values.shape, self.stride)
            )
            full[where] += values * kernel[tap]
        return full


def _per_axis(name: str, value: Any, nd: int, minimum: int) -> tuple[int, ...]:
    items = tuple(value) if isinstance(value, list | tuple | np.ndarray) else (value,) * nd
    ok = len(items) == nd and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in items
    )
    if not ok:
        raise TypeError(
            f"animate: expected {name} to be an int or {nd} ints for a transposed convolution, "
            f"got {name}={value!r}"
        )
    out = tuple(int(v) for v in items)
    if any(v < minimum for v in out):
        raise ValueError(f"animate: expected {name} to be at least {minimum}, got {name}={value!r}")
    return out


def scatter_trace(
    x: Any,
    kernel: Any,
    *,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    dilation: Any = 1,
) -> ScatterTrace:
    """Validate a plain 1-D/2-D transposed convolution and return its :class:`ScatterTrace`."""
    xa = np.asarray(as_array("animate", "input", x), dtype=np.float64)
    ka = np.asarray(as_array("animate", "weight", kernel), dtype=np.float64)
    if ka.ndim not in (1, 2) or xa.ndim != ka.ndim:
        raise ValueError(
            f"animate: a transposed convolution is drawn for a plain 1-D or 2-D input and a "
            f"kernel of the same rank, got input of shape {xa.shape} and weight of shape "
            f"{ka.shape}"
        )
    if min(xa.shape) < 1 or min(ka.shape) < 1:
        raise ValueError(
            f"animate: expected a non-empty input and kernel, got input of shape {xa.shape} "
            f"and weight of shape {ka.shape}"
        )
    nd = ka.ndim
    s = _per_axis("stride", stride, nd, 1)
    d = _per_axis("dilation", dilation, nd, 1)
    p = _per_axis("padding", padding, nd, 0)
    op = _per_axis("output_padding", output_padding, nd, 0)
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise ValueError(
            f"animate: expected output_padding smaller than stride or dilation, got "
            f"output_padding={output_padding!r} with stride={s} and dilation={d}"
        )
    trace = ScatterTrace(xa, ka, s, p, op, d)
    if any(n - 2 * pi < 1 for n, pi in zip(trace.full_shape, p)):
        raise ValueError(
            f"animate: expected padding to leave a non-empty output, got padding={padding!r} "
            f"for a transposed output of {trace.full_shape} before cropping"
        )
    return trace
