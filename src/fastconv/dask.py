"""The same convolutions on Dask arrays: lazily, chunk by chunk, locally or on a cluster.

``filter_image``, ``conv1d``/``conv2d``/``conv3d``, ``correlate``/``convolve`` and
``correlate2d``/``convolve2d`` take the arguments of the in-memory functions of the same
names, accept a Dask array as the input (the kernel stays in memory: a Dask kernel is computed
first) and return a Dask array whose blocks are computed by the in-memory functions. The
in-memory functions themselves hand a Dask input over to these (``fastconv.filter_image(d,
k)`` returns a Dask array); nothing is computed until you ask (``.compute()``, ``.to_zarr()``,
``dask.compute``) and then only one block at a time per worker thread.

How a block is computed (``map_blocks`` with explicitly built halos, no guessing):

- **the halo comes from the shape rules** (:func:`fastconv._shapes.input_span`): output
  ``j`` reads input ``j * stride - pad_before + dilation * t`` for every tap ``t``, so a block
  of outputs reads ``pad_before`` positions before its first anchor and
  ``dilation * (k - 1) - pad_before`` after its last -- asymmetric for even kernels;
- **the border belongs to the whole array**: where a block's halo falls outside the array,
  its values are taken from where the border mode sends them -- the far end of the array
  for ``wrap``, the mirrored positions for ``reflect``/``mirror``/``symmetric``, the edge for
  ``nearest``/``replicate``, the constant otherwise -- however far that is (kernels larger
  than a chunk, or than the array, too). Each block is then a ``'valid'`` convolution of its
  extended region, the same arithmetic as the in-memory call;
- **stride** ``s > 1``: each chunk along a strided axis is resized to a multiple of ``s``
  (all but the last; :func:`stride_chunks`), so that the outputs anchored in a chunk are
  exactly ``chunk_size / s`` consecutive outputs: output chunks are input chunks divided by
  the stride;
- **large kernels** (``method="auto"``): each block goes through the in-memory cost model,
  which takes the FFT (one transform or overlap-save blocks) where it is faster and keeps the
  precision; ``method="fft"`` forces it;
- **separable kernels** in ``filter_image`` (rank 1: Gaussian, box, Sobel, ...) run as two
  1-D passes over the graph: along the rows with a halo along the rows only, then along the
  columns with a halo along the columns only, the intermediate kept in the compute dtype.
  Each pass moves a thin strip from two neighbours instead of strips and corners from eight,
  and the result is bit for bit the in-memory one (row blocks of even height, so that the
  column pass makes its rows in the same pairs).

Only the halo strips travel between blocks (one small task per strip); a block's own chunk
is read where it lies. Axes that are not convolved (the batch axis, the axes ``axes=`` leaves
out) keep their chunks; the channel axis of ``conv*d`` and of a colour image is made one chunk
(each output reads every input channel of its group; an image's alpha is its last channel).

:func:`read_image` opens Zarr arrays and (Big)TIFF files lazily and :func:`write_image` computes
a Dask array into a Zarr store or a tiled TIFF block by block, atomically (a temporary name, then
a rename): store to store, on a laptop or a cluster, as ``fastconv apply`` does.

Dask is an optional dependency (``pip install "fastconv[dask]"``); ``import fastconv`` never
imports it.
"""

from __future__ import annotations

import bisect
import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _shapes
from ._spec import _per_axis, as_array, is_dask_array
from ._stream import Written, read_image, write_image

__all__ = [
    "Written",
    "conv1d",
    "conv2d",
    "conv3d",
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "filter_image",
    "is_dask_array",
    "read_image",
    "stride_chunks",
    "write_image",
]

#: PyTorch's padding modes -> the border names of :func:`fastconv._border.border_index`
_CONV_BORDERS = {
    "zeros": "constant",
    "reflect": "mirror",
    "replicate": "nearest",
    "circular": "wrap",
    "symmetric": "reflect",
}


def _dask_array():
    try:
        import dask.array as da
    except ImportError:  # pragma: no cover - the dask extra is part of the test extra
        raise ImportError(
            "fastconv.dask needs Dask: pip install 'fastconv[dask]' (dask[array], distributed, "
            "zarr, tifffile)"
        ) from None
    return da


# --------------------------------------------------------------------------------------------
# arguments


def _as_dask(fname: str, name: str, value: Any, check=as_array):
    """The input as a Dask array (NumPy arrays and array-likes are wrapped, not copied)."""
    if is_dask_array(value):
        return value
    return _dask_array().from_array(check(fname, name, value))


def _in_memory(fname: str, name: str, value: Any, check=as_array) -> np.ndarray:
    """A kernel, weight or bias: computed when it is a Dask array (it must fit in memory)."""
    if is_dask_array(value):
        value = value.compute()
    return check(fname, name, value)


