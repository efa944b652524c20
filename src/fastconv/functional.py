"""CNN-style convolution with PyTorch's semantics on NumPy arrays.

``conv1d``/``conv2d``/``conv3d`` compute the cross-correlation of the CNN convention (the kernel
is *not* flipped), batched ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``, with stride,
padding (also ``"same"`` with stride > 1), padding modes, dilation, groups and bias.
``conv_transpose1d/2d/3d`` are their transposed convolutions (the ``grad_input`` of the
forward pass, :mod:`fastconv.grad`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np

from . import _autotune, _threads
from ._core import Layout, Runner, conv_general, layout, small_direct
from ._dispatch import (
    candidates,
    choose_method,
    choose_transpose_method,
    separable_candidate,
    unsupported,
    with_weights,
)
from ._spec import (
    ConvSpec,
    Geometry,
    as_array,
    check_method,
    is_dask_array,
    normalize_conv,
    normalize_conv_transpose,
)
from .algorithms import TRANSPOSE_METHODS, Method
from .grad import check_transpose_method, transposed

_NAMES = {1: "conv1d", 2: "conv2d", 3: "conv3d"}
T = TypeVar("T")


@dataclass(frozen=True)
class Plan:
    """What a convolution call would run, and why (returned by :func:`plan`).

    Attributes
    ----------
    method : Method
        The algorithm that runs (``"direct"``, ``"gemm"`` or ``"separable"``).
    reason : str
        Why: the rule of ``method="auto"`` that decided, or ``"forced by method=..."``.
    candidates : tuple of (Method, float)
        Every method that can run this geometry with its predicted seconds by the cost model
        (``fastconv._dispatch.COSTS``), cheapest first (*separable* is not in it: it depends on
        the weight values).
    weights_rule : {None, "auto", "forced"}
        Whether the choice still depends on the weight values: ``"auto"`` where
        ``method="auto"`` turns to *separable* if every kernel is of rank 1, ``"forced"``
        where ``method="separable"`` requires it. A plan from :func:`plan` has already
        applied it (it saw the weights); the plan cache, keyed on shapes, keeps it pending.
    geometry : Geometry
        The normalised call: spec (stride, per-side padding, dilation, groups, padding mode),
        batched input, weight and output shapes, compute and result dtypes.
    layout : Layout
        The canonical (three spatial axes) shapes the algorithms run on; internal.

    Examples
    --------
    >>> import numpy as np
    >>> p = plan(np.zeros((3, 10)), np.zeros((2, 3, 4)), padding="same", stride=3)
    >>> p.method, p.output_shape, p.spec.padding
    (<Method.DIRECT: 'direct'>, (2, 4), ((1, 2),))
    >>> p.geometry.compute_dtype, p.geometry.batched
    (dtype('float64'), False)
    """

    method: Method
    reason: str
    geometry: Geometry
    layout: Layout = field(repr=False, compare=False)
    weights_rule: str | None = field(default=None, repr=False, compare=False)
    candidates: tuple = field(default=(), repr=False, compare=False)
    #: the short path of :func:`fastconv._core.small_direct` for ``method``, or None
    runner: Runner | None = field(default=None, repr=False, compare=False)
    #: method="auto" with weights_rule "auto": the method by weight bytes (shape and dtype are
    #: the plan's), so that repeated calls with the same small kernel skip the rank analysis
    by_weights: dict = field(default_factory=dict, repr=False, compare=False)
    #: the key of this geometry in the autotune cache (method="auto" only), else None
    tune_key: str | None = field(default=None, repr=False, compare=False)

    @property
    def spec(self) -> ConvSpec:
        """The normalised stride, padding, dilation, groups and padding mode."""
        return self.geometry.spec

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of the result (without the batch axis for unbatched input)."""
        shape = self.geometry.output_shape
        return shape if self.geometry.batched else shape[1:]

    def __str__(self) -> str:
        g = self.geometry
        s = g.spec
        text = (
            f"method: {self.method} ({self.reason})\n"
            f"input {g.input_shape} * weight {g.weight_shape} -> output {g.output_shape}, "
            f"{g.compute_dtype}\n"
            f"stride={s.stride} padding={s.padding} dilation={s.dilation} groups={s.groups} "
            f"padding_mode={s.padding_mode!r}"
        )
        if self.candidates:
            text += "\ncandidates: " + ", ".join(
                f"{m} {t * 1e3:.3g} ms" for m, t in self.candidates
            )
        return text


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a call parameter, to key the plan cache.

    Scalars are tagged with their type, so that ``2.0`` and ``True`` never hit the plan cached
    for ``2`` and ``1`` (they must be refused); lists and arrays become tuples.
    """
    if type(value) is int or type(value) is str:  # the common case, kept cheap
        return value
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.ndarray):
        return (np.ndarray, value.dtype.str, _freeze(value.tolist()))
    return (type(value), value)


#: plans by call signature (shapes, dtypes, frozen parameters, thread count); cleared when full
_PLANS: dict[tuple, Plan] = {}
_PLANS_MAX = 512
#: weights larger than this are analysed per call rather than hashed (see Plan.by_weights)
_BY_WEIGHTS_MAX_BYTES = 4096
_BY_WEIGHTS_MAX = 64


def _make_plan(fname: str, nd: int, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
               stride, padding, dilation, groups, padding_mode, method) -> Plan:  # fmt: skip
    geo = normalize_conv(
        fname, nd, x.shape, x.dtype, w.shape, w.dtype,
        None if b is None else b.shape, None if b is None else b.dtype,
        stride, padding, dilation, groups, padding_mode,
    )  # fmt: skip
    check_method(fname, method, [m.value for m in Method])
    rule = tune_key = None
    if method == "auto":
        exact = x.dtype.kind in "biu" and w.dtype.kind in "biu"
        chosen, reason = choose_method(geo, exact)
        if separable_candidate(geo):
            rule = "auto"
        tune_key = _autotune.geometry_key(fname, geo, exact, _threads.num_threads())
    else:
        chosen, reason = Method(method), f"forced by method={method!r}"
        why = unsupported(chosen, geo)
        if why is not None:
            raise ValueError(f"{fname}: method={method!r} needs {why}")
        if chosen is Method.SEPARABLE:
            rule = "forced"
    lay = layout(geo)
    return Plan(chosen, reason, geo, lay, rule, candidates(geo), small_direct(geo, chosen, lay),
                tune_key=tune_key)  # fmt: skip


def _apply_weights(fname: str, p: Plan, w: np.ndarray, explain: bool = False) -> Plan:
    """The plan for these weight values: the part of the choice the plan cache cannot keep.

    ``method="auto"`` becomes *separable* when every kernel is of rank 1 (see
    :func:`fastconv._dispatch.with_weights`); ``method="separable"`` refuses other kernels.
    """
    if p.weights_rule is None:
        return p
    if p.weights_rule == "forced":
        from .algorithms.separable import is_rank_one, rank_tolerance, singular_ratio

        kh, kw = p.geometry.weight_shape[2:]
        dtype = p.geometry.compute_dtype
        kernels = np.ascontiguousarray(w.reshape(-1, kh, kw), dtype=dtype)
        if is_rank_one(kernels, dtype):  # remembered for the algorithm
            return replace(p, weights_rule=None, runner=None) if explain else p
        ratios = singular_ratio(kernels)
        tol = rank_tolerance((kh, kw), dtype)
        o = int(np.flatnonzero(~(ratios <= tol))[0])  # the first kernel that is not
        raise ValueError(
            f"{fname}: method='separable' needs every kernel to be of rank 1 (second "
            f"singular value <= {tol:.3g} x the first), got weight[{o}, 0] with ratio "
            f"{ratios[o]:.3g} (inf: zero or not finite)"
        )
    method, reason = with_weights(p.method, p.reason, p.geometry, w, explain=explain)
    if method is p.method and not explain:
        return p
    return replace(p, method=method, reason=reason, weights_rule=None, runner=None)


def _cached(cache: dict, key: tuple, make: Callable[[], T]) -> T:
    """``make()``, remembered in ``cache`` under the call signature ``key``."""
    try:
        hit = cache.get(key)
    except TypeError:  # an unhashable parameter: validation will say what is wrong with it
        return make()
    if hit is None:
        hit = make()
        if len(cache) >= _PLANS_MAX:
            cache.clear()
        cache[key] = hit
    return hit


def _plan_key(fname: str, nd: int, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
              stride, padding, dilation, groups, padding_mode, method) -> tuple:  # fmt: skip
    """The plan cache's key: everything the plan depends on, the thread count included (the
    cost model predicts for it)."""
    # ints and strings stand for themselves (as in _freeze), tested here to save the calls
    return (
        fname, nd, x.shape, x.dtype, w.shape, w.dtype,
        None if b is None else (b.shape, b.dtype),
        stride if type(stride) is int else _freeze(stride),
        padding if type(padding) is int else _freeze(padding),
        dilation if type(dilation) is int else _freeze(dilation),
        groups if type(groups) is int else _freeze(groups),
        padding_mode if type(padding_mode) is str else _freeze(padding_mode),
        method if type(method) is str else _freeze(method),
        _threads._count,
    )  # fmt: skip


def _plan_call(fname: str, nd: int, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
               stride, padding, dilation, groups, padding_mode, method) -> Plan:  # fmt: skip
    """The plan of a call: from the cache, or validated from the original arguments."""
    key = _plan_key(fname, nd, x, w, b, stride, padding, dilation, groups, padding_mode, method)

    # validated from the arguments as given, so that messages quote what the user passed
    def make() -> Plan:
        return _make_plan(fname, nd, x, w, b, stride, padding, dilation, groups, padding_mode,
                          method)  # fmt: skip

    return _cached(_PLANS, key, make)


def _arrays(fname: str, x: Any, weight: Any, bias: Any):
    return (
        as_array(fname, "input", x),
        as_array(fname, "weight", weight),
        None if bias is None else as_array(fname, "bias", bias),
    )


def _weights_choice(p: Plan, w: np.ndarray) -> Method:
    """:func:`with_weights`' method for ``w``, remembered in the plan for small kernels."""
    if w.nbytes > _BY_WEIGHTS_MAX_BYTES:
        return with_weights(p.method, p.reason, p.geometry, w)[0]
    key = w.tobytes()  # exact values; the shape and dtype are fixed by the plan's key
    chosen = p.by_weights.get(key)
    if chosen is None:
        chosen = with_weights(p.method, p.reason, p.geometry, w)[0]
        if len(p.by_weights) >= _BY_WEIGHTS_MAX:
            p.by_weights.clear()
        p.by_weights[key] = chosen
    return chosen


