"""The trace of one convolution: every window, product and sum, in the tutorial's order.

:func:`explain` validates its arguments with the core's :func:`fastconv._spec.normalize_conv`
and takes every size from the core's shape rules (:mod:`fastconv._shapes`), then records, for
each output element, which taps of the padded input the window covers. Steps are built on
demand from those tap tables (a 512×512 trace does not hold 262 144 step objects), and the
whole output is computed from the same tables at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np

from .._shapes import output_size
from .._spec import NP_PAD_MODE, ConvSpec, as_array, normalize_conv

#: names of the spatial axes, by number of spatial axes
AXIS_NAMES: dict[int, tuple[str, ...]] = {
    1: ("positions",),
    2: ("rows", "columns"),
    3: ("planes", "rows", "columns"),
}

Layout = Literal["plain", "unbatched", "batched"]

_GATHER_BYTES = 16 * 2**20  # bound on the window block gathered at once for Trace.output


@dataclass(frozen=True, eq=False)
class Step:
    """One output element of a :class:`Trace`: its window, the products and their sum.

    Attributes
    ----------
    number : int
        Position in the trace, from 1 (top-left of the first image and filter).
    index : tuple of int
        Index of the element in :attr:`Trace.output`: ``(*position)`` for a plain input,
        ``(out_channel, *position)`` unbatched, ``(batch, out_channel, *position)`` batched.
    batch, out_channel : int
        Image of the batch and filter (output channel) of this element.
    position : tuple of int
        Output position along each spatial axis.
    channels : tuple of int
        Input channels the window reads (those of the filter's group).
    taps : tuple of tuple of int
        Per spatial axis, the coordinates in the padded input of the kernel taps: the window
        covers ``taps[0][0]`` to ``taps[0][-1]`` along the first axis, ``dilation`` apart.
    window : ndarray
        Values of the padded input at the taps, shape ``(len(channels), *kernel)``.
    kernel : ndarray
        The filter, same shape as ``window`` (flipped when the trace is a convolution).
    products : ndarray
        ``window * kernel``.
    channel_sums : ndarray
        Sum of the products of each input channel, shape ``(len(channels),)``.
    sum : float
        Sum of all products (of the channel sums).
    bias : float
        Bias of the filter (0 without bias).
    value : float
        The output element, ``sum + bias``.
    """

    number: int
    index: tuple[int, ...]
    batch: int
    out_channel: int
    position: tuple[int, ...]
    channels: tuple[int, ...]
    taps: tuple[tuple[int, ...], ...]
    window: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    channel_sums: np.ndarray
    sum: float
    bias: float
    value: float

    @property
    def window_start(self) -> tuple[int, ...]:
        """First padded-input coordinate of the window along each axis."""
        return tuple(t[0] for t in self.taps)

    @property
    def window_stop(self) -> tuple[int, ...]:
        """Last padded-input coordinate of the window along each axis (inclusive)."""
        return tuple(t[-1] for t in self.taps)


@dataclass(frozen=True)
class Axis:
    """Geometry of one spatial axis, with the output-size formula filled in."""

    name: str
    size: int
    pad: tuple[int, int]
    kernel: int
    stride: int
    dilation: int
    output: int

    @property
    def padded(self) -> int:
        """Size of the padded input along this axis."""
        return self.size + self.pad[0] + self.pad[1]

    @property
    def formula(self) -> str:
        """``floor((in + before + after - dilation·(k - 1) - 1) / stride) + 1 = out``.

        >>> Axis("rows", 4, (1, 1), 3, 2, 1, 2).formula
        'floor((4 + 1 + 1 - 1·(3 - 1) - 1) / 2) + 1 = 2'
        """
        lo, hi = self.pad
        return (
            f"floor(({self.size} + {lo} + {hi} - {self.dilation}·({self.kernel} - 1) - 1)"
            f" / {self.stride}) + 1 = {self.output}"
        )


class Steps(Sequence[Step]):
    """The steps of a trace, built on demand (indexing, slicing, iteration, ``len``)."""

    def __init__(self, trace: Trace) -> None:
        self._trace = trace

    def __len__(self) -> int:
        return self._trace.n_steps

    @overload
    def __getitem__(self, i: int) -> Step: ...
    @overload
    def __getitem__(self, i: slice) -> list[Step]: ...
    def __getitem__(self, i: int | slice) -> Step | list[Step]:
        if isinstance(i, slice):
            return [self._trace.step(k + 1) for k in range(*i.indices(len(self)))]
        n = len(self)
        k = int(i)
        if not -n <= k < n:
            raise IndexError(f"step index {i} out of range for a trace of {n} steps")
        return self._trace.step(k % n + 1)

    def __iter__(self) -> Iterator[Step]:
        return (self._trace.step(k) for k in range(1, len(self) + 1))


@dataclass(frozen=True, eq=False)
class Trace:
    """The convolution of one input with one weight, step by step (returned by :func:`explain`).

    Attributes
    ----------
    layout : {"plain", "unbatched", "batched"}
        How the input was given: a bare 1-D/2-D array with a kernel of the same rank, ``(C,
        *spatial)`` or ``(N, C, *spatial)``. :attr:`output` and :attr:`Step.index` follow it.
    input : ndarray
        The input, batched ``(N, C, *spatial)``, float64.
    padded : ndarray
        The padded input ``(N, C, *padded)`` the windows slide over.
    weight : ndarray
        The filters as applied, ``(O, C / groups, *kernel)`` (flipped when ``convolve``).
    given_weight : ndarray
        The filters as given, same shape.
    bias : ndarray or None
        ``(O,)``, or None.
    spec : ConvSpec
        Stride, per-side padding, dilation, groups, padding mode (normalised by the core).
    convolve : bool
        True: mathematical convolution (the kernel flipped along every spatial axis).
    axes : tuple of Axis
        Per spatial axis: size, padding, kernel, stride, dilation and output size.
    taps : tuple of ndarray
        Per spatial axis, ``(out, kernel)`` padded-input coordinates of each window's taps.
    """

    layout: Layout
    input: np.ndarray
    padded: np.ndarray
    weight: np.ndarray
    given_weight: np.ndarray
    bias: np.ndarray | None
    spec: ConvSpec
    convolve: bool
    axes: tuple[Axis, ...]
    taps: tuple[np.ndarray, ...]

    # ----------------------------------------------------------------------------------------
    # shapes

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.axes)

    @property
    def output_spatial(self) -> tuple[int, ...]:
        """Output size along each spatial axis."""
        return tuple(a.output for a in self.axes)

    @property
    def batched_output_shape(self) -> tuple[int, ...]:
        """``(N, O, *output_spatial)``."""
        return (self.input.shape[0], self.weight.shape[0], *self.output_spatial)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of :attr:`output`, as ``conv1d/2d/3d`` returns it for this input."""
        return self._user_shape(self.batched_output_shape)

    @property
    def n_steps(self) -> int:
        """Number of steps: one per output element."""
        return int(np.prod(self.batched_output_shape))

    @property
    def steps(self) -> Steps:
        """Every step, in order (built on demand)."""
        return Steps(self)

    @property
    def padding_mask(self) -> np.ndarray:
        """Boolean array of the padded spatial shape: True where a cell is padding."""
        mask = np.ones(tuple(a.padded for a in self.axes), dtype=bool)
        mask[tuple(slice(a.pad[0], a.pad[0] + a.size) for a in self.axes)] = False
        return mask

    def _user_shape(self, batched: tuple[int, ...]) -> tuple[int, ...]:
        return {"plain": batched[2:], "unbatched": batched[1:], "batched": batched}[self.layout]

    # ----------------------------------------------------------------------------------------
    # steps and output

    def step(self, number: int) -> Step:
        """The step of this number (from 1), built from the tap tables."""
        if not 1 <= number <= self.n_steps:
            raise IndexError(f"step number {number} out of range 1..{self.n_steps}")
        n, o, *pos = (int(i) for i in np.unravel_index(number - 1, self.batched_output_shape))
        channels = self._channels(o)
        taps = tuple(tuple(int(t) for t in table[p]) for table, p in zip(self.taps, pos))
        window = self.padded[n, channels[0] : channels[-1] + 1][np.ix_(range(len(channels)), *taps)]
        kernel = self.weight[o]
        products = window * kernel
        channel_sums = products.reshape(len(channels), -1).sum(axis=1)
        total = float(channel_sums.sum())
        bias = 0.0 if self.bias is None else float(self.bias[o])
        return Step(
            number=number,
            index=self._user_shape((n, o, *pos)),
            batch=n,
            out_channel=o,
            position=tuple(pos),
            channels=channels,
            taps=taps,
            window=window,
            kernel=kernel,
            products=products,
            channel_sums=channel_sums,
            sum=total,
            bias=bias,
            value=total + bias,
        )

    def _channels(self, out_channel: int) -> tuple[int, ...]:
        per_group = self.weight.shape[0] // self.spec.groups
        width = self.weight.shape[1]
        first = (out_channel // per_group) * width
        return tuple(range(first, first + width))

    @property
    def output(self) -> np.ndarray:
        """The assembled output (float64), shaped as ``conv1d/2d/3d`` returns it.

        Computed from the same tap tables as the steps, all windows at once.
        """
        cached = self.__dict__.get("_output")
        if cached is None:
            cached = self._compute_output()
            object.__setattr__(self, "_output", cached)
        return cached.reshape(self.output_shape)

    def _compute_output(self) -> np.ndarray:
        nd = self.ndim
        n_batch = self.input.shape[0]
        n_out, width, *kernel = self.weight.shape
        per_group = n_out // self.spec.groups
        out = np.zeros(self.batched_output_shape)
        if out.size == 0:
            return out
        row_bytes = 8 * width * int(np.prod(kernel)) * int(np.prod(self.output_spatial[1:]))
        rows = max(1, _GATHER_BYTES // max(row_bytes, 1))
        w_axes = list(range(1, nd + 2))
        for n, g in itertools.product(range(n_batch), range(self.spec.groups)):
            plane = self.padded[n, g * width : (g + 1) * width]
            weights = self.weight[g * per_group : (g + 1) * per_group]
            for r0 in range(0, self.output_spatial[0], rows):
                tables = (self.taps[0][r0 : r0 + rows], *self.taps[1:])
                windows = _gather(plane, tables)  # (C/g, *out, *kernel)
                block = np.tensordot(
                    weights, windows, axes=(w_axes, [0, *range(nd + 1, 2 * nd + 1)])
                )
                out[n, g * per_group : (g + 1) * per_group, r0 : r0 + rows] = block
        if self.bias is not None:
            out += self.bias.reshape(1, -1, *[1] * nd)
        return out

    def output_after(self, number: int) -> np.ndarray:
        """The running output after step ``number``: later elements are NaN.

        >>> t = explain(np.arange(1.0, 17.0).reshape(4, 4), np.ones((3, 3)))
        >>> t.output_after(3)
        array([[54., 63.],
               [90., nan]])
        """
        flat = self.output.astype(np.float64).ravel().copy()
        flat[max(number, 0) :] = np.nan
        return flat.reshape(self.output_shape)

    # ----------------------------------------------------------------------------------------
    # selection and renderings

    def select(self, max_steps: int | None = 20, region: Any = None) -> list[int]:
        """Numbers of the steps to show: those in ``region``, at most ``max_steps``.

        Parameters
        ----------
        max_steps : int or None, default 20
            Show at most this many steps (the first ones); None shows all.
        region : sequence, optional
            One ``(start, stop)`` pair, ``slice``, int or None (the whole axis) per spatial
            axis, over *output* positions (``stop`` excluded, as in Python slicing); applies
            to every image and filter. None: every position.

        >>> t = explain(np.zeros((6, 6)), np.ones((3, 3)))
        >>> t.select(max_steps=3)
        [1, 2, 3]
        >>> t.select(region=[(1, 3), slice(2, None)])
        [7, 8, 11, 12]
        """
        from .select import select_steps

        return select_steps(self, max_steps, region)

    def to_text(self, max_steps: int | None = 20, region: Any = None) -> str:
        """The tutorial's narrative of this trace, with aligned matrices.

        ``max_steps`` and ``region`` choose the steps shown (see :meth:`select`).

        >>> image = np.arange(1.0, 17.0).reshape(4, 4)
        >>> kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
        >>> print(explain(image, kernel).to_text(max_steps=1))  # doctest: +ELLIPSIS
        Cross-correlation of a 4×4 input with a 3×3 kernel (the kernel is not flipped)
        ...
        step 1 of 4: output[0, 0]
          start at the top-left
          select the window at rows 0–2, columns 0–2
             1  2  3     1 0 1     1 0  3
             5  6  7  ⊙  0 1 0  =  0 6  0
             9 10 11     1 0 1     9 0 11
          multiply element-wise and sum: 1 + 0 + 3 + 0 + 6 + 0 + 9 + 0 + 11 = 30
          output[0, 0] = 30
        ...
        """
        from .text import render_text

        return render_text(self, self.select(max_steps, region))

    def to_markdown(self, max_steps: int | None = 20, region: Any = None) -> str:
        """The narrative as Markdown: headings, plain tables, no LaTeX.

        >>> t = explain(np.arange(1.0, 17.0).reshape(4, 4), np.ones((3, 3)))
        >>> print(t.to_markdown(max_steps=1).splitlines()[0])
        # Cross-correlation of a 4×4 input with a 3×3 kernel
        """
        from .text import render_markdown

        return render_markdown(self, self.select(max_steps, region))

    def to_dict(self, max_steps: int | None = 20, region: Any = None) -> dict[str, Any]:
        """The trace as plain Python data following :data:`fastconv.TRACE_SCHEMA`."""
        from .schema import trace_to_dict

        return trace_to_dict(self, self.select(max_steps, region))

    def to_json(
        self, max_steps: int | None = 20, region: Any = None, indent: int | None = 2
    ) -> str:
        """The trace as JSON, valid against :data:`fastconv.TRACE_SCHEMA`.

        >>> import json
        >>> t = explain(np.arange(1.0, 17.0).reshape(4, 4), np.ones((3, 3)))
        >>> d = json.loads(t.to_json(max_steps=2))
        >>> d["schema"], d["output"], d["total_steps"], [s["value"] for s in d["steps"]]
        ('fastconv.trace/1', [[54.0, 63.0], [90.0, 99.0]], 4, [54.0, 63.0])
        """
        import json

        return json.dumps(self.to_dict(max_steps, region), indent=indent, allow_nan=False)


def _gather(plane: np.ndarray, tables: Sequence[np.ndarray]) -> np.ndarray:
    """``plane[:, windows]``: ``(C, *P)`` -> ``(C, *out, *kernel)`` from per-axis tap tables."""
    nd = len(tables)
    index = []
    for a, table in enumerate(tables):
        shape = [1] * (2 * nd)
        shape[a], shape[nd + a] = table.shape
        index.append(table.reshape(shape))
    return plane[(slice(None), *index)]


def _tap_table(out: int, kernel: int, stride: int, dilation: int) -> np.ndarray:
    """``(out, kernel)`` padded-input coordinates: ``i * stride + j * dilation``."""
    return np.arange(out)[:, None] * stride + np.arange(kernel)[None, :] * dilation


def explain(
    x: Any,
    weight: Any,
    *,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    convolve: bool = False,
) -> Trace:
    """Trace a convolution step by step: every window, product and sum, in order.

    The kernel slides over the (padded) input from the top-left to the bottom-right, row by
    row (images of a batch and filters in order); each step records the window, the kernel,
    their element-wise products, the per-channel sums, the bias and the output element.
    Arguments and semantics are those of ``conv1d/2d/3d`` (cross-correlation, PyTorch layout),
    validated by the same code; values are computed in float64.

    Parameters
    ----------
    x : array_like
        ``(N, C, *spatial)``, ``(C, *spatial)``, or — with a kernel of the same rank — a plain
        1-D signal or 2-D image.
    weight : array_like
        ``(O, C / groups, *kernel)`` (3 to 5 dimensions: 1-D to 3-D convolution), or a plain
        1-D/2-D kernel for a plain input (treated as weight ``(1, 1, *kernel)``).
    bias : array_like, optional
        ``(O,)``.
    stride, padding, dilation, groups, padding_mode
        As in :func:`fastconv.conv2d` (``padding`` also ``"same"``/``"valid"``).
    convolve : bool, default False
        Mathematical convolution: flip the kernel along every spatial axis first (the trace
        shows the flipped kernel and says so). False: cross-correlation, the CNN convention.

    Returns
    -------
    Trace
        With ``trace.output`` of ``conv*d``'s shape, where per axis
        ``out = floor((in + pad_before + pad_after - dilation * (k - 1) - 1) / stride) + 1``,
        and one :class:`Step` per output element in ``trace.steps``.

    Raises
    ------
    ValueError, TypeError
        For a bad shape, parameter or dtype, with the core's messages (function ``explain``).

    Examples
    --------
    The tutorial's 4×4 image and 3×3 kernel:

    >>> import numpy as np
    >>> image = np.arange(1.0, 17.0).reshape(4, 4)
    >>> kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    >>> trace = explain(image, kernel)
    >>> len(trace.steps), trace.output
    (4, array([[30., 35.],
           [50., 55.]]))
    >>> step = trace.steps[1]
    >>> step.index, step.window_start, step.window_stop, step.sum
    ((0, 1), (0, 1), (2, 3), 35.0)
    >>> step.products[0]
    array([[ 2.,  0.,  4.],
           [ 0.,  7.,  0.],
           [10.,  0., 12.]])

    Two input channels: each output is the sum of the per-channel sums.

    >>> x = np.stack([image, -image])
    >>> trace = explain(x, np.ones((1, 2, 2, 2)), stride=2)
    >>> s = trace.steps[0]
    >>> s.index, s.channel_sums, s.value
    ((0, 0, 0), array([ 14., -14.]), 0.0)
    """
    return build_trace(
        "explain", x, weight, bias, stride, padding, dilation, groups, padding_mode, convolve
    )


def build_trace(
    fname: str,
    x: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
    padding_mode: Any,
    convolve: Any,
) -> Trace:
    """:func:`explain` for the caller ``fname`` (its messages name that function)."""
    xa = as_array(fname, "input", x)
    wa = as_array(fname, "weight", weight)
    ba = None if bias is None else as_array(fname, "bias", bias)
    if wa.ndim in (1, 2):
        if xa.ndim != wa.ndim:
            raise ValueError(
                f"{fname}: expected a plain {wa.ndim}-D input for the plain {wa.ndim}-D kernel "
                f"of shape {wa.shape} (or weight of shape (O, C / groups, *kernel)), got input "
                f"of shape {xa.shape}"
            )
        layout: Layout = "plain"
        nd = wa.ndim
        xa, wa = xa[None, None], wa[None, None]
    elif wa.ndim in (3, 4, 5):
        nd = wa.ndim - 2
        layout = "batched" if xa.ndim == nd + 2 else "unbatched"
    else:
        raise ValueError(
            f"{fname}: expected weight with 3, 4 or 5 dimensions (out_channels, "
            f"in_channels/groups, *kernel), or a plain 1-D/2-D kernel, got weight of shape "
            f"{wa.shape}"
        )
    if not isinstance(convolve, bool | np.bool_):
        raise TypeError(f"{fname}: expected convolve to be True or False, got {convolve!r}")
    geo = normalize_conv(
        fname,
        nd,
        xa.shape,
        xa.dtype,
        wa.shape,
        wa.dtype,
        None if ba is None else ba.shape,
        None if ba is None else ba.dtype,
        stride,
        padding,
        dilation,
        groups,
        padding_mode,
    )
    spec = geo.spec
    xb = np.asarray(xa, dtype=np.float64).reshape(geo.input_shape)
    given = np.asarray(wa, dtype=np.float64)
    applied = given[(..., *[slice(None, None, -1)] * nd)] if convolve else given
    padded = np.pad(xb, [(0, 0), (0, 0), *spec.padding], mode=NP_PAD_MODE[spec.padding_mode])
    spatial, kernel = geo.input_shape[2:], geo.weight_shape[2:]
    axes = tuple(
        Axis(name, n, pad, k, s, d, output_size(n, k, s, pad[0], pad[1], d))
        for name, n, pad, k, s, d in zip(
            AXIS_NAMES[nd], spatial, spec.padding, kernel, spec.stride, spec.dilation
        )
    )
    taps = tuple(_tap_table(a.output, a.kernel, a.stride, a.dilation) for a in axes)
    return Trace(
        layout=layout,
        input=xb,
        padded=padded,
        weight=np.ascontiguousarray(applied),
        given_weight=given,
        bias=None if ba is None else np.asarray(ba, dtype=np.float64),
        spec=spec,
        convolve=bool(convolve),
        axes=axes,
        taps=taps,
    )