def _fits(value: Any, dtype: np.dtype) -> bool:
    """Whether ``value`` is held exactly by ``dtype`` (NaN by a float dtype)."""
    v = np.array(value)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # complex to real
            cast = v.astype(dtype)
    except (TypeError, ValueError, OverflowError):
        return False
    if v.dtype.kind in "fc" and np.isnan(v):
        return cast.dtype.kind in "fc" and bool(np.isnan(cast))
    return bool(cast == v)


def stride_chunks(chunks: Sequence[int], stride: int) -> tuple[int, ...]:
    """Chunk sizes along one axis moved to multiples of ``stride`` (all but the last).

    Each interior chunk boundary moves to the nearest multiple of ``stride`` (halves up; at
    least one stride past the previous one), so that output chunk ``i`` of a strided convolution is
    exactly ``chunk_i / stride`` outputs: those anchored in input chunk ``i``.

    Examples
    --------
    >>> stride_chunks((5, 5, 5), 2)
    (6, 4, 5)
    >>> stride_chunks((4, 4, 2), 2)     # already aligned: unchanged
    (4, 4, 2)
    >>> stride_chunks((1, 1, 1, 1, 1), 3)
    (3, 2)
    """
    total = sum(chunks)
    bounds = [0]
    for b in itertools.accumulate(chunks[:-1]):
        aligned = max((b + stride // 2) // stride * stride, bounds[-1] + stride)
        if aligned < total:
            bounds.append(aligned)
    bounds.append(total)
    return tuple(b - a for a, b in itertools.pairwise(bounds) if b > a) or (0,)


# --------------------------------------------------------------------------------------------
# the engine: output blocks, their input regions, the pieces those are made of


@dataclass(frozen=True)
class _Axis:
    """One convolved axis: input size, kernel taps, dilation, stride, padding per side."""

    size: int
    kernel: int
    dilation: int
    stride: int
    lo: int
    hi: int

    @property
    def out(self) -> int:
        return max(
            0,
            _shapes.output_size(self.size, self.kernel, self.stride, self.lo, self.hi,
                                self.dilation),
        )  # fmt: skip


@dataclass(frozen=True)
class _Slices:
    """Where a piece lies in its source chunk: ``(start, stop, step)`` per axis."""

    items: tuple[tuple[int | None, int | None, int], ...]

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        # a copy, so that the piece does not keep the whole chunk alive
        return np.array(chunk[tuple(slice(*s) for s in self.items)])


def _take(chunk: np.ndarray, where: _Slices) -> np.ndarray:
    return where(chunk)


@dataclass(frozen=True)
class _Layout:
    """How the pieces of one block fit together: per convolved axis the lengths of its
    pieces; per piece (C order over that grid) ``None`` (the next array argument) or the
    shape of a constant piece."""

    axes: tuple[int, ...]
    lengths: tuple[tuple[int, ...], ...]
    constants: tuple[tuple[int, ...] | None, ...]
    value: Any
    dtype: np.dtype


def _run_block(fn, layout: _Layout, *arrays: np.ndarray) -> np.ndarray:
    """Assemble a block's extended region from its pieces and compute its outputs."""
    given = iter(arrays)
    if len(layout.constants) == 1 and layout.constants[0] is None:
        region = next(given)
        if region.dtype != layout.dtype:
            region = region.astype(layout.dtype)
        return fn(region)
    parts = [next(given) if c is None else None for c in layout.constants]
    some = next((p for p in parts if p is not None), None)
    shape = list(some.shape if some is not None else layout.constants[0])
    for ax, lengths in zip(layout.axes, layout.lengths):
        shape[ax] = sum(lengths)
    region = np.empty(shape, dtype=layout.dtype)
    starts = [np.concatenate([[0], np.cumsum(lengths)[:-1]]) for lengths in layout.lengths]
    grids = itertools.product(*(range(len(lengths)) for lengths in layout.lengths))
    for grid, part in zip(grids, parts):
        index = [slice(None)] * len(shape)
        for ax, g, s, lengths in zip(layout.axes, grid, starts, layout.lengths):
            index[ax] = slice(int(s[g]), int(s[g]) + lengths[g])
        region[tuple(index)] = layout.value if part is None else part
    return fn(region)


def _pieces(src: np.ndarray, bounds: Sequence[int]) -> list[tuple[int, int, int, int]]:
    """Cut source positions (``-1``: the constant) into runs read from one chunk each.

    Returns ``(chunk, first, last, step)`` per run, ``first``/``last`` inclusive and local to
    the chunk, ``step`` +1 or -1 (a mirrored border reads backwards); ``(-1, 0, length - 1,
    1)`` for a run of the constant.
    """
    runs = []
    i, n = 0, len(src)
    while i < n:
        s = int(src[i])
        if s < 0:
            j = i + 1
            while j < n and src[j] < 0:
                j += 1
            runs.append((-1, 0, j - i - 1, 1))
            i = j
            continue
        c = bisect.bisect_right(bounds, s) - 1
        lo, hi = bounds[c], bounds[c + 1]
        step = int(src[i + 1]) - s if i + 1 < n else 1
        if step not in (1, -1) or not lo <= s + step < hi:
            step, length = 1, 1
        else:
            room = hi - s if step == 1 else s - lo + 1
            seg = src[i : i + room]
            bad = np.flatnonzero(seg != s + step * np.arange(len(seg)))
            length = int(bad[0]) if len(bad) else len(seg)
        runs.append((c, s - lo, s - lo + step * (length - 1), step))
        i += length
    return runs


def _out_bounds(in_bounds: Sequence[int], g: _Axis) -> list[int]:
    """Output chunk boundaries: the outputs anchored (``j * stride``) in each input chunk;
    outputs past the input's end (``'full'``) join the last chunk."""
    o = g.out
    cuts = sorted({b // g.stride for b in in_bounds[1:-1] if 0 < b // g.stride < o})
    return [0, *cuts, o]


def _halo_map(x, geo: dict[int, _Axis], border: str, cval: Any, fn: Any, *, dtype: np.dtype,
              block_dtype: np.dtype, out_chunks: dict[int, tuple[int, ...]] | None = None,
              name: str = "fastconv"):  # fmt: skip
    """``fn`` on the extended region of every output block of ``x``.

    ``geo`` maps each convolved axis of ``x`` to its geometry (chunks along strided axes
    must already be multiples of the stride); ``fn(region)`` returns the block's outputs from
    the region of ``x`` they read, extended past the array's edges by ``border`` (the names
    of :func:`fastconv._border.border_index`, ``cval`` for ``"constant"``) and cast to
    ``block_dtype``. Other axes keep ``x``'s chunks, or take ``out_chunks[axis]`` (one chunk
    in, one chunk out).
    """
    da = _dask_array()
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    from ._border import border_index

    out_chunks = out_chunks or {}
    in_bounds = [[0, *itertools.accumulate(c)] for c in x.chunks]
    per_axis: dict[int, list[list[tuple[int, int, int, int]]]] = {}
    chunks = []
    for ax in range(x.ndim):
        if ax not in geo:
            chunks.append(out_chunks.get(ax, x.chunks[ax]))
            continue
        g = geo[ax]
        ob = _out_bounds(in_bounds[ax], g)
        chunks.append(tuple(b - a for a, b in itertools.pairwise(ob)))
        blocks = []
        for j0, j1 in itertools.pairwise(ob):
            r0, r1 = _shapes.input_span(j0, j1, g.kernel, g.stride, g.lo, g.dilation)
            before, after = max(0, -r0), max(0, r1 - g.size)
            table = border_index(g.size, before, after, border)[r0 + before : r1 + before]
            blocks.append(_pieces(table, in_bounds[ax]))
        per_axis[ax] = blocks
    chunks = tuple(chunks)
    if any(sum(c) == 0 for c in chunks):
        return da.zeros(tuple(sum(c) for c in chunks), dtype=dtype, chunks=chunks)

    token = tokenize(x.name, fn, sorted(geo.items()), border, cval, np.dtype(block_dtype).str)
    out_name = f"{name}-{token}"
    piece_name = f"{name}-halo-{token}"
    fn_key = f"{name}-fn-{token}"
    axes = tuple(sorted(geo))
    value = np.array(cval).astype(block_dtype) if border == "constant" else None
    dsk: dict[Any, Any] = {fn_key: fn}
    pieces: dict[tuple, Any] = {}
    for block in itertools.product(*(range(len(c)) for c in chunks)):
        options = [per_axis[ax][block[ax]] for ax in axes]
        constants, refs = [], []
        for combo in itertools.product(*options):
            lengths = [abs(last - first) + 1 for _, first, last, _ in combo]
            if any(c < 0 for c, *_ in combo):
                shape = [x.chunks[ax][block[ax]] for ax in range(x.ndim)]
                for ax, length in zip(axes, lengths):
                    shape[ax] = length
                constants.append(tuple(shape))
                continue
            constants.append(None)
            source = list(block)
            items: list[tuple[int | None, int | None, int]] = [(None, None, 1)] * x.ndim
            whole = True
            for ax, (c, first, last, step) in zip(axes, combo):
                source[ax] = c
                stop = last + step
                items[ax] = (first, None if stop < 0 else stop, step)
                whole &= step == 1 and first == 0 and last + 1 == x.chunks[ax][c]
            src_key = (x.name, *source)
            if whole:
                refs.append(src_key)
                continue
            where = _Slices(tuple(items))
            key = pieces.get((src_key, where))
            if key is None:
                key = pieces[(src_key, where)] = (piece_name, len(pieces))
                dsk[key] = (_take, src_key, where)
            refs.append(key)
        lengths = tuple(tuple(abs(r[2] - r[1]) + 1 for r in opts) for opts in options)
        layout = _Layout(axes, lengths, tuple(constants), value, np.dtype(block_dtype))
        dsk[(out_name, *block)] = (_run_block, fn_key, layout, *refs)
    graph = HighLevelGraph.from_collections(out_name, dsk, dependencies=[x])
    return da.Array(graph, out_name, chunks=chunks, meta=np.empty((0,) * x.ndim, dtype=dtype))


def _align_strides(x, geo: dict[int, _Axis]):
    """Rechunk the strided axes of ``x`` to multiples of their stride (see stride_chunks)."""
    new = {}
    for ax, g in geo.items():
        if g.stride > 1:
            aligned = stride_chunks(x.chunks[ax], g.stride)
            if aligned != x.chunks[ax]:
                new[ax] = aligned
    return x.rechunk(new) if new else x


def _one_chunk(x, axis: int):
    return x if len(x.chunks[axis]) == 1 else x.rechunk({axis: -1})


# --------------------------------------------------------------------------------------------
# filter_image


class _FilterBlock:
    """``filter_image(region, kernel, mode="valid", ...)``: one block of a filtered image."""

    def __init__(self, kernel, stride, channel_axis, output, filter_alpha, method, factors=None):
        self.kernel = kernel
        self.stride = stride
        self.channel_axis = channel_axis
        self.output = np.dtype(output)
        self.filter_alpha = filter_alpha
        self.method = method
        self.factors = factors  # a pass of the separable method: (u, v) as given

    def __dask_tokenize__(self):
        f = None if self.factors is None else [a.tobytes() for a in self.factors]
        return (type(self).__name__, self.kernel.tobytes(), self.kernel.shape, self.stride,
                self.channel_axis, self.output.str, self.filter_alpha, self.method, f)  # fmt: skip

    def __call__(self, region: np.ndarray) -> np.ndarray:
        from . import image

        axis = self.channel_axis if region.ndim == 3 else -1
        setup = image._cached_setup(region, self.kernel, "constant", 0.0, "valid", self.stride,
                                    axis, self.output, self.filter_alpha,
                                    self.method)  # fmt: skip
        if self.factors is not None:  # the given factors, not those of this 1-D kernel
            from dataclasses import replace

            setup = replace(setup, factors=self.factors)
        return image._run(setup, region, None)


def filter_image(
    image: Any,
    kernel: Any,
    *,
    border: str = "reflect",
    cval: float = 0.0,
    mode: str = "same",
    stride: Any = 1,
    channel_axis: int | None = -1,
    output: Any = None,
    filter_alpha: bool = False,
    method: str = "auto",
):
    """:func:`fastconv.filter_image` on a Dask image: ``scipy.ndimage.correlate`` per chunk.

    The arguments and the result's values, shape and dtype are those of
    :func:`fastconv.filter_image` (which hands a Dask image to this function); the border
    applies to the whole image, not to each chunk, for any kernel size.

    Parameters
    ----------
    image : dask.array.Array or array_like
        ``(H, W)`` or ``(H, W, C)`` (channel axis where ``channel_axis`` says; it is made one
        chunk). A NumPy array is wrapped with ``dask.array.from_array``.
    kernel : array_like
        ``(kh, kw)``, in memory (a Dask array is computed first).
    border, cval, mode, channel_axis, filter_alpha
        As in :func:`fastconv.filter_image`.
    stride : int or (int, int), default 1
        As in :func:`fastconv.filter_image`; the chunks of a strided axis are first resized to
        multiples of the stride (:func:`stride_chunks`), and the output's chunks are the
        input's divided by the stride.
    output : dtype, optional
        Result dtype (an array to write into is refused: the result is a Dask array).
    method : {"auto", "direct", "separable", "fft"}, default "auto"
        ``"separable"`` (``"auto"`` for a rank-1 kernel of at least 9 taps): two 1-D passes
        over the graph, the first along the rows, the second along the columns. Otherwise
        each block runs :func:`fastconv.filter_image` with this method: ``"auto"`` lets the
        in-memory rule choose per block between the direct method and the FFT (where the cost
        model prefers it and the block's values keep the precision), ``"fft"`` forces it.

    Returns
    -------
    dask.array.Array
        Lazy; shape and dtype as :func:`fastconv.filter_image` gives them.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> image = da.from_array(np.arange(36.0).reshape(6, 6), chunks=(2, 3))
    >>> out = filter_image(image, np.ones((3, 3)) / 9, border="wrap")
    >>> out.chunks
    ((2, 2, 2), (3, 3))
    >>> out.compute(scheduler="synchronous")[0]      # the border wraps around the whole image
    array([14., 13., 14., 15., 16., 15.])
    >>> import fastconv
    >>> bool((out.compute(scheduler="synchronous") ==
    ...       fastconv.filter_image(np.arange(36.0).reshape(6, 6), np.ones((3, 3)) / 9,
    ...                             border="wrap")).all())
    True
    >>> filter_image(image, np.ones((2, 2)), stride=2).chunks     # columns: 3 + 3 -> 4 + 2
    ((1, 1, 1), (2, 1))
    """
    from . import image as image_mod

    fname = image_mod.FNAME
    img = _as_dask(fname, "image", image)
    ker = _in_memory(fname, "kernel", kernel)
    if isinstance(output, np.ndarray):
        raise TypeError(
            f"{fname}: expected output to be None or a dtype for a Dask image (the result is a "
            f"Dask array), got an ndarray of shape {output.shape}"
        )
    dummy = np.broadcast_to(np.zeros((), img.dtype), img.shape)  # validation reads no pixels
    image_mod.as_array(fname, "image", dummy)
    setup = image_mod._cached_setup(dummy, ker, border, cval, mode, stride, channel_axis, output,
                                    filter_alpha, method)  # fmt: skip
    p = setup.plan
    axis = setup.channel_axis
    rows, cols = [a for a in range(img.ndim) if a != axis]
    if axis is not None:
        img = _one_chunk(img, axis)
    (pt, pb), (pl, pr) = setup.pads
    kh, kw = setup.kernel.shape
    sh, sw = setup.stride
    compute = p.compute_dtype
    h, w = img.shape[rows], img.shape[cols]
    geo_rows = _Axis(h, kh, 1, sh, pt, pb)
    geo_cols = _Axis(w, kw, 1, sw, pl, pr)
    block_dtype = img.dtype if _fits(setup.cval, img.dtype) else compute
    common = dict(dtype=p.output_dtype, name="fastconv-filter_image")

    if p.method == "separable":
        u, v = setup.factors
        one = np.ones(1, compute)
        first = _FilterBlock(v[None, :], (1, sw), axis, compute, filter_alpha, "separable",
                             (one, v))  # fmt: skip
        second = _FilterBlock(u[:, None], (sh, 1), axis, p.output_dtype, filter_alpha,
                              "separable", (u, one))  # fmt: skip
        x = _align_strides(img, {cols: geo_cols})
        if sh == 1:  # even row blocks: the column pass makes rows in the same pairs as in memory
            x = _align_strides(x, {rows: _Axis(h, 1, 1, 2, 0, 0)})
        mid = _halo_map(x, {cols: geo_cols}, p.border, setup.cval, first, dtype=compute,
                        block_dtype=block_dtype, name="fastconv-filter_image-rows")  # fmt: skip
        # the border of the second pass: rows beyond the edges, filtered like the others
        cval2 = first(np.full((1, kw) if axis is None else _channels_shape(axis, kw, img),
                              setup.cval, compute)).reshape(-1)[0]  # fmt: skip
        mid = _align_strides(mid, {rows: geo_rows})
        return _halo_map(mid, {rows: geo_rows}, p.border, cval2, second, block_dtype=compute,
                         **{**common, "name": "fastconv-filter_image-cols"})  # fmt: skip

    # each block: the in-memory rule ("auto": direct, or the FFT where the cost model prefers
    # it and the block's values keep the precision), or the method given
    block = _FilterBlock(setup.kernel, setup.stride, axis, p.output_dtype, filter_alpha,
                         "auto" if method == "auto" else method)  # fmt: skip
    geo = {rows: geo_rows, cols: geo_cols}
    x = _align_strides(img, geo)
    return _halo_map(x, geo, p.border, setup.cval, block, block_dtype=block_dtype, **common)


def _channels_shape(axis: int, kw: int, img) -> tuple[int, ...]:
    """A one-row, ``kw``-column region with the image's channels (for the border value)."""
    shape = [1, kw]
    shape.insert(axis, img.shape[axis])
    return tuple(shape)


# --------------------------------------------------------------------------------------------
# conv1d / conv2d / conv3d


class _ConvBlock:
    """``conv{nd}d(region, weight, bias, stride, padding=0, dilation, groups)``."""

    def __init__(self, nd, weight, bias, stride, dilation, groups, method):
        self.nd, self.weight, self.bias = nd, weight, bias
        self.stride, self.dilation, self.groups, self.method = stride, dilation, groups, method

    def __dask_tokenize__(self):
        b = None if self.bias is None else (self.bias.tobytes(), self.bias.dtype.str)
        return ("conv", self.nd, self.weight.tobytes(), self.weight.shape, self.weight.dtype.str,
                b, self.stride, self.dilation, self.groups, self.method)  # fmt: skip

    def __call__(self, region: np.ndarray) -> np.ndarray:
        from .functional import _conv

        return _conv(self.nd, region, self.weight, self.bias, self.stride, 0, self.dilation,
                     self.groups, "zeros", self.method)  # fmt: skip


def _conv_dask(nd: int, x, weight, bias, stride, padding, dilation, groups, padding_mode,
               method):  # fmt: skip
    from .functional import _NAMES, plan

    fname = _NAMES[nd]
    xd = _as_dask(fname, "input", x)
    w = _in_memory(fname, "weight", weight)
    b = None if bias is None else _in_memory(fname, "bias", bias)
    dummy = np.broadcast_to(np.zeros((), xd.dtype), xd.shape)  # validation reads no values
    if w.ndim != nd + 2:  # plan() would name the function after the weight's dimensions
        from ._spec import normalize_conv

        normalize_conv(fname, nd, dummy.shape, dummy.dtype, w.shape, w.dtype, None, None, stride,
                       padding, dilation, groups, padding_mode)  # fmt: skip
    p = plan(dummy, w, b, stride, padding, dilation, groups, padding_mode=padding_mode,
             method=method)  # fmt: skip
    geo_ = p.geometry
    spec = geo_.spec
    xb = xd if geo_.batched else xd[None]
    xb = _one_chunk(xb, 1)
    geo = {
        2 + i: _Axis(xb.shape[2 + i], w.shape[2 + i], spec.dilation[i], spec.stride[i], lo, hi)
        for i, (lo, hi) in enumerate(spec.padding)
    }
    block = _ConvBlock(nd, w, b, spec.stride, spec.dilation, spec.groups, method)
    xb = _align_strides(xb, geo)
    out = _halo_map(xb, geo, _CONV_BORDERS[spec.padding_mode], 0, block,
                    dtype=geo_.result_dtype, block_dtype=xb.dtype,
                    out_chunks={1: (w.shape[0],)}, name=f"fastconv-{fname}")  # fmt: skip
    return out if geo_.batched else out[0]


_CONV_DOC = """:func:`fastconv.conv{nd}d` on a Dask input: PyTorch's ``conv{nd}d``, chunk by chunk.

    The arguments and the result's values, shape and dtype are those of
    :func:`fastconv.conv{nd}d` (which hands a Dask input to this function); padding modes
    apply to the whole input, not to each chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or ``(C, *spatial)``. The batch and spatial axes keep their
        chunks (a strided axis: resized to multiples of the stride, :func:`stride_chunks`);
        the channel axis is made one chunk.
    weight, bias : array_like
        In memory (Dask arrays are computed first).
    stride, padding, dilation, groups, padding_mode, method
        As in :func:`fastconv.conv{nd}d`.

    Returns
    -------
    dask.array.Array
        ``(N, O, *out)`` (``(O, *out)`` unbatched); output chunks along a spatial axis are the
        outputs anchored (``j * stride``) in each input chunk, the channel axis one chunk.
"""


def conv1d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1, *, padding_mode: str = "zeros",
           method: str = "auto"):  # fmt: skip
    """{doc}
    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.arange(8.0).reshape(1, 8), chunks=(1, 3))
    >>> y = conv1d(x, np.ones((1, 1, 3)), padding=1, padding_mode="circular")
    >>> y.compute(scheduler="synchronous")
    array([[ 8.,  3.,  6.,  9., 12., 15., 18., 13.]])
    """
    return _conv_dask(1, x, weight, bias, stride, padding, dilation, groups, padding_mode, method)


def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1, *, padding_mode: str = "zeros",
           method: str = "auto"):  # fmt: skip
    """{doc}
    Examples
    --------
    >>> import numpy as np, dask.array as da, fastconv
    >>> x = np.random.default_rng(0).standard_normal((2, 3, 10, 10))
    >>> w = np.random.default_rng(1).standard_normal((4, 3, 3, 3))
    >>> y = conv2d(da.from_array(x, chunks=(1, 3, 4, 4)), w, stride=2, padding="same",
    ...            padding_mode="reflect")
    >>> y.shape, y.chunks[2]
    ((2, 4, 5, 5), (2, 2, 1))
    >>> expected = fastconv.conv2d(x, w, stride=2, padding="same", padding_mode="reflect")
    >>> bool(np.allclose(y.compute(scheduler="synchronous"), expected, rtol=1e-12, atol=0))
    True
    """
    return _conv_dask(2, x, weight, bias, stride, padding, dilation, groups, padding_mode, method)


def conv3d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1, *, padding_mode: str = "zeros",
           method: str = "auto"):  # fmt: skip
    """{doc}
    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> volume = da.ones((1, 1, 6, 6, 6), chunks=(1, 1, 2, 3, 6))
    >>> y = conv3d(volume, np.ones((1, 1, 3, 3, 3)), padding=1, padding_mode="replicate")
    >>> y.chunks[2:], float(y.sum().compute(scheduler="synchronous"))
    (((2, 2, 2), (3, 3), (6,)), 5832.0)
    """
    return _conv_dask(3, x, weight, bias, stride, padding, dilation, groups, padding_mode, method)


for _nd, _fn in ((1, conv1d), (2, conv2d), (3, conv3d)):
    _fn.__doc__ = _fn.__doc__.format(doc=_CONV_DOC.format(nd=_nd))


# --------------------------------------------------------------------------------------------
# correlate / convolve / correlate2d / convolve2d


class _SignalBlock:
    """``fastconv.<fname>(region, kernel, "valid", ...)`` on one block."""

    def __init__(self, fname, kernel, options):
        self.fname, self.kernel, self.options = fname, kernel, options

    def __dask_tokenize__(self):
        return ("signal", self.fname, self.kernel.tobytes(), self.kernel.shape,
                self.kernel.dtype.str, sorted(self.options.items()))  # fmt: skip

    def __call__(self, region: np.ndarray) -> np.ndarray:
        from . import signal

        return getattr(signal, self.fname)(region, self.kernel, "valid", **self.options)


def _signal_nd(fname, in1, in2, mode, method, axes, stride, dilation, flip: bool):
    from . import signal
    from ._signal_engine import extent

    x = _as_dask(fname, "in1", in1, signal._array)
    k = _in_memory(fname, "in2", in2, signal._array)
    if x.ndim != k.ndim or x.ndim == 0:
        raise ValueError(
            f"{fname}: expected in1 and in2 with the same number (at least one) of dimensions, "
            f"got shapes {x.shape} and {k.shape}"
        )
    mode = signal._check_mode(fname, mode, ValueError if flip else TypeError)
    method = signal._check_method(fname, method)
    signal._check_dtype(fname, {"in1": x, "in2": k}, ValueError)
    conv_axes = signal._normalize_axes(fname, axes, x.ndim)
    signal._check_broadcast(fname, x.shape, k.shape, conv_axes)
    others = [a for a in range(x.ndim) if a not in conv_axes and k.shape[a] != 1]
    if others:
        raise ValueError(
            f"{fname}: expected in2 to have size 1 along the axes not convolved for a Dask in1 "
            f"(one kernel for every slice), got shapes {x.shape} and {k.shape} "
            f"(axes={conv_axes})"
        )
    nd = len(conv_axes)
    strides = _per_axis(fname, "stride", stride, nd)
    dilations = _per_axis(fname, "dilation", dilation, nd)
    ext = list(k.shape)
    for a, d in zip(conv_axes, dilations):
        ext[a] = extent(k.shape[a], d)
    if signal._swap_needed(fname, mode, x.shape, tuple(ext), conv_axes):
        raise ValueError(
            f"{fname}: expected in1 at least as large as the dilated in2 along every axis for "
            f"mode='valid' on a Dask array (SciPy would swap them; compute such a call in "
            f"memory), got shapes {x.shape} and {tuple(ext)}"
        )
    geo = {}
    for a, s, d in zip(conv_axes, strides, dilations):
        lo, hi = signal._mode_pads(mode, ext[a])
        geo[a] = _Axis(x.shape[a], k.shape[a], d, s, lo, hi)
    result = np.result_type(x.dtype, k.dtype)
    options = {"method": method, "axes": conv_axes, "stride": strides, "dilation": dilations}
    block = _SignalBlock("convolve" if flip else "correlate", k, options)
    x = _align_strides(x, geo)
    return _halo_map(x, geo, "constant", 0, block, dtype=result, block_dtype=x.dtype,
                     name=f"fastconv-{fname}")  # fmt: skip


def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto", *, axes: Any = None,
              stride: Any = 1, dilation: Any = 1):  # fmt: skip
    """:func:`fastconv.correlate` of a Dask array with an in-memory kernel (no kernel flip).

    ``scipy.signal.correlate``'s semantics and :func:`fastconv.correlate`'s values, shapes and
    dtypes; every block is that function's ``'valid'`` correlation of its region (the zeros
    of ``'full'``/``'same'`` included), with its ``method`` -- ``"auto"`` takes the FFT per
    block where the cost model prefers it.

    Parameters
    ----------
    in1 : dask.array.Array or array_like
        The input; its chunks are kept (strided axes: multiples of the stride).
    in2 : array_like
        The kernel, in memory, with size 1 along the axes not correlated.
    mode, method, axes, stride, dilation
        As in :func:`fastconv.correlate`. ``mode="valid"`` needs ``in1`` at least as large as
        the dilated ``in2`` (no swap).

    Returns
    -------
    dask.array.Array
        Shape and dtype as :func:`fastconv.correlate` gives them.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.arange(10.0), chunks=4)
    >>> y = correlate(x, [1.0, 0.0, -1.0], mode="same")
    >>> y.compute(scheduler="synchronous")
    array([-1., -2., -2., -2., -2., -2., -2., -2., -2.,  8.])
    >>> correlate(x, [1.0, 1.0], stride=2).compute(scheduler="synchronous")
    array([ 0.,  3.,  7., 11., 15., 9.])
    """
    return _signal_nd("correlate", in1, in2, mode, method, axes, stride, dilation, False)


