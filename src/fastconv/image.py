"""Image filtering: one 2-D kernel over a grayscale or colour image, with border modes.

:func:`filter_image` is ``scipy.ndimage.correlate`` for images: same-size output, the kernel
centred as ndimage centres it (index ``k // 2`` along each axis, so an even kernel reaches one
pixel further up/left than down/right), ndimage's border modes for any kernel size, the same
kernel on every colour channel, and integer images rounded and saturated back to their dtype.
The padded image is never built: the border is read through index tables
(:mod:`fastconv._border`, shared with ``correlate2d``/``convolve2d``): the image is read in
place, and only the columns near the edges are gathered, so memory stays at the input and the
output. Rank-1 kernels (Gaussian, box, Sobel, ...) run as two 1-D passes (the *separable*
algorithm, :mod:`fastconv.algorithms.separable`), both on fastconv's thread pool; large kernels
run through the FFT (overlap-save blocks, :mod:`fastconv.algorithms.fft`) where the cost model
and the precision rule that ``fastconv.signal`` uses say so.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _border
from . import _signal_engine as engine
from ._border import BORDER_RULES, NDIMAGE_NAMES, STRIP_BYTES, border_index, run_plane_tasks
from ._dispatch import separable_pays
from ._numba.separable import separable_plane
from ._shapes import output_size
from ._spec import _per_axis, as_array, check_method, is_dask_array
from ._threads import num_threads
from .algorithms import Method, separable

FNAME = "filter_image"

#: ndimage's border mode names and their rules (its ``grid-`` aliases behave identically for
#: filters): ``filter_image``'s part of the one name table, :data:`fastconv._border.BORDER_RULES`
BORDERS: dict[str, str] = {name: BORDER_RULES[name] for name in NDIMAGE_NAMES}
MODES = ("same", "valid")
METHODS = ("direct", "separable", "fft")


@dataclass(frozen=True)
class FilterPlan:
    """What :func:`filter_image` would run, and why (returned by :func:`plan_filter`).

    Attributes
    ----------
    method : str
        ``"direct"``, ``"separable"`` (both :class:`~fastconv.algorithms.Method` members) or
        ``"fft"``.
    reason : str
        Why that method (for ``"fft"``: whole-array transform or overlap-save blocks).
    input_shape, output_shape : tuple of int
        Image and result shapes.
    channels : int
        Channels filtered (0 for a grayscale image).
    alpha : bool
        Whether the last channel is an alpha channel copied unfiltered.
    output_dtype, compute_dtype : numpy.dtype
        Dtype of the result and of the arithmetic.
    border : str
        Border mode (ndimage's name, aliases resolved).
    """

    method: str
    reason: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    channels: int
    alpha: bool
    output_dtype: np.dtype
    compute_dtype: np.dtype
    border: str

    def __str__(self) -> str:
        what = "grayscale" if not self.channels else f"{self.channels} channels"
        if self.alpha:
            what += " + alpha (copied)"
        return (
            f"method: {self.method} ({self.reason})\n"
            f"image {self.input_shape} ({what}) -> {self.output_shape} {self.output_dtype}, "
            f"computed in {self.compute_dtype}, border={self.border!r}"
        )


@dataclass(frozen=True)
class _Setup:
    """Everything a call needs that does not depend on the pixels: validated, cached."""

    plan: FilterPlan  # method and reason final unless ``rule`` is set
    rule: str | None  # "auto" or "fft": the signal engine's rule decides, maybe from the data
    decided: dict  # that rule's plan and choice, where it decided from shapes alone
    channel_axis: int | None
    stride: tuple[int, int]
    pads: tuple[tuple[int, int], tuple[int, int]]
    out_hw: tuple[int, int]
    cval: float
    kernel: np.ndarray  # compute dtype, C-contiguous (private: never handed out)
    factors: tuple[np.ndarray, np.ndarray] | None  # u, v of a separable kernel
    rows: np.ndarray  # border_index tables (separable method)
    cols: np.ndarray


def _output_dtype(output: Any, default: np.dtype) -> np.dtype:
    if output is None:
        return default
    try:
        dt = output.dtype if isinstance(output, np.ndarray) else np.dtype(output)
    except TypeError:
        raise TypeError(
            f"{FNAME}: expected output to be None, a dtype or an ndarray, got output={output!r}"
        ) from None
    if dt.kind not in "iuf" or (dt.kind == "f" and dt.itemsize > 8):
        raise TypeError(
            f"{FNAME}: expected output to have an integer or real floating (float16/32/64) "
            f"dtype, got dtype {dt}"
        )
    return dt


def _channel_axis(channel_axis: Any, shape: tuple[int, ...]) -> int | None:
    if len(shape) == 2:
        return None
    if channel_axis is None:
        raise ValueError(
            f"{FNAME}: expected channel_axis to be an integer for a 3-D image, got "
            f"channel_axis=None with image of shape {shape}"
        )
    try:
        if isinstance(channel_axis, bool | np.bool_):
            raise TypeError
        axis = operator.index(channel_axis)
    except TypeError:
        raise TypeError(
            f"{FNAME}: expected channel_axis to be an integer, got channel_axis={channel_axis!r}"
        ) from None
    if not -3 <= axis < 3:
        raise ValueError(
            f"{FNAME}: expected channel_axis in -3..2 for a 3-D image, got "
            f"channel_axis={channel_axis!r}"
        )
    return axis % 3


def _choose(method: str, ker: np.ndarray, compute: np.dtype) -> tuple[str, str | None]:
    """The method where the kernel alone decides it; else ``(rule, prefix)``: the signal
    engine's rule (``"auto"`` or ``"fft"``) decides (:func:`_decide`)."""
    kh, kw = ker.shape
    if method == "auto":
        if not separable_pays(ker.shape):
            return "auto", None
        if separable.is_rank_one(np.ascontiguousarray(ker, dtype=compute), compute):
            return Method.SEPARABLE, (
                f"rank-1 {kh}x{kw} kernel: two 1-D passes, {kh + kw} instead of {kh * kw} "
                "multiply-adds per output"
            )
        return "auto", "kernel not of rank 1; "
    if method == "fft":
        return "fft", None
    chosen = Method(method)
    if chosen is Method.SEPARABLE and not separable.is_rank_one(
        np.ascontiguousarray(ker, dtype=compute), compute
    ):
        ratio = float(separable.singular_ratio(ker))
        raise ValueError(
            f"{FNAME}: method='separable' needs a kernel of rank 1 (second singular value "
            f"<= {separable.rank_tolerance(ker.shape, compute):.3g} x the first), got a "
            f"{kh}x{kw} kernel with ratio {ratio:.3g} (inf: zero or not finite)"
        )
    return chosen, f"forced by method={method!r}"


def _decide(setup: _Setup, planes: np.ndarray) -> tuple[FilterPlan, engine.Choice | None]:
    """The plan of a call on ``planes`` (the filtered channels, ``(C, H, W)``), and the signal
    engine's choice where its rule decides: direct or FFT by the one cost model
    (``fastconv._signal_engine.COSTS``), the FFT only where its error estimate stays within the
    direct method's bound (that rule reads the data; a choice made from shapes alone is kept)."""
    if setup.rule is None:
        return setup.plan, None
    known = setup.decided.get("plan")
    if known is not None:
        return known, setup.decided["choice"]
    p = setup.plan
    fill = setup.cval if p.border == "constant" else 0.0
    choice = engine.choose(planes, setup.kernel, 2, setup.pads, setup.stride, (1, 1),
                           setup.out_hw, p.compute_dtype, setup.rule, fill)  # fmt: skip
    if choice.method == "direct":
        plan = dataclasses.replace(p, method=Method.DIRECT, reason=p.reason + choice.reason)
    else:
        fp = choice.fft_plan
        variant = (
            "one whole-array FFT" if fp.blocks is None
            else f"overlap-save FFT blocks of {'x'.join(map(str, fp.blocks))}"
        )  # fmt: skip
        why = f"{variant}, forced by method='fft'" if setup.rule == "fft" else choice.reason
        plan = dataclasses.replace(p, method="fft", reason=p.reason + why)
    if choice.static:
        setup.decided.update(plan=plan, choice=choice)
    return plan, choice


def _setup(img: np.ndarray, ker: np.ndarray, border, cval, mode, stride, channel_axis, output,
           filter_alpha, method) -> _Setup:  # fmt: skip
    """Validate a call (arrays already converted) and derive everything but the pixels."""
    if img.ndim not in (2, 3):
        raise ValueError(
            f"{FNAME}: expected a 2-D (grayscale) or 3-D (with a channel axis) image, got "
            f"image of shape {img.shape}"
        )
    if ker.ndim != 2 or min(ker.shape) < 1:
        raise ValueError(
            f"{FNAME}: expected a 2-D kernel with at least one row and column, got kernel of "
            f"shape {ker.shape}"
        )
    if not isinstance(border, str) or border not in BORDERS:
        raise ValueError(
            f"{FNAME}: expected border to be one of {', '.join(map(repr, BORDERS))}, got "
            f"border={border!r}"
        )
    if isinstance(cval, bool | np.bool_) or not isinstance(cval, int | float | np.integer
                                                          | np.floating):  # fmt: skip
        raise TypeError(f"{FNAME}: expected cval to be a real number, got cval={cval!r}")
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"{FNAME}: expected mode to be 'same' or 'valid', got mode={mode!r}")
    strides = _per_axis(FNAME, "stride", stride, 2)
    if not isinstance(filter_alpha, bool | np.bool_):
        raise TypeError(
            f"{FNAME}: expected filter_alpha to be True or False, got filter_alpha={filter_alpha!r}"
        )
    check_method(FNAME, method, METHODS)
    axis = _channel_axis(channel_axis, img.shape)
    spatial = tuple(n for i, n in enumerate(img.shape) if i != axis)
    n_channels = 0 if axis is None else img.shape[axis]

    kh, kw = ker.shape
    if mode == "same":
        pads = ((kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2))
    else:
        pads = ((0, 0), (0, 0))
        if kh > spatial[0] or kw > spatial[1]:
            raise ValueError(
                f"{FNAME}: mode='valid' needs the kernel to fit in the image, got kernel of "
                f"shape {ker.shape} on an image of height and width {spatial}"
            )
    out_hw = iter(
        max(0, output_size(n, k, s, lo, hi, 1))
        for n, k, s, (lo, hi) in zip(spatial, ker.shape, strides, pads)
    )
    out_shape = tuple(n if i == axis else next(out_hw) for i, n in enumerate(img.shape))

    out_dtype = _output_dtype(output, np.dtype(np.float64) if img.dtype == np.bool_ else img.dtype)
    if isinstance(output, np.ndarray) and output.shape != out_shape:
        raise ValueError(
            f"{FNAME}: expected output of shape {out_shape}, got output of shape {output.shape}"
        )
    small_float = img.dtype in (np.float16, np.float32)
    compute = np.dtype(np.float32 if small_float and out_dtype != np.float64 else np.float64)
    chosen, reason = _choose(method, ker, compute)
    rule = chosen if chosen in ("auto", "fft") else None

    plan = FilterPlan(
        method=Method.DIRECT if rule else chosen,
        reason=reason or "",  # with a rule: the prefix of the rule's reason
        input_shape=img.shape,
        output_shape=out_shape,
        channels=n_channels,
        alpha=n_channels in (2, 4) and not filter_alpha,
        output_dtype=out_dtype,
        compute_dtype=compute,
        border=BORDERS[border],
    )
    kernel = np.array(ker, dtype=compute, order="C")
    factors = separable.analyse(kernel, compute) if chosen is Method.SEPARABLE else None
    rows = border_index(spatial[0], *pads[0], plan.border)
    cols = border_index(spatial[1], *pads[1], plan.border)
    out_hw = tuple(n for i, n in enumerate(out_shape) if i != axis)
    return _Setup(plan, rule, {}, axis, strides, pads, out_hw, float(cval), kernel, factors, rows,
                  cols)  # fmt: skip