def _execute(fname: str, p: Plan, x: np.ndarray, w: np.ndarray, b: np.ndarray | None):
    """Run plan ``p`` on validated arrays (the weight-dependent part of the choice first)."""
    chosen = p.method
    if p.weights_rule == "auto":
        chosen = _weights_choice(p, w)
    elif p.weights_rule == "forced":
        _apply_weights(fname, p, w)  # refuses kernels not of rank 1
    if _autotune._enabled and p.tune_key is not None:
        chosen = _autotune.choose(p, chosen, x, w, b)
    if p.runner is not None and chosen is p.method:
        return p.runner(x, w, b)
    return conv_general(x, w, b, p.geometry, chosen, p.layout)


def _conv(nd: int, x, weight, bias, stride, padding, dilation, groups, padding_mode, method):
    fname = _NAMES[nd]
    if (
        type(x) is np.ndarray
        and type(weight) is np.ndarray
        and (bias is None or type(bias) is np.ndarray)
    ):
        # the hot path: as_array would return these arrays as they are, and a cached plan
        # means that arrays of their shapes and dtypes with these parameters passed validation
        try:
            key = _plan_key(fname, nd, x, weight, bias, stride, padding, dilation, groups,
                            padding_mode, method)  # fmt: skip
            p = _PLANS.get(key)
        except TypeError:  # an unhashable parameter: validation below says what is wrong
            p = None
        if p is not None:
            return _execute(fname, p, x, weight, bias)
    if is_dask_array(x) or is_dask_array(weight) or is_dask_array(bias):
        from .dask import _conv_dask  # a lazy result, computed chunk by chunk

        return _conv_dask(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode,
                          method)  # fmt: skip
    xa, wa, ba = _arrays(fname, x, weight, bias)
    p = _plan_call(fname, nd, xa, wa, ba, stride, padding, dilation, groups, padding_mode, method)
    return _execute(fname, p, xa, wa, ba)