def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto", *, axes: Any = None,
             stride: Any = 1, dilation: Any = 1):  # fmt: skip
    """:func:`fastconv.convolve` of a Dask array with an in-memory kernel (flipped).

    ``convolve(in1, in2) == correlate(in1, flip(conj(in2)))``, with the arguments of
    :func:`correlate` and :func:`fastconv.convolve`'s values, shapes and dtypes.

    Returns
    -------
    dask.array.Array
        Shape and dtype as :func:`fastconv.convolve` gives them.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.array([0.0, 1.0, 0.0, 0.0, 2.0, 0.0]), chunks=2)
    >>> convolve(x, [1.0, 2.0, 3.0], mode="same").compute(scheduler="synchronous")
    array([1., 2., 3., 2., 4., 6.])
    """
    return _signal_nd("convolve", in1, in2, mode, method, axes, stride, dilation, True)


def _signal_2d(fname, in1, in2, mode, boundary, fillvalue, stride, dilation, flip: bool):
    from . import signal
    from ._signal_engine import extent

    x = _as_dask(fname, "in1", in1, signal._array)
    k = _in_memory(fname, "in2", in2, signal._array)
    if not x.ndim == k.ndim == 2:
        raise ValueError(
            f"{fname}: expected in1 and in2 to be 2-D arrays, got shapes {x.shape} and {k.shape}"
        )
    signal._check_dtype(fname, {"in1": x, "in2": k}, ValueError if flip else TypeError)
    strides = _per_axis(fname, "stride", stride, 2)
    dilations = _per_axis(fname, "dilation", dilation, 2)
    ext = tuple(extent(n, d) for n, d in zip(k.shape, dilations))
    if isinstance(mode, str) and signal._swap_needed(fname, mode, x.shape, ext, (0, 1)):
        raise ValueError(
            f"{fname}: expected in1 at least as large as the dilated in2 along both axes for "
            f"mode='valid' on a Dask array (SciPy would swap them; compute such a call in "
            f"memory), got shapes {x.shape} and {ext}"
        )
    mode = signal._check_mode(fname, mode, TypeError)
    bnd = signal._check_boundary(fname, boundary)
    result = np.result_type(x.dtype, k.dtype)
    fill = signal._fill_value(fname, fillvalue, result) if bnd == "constant" else result.type(0)
    if bnd != "constant" and x.size == 0:
        raise ValueError(
            f"{fname}: boundary={boundary!r} needs a non-empty in1 to extend, got in1 of "
            f"shape {x.shape}"
        )
    geo = {}
    for a in range(2):
        lo, hi = signal._mode_pads(mode, ext[a], anchor_low=not flip)
        geo[a] = _Axis(x.shape[a], k.shape[a], dilations[a], strides[a], lo, hi)
    block = _SignalBlock(fname, k, {"stride": strides, "dilation": dilations})
    x = _align_strides(x, geo)
    block_dtype = x.dtype if _fits(fill, x.dtype) else result
    return _halo_map(x, geo, bnd, fill, block, dtype=result,
                     block_dtype=block_dtype, name=f"fastconv-{fname}")  # fmt: skip