#: setups by call signature (shapes, dtypes, kernel bytes, parameters); cleared when full
_SETUPS: dict[tuple, _Setup] = {}
_SETUPS_MAX = 256


def _freeze(value: Any) -> Any:
    """Hashable, type-tagged stand-in for a parameter (``True`` never hits ``1``'s entry)."""
    kind = type(value)
    if kind is str or kind is int or value is None:  # the common cases, kept cheap
        return value
    if isinstance(value, list | tuple):
        return (type(value), tuple(_freeze(v) for v in value))
    if isinstance(value, np.ndarray):
        return (np.ndarray, value.shape, value.dtype.str)
    if isinstance(value, type | np.dtype):
        return (type(value), str(np.dtype(value)) if value is not None else None)
    return (type(value), value)


def _cached_setup(img: np.ndarray, ker: np.ndarray, *params: Any) -> _Setup:
    try:
        key = (img.shape, img.dtype.str, ker.shape, ker.dtype.str, ker.tobytes(),
               *map(_freeze, params))  # fmt: skip
        hash(key)
    except TypeError:  # an unhashable or odd parameter: validation will say what is wrong
        return _setup(img, ker, *params)
    setup = _SETUPS.get(key)
    if setup is None:
        setup = _setup(img, ker, *params)
        if len(_SETUPS) >= _SETUPS_MAX:
            _SETUPS.clear()
        _SETUPS[key] = setup
    return setup