def plan(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    method: str = "auto",
) -> Plan:
    """Say what ``conv1d/2d/3d`` would run for these arguments, without computing anything.

    Takes exactly the arguments of :func:`conv2d` (the number of spatial axes comes from
    ``weight.ndim - 2``), validates them with the same messages, and returns a :class:`Plan`
    with the chosen ``method``, the ``reason`` and the normalised geometry. It sees the weight
    values, so it also reports the *separable* algorithm for rank-1 kernels. With
    :func:`fastconv.autotune` on, a geometry already measured reports the measured winner
    (``"autotuned: ..."``), one not yet measured the model's choice with a note.

    Examples
    --------
    >>> import numpy as np
    >>> p = plan(np.zeros((8, 64, 56, 56), np.float32), np.zeros((64, 64, 3, 3), np.float32),
    ...          padding=1)
    >>> p.method, p.output_shape
    (<Method.WINOGRAD: 'winograd'>, (8, 64, 56, 56))
    >>> print(p.reason)   # doctest: +ELLIPSIS
    F(4x4, 3x3) Winograd: predicted ... ms against ... ms for gemm
    >>> [str(m) for m, seconds in p.candidates]   # cheapest first, by the cost model
    ['winograd', 'winograd_f2', 'gemm', 'direct', 'fft']
    >>> plan(np.zeros((1, 512, 512)), np.zeros((1, 1, 3, 3))).method
    <Method.DIRECT: 'direct'>
    >>> gaussian = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0
    >>> print(plan(np.zeros((1, 512, 512)), gaussian[None, None]).reason)
    rank-1 5x5 kernel: two 1-D passes, 10 instead of 25 multiply-adds per output
    """
    if is_dask_array(x):  # the plan of each block: shapes and dtypes only, no values read
        x = np.broadcast_to(np.zeros((), x.dtype), x.shape)
    if is_dask_array(weight):
        weight = weight.compute()
    if is_dask_array(bias):
        bias = bias.compute()
    try:  # converted once; named after the call it plans, so that both say the same
        weight = np.asarray(weight)
        fname = _NAMES.get(weight.ndim - 2, "plan")
    except (ValueError, TypeError):  # ragged nesting: as_array reports it
        fname = "plan"
    wa = as_array(fname, "weight", weight)
    nd = wa.ndim - 2
    if nd not in _NAMES:
        raise ValueError(
            f"plan: expected weight with 3, 4 or 5 dimensions (out_channels, in_channels/groups, "
            f"*kernel), got weight of shape {wa.shape}"
        )
    xa, _, ba = _arrays(_NAMES[nd], x, wa, bias)
    p = _plan_call(
        _NAMES[nd], nd, xa, wa, ba, stride, padding, dilation, groups, padding_mode, method
    )
    q = _apply_weights(_NAMES[nd], p, wa, explain=True)
    if _autotune._enabled and p.tune_key is not None:
        entry = _autotune.tuned(p, q.method)
        if entry is None:
            return replace(q, reason=f"{q.reason} (autotune: not measured yet, the next call is)")
        return replace(q, method=entry.method, reason=entry.reason, runner=None)
    return q