def correlate2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill",
                fillvalue: Any = 0, *, stride: Any = 1, dilation: Any = 1):  # fmt: skip
    """:func:`fastconv.correlate2d` of a 2-D Dask array with an in-memory kernel.

    SciPy's ``correlate2d`` semantics (its 'same' anchor for even kernels included); the
    boundary (``fill``, ``wrap``, ``symm``) extends the whole array, for any kernel size.

    Returns
    -------
    dask.array.Array
        Shape and dtype as :func:`fastconv.correlate2d` gives them.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.arange(16.0).reshape(4, 4), chunks=2)
    >>> correlate2d(x, np.ones((3, 3)), mode="same", boundary="wrap").compute(
    ...     scheduler="synchronous")[0]
    array([60., 57., 66., 63.])
    """
    return _signal_2d("correlate2d", in1, in2, mode, boundary, fillvalue, stride, dilation, False)


def convolve2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill",
               fillvalue: Any = 0, *, stride: Any = 1, dilation: Any = 1):  # fmt: skip
    """:func:`fastconv.convolve2d` of a 2-D Dask array with an in-memory kernel (flipped).

    Returns
    -------
    dask.array.Array
        Shape and dtype as :func:`fastconv.convolve2d` gives them.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.eye(4), chunks=3)
    >>> convolve2d(x, [[0.0, 1.0], [2.0, 0.0]], boundary="symm").compute(
    ...     scheduler="synchronous")[:2]
    array([[3., 1., 0., 0., 0.],
           [2., 0., 1., 0., 0.]])
    """
    return _signal_2d("convolve2d", in1, in2, mode, boundary, fillvalue, stride, dilation, True)