def plan_filter(
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
) -> FilterPlan:
    """Say what :func:`filter_image` would run for these arguments, filtering nothing.

    Takes the arguments of :func:`filter_image`, validates them with the same messages and
    returns a :class:`FilterPlan`. Where the FFT is in the running, its precision rule reads
    the image's norms, as :func:`filter_image` does.

    Examples
    --------
    >>> import numpy as np
    >>> box = np.ones((5, 5)) / 25
    >>> print(plan_filter(np.zeros((480, 640, 3), np.uint8), box))
    method: separable (rank-1 5x5 kernel: two 1-D passes, 10 instead of 25 multiply-adds per output)
    image (480, 640, 3) (3 channels) -> (480, 640, 3) uint8, computed in float64, border='reflect'
    >>> plan_filter(np.zeros((64, 64), np.float32), np.eye(3), mode="valid", stride=2).output_shape
    (31, 31)
    >>> plan_filter(np.ones((2048, 2048), np.float32), np.eye(31)).method   # the FFT's turn
    'fft'
    """
    if is_dask_array(image):  # shapes and dtypes only: no pixel is read
        image = np.broadcast_to(np.zeros((), image.dtype), image.shape)
    if is_dask_array(kernel):
        kernel = kernel.compute()
    img = as_array(FNAME, "image", image)
    ker = as_array(FNAME, "kernel", kernel)
    setup = _cached_setup(img, ker, border, cval, mode, stride, channel_axis, output,
                          filter_alpha, method)  # fmt: skip
    if setup.rule is None:
        return setup.plan
    planes = img[None] if setup.channel_axis is None else np.moveaxis(img, setup.channel_axis, 0)
    return _decide(setup, planes[: len(planes) - setup.plan.alpha])[0]