_PARAMS_DOC = """
    Parameters
    ----------
    x : array_like
        Input of shape ``(N, C, {sp})`` or, unbatched, ``(C, {sp})``.
    weight : array_like
        Filters of shape ``(O, C / groups, {k})``.
    bias : array_like, optional
        Shape ``(O,)``, added to every output position of its channel.
    stride : int or tuple of {nd} ints, default 1
        Step of the window along each axis.
    padding : int, tuple, tuple of pairs, "valid" or "same", default 0
        An int pads every side equally; a tuple of {nd} ints pads each axis on both sides; a
        tuple of {nd} ``(before, after)`` pairs pads each side explicitly. ``"valid"`` means no
        padding; ``"same"`` pads so that ``out = ceil(in / stride)`` (TensorFlow's rule; for an
        odd total the extra unit goes at the end; with stride 1 the output has the input's size).
    dilation : int or tuple of {nd} ints, default 1
        Spacing between kernel taps.
    groups : int, default 1
        Split input channels and filters into ``groups`` independent convolutions;
        ``groups == C`` with ``O == C`` is a depthwise convolution.
    padding_mode : {{"zeros", "reflect", "replicate", "circular", "symmetric"}}, default "zeros"
        How the padding is filled: zeros; reflection without repeating the edge
        (``d c b | a b c d | c b a``, needs padding < size); the edge value
        (``a a | a b c d | d d``); periodic wrap (``c d | a b c d | a b``, padding <= size);
        reflection repeating the edge (``b a | a b c d | d c``, padding <= size).
    method : {{"auto", "direct", "gemm", "separable", "winograd", "winograd_f2", "fft", \
"depthwise"}}
        Algorithm, default ``"auto"``: the rule in :mod:`fastconv._dispatch`. See :func:`plan`.
        ``"separable"`` (conv2d, one input channel per output) needs every kernel to be of
        rank 1; ``"winograd"`` (``F(4×4, 3×3)``) and ``"winograd_f2"`` (``F(2×2, 3×3)``) a
        conv2d with a 3×3 kernel, stride 1 and dilation 1; ``"fft"`` stride 1 and dilation
        1; ``"depthwise"`` ``groups == C`` and one or two spatial axes; otherwise they raise
        ``ValueError``.

    Returns
    -------
    out : ndarray
        Shape ``(N, O, {osp})`` (``(O, {osp})`` for unbatched input) where, per axis,
        ``out = floor((in + pad_before + pad_after - dilation * (k - 1) - 1) / stride) + 1``.
        float32 and float64 keep their dtype, float16 is computed in float32 and returned as
        float16, integer and bool inputs give float64; mixed dtypes promote like NumPy.

    Raises
    ------
    ValueError, TypeError
        For a bad shape, parameter or dtype, naming the parameter, the expected and the given
        value; nothing is computed.
"""


