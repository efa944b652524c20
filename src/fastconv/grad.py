"""Gradients of convolution, computed as convolutions; and the transposed convolution.

For ``out = conv(x, w)`` (a correlation with stride ``s``, dilation ``d``, padding and groups)
and the gradient ``g`` of some loss with respect to ``out``:

- ``grad_input`` is the *transposed convolution* of ``g`` with ``w``: every element of ``g``
  scatters the kernel back onto the input positions its window read. As a correlation, that is
  ``g`` with ``s - 1`` zeros between its elements, correlated with the flipped weight whose two
  channel axes are swapped. :func:`transposed` (behind ``conv_transpose1d/2d/3d``) and every
  ``grad_input`` run the same code, :func:`transpose_canonical`.
- ``grad_weight`` is a correlation of ``x`` with ``g``: batch and channel swap roles (the sum
  runs over the batch), and so do stride and dilation (the taps of ``g`` are ``s`` apart in
  ``x``; the output steps ``d`` apart).
- ``grad_bias`` is the sum of ``g`` over the batch and every position.

With stride 1 and both gradients wanted, the GEMM algorithm takes both from one window matrix
of ``g`` (:func:`gemm_grad.backward`): the windows that ``grad_input``'s correlation reads are
also the partners of ``x`` in ``grad_weight``.

Padding modes other than zeros make the padded input a copy of input elements; their gradient
is the adjoint of that copy: the gradient of each padded element is added back to the element
it copies (:func:`pad_adjoint`), not dropped as for zero padding.

All of it runs through the algorithms of the forward pass (:mod:`fastconv.algorithms`), chosen
by the same rule (:mod:`fastconv._dispatch`): the direct kernel on the correlations above, or
the GEMM algorithm's window matrix (:mod:`fastconv.algorithms.gemm_grad`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import algorithms
from ._core import Layout, _pad3, _to3d, layout
from ._dispatch import choose_input_method, choose_weight_method
from ._spec import (
    NP_PAD_MODE,
    Geometry,
    as_array,
    as_shape,
    check_grad_output,
    check_method,
    compute_dtypes,
    normalize_conv,
    normalize_needs,
)
from .algorithms import TRANSPOSE_METHODS, Canonical, Method, gemm_grad

_NAMES = {1: "conv1d", 2: "conv2d", 3: "conv3d"}


# --------------------------------------------------------------------------------------------
# canonical operands: (N, C, D, H, W), contiguous, compute dtype


def flip_swap(w: np.ndarray, groups: int) -> np.ndarray:
    """``(A, B, *k)`` -> ``(groups * B, A / groups, *k)`` with every kernel axis reversed.

    The weight of a transposed convolution written as a correlation (and back: the operation is
    its own inverse).

    >>> w = np.arange(12.0).reshape(2, 3, 2)       # 2 in, 3 out channels, kernel of 2
    >>> flip_swap(w, 1)[:, :, ::-1].transpose(1, 0, 2).tolist() == w.tolist()
    True
    """
    a, b, *kernel = w.shape
    per = a // groups
    swapped = w.reshape(groups, per, b, *kernel).swapaxes(1, 2).reshape(groups * b, per, *kernel)
    return np.ascontiguousarray(
        swapped[(slice(None), slice(None), *(slice(None, None, -1),) * len(kernel))]
    )


def transpose_canonical(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical,
                        method: Method) -> None:  # fmt: skip
    """Transposed convolution of canonical operands into ``out`` (overwritten).

    ``x`` is ``(N, C_in, ID, IH, IW)``, ``w`` is ``(C_in, C_out / groups, KD, KH, KW)`` and
    ``out`` is ``(N, C_out, D, H, W)``: each ``x[n, ci, i]`` adds ``x[n, ci, i] * w[ci, co, k]``
    to ``out[n, co, i*s + k*d - pad_lo]`` (targets outside ``out`` are dropped). ``canon``
    holds the stride, dilation and leading padding ``pad_lo`` of the forward convolution.

    With stride 1 this is the correlation of ``x``, padded by ``(k - 1)*d - pad_lo``, with
    :func:`flip_swap` of ``w``, run by either forward algorithm. With a larger stride the GEMM
    algorithm scatters the products (:func:`gemm_grad.transpose`), and the direct one
    correlates ``x`` with ``s - 1`` zeros inserted between its elements. Weights with NaN or
    inf always take the scatter, which never multiplies them by those zeros.
    """
    if out.size == 0:
        return
    if x.size == 0 or w.size == 0:
        out.fill(0)
        return
    if (method is Method.GEMM and canon.stride != (1, 1, 1)) or not np.isfinite(w).all():
        # the scatter multiplies real elements only: a NaN or inf weight must not meet the
        # zeros that the correlation form puts around x (PyTorch gives 0 there, not NaN)
        gemm_grad.transpose(x, w, out, canon)
        return
    if canon.stride != (1, 1, 1):  # insert stride - 1 zeros between the elements
        spread = np.zeros(
            (*x.shape[:2], *((n - 1) * s + 1 for n, s in zip(x.shape[2:], canon.stride))),
            dtype=x.dtype,
        )
        spread[(slice(None), slice(None), *(slice(None, None, s) for s in canon.stride))] = x
    else:
        spread = x
    lead = _lead(w.shape[2:], canon)
    if min(lead) < 0:  # padding wider than the kernel: the first elements land before out
        spread = spread[(slice(None), slice(None), *(slice(max(0, -a), None) for a in lead))]
        if min(spread.shape[2:]) == 0:
            out.fill(0)
            return
    correlation = Canonical((1, 1, 1), canon.dilation, tuple(max(0, a) for a in lead),
                            canon.groups)  # fmt: skip
    algorithms.get(method)(
        np.ascontiguousarray(spread), flip_swap(w, canon.groups), out, correlation
    )


def check_transpose_method(fname: str, method: Method, geo: Geometry) -> None:
    """Refuse a forced ``method`` that cannot run the correlation form of this transposed
    convolution (``geo`` read as in :func:`fastconv._dispatch.choose_transpose_method`)."""
    nd = geo.spec.ndim
    kernel = geo.weight_shape[2:]
    if method in (Method.WINOGRAD, Method.WINOGRAD_F2):
        if nd != 2 or tuple(kernel) != (3, 3) or geo.spec.dilation != (1, 1):
            raise ValueError(
                f"{fname}: method={method.value!r} needs a 2-D 3x3 kernel with dilation 1, got "
                f"kernel {tuple(kernel)} and dilation={geo.spec.dilation}"
            )
    elif method is Method.DEPTHWISE and (nd == 3 or geo.weight_shape[0] != geo.spec.groups):
        raise ValueError(
            f"{fname}: method='depthwise' needs one or two spatial axes and in_channels == "
            f"groups (its correlation form is then depthwise), got {nd} spatial axes, weight "
            f"of shape {geo.weight_shape} and groups={geo.spec.groups}"
        )
    elif method is Method.FFT and any(d != 1 for d in geo.spec.dilation):
        raise ValueError(
            f"{fname}: method='fft' needs dilation 1, got dilation={geo.spec.dilation}"
        )


def _lead(kernel: tuple[int, ...], canon: Canonical) -> tuple[int, ...]:
    """Leading padding of the correlation that computes a transposed convolution (stride 1):
    ``(k - 1) * d - pad_lo`` per axis; negative when the padding is wider than the kernel."""
    return tuple((k - 1) * d - p for k, d, p in zip(kernel, canon.dilation, canon.pad_lo))


def weight_canonical(x: np.ndarray, g: np.ndarray, grad_w: np.ndarray, canon: Canonical,
                     method: Method) -> None:  # fmt: skip
    """Weight gradient of canonical operands into ``grad_w`` (overwritten).

    ``x`` is the forward input ``(N, C, D, H, W)`` (padded already for non-zero modes), ``g``
    the output gradient ``(N, O, OD, OH, OW)``, ``grad_w`` is ``(O, C / groups, KD, KH, KW)``.

    GEMM: the forward window matrix of ``x`` times ``g`` (:func:`gemm_grad.weight`). Direct: the
    correlation of ``x`` read as ``(C / groups, groups * N, ...)`` with ``g`` read as the
    weight ``(O, N, OD, OH, OW)``, stride and dilation swapped; its output
    ``(C / groups, O, KD, KH, KW)`` is ``grad_w`` with the first two axes swapped.
    """
    n_images, channels = x.shape[:2]
    if grad_w.size == 0:
        return
    if n_images == 0 or g.size == 0:
        grad_w.fill(0)
        return
    if method is Method.GEMM:
        gemm_grad.weight(x, g, grad_w, canon)
        return
    groups = canon.groups
    cg = channels // groups
    xs = x.reshape(n_images, groups, cg, *x.shape[2:]).transpose(2, 1, 0, 3, 4, 5)
    xs = np.ascontiguousarray(xs).reshape(cg, groups * n_images, *x.shape[2:])
    gs = np.ascontiguousarray(g.swapaxes(0, 1))
    out = np.empty((cg, g.shape[1], *grad_w.shape[2:]), dtype=x.dtype)
    swapped = Canonical(canon.dilation, canon.stride, canon.pad_lo, groups)
    algorithms.get(method)(xs, gs, out, swapped)
    grad_w[...] = out.swapaxes(0, 1)


def pad_adjoint(padded: np.ndarray, pad_width: list[tuple[int, int]], mode: str) -> np.ndarray:
    """The adjoint of ``np.pad(x, pad_width, NP_PAD_MODE[mode])``: fold the padding back.

    Every element of the padding is a copy of an element of ``x``; its gradient is added to
    that element. (For ``"zeros"`` the padding copies nothing and is simply cropped.)

    >>> pad_adjoint(np.array([10.0, 1, 2, 3, 20, 30]), [(1, 2)], "reflect")  # b|a b c|b a
    array([31., 32.,  3.])
    >>> pad_adjoint(np.array([10.0, 1, 2, 3, 20, 30]), [(1, 2)], "replicate")  # a|a b c|c c
    array([11.,  2., 53.])
    """
    np_mode = NP_PAD_MODE[mode]
    for axis, (lo, hi) in enumerate(pad_width):
        if not lo and not hi:
            continue
        size = padded.shape[axis] - lo - hi
        lead = (slice(None),) * axis
        folded = padded[(*lead, slice(lo, lo + size))].copy()
        if np_mode != "constant":
            source = np.pad(np.arange(size), (lo, hi), mode=np_mode)
            for j in (*range(lo), *range(lo + size, lo + size + hi)):
                folded[(*lead, source[j])] += padded[(*lead, j)]
        padded = folded
    return padded


# --------------------------------------------------------------------------------------------
# the transposed convolution (validated by the caller)


def transposed(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, geo: Geometry,
               method: Method) -> np.ndarray:  # fmt: skip
    """``conv_transpose{nd}d`` of validated arrays as planned in ``geo`` (a transposed geometry).

    The output is the full scatter cropped by ``geo.spec.padding``; only the leading padding
    enters the index arithmetic, the output shape fixes the rest.
    """
    spec = geo.spec
    nd = spec.ndim
    dtype = geo.compute_dtype
    x3 = _canonical(x, _to3d(geo.input_shape, nd), dtype)
    w3 = _canonical(w, _to3d(geo.weight_shape, nd), dtype)
    out = np.empty(_to3d(geo.output_shape, nd), dtype=dtype)
    canon = Canonical(_pad3(spec.stride, 1), _pad3(spec.dilation, 1),
                      _pad3(tuple(lo for lo, _ in spec.padding), 0), spec.groups)  # fmt: skip
    transpose_canonical(x3, w3, out, canon, method)
    if bias is not None and out.size:
        out += np.asarray(bias, dtype=dtype).reshape(1, -1, 1, 1, 1)
    return _finish(out, geo.output_shape, geo.batched, geo.result_dtype)


def _canonical(a: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype).reshape(shape)


def _finish(a: np.ndarray, shape: tuple[int, ...], batched: bool, dtype: np.dtype) -> np.ndarray:
    a = a.reshape(shape)
    if not batched:
        a = a[0]
    return a if a.dtype == dtype else a.astype(dtype)


# --------------------------------------------------------------------------------------------
# the backward pass


def backward_methods(
    geo: Geometry, method: str = "auto", needs: frozenset[str] = frozenset({"input", "weight"})
) -> tuple[tuple[Method, str], tuple[Method, str]]:
    """The algorithms (and reasons) of ``grad_input`` and ``grad_weight`` under ``method``.

    Under ``"auto"``, when both gradients are asked for and ``grad_weight`` takes gemm,
    ``grad_input`` takes gemm too, so that the fused form (one window matrix of
    ``grad_output`` for both, stride 1) applies: on W9 (W4's backward) that ran in 28.4 ms
    against 38.2 ms with Winograd for ``grad_input`` (``fastconv bench --check-choice``,
    2026-11-25).
    """
    if method != "auto":
        forced = Method(method)
        # a weight gradient is a correlation with a kernel as large as grad_output: gemm
        weight = forced if forced in (Method.DIRECT, Method.GEMM) else Method.GEMM
        why = f"forced by method={method!r}"
        return (forced, why), (weight, why if weight is forced else "gemm: " + why)
    chosen_input, chosen_weight = choose_input_method(geo), choose_weight_method(geo)
    if {"input", "weight"} <= needs and chosen_weight[0] is Method.GEMM:
        if chosen_input[0] is not Method.GEMM:
            chosen_input = (Method.GEMM, "both gradients from one window matrix of grad_output")
    return chosen_input, chosen_weight


def _backward(
    fname: str,
    nd: int,
    grad_output: Any,
    x: np.ndarray | None,
    x_shape: tuple[int, ...],
    w: np.ndarray | None,
    w_shape: tuple[int, ...],
    dtypes: list[np.dtype],
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
    padding_mode: Any,
    needs: frozenset[str],
    method: Any,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Validate, then compute the gradients named in ``needs``; ``x``/``w`` only if needed."""
    g = as_array(fname, "grad_output", grad_output)
    geo = normalize_conv(fname, nd, x_shape, dtypes[0], w_shape, dtypes[-1], None, None,
                         stride, padding, dilation, groups, padding_mode)  # fmt: skip
    check_grad_output(fname, geo, g.shape)
    check_method(fname, method, TRANSPOSE_METHODS)
    if method != "auto" and "input" in needs:
        check_transpose_method(fname, Method(method), geo)
    compute, result = compute_dtypes(g.dtype, *dtypes)
    lay = layout(geo)
    spec = geo.spec
    (method_input, _), (method_weight, _) = backward_methods(geo, method, needs)
    g3 = _canonical(g, lay.out_shape, compute)

    grad_input = grad_weight = grad_bias = None
    fused = _fused_backward(g3, w, x, geo, lay, needs, method_input, method_weight, compute)
    if fused is not None:
        grad_input = _finish(fused[0], geo.input_shape, geo.batched, result)
        grad_weight = _finish(fused[1], geo.weight_shape, True, result)
    elif "input" in needs:
        w3 = _canonical(w, lay.w_shape, compute)
        if lay.pad_width is None:  # zero padding: the scatter drops what lands in it
            gx = np.empty(lay.x_shape, dtype=compute)
        else:  # scatter onto the padded input, then fold the padding back
            gx = np.empty(
                (*lay.x_shape[:2], *(n + lo + hi for n, (lo, hi) in
                                     zip(lay.x_shape[2:], lay.pad_width[2:]))),
                dtype=compute,
            )  # fmt: skip
        transpose_canonical(g3, w3, gx, lay.canonical, method_input)
        if lay.pad_width is not None:
            gx = pad_adjoint(gx, lay.pad_width, spec.padding_mode)
        grad_input = _finish(gx, geo.input_shape, geo.batched, result)
    if "weight" in needs and fused is None:
        x3 = _padded_x(x, lay, spec.padding_mode, compute)
        gw = np.empty(lay.w_shape, dtype=compute)
        weight_canonical(x3, g3, gw, lay.canonical, method_weight)
        grad_weight = _finish(gw, geo.weight_shape, True, result)
    if "bias" in needs:
        grad_bias = g3.sum(axis=(0, 2, 3, 4)).astype(result, copy=False)
    return grad_input, grad_weight, grad_bias


def _padded_x(x: np.ndarray, lay: Layout, mode: str, dtype: np.dtype) -> np.ndarray:
    """The input as the forward convolution reads it: canonical, non-zero modes padded."""
    x3 = _canonical(x, lay.x_shape, dtype)
    return x3 if lay.pad_width is None else np.pad(x3, lay.pad_width, mode=NP_PAD_MODE[mode])


def _fused_backward(g3: np.ndarray, w: np.ndarray | None, x: np.ndarray | None, geo: Geometry,
                    lay: Layout, needs: frozenset[str], method_input: Method,
                    method_weight: Method, dtype: np.dtype,
                    ) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """Both gradients of a stride-1 GEMM problem from one window matrix of ``g``
    (:func:`gemm_grad.backward`), or ``None`` where that does not apply."""
    canon = lay.canonical
    lead = _lead(lay.w_shape[2:], canon)
    if not (
        {"input", "weight"} <= needs
        and method_input is Method.GEMM
        and method_weight is Method.GEMM
        and canon.stride == (1, 1, 1)
        and min(lead) >= 0
        and g3.size
    ):
        return None
    w3 = _canonical(w, lay.w_shape, dtype)
    if not np.isfinite(w3).all():  # NaN weights take the scatter (transpose_canonical)
        return None
    x3 = _padded_x(x, lay, geo.spec.padding_mode, dtype)
    gx = np.empty(x3.shape, dtype=dtype)
    gw_flipped = np.empty(lay.w_shape, dtype=dtype)
    correlation = Canonical((1, 1, 1), canon.dilation, lead, canon.groups)
    gemm_grad.backward(g3, flip_swap(w3, canon.groups), x3, gx, gw_flipped, correlation)
    if lay.pad_width is not None:
        gx = pad_adjoint(gx, lay.pad_width, geo.spec.padding_mode)
    return gx, np.ascontiguousarray(gw_flipped[:, :, ::-1, ::-1, ::-1])


def _conv_backward(nd: int, grad_output, x, weight, stride, padding, dilation, groups,
                   padding_mode, needs, method):  # fmt: skip
    fname = f"{_NAMES[nd]}_backward"
    wanted = normalize_needs(fname, needs)
    xa = as_array(fname, "input", x)
    wa = as_array(fname, "weight", weight)
    return _backward(fname, nd, grad_output, xa, xa.shape, wa, wa.shape, [xa.dtype, wa.dtype],
                     stride, padding, dilation, groups, padding_mode, wanted, method)  # fmt: skip


def _conv_input(nd: int, input_shape, weight, grad_output, stride, padding, dilation, groups,
                padding_mode, method) -> np.ndarray:  # fmt: skip
    fname = f"{_NAMES[nd]}_input"
    shape = as_shape(fname, "input_shape", input_shape, (nd + 1, nd + 2))
    wa = as_array(fname, "weight", weight)
    grads = _backward(fname, nd, grad_output, None, shape, wa, wa.shape, [wa.dtype], stride,
                      padding, dilation, groups, padding_mode, frozenset(["input"]),
                      method)  # fmt: skip
    return grads[0]


def _conv_weight(nd: int, x, weight_shape, grad_output, stride, padding, dilation, groups,
                 padding_mode, method) -> np.ndarray:  # fmt: skip
    fname = f"{_NAMES[nd]}_weight"
    xa = as_array(fname, "input", x)
    shape = as_shape(fname, "weight_shape", weight_shape, (nd + 2,))
    grads = _backward(fname, nd, grad_output, xa, xa.shape, None, shape, [xa.dtype], stride,
                      padding, dilation, groups, padding_mode, frozenset(["weight"]),
                      method)  # fmt: skip
    return grads[1]


# --------------------------------------------------------------------------------------------
# public API

_GEOMETRY_DOC = """
    stride, padding, dilation, groups, padding_mode
        Those of the forward call, with the same meaning and forms (:func:`fastconv.{fwd}`):
        every padding form, ``"same"`` also with stride > 1, and every padding mode; the
        gradient of reflect, replicate, circular and symmetric padding is added back to the
        input elements the padding copied."""

_METHOD_DOC = """
    method : {{"auto", "direct", "gemm"}}, default "auto"
        Algorithm of each gradient's convolution; ``"auto"`` applies the forward rule
        (:mod:`fastconv._dispatch`) to each."""


def _axes(nd: int, prefix: str = "") -> str:
    """``"H, W"`` for 2-D; with ``prefix="k"``: ``"kH, kW"``."""
    return ", ".join(prefix + a for a in ("D", "H", "W")[3 - nd :])


def _backward_doc(nd: int) -> str:
    sp, ksp, osp = _axes(nd), _axes(nd, "k"), _axes(nd, "out_")
    fwd = _NAMES[nd]
    return f"""Gradients of ``{fwd}`` with respect to its input, weight and bias.

    For ``out = {fwd}(x, weight, bias, ...)`` and ``grad_output`` = dL/d``out`` of some loss
    ``L``, return dL/d``x``, dL/d``weight`` and dL/d``bias``, each computed as a convolution (see
    :mod:`fastconv.grad`) by the same algorithms as the forward pass.

    Parameters
    ----------
    grad_output : array_like
        Shape of the forward output: ``(N, O, {osp})``,
        unbatched if ``x`` is.
    x : array_like
        The forward input, ``(N, C, {sp})`` or ``(C, {sp})``.
    weight : array_like
        The forward weight, ``(O, C / groups, {ksp})``.{_GEOMETRY_DOC.format(fwd=fwd)}
    needs : collection of {{"input", "weight", "bias"}}, default all three
        The gradients to compute; the others are returned as ``None`` and cost nothing.{
        _METHOD_DOC.format()
    }

    Returns
    -------
    grad_input : ndarray or None
        Shape of ``x``.
    grad_weight : ndarray or None
        Shape of ``weight``.
    grad_bias : ndarray or None
        Shape ``(O,)``: ``grad_output`` summed over the batch and every position.

    Raises
    ------
    ValueError, TypeError
        For the forward call's errors, and for a ``grad_output`` whose shape is not the
        forward output's.
    """


def conv1d_backward(
    grad_output: Any,
    x: Any,
    weight: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    needs: Any = ("input", "weight", "bias"),
    method: str = "auto",
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    return _conv_backward(1, grad_output, x, weight, stride, padding, dilation, groups,
                          padding_mode, needs, method)  # fmt: skip


def conv2d_backward(
    grad_output: Any,
    x: Any,
    weight: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    needs: Any = ("input", "weight", "bias"),
    method: str = "auto",
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    return _conv_backward(2, grad_output, x, weight, stride, padding, dilation, groups,
                          padding_mode, needs, method)  # fmt: skip


def conv3d_backward(
    grad_output: Any,
    x: Any,
    weight: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    needs: Any = ("input", "weight", "bias"),
    method: str = "auto",
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    return _conv_backward(3, grad_output, x, weight, stride, padding, dilation, groups,
                          padding_mode, needs, method)  # fmt: skip


conv1d_backward.__doc__ = (
    _backward_doc(1)
    + """
    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1.0, 2, 3, 4, 5]]])
    >>> gi, gw, gb = conv1d_backward(np.ones((1, 1, 3)), x, [[[1.0, 0, -1]]])
    >>> gi, gw, gb
    (array([[[ 1.,  1.,  0., -1., -1.]]]), array([[[ 6.,  9., 12.]]]), array([3.]))
    """
)
conv2d_backward.__doc__ = (
    _backward_doc(2)
    + """
    Examples
    --------
    The tutorial's 4×4 image and 3×3 kernel; ``grad_output`` is one for each of the 2×2 outputs.
    ``grad_input`` counts how many windows saw each pixel (the kernel is all ones) and
    ``grad_weight`` sums, for each tap, the pixels it saw:

    >>> import numpy as np
    >>> x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    >>> gi, gw, gb = conv2d_backward(np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 3, 3)))
    >>> gi[0, 0]
    array([[1., 2., 2., 1.],
           [2., 4., 4., 2.],
           [2., 4., 4., 2.],
           [1., 2., 2., 1.]])
    >>> gw[0, 0]
    array([[14., 18., 22.],
           [30., 34., 38.],
           [46., 50., 54.]])
    >>> gb
    array([4.])

    Only what is asked for is computed; reflect padding sends the gradient of the padding
    back to the pixels it reflects:

    >>> gi, gw, gb = conv2d_backward(np.ones((1, 1, 4, 4)), x, np.ones((1, 1, 3, 3)),
    ...                              padding=1, padding_mode="reflect", needs=("input",))
    >>> gi[0, 0], gw, gb
    (array([[ 4.,  9.,  9.,  4.],
           [ 9., 16., 16.,  9.],
           [ 9., 16., 16.,  9.],
           [ 4.,  9.,  9.,  4.]]), None, None)
    """
)
conv3d_backward.__doc__ = (
    _backward_doc(3)
    + """
    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 1, 4, 4, 4))
    >>> g = np.ones((1, 2, 2, 2, 2))
    >>> gi, gw, gb = conv3d_backward(g, x, np.ones((2, 1, 2, 2, 2)), stride=2)
    >>> gi.shape, gw[:, 0, 0, 0, 0], gb   # each voxel is in one window of each filter
    ((1, 1, 4, 4, 4), array([8., 8.]), array([8., 8.]))
    >>> np.unique(gi)
    array([2.])
    """
)


def _input_doc(nd: int) -> str:
    sp, ksp = _axes(nd), _axes(nd, "k")
    fwd = _NAMES[nd]
    return f"""Gradient of ``{fwd}`` with respect to its input (``torch.nn.grad.{fwd}_input``).

    ``input_shape`` is needed because the forward output size does not determine the input
    size (``floor`` in the output size formula). Equal to
    ``{fwd}_backward(grad_output, x, weight, ..., needs=("input",))[0]`` for any ``x`` of
    that shape.

    Parameters
    ----------
    input_shape : sequence of int
        Shape of the forward input, ``(N, C, {sp})`` or ``(C, {sp})``.
    weight : array_like
        The forward weight ``(O, C / groups, {ksp})``.
    grad_output : array_like
        Gradient of the forward output.{_GEOMETRY_DOC.format(fwd=fwd)}{_METHOD_DOC.format()}

    Returns
    -------
    grad_input : ndarray
        Shape ``input_shape``.
    """


def _weight_doc(nd: int) -> str:
    sp, ksp = _axes(nd), _axes(nd, "k")
    fwd = _NAMES[nd]
    return f"""Gradient of ``{fwd}`` with respect to its weight (``torch.nn.grad.{fwd}_weight``).

    Equal to ``{fwd}_backward(grad_output, x, weight, ..., needs=("weight",))[1]`` for any
    ``weight`` of shape ``weight_shape``.

    Parameters
    ----------
    x : array_like
        The forward input, ``(N, C, {sp})`` or ``(C, {sp})``.
    weight_shape : sequence of int
        Shape of the forward weight, ``(O, C / groups, {ksp})``.
    grad_output : array_like
        Gradient of the forward output.{_GEOMETRY_DOC.format(fwd=fwd)}{_METHOD_DOC.format()}

    Returns
    -------
    grad_weight : ndarray
        Shape ``weight_shape``.
    """


def conv1d_input(input_shape: Any, weight: Any, grad_output: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, *,
                 padding_mode: str = "zeros", method: str = "auto") -> np.ndarray:  # fmt: skip
    return _conv_input(1, input_shape, weight, grad_output, stride, padding, dilation, groups,
                       padding_mode, method)  # fmt: skip


def conv2d_input(input_shape: Any, weight: Any, grad_output: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, *,
                 padding_mode: str = "zeros", method: str = "auto") -> np.ndarray:  # fmt: skip
    return _conv_input(2, input_shape, weight, grad_output, stride, padding, dilation, groups,
                       padding_mode, method)  # fmt: skip


def conv3d_input(input_shape: Any, weight: Any, grad_output: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, *,
                 padding_mode: str = "zeros", method: str = "auto") -> np.ndarray:  # fmt: skip
    return _conv_input(3, input_shape, weight, grad_output, stride, padding, dilation, groups,
                       padding_mode, method)  # fmt: skip


def conv1d_weight(x: Any, weight_shape: Any, grad_output: Any, stride: Any = 1,
                  padding: Any = 0, dilation: Any = 1, groups: int = 1, *,
                  padding_mode: str = "zeros", method: str = "auto") -> np.ndarray:  # fmt: skip
    return _conv_weight(1, x, weight_shape, grad_output, stride, padding, dilation, groups,
                        padding_mode, method)  # fmt: skip


def conv2d_weight(x: Any, weight_shape: Any, grad_output: Any, stride: Any = 1,
                  padding: Any = 0, dilation: Any = 1, groups: int = 1, *,
                  padding_mode: str = "zeros", method: str = "auto") -> np.ndarray:  # fmt: skip
    return _conv_weight(2, x, weight_shape, grad_output, stride, padding, dilation, groups,
                        padding_mode, method)  # fmt: skip


def conv3d_weight(x: Any, weight_shape: Any, grad_output: Any, stride: Any = 1,
                  padding: Any = 0, dilation: Any = 1, groups: int = 1, *,
                  padding_mode: str = "zeros", method: str = "auto") -> np.ndarray:  # fmt: skip
    return _conv_weight(3, x, weight_shape, grad_output, stride, padding, dilation, groups,
                        padding_mode, method)  # fmt: skip


_EXAMPLES: dict[Callable, str] = {
    conv1d_input: """
    >>> import numpy as np
    >>> conv1d_input((1, 5), [[[1.0, 0, -1]]], [[1.0, 1, 1]])
    array([[ 1.,  1.,  0., -1., -1.]])
    """,
    conv2d_input: """
    >>> import numpy as np
    >>> w = np.ones((1, 1, 3, 3))
    >>> conv2d_input((1, 1, 5, 5), w, np.ones((1, 1, 2, 2)), stride=2)[0, 0]
    array([[1., 1., 2., 1., 1.],
           [1., 1., 2., 1., 1.],
           [2., 2., 4., 2., 2.],
           [1., 1., 2., 1., 1.],
           [1., 1., 2., 1., 1.]])
    >>> conv2d_input((1, 1, 6, 6), w, np.ones((1, 1, 2, 2)), stride=2).shape  # same output
    (1, 1, 6, 6)
    """,
    conv3d_input: """
    >>> import numpy as np
    >>> conv3d_input((2, 2, 2, 2), np.ones((2, 1, 1, 1, 1)), np.full((2, 2, 2, 2), 3.0),
    ...              groups=2)[1, 1]
    array([[3., 3.],
           [3., 3.]])
    """,
    conv1d_weight: """
    >>> import numpy as np
    >>> conv1d_weight([[1.0, 2, 3, 4, 5]], (1, 1, 3), [[1.0, 1, 1]])
    array([[[ 6.,  9., 12.]]])
    """,
    conv2d_weight: """
    >>> import numpy as np
    >>> x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    >>> conv2d_weight(x, (1, 1, 3, 3), np.ones((1, 1, 2, 2)))[0, 0]
    array([[14., 18., 22.],
           [30., 34., 38.],
           [46., 50., 54.]])
    >>> conv2d_weight(x, (1, 1, 2, 2), np.ones((1, 1, 2, 2)), stride=2)[0, 0]  # 1+3+9+11, ...
    array([[24., 28.],
           [40., 44.]])
    """,
    conv3d_weight: """
    >>> import numpy as np
    >>> conv3d_weight(np.ones((1, 3, 3, 3)), (1, 1, 2, 2, 2), np.ones((1, 2, 2, 2)))[0, 0, 0]
    array([[8., 8.],
           [8., 8.]])
    """,
}

for _nd, _fn in ((1, conv1d_input), (2, conv2d_input), (3, conv3d_input)):
    _fn.__doc__ = _input_doc(_nd) + "\n    Examples\n    --------" + _EXAMPLES[_fn]
for _nd, _fn in ((1, conv1d_weight), (2, conv2d_weight), (3, conv3d_weight)):
    _fn.__doc__ = _weight_doc(_nd) + "\n    Examples\n    --------" + _EXAMPLES[_fn]
del _nd, _fn