def _store(plane: np.ndarray, dest: np.ndarray) -> None:
    """Write a computed plane into ``dest``: rounded and saturated for integer dtypes."""
    if dest.dtype.kind in "iu":
        info = np.iinfo(dest.dtype)
        np.rint(plane, out=plane)
        np.clip(plane, info.min, info.max, out=plane)
        if not np.isfinite(plane).all():  # NaN from NaN inputs or weights: 0, not garbage
            np.nan_to_num(plane, copy=False, nan=0.0)
    dest[...] = plane


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
) -> np.ndarray:
    """Correlate an image with a 2-D kernel: ``scipy.ndimage.correlate`` for images.

    The kernel is *not* flipped (correlation, like ndimage's ``correlate`` and OpenCV's
    ``filter2D``). Output pixel ``(i, j)`` is ``sum(kernel[a, b] * image[i + a - kh // 2,
    j + b - kw // 2])`` with the image extended past its edges by ``border``.

    Parameters
    ----------
    image : array_like
        ``(H, W)`` grayscale, or ``(H, W, C)`` with the channel axis where ``channel_axis``
        says. The same kernel filters every channel.
    kernel : array_like
        ``(kh, kw)`` weights, any size (larger than the image too).
    border : {"reflect", "mirror", "nearest", "wrap", "constant"}, default "reflect"
        How the image is extended, with ndimage's names and meaning, for any kernel size::

            reflect   d c b a | a b c d | d c b a   (the edge pixel repeated)
            mirror    d c b   | a b c d | c b a     (the edge pixel not repeated)
            nearest   a a a a | a b c d | d d d d
            wrap      a b c d | a b c d | a b c d   (periodic, also past one period)
            constant  k k k k | a b c d | k k k k   (k = cval)

        ndimage's aliases ``grid-mirror``, ``grid-wrap`` and ``grid-constant`` are accepted.
    cval : float, default 0.0
        The constant of ``border="constant"``.
    mode : {"same", "valid"}, default "same"
        ``"same"``: one output pixel per image pixel; ``"valid"``: only where the kernel lies
        inside the image (no border used), ``H - kh + 1`` by ``W - kw + 1``.
    stride : int or (int, int), default 1
        Keep every ``stride``-th output pixel: ``result = full_result[::sh, ::sw]``.
    channel_axis : int or None, default -1
        Axis of the channels of a 3-D image; ignored for a 2-D image.
    output : dtype or ndarray, optional
        Result dtype (default: the image's; float64 for bool images), or an array of the result
        shape to write into (and return). Integer results are rounded to nearest (ties to even)
        and saturated to the dtype's range — where ndimage truncates and wraps around.
    filter_alpha : bool, default False
        Images with 2 or 4 channels (LA, RGBA: what :func:`fastconv.io.read_image` returns)
        have their last channel taken as alpha and copied to the result unfiltered (sampled
        at the output pixels for ``stride``/``mode="valid"``); ``True`` filters it like the
        other channels (and is what a 4-channel non-image stack wants).
    method : {"auto", "direct", "separable", "fft"}, default "auto"
        ``"auto"`` runs ``"separable"`` (a row pass and a column pass) for a kernel of rank 1
        with at least 9 taps and both sides >= 2; otherwise ``"direct"`` or ``"fft"`` by the
        cost model and precision rule of ``fastconv.correlate2d`` (the FFT -- overlap-save
        blocks or one whole-array transform -- for large kernels, e.g. 31x31 on a 2048x2048
        image, never for images holding NaN or inf, nor where its error estimate would exceed
        the direct method's error bound); ``"separable"`` raises ``ValueError`` for a kernel
        not of rank 1. :func:`plan_filter` says which and why.

    Returns
    -------
    ndarray
        The image's shape with height and width replaced by ``ceil(H / sh)`` and
        ``ceil(W / sw)`` (``mode="same"``) or ``(H - kh) // sh + 1`` and ``(W - kw) // sw + 1``
        (``mode="valid"``). Computed in float32 for float16/float32 images (unless
        ``output`` is float64), in float64 otherwise.

    Raises
    ------
    ValueError, TypeError
        For a bad shape, parameter or dtype, naming the parameter, the expected and the given
        value.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 0, 0, 0], [0, 90, 0, 0], [0, 0, 0, 0]], dtype=np.uint8)
    >>> filter_image(image, np.ones((3, 3)) / 9)                  # 90 / 9 = 10 per pixel
    array([[10, 10, 10,  0],
           [10, 10, 10,  0],
           [10, 10, 10,  0]], dtype=uint8)
    >>> filter_image([[1.0, 2.0, 3.0, 4.0]], [[1.0, 0.0, 0.0]], border="wrap")
    array([[4., 1., 2., 3.]])
    >>> rgba = np.zeros((2, 2, 4), np.uint8); rgba[..., 3] = 255
    >>> filter_image(rgba, [[2.0]])[0, 0]                          # alpha kept as it is
    array([  0,   0,   0, 255], dtype=uint8)
    >>> filter_image(np.full((4, 4), 200, np.uint8), [[1.0, 1.0]], output=np.float32)[0]
    array([400., 400., 400., 400.], dtype=float32)
    """
    if is_dask_array(image) or is_dask_array(kernel):
        from .dask import filter_image as lazy  # a Dask array, computed chunk by chunk

        return lazy(image, kernel, border=border, cval=cval, mode=mode, stride=stride,
                    channel_axis=channel_axis, output=output, filter_alpha=filter_alpha,
                    method=method)  # fmt: skip
    img = as_array(FNAME, "image", image)
    ker = as_array(FNAME, "kernel", kernel)
    setup = _cached_setup(img, ker, border, cval, mode, stride, channel_axis, output,
                          filter_alpha, method)  # fmt: skip
    return _run(setup, img, output if isinstance(output, np.ndarray) else None)