def conv1d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    method: str = "auto",
) -> np.ndarray:
    """1-D cross-correlation of a batch of multi-channel signals (PyTorch's ``conv1d``).

    The kernel slides along the signal with the stride; each window is multiplied
    element-wise with the kernel and summed (no kernel flip: the CNN convention).
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> conv1d([[1, 2, 3, 4, 5]], [[[1, 0, -1]]])
    array([[-2., -2., -2.]])
    >>> conv1d([[1, 2, 3, 4, 5]], [[[1, 1]]], stride=2, padding="same")
    array([[3., 7., 5.]])
    """
    return _conv(1, x, weight, bias, stride, padding, dilation, groups, padding_mode, method)


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    method: str = "auto",
) -> np.ndarray:
    """2-D cross-correlation of a batch of multi-channel images (PyTorch's ``conv2d``).

    The kernel slides from the top-left to the bottom-right of the (padded) image with the
    stride; each window is multiplied element-wise with the kernel and summed.
    {params}
    Examples
    --------
    The worked example of the tutorial: a 4×4 image and a 3×3 kernel, stride 1.

    >>> import numpy as np
    >>> image = np.arange(1.0, 17.0).reshape(1, 4, 4)      # (C, H, W)
    >>> kernel = np.array([[[[1, 0, -1], [1, 0, -1], [1, 0, -1]]]])   # (O, C, kH, kW)
    >>> conv2d(image, kernel)
    array([[[-6., -6.],
            [-6., -6.]]])
    >>> conv2d(image, kernel, padding=1, padding_mode="replicate").shape
    (1, 4, 4)
    >>> x = np.ones((2, 4, 8, 8), np.float32)            # depthwise, stride 2, 'same'
    >>> conv2d(x, np.ones((4, 1, 3, 3), np.float32), stride=2, padding="same", groups=4).shape
    (2, 4, 4, 4)
    """
    return _conv(2, x, weight, bias, stride, padding, dilation, groups, padding_mode, method)


def conv3d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    method: str = "auto",
) -> np.ndarray:
    """3-D cross-correlation of a batch of multi-channel volumes (PyTorch's ``conv3d``).

    The kernel slides through the (padded) volume with the stride; each window is multiplied
    element-wise with the kernel and summed.
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> volume = np.ones((1, 1, 4, 4, 4))
    >>> conv3d(volume, np.ones((2, 1, 2, 2, 2)), bias=[0.0, 0.5], stride=2)[0, :, 0, 0]
    array([[8. , 8. ],
           [8.5, 8.5]])
    """
    return _conv(3, x, weight, bias, stride, padding, dilation, groups, padding_mode, method)


for _nd, _fn in ((1, conv1d), (2, conv2d), (3, conv3d)):
    _sp = ", ".join(("D", "H", "W")[3 - _nd :])
    _fn.__doc__ = _fn.__doc__.format(
        params=_PARAMS_DOC.format(
            nd=_nd,
            sp=_sp,
            k=", ".join("k" + a for a in _sp.split(", ")),
            osp=", ".join("out_" + a for a in _sp.split(", ")),
        )
    )


# --------------------------------------------------------------------------------------------
# transposed convolution

#: (geometry, method) by call signature, as :data:`_PLANS` for the forward calls
_TRANSPOSE_PLANS: dict[tuple, tuple[Geometry, Method]] = {}


def _plan_transpose(fname: str, nd: int, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                    stride, padding, output_padding, groups, dilation,
                    method) -> tuple[Geometry, Method]:  # fmt: skip
    geo = normalize_conv_transpose(
        fname, nd, x.shape, x.dtype, w.shape, w.dtype,
        None if b is None else b.shape, None if b is None else b.dtype,
        stride, padding, output_padding, groups, dilation,
    )  # fmt: skip
    check_method(fname, method, TRANSPOSE_METHODS)
    if method == "auto":
        return geo, choose_transpose_method(geo)[0]
    check_transpose_method(fname, Method(method), geo)
    return geo, Method(method)


def _conv_transpose(nd: int, x, weight, bias, stride, padding, output_padding, groups, dilation,
                    method) -> np.ndarray:  # fmt: skip
    fname = f"conv_transpose{nd}d"
    xa, wa, ba = _arrays(fname, x, weight, bias)
    key = (
        nd, xa.shape, xa.dtype, wa.shape, wa.dtype, None if ba is None else (ba.shape, ba.dtype),
        _freeze(stride), _freeze(padding), _freeze(output_padding), _freeze(groups),
        _freeze(dilation), _freeze(method),
    )  # fmt: skip

    def make() -> tuple[Geometry, Method]:
        return _plan_transpose(fname, nd, xa, wa, ba, stride, padding, output_padding, groups,
                               dilation, method)  # fmt: skip

    return transposed(xa, wa, ba, *_cached(_TRANSPOSE_PLANS, key, make))


_TRANSPOSE_DOC = """
    Parameters
    ----------
    x : array_like
        Input of shape ``(N, C_in, {sp})`` or, unbatched, ``(C_in, {sp})``.
    weight : array_like
        Filters of shape ``(C_in, C_out / groups, {k})`` (PyTorch's layout: the weight of the
        forward convolution ``C_out -> C_in`` whose gradient this is).
    bias : array_like, optional
        Shape ``(C_out,)``.
    stride : int or tuple of {nd} ints, default 1
        Step between the places where consecutive input elements put the kernel.
    padding : int, tuple of {nd} ints or tuple of {nd} ``(before, after)`` pairs, default 0
        How much the full result is cropped at each end (the forward convolution's padding).
    output_padding : int or tuple of {nd} ints, default 0
        Extra size at the end of each axis (zeros where nothing lands), to pick among the
        input sizes that the forward convolution maps to the same output size; must be smaller
        than ``stride`` or ``dilation`` on each axis.
    groups : int, default 1
        Independent channel groups; divides ``C_in``.
    dilation : int or tuple of {nd} ints, default 1
        Spacing between kernel taps.
    method : {{"auto", "direct", "gemm", "winograd", "winograd_f2", "fft", "depthwise"}}
        Algorithm, default "auto"; ``"auto"`` applies the forward rule to the equivalent
        correlation (stride 1: a correlation with the flipped kernel; larger strides: with
        zeros between the input elements, or the GEMM scatter). Winograd needs a 2-D 3×3
        kernel and dilation 1, FFT dilation 1, depthwise ``in_channels == groups`` and one or
        two spatial axes.

    Returns
    -------
    out : ndarray
        Shape ``(N, C_out, {osp})`` (``(C_out, {osp})`` unbatched) where, per axis,
        ``out = (in - 1) * stride - pad_before - pad_after + dilation * (k - 1)
        + output_padding + 1``; dtypes as in :func:`conv2d`.

    Raises
    ------
    ValueError, TypeError
        For a bad shape, parameter or dtype, naming the parameter, the expected and the given
        value; nothing is computed.
"""