def _run(setup: _Setup, img: np.ndarray, output: np.ndarray | None) -> np.ndarray:
    p = setup.plan
    if output is not None and np.may_share_memory(output, img):
        img = img.copy()  # written while still being read otherwise
    axis = setup.channel_axis
    result = output if output is not None else np.empty(p.output_shape, p.output_dtype)
    if result.size == 0:
        return result
    planes_in = img[None] if axis is None else np.moveaxis(img, axis, 0)  # (C, H, W) views
    planes_out = result[None] if axis is None else np.moveaxis(result, axis, 0)
    n_filter = len(planes_in) - (1 if p.alpha else 0)
    sh, sw = setup.stride
    oh, ow = planes_out.shape[1:]
    (pt, _), (pl, _) = setup.pads
    kh, kw = setup.kernel.shape
    if p.alpha:  # the alpha at each output pixel's centre
        r0, c0 = kh // 2 - pt, kw // 2 - pl
        alpha = planes_in[-1, r0 : r0 + (oh - 1) * sh + 1 : sh, c0 : c0 + (ow - 1) * sw + 1 : sw]
        _store(alpha.astype(p.compute_dtype), planes_out[-1])
    if n_filter == 0:
        return result

    dtype = p.compute_dtype
    src = planes_in[:n_filter]
    if src.dtype != dtype:
        src = np.ascontiguousarray(src, dtype=dtype)
    p, choice = _decide(setup, src)
    cval = dtype.type(setup.cval)

    if p.method == "fft":  # overlap-save or whole-array FFT, the border read block by block
        computed = engine.fft_path(src, setup.kernel, 2, setup.pads, setup.stride, (1, 1),
                                   p.border, cval, (oh, ow), choice.fft_plan)  # fmt: skip
        if output is None and axis is None and computed.dtype == result.dtype:
            return computed[0]  # the transform's own output: no copy of a large image
        for c in range(n_filter):
            _store(computed[c], planes_out[c])
        return result

    # a grayscale result in the compute dtype is written by the kernels themselves
    direct_out = result.dtype == dtype and axis is None and result.flags.c_contiguous
    computed = result[None] if direct_out else np.empty((n_filter, oh, ow), dtype)
    if p.method == Method.SEPARABLE:
        u, v = setup.factors
        rows, cols = setup.rows, setup.cols

        def make_buffers() -> tuple[np.ndarray, ...]:
            return np.empty(len(cols), dtype), np.empty((kh + 1) * ow, dtype)  # + 1: pairs

        def compute(c: int, r0: int, r1: int, bufs: tuple[np.ndarray, ...]) -> None:
            separable_plane(src[c], rows, cols, pl, cval, u, v, computed[c], sh, sw, 1, 1, r0,
                            r1, *bufs)  # fmt: skip

        macs = n_filter * oh * ow * (kh + kw)
        threads = num_threads() if macs >= separable.PARALLEL_MIN_MACS else 1
        run_plane_tasks(n_filter, oh, threads, make_buffers, compute)
    else:
        _border.correlate_planes(src, setup.kernel[None], computed, p.border, cval, (pt, pl),
                                 setup.stride, strip_bytes=STRIP_BYTES)  # fmt: skip
    if not direct_out:
        for c in range(n_filter):
            _store(computed[c], planes_out[c])
    return result