def conv_transpose1d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    *,
    method: str = "auto",
) -> np.ndarray:
    """1-D transposed convolution (PyTorch's ``conv_transpose1d``).

    Each input element adds the kernel, scaled by its value, to the output at ``stride`` times
    its position: the gradient of :func:`conv1d` with respect to its input.
    {params}
    Examples
    --------
    >>> conv_transpose1d([[1.0, 10.0]], [[[1.0, 2.0, 3.0]]], stride=2)
    array([[ 1.,  2., 13., 20., 30.]])
    >>> conv_transpose1d([[1.0, 10.0]], [[[1.0, 2.0, 3.0]]], stride=2, padding=1,
    ...                  output_padding=1)
    array([[ 2., 13., 20., 30.]])
    """
    return _conv_transpose(1, x, weight, bias, stride, padding, output_padding, groups,
                           dilation, method)  # fmt: skip


def conv_transpose2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    *,
    method: str = "auto",
) -> np.ndarray:
    """2-D transposed convolution of a batch of images (PyTorch's ``conv_transpose2d``).

    Each input pixel adds the kernel, scaled by its value, to the output at ``stride`` times
    its position: the gradient of :func:`conv2d` with respect to its input, and the usual
    learned upsampling of decoders.
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1.0, 2.0], [3.0, 4.0]]])           # (C_in, H, W)
    >>> conv_transpose2d(x, np.ones((1, 1, 2, 2)), stride=2)   # each pixel becomes a 2x2 block
    array([[[1., 1., 2., 2.],
            [1., 1., 2., 2.],
            [3., 3., 4., 4.],
            [3., 3., 4., 4.]]])
    >>> conv_transpose2d(x, np.ones((1, 1, 3, 3)), padding=1)  # overlapping 3x3 stamps, cropped
    array([[[10., 10.],
            [10., 10.]]])
    >>> conv_transpose2d(np.ones((8, 16, 14, 14), np.float32), np.ones((16, 4, 3, 3), np.float32),
    ...                  stride=2, padding=1, output_padding=1).shape
    (8, 4, 28, 28)
    """
    return _conv_transpose(2, x, weight, bias, stride, padding, output_padding, groups,
                           dilation, method)  # fmt: skip


def conv_transpose3d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    *,
    method: str = "auto",
) -> np.ndarray:
    """3-D transposed convolution of a batch of volumes (PyTorch's ``conv_transpose3d``).

    Each input voxel adds the kernel, scaled by its value, to the output at ``stride`` times
    its position: the gradient of :func:`conv3d` with respect to its input.
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> out = conv_transpose3d(np.ones((1, 1, 2, 2, 2)), np.ones((1, 2, 2, 2, 2)), bias=[0, 1],
    ...                        stride=2)
    >>> out.shape      # the eight 2x2x2 stamps tile the output
    (1, 2, 4, 4, 4)
    >>> out[0, :, 0, 0]
    array([[1., 1., 1., 1.],
           [2., 2., 2., 2.]])
    """
    return _conv_transpose(3, x, weight, bias, stride, padding, output_padding, groups,
                           dilation, method)  # fmt: skip


for _nd, _fn in ((1, conv_transpose1d), (2, conv_transpose2d), (3, conv_transpose3d)):
    _sp = ", ".join(("D", "H", "W")[3 - _nd :])
    _fn.__doc__ = _fn.__doc__.format(
        params=_TRANSPOSE_DOC.format(
            nd=_nd,
            sp=_sp,
            k=", ".join("k" + a for a in _sp.split(", ")),
            osp=", ".join("out_" + a for a in _sp.split(", ")),
        )
    )
