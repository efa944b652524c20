"""Validation and normalisation at the public boundary.

Everything a user passes is checked here, once, and turned into a frozen :class:`ConvSpec`
(tuples of ints and explicit ``(before, after)`` pads) plus NumPy arrays of known dtype. Below
this module nothing accepts a string padding or a scalar where a tuple is meant, and no Numba
kernel is reached with shapes that were not checked. Every user-facing message lives here and
follows one template: ``"<function>: expected <what>, got <value>"``.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._shapes import (
    Pads,
    dilated_size,
    output_shape,
    padded_shape,
    same_padding,
    transposed_output_shape,
)

PADDING_MODES: tuple[str, ...] = ("zeros", "reflect", "replicate", "circular", "symmetric")

#: ``padding_mode`` (PyTorch's names) -> ``np.pad`` mode.
NP_PAD_MODE: dict[str, str] = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
    "symmetric": "symmetric",
}


@dataclass(frozen=True)
class ConvSpec:
    """Normalised geometry of one convolution: every field is explicit, per spatial axis.

    Attributes
    ----------
    stride, dilation : tuple of int
        One positive entry per spatial axis.
    padding : tuple of (int, int)
        ``(before, after)`` padding per spatial axis, already resolved from ``"same"``/``"valid"``.
    groups : int
        Number of channel groups.
    padding_mode : str
        One of :data:`PADDING_MODES`.
    """

    stride: tuple[int, ...]
    padding: Pads
    dilation: tuple[int, ...]
    groups: int
    padding_mode: str

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.stride)


# --------------------------------------------------------------------------------------------
# arrays and dtypes


def is_dask_array(value: Any) -> bool:
    """Whether ``value`` is a Dask array, found without importing Dask.

    A Dask array can only exist once ``dask.array`` has been imported, so an interpreter that
    never imported it answers ``False`` at the cost of one dictionary lookup.

    >>> is_dask_array(np.zeros(3))
    False
    """
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(value, module.Array)


#: the functions of :mod:`fastconv.dask`, named in the refusal of a Dask array elsewhere
DASK_FUNCTIONS = ("filter_image", "conv1d", "conv2d", "conv3d", "correlate", "convolve",
                  "correlate2d", "convolve2d")  # fmt: skip


def dask_refusal(fname: str, name: str) -> str:
    """The message for a Dask array given to a function that computes in memory only."""
    return (
        f"{fname}: expected {name} to be an in-memory array-like, got a Dask array (fastconv.dask "
        f"runs {', '.join(DASK_FUNCTIONS)} on Dask arrays; call .compute() first to run "
        f"{fname} in memory)"
    )


def as_array(fname: str, name: str, value: Any) -> np.ndarray:
    """``np.asarray`` with the dtype check: real floating, integer or bool only.

    A Dask array is refused rather than computed behind the caller's back: the functions that
    take one (:mod:`fastconv.dask`) hand it over before reaching this.
    """
    if is_dask_array(value):
        raise TypeError(dask_refusal(fname, name))
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested sequences and the like
        raise TypeError(
            f"{fname}: expected {name} to be an array-like of numbers, got {exc}"
        ) from None
    dt = arr.dtype
    if dt.kind not in "biuf" or (dt.kind == "f" and dt.itemsize > 8):
        raise TypeError(
            f"{fname}: expected {name} to have a real floating (float16/32/64), integer or bool "
            f"dtype, got dtype {dt}"
        )
    return arr


def compute_dtypes(*dtypes: np.dtype) -> tuple[np.dtype, np.dtype]:
    """Return ``(compute_dtype, result_dtype)`` for the given operand dtypes.

    Integers and bool count as float64; the rest promote like NumPy. float16 is computed in
    float32 and the result is cast back.

    >>> compute_dtypes(np.dtype("float32"), np.dtype("float32"))
    (dtype('float32'), dtype('float32'))
    >>> compute_dtypes(np.dtype("float16"), np.dtype("float16"))
    (dtype('float32'), dtype('float16'))
    >>> compute_dtypes(np.dtype("uint8"), np.dtype("float32"))
    (dtype('float64'), dtype('float64'))
    """
    as_float = [np.dtype(np.float64) if dt.kind in "biu" else dt for dt in dtypes]
    result = np.result_type(*as_float)
    compute = np.dtype(np.float32) if result == np.float16 else result
    return compute, result


# --------------------------------------------------------------------------------------------
# scalar parameters


def _as_int(fname: str, name: str, value: Any, given: Any) -> int:
    """``value`` as a Python int (no bools, no floats, within int64); sign checked by callers."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{fname}: expected {name} to be an integer, got {name}={given!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{fname}: expected {name} to be an integer, got {name}={given!r}"
        ) from None
    if not -(2**62) < v < 2**62:  # the kernels index in int64; leave room for sums
        raise ValueError(f"{fname}: expected {name} to be below 2**62, got {name}={given!r}")
    return v


def _per_axis(fname: str, name: str, value: Any, nd: int) -> tuple[int, ...]:
    """An int or a sequence of ``nd`` ints, each >= 1 (stride, dilation)."""
    items = tuple(value) if isinstance(value, Sequence | np.ndarray) else (value,) * nd
    if len(items) != nd:
        raise ValueError(
            f"{fname}: expected {name} to be an int or a sequence of {nd} ints, "
            f"got {name}={value!r} of length {len(items)}"
        )
    out = tuple(_as_int(fname, name, v, value) for v in items)
    if any(v < 1 for v in out):
        raise ValueError(f"{fname}: expected {name} to be positive, got {name}={value!r}")
    return out


def _groups(fname: str, groups: Any) -> int:
    g = _as_int(fname, "groups", groups, groups)
    if g < 1:
        raise ValueError(
            f"{fname}: expected groups to be a positive integer, got groups={groups!r}"
        )
    return g


def _explicit_padding(
    fname: str, padding: Any, nd: int, strings: str = ", 'valid' or 'same'"
) -> Pads:
    """int | sequence of nd ints | sequence of nd (before, after) pairs -> pairs.

    ``strings`` completes the list of accepted forms in the message (the string forms the
    caller accepts itself).
    """
    form = (
        f"{fname}: expected padding to be an int, a sequence of {nd} ints"
        + (f", a sequence of {nd} " if strings else f" or a sequence of {nd} ")
        + f"(before, after) pairs{strings}, got padding={padding!r}"
    )
    if isinstance(padding, Sequence | np.ndarray):
        items = tuple(padding)
        if len(items) != nd:
            raise ValueError(form)
        pairs = []
        for item in items:
            if isinstance(item, Sequence | np.ndarray) and not isinstance(item, str):
                pair = tuple(item)
                if len(pair) != 2:
                    raise ValueError(form)
                pairs.append(tuple(_as_int(fname, "padding", p, padding) for p in pair))
            else:
                p = _as_int(fname, "padding", item, padding)
                pairs.append((p, p))
    else:
        p = _as_int(fname, "padding", padding, padding)
        pairs = [(p, p)] * nd
    if any(p < 0 for pair in pairs for p in pair):
        raise ValueError(f"{fname}: expected padding to be non-negative, got padding={padding!r}")
    return tuple(pairs)  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# the whole call


@dataclass(frozen=True)
class Geometry:
    """Everything the dispatcher and the executor need, derived from shapes and dtypes only."""

    spec: ConvSpec
    input_shape: tuple[int, ...]  # always batched: (N, C, *spatial)
    weight_shape: tuple[int, ...]
    output_shape: tuple[int, ...]  # batched
    batched: bool
    has_bias: bool
    compute_dtype: np.dtype
    result_dtype: np.dtype


def _check_ranks(
    fname: str, nd: int, x_shape: tuple[int, ...], w_shape: tuple[int, ...], w_axes: str
) -> tuple[bool, tuple[int, ...]]:
    """The input's and weight's number of dimensions and the kernel sizes, shared by the
    forward and the transposed convolution; returns ``(batched, batched input shape)``.
    ``w_axes`` names the weight's two channel axes for the message."""
    kdims = ", ".join("kD kH kW".split()[3 - nd :])
    if len(x_shape) not in (nd + 1, nd + 2):
        raise ValueError(
            f"{fname}: expected input with {nd + 1} (unbatched) or {nd + 2} (batched) dimensions, "
            f"got input of shape {x_shape}"
        )
    if len(w_shape) != nd + 2:
        raise ValueError(
            f"{fname}: expected weight with {nd + 2} dimensions "
            f"({w_axes}, {kdims}), got weight of shape {w_shape}"
        )
    if min(w_shape[2:]) < 1:
        raise ValueError(
            f"{fname}: expected every kernel size to be at least 1, got weight of shape {w_shape}"
        )
    batched = len(x_shape) == nd + 2
    return batched, (x_shape if batched else (1, *x_shape))


def normalize_conv(
    fname: str,
    nd: int,
    x_shape: tuple[int, ...],
    x_dtype: np.dtype,
    w_shape: tuple[int, ...],
    w_dtype: np.dtype,
    bias_shape: tuple[int, ...] | None,
    bias_dtype: np.dtype | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
    padding_mode: Any,
) -> Geometry:
    """Validate one forward convolution call from shapes and dtypes alone.

    Raises ``ValueError`` / ``TypeError`` naming the function, the parameter, the expected and
    the given value. Arrays are not needed, so the result can be cached per call signature.
    """
    batched, xb = _check_ranks(fname, nd, x_shape, w_shape, "out_channels, in_channels/groups")
    n_out, cg = w_shape[0], w_shape[1]
    kernel = w_shape[2:]
    spatial = xb[2:]

    g = _groups(fname, groups)
    if n_out % g:
        raise ValueError(
            f"{fname}: given groups={g}, expected weight.shape[0] ({n_out}) to be divisible by {g}"
        )
    if xb[1] != cg * g:
        raise ValueError(
            f"{fname}: given groups={g} and weight of shape {w_shape}, expected input to have "
            f"{cg * g} channels, but got input of shape {x_shape} with {xb[1]} channels"
        )
    s = _per_axis(fname, "stride", stride, nd)
    d = _per_axis(fname, "dilation", dilation, nd)

    if not isinstance(padding_mode, str) or padding_mode not in PADDING_MODES:
        raise ValueError(
            f"{fname}: expected padding_mode to be one of {', '.join(map(repr, PADDING_MODES))}, "
            f"got padding_mode={padding_mode!r}"
        )
    if isinstance(padding, str):
        if padding == "valid":
            pads: Pads = ((0, 0),) * nd
        elif padding == "same":
            pads = tuple(same_padding(n, k, st, di) for n, k, st, di in zip(spatial, kernel, s, d))
        else:
            raise ValueError(
                f"{fname}: expected padding to be an int, a sequence, 'valid' or 'same', "
                f"got padding={padding!r}"
            )
    else:
        pads = _explicit_padding(fname, padding, nd)
    _check_mode_fits(fname, padding_mode, pads, spatial)

    padded = padded_shape(spatial, pads)
    dk = tuple(dilated_size(k, di) for k, di in zip(kernel, d))
    if any(e > p for e, p in zip(dk, padded)):
        raise ValueError(
            f"{fname}: expected the dilated kernel {dk} to fit in the padded input {padded}, got "
            f"weight of shape {w_shape} with dilation={d} on input of spatial shape {spatial} "
            f"padded by {pads}"
        )
    if bias_shape is not None and bias_shape != (n_out,):
        raise ValueError(
            f"{fname}: expected bias of shape ({n_out},), got bias of shape {bias_shape}"
        )

    dtypes = [x_dtype, w_dtype] + ([bias_dtype] if bias_dtype is not None else [])
    compute, result = compute_dtypes(*dtypes)
    spec = ConvSpec(stride=s, padding=pads, dilation=d, groups=g, padding_mode=padding_mode)
    out_shape = (xb[0], n_out, *output_shape(spatial, kernel, s, pads, d))
    return Geometry(
        spec=spec,
        input_shape=tuple(xb),
        weight_shape=tuple(w_shape),
        output_shape=out_shape,
        batched=batched,
        has_bias=bias_shape is not None,
        compute_dtype=compute,
        result_dtype=result,
    )


#: padding_mode -> (the rule, whether ``(widest padding, input size)`` obeys it)
_MODE_RULES = {
    "reflect": ("padding < input size", lambda pad, size: pad < size),
    "symmetric": ("padding <= input size", lambda pad, size: pad <= size),
    "circular": ("padding <= input size", lambda pad, size: pad <= size),
    "replicate": ("a non-empty input", lambda pad, size: size > 0),
}


def _check_mode_fits(fname: str, mode: str, pads: Pads, spatial: Sequence[int]) -> None:
    """The padding every mode but zeros reads from the input must exist there."""
    if mode == "zeros":
        return
    rule, fits = _MODE_RULES[mode]
    for (lo, hi), size in zip(pads, spatial):
        widest = max(lo, hi)
        if widest and not fits(widest, size):
            raise ValueError(
                f"{fname}: padding_mode={mode!r} needs {rule} along each padded axis, got padding "
                f"{pads} for input of spatial shape {tuple(spatial)}"
            )


def check_method(fname: str, method: Any, methods: Sequence[str]) -> str:
    """``method`` must be ``"auto"`` or one of the algorithm names."""
    allowed = ("auto", *methods)
    if not isinstance(method, str) or method not in allowed:
        raise ValueError(
            f"{fname}: expected method to be one of {', '.join(map(repr, allowed))}, "
            f"got method={method!r}"
        )
    return method


# --------------------------------------------------------------------------------------------
# transposed convolution and gradients


def normalize_conv_transpose(
    fname: str,
    nd: int,
    x_shape: tuple[int, ...],
    x_dtype: np.dtype,
    w_shape: tuple[int, ...],
    w_dtype: np.dtype,
    bias_shape: tuple[int, ...] | None,
    bias_dtype: np.dtype | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: Any,
    dilation: Any,
) -> Geometry:
    """Validate one transposed convolution call from shapes and dtypes alone.

    The weight is ``(in_channels, out_channels / groups, *kernel)`` as in PyTorch; the
    returned geometry's ``spec.padding`` is the per-side padding that crops the full scatter,
    and ``output_shape`` already includes ``output_padding``.
    """
    batched, xb = _check_ranks(fname, nd, x_shape, w_shape, "in_channels, out_channels/groups")
    n_in, og = w_shape[0], w_shape[1]
    kernel = w_shape[2:]
    spatial = xb[2:]
    if min(spatial) < 1:
        raise ValueError(
            f"{fname}: expected every spatial size of the input to be at least 1, got input of "
            f"shape {x_shape}"
        )
    g = _groups(fname, groups)
    if n_in % g:
        raise ValueError(
            f"{fname}: given groups={g}, expected weight.shape[0] ({n_in}) to be divisible by {g}"
        )
    if xb[1] != n_in:
        raise ValueError(
            f"{fname}: given weight of shape {w_shape}, expected input to have {n_in} channels, "
            f"but got input of shape {x_shape} with {xb[1]} channels"
        )
    s = _per_axis(fname, "stride", stride, nd)
    d = _per_axis(fname, "dilation", dilation, nd)
    if isinstance(padding, str):
        raise ValueError(
            f"{fname}: expected padding to be an int, a sequence of {nd} ints or a sequence of "
            f"{nd} (before, after) pairs, got padding={padding!r}"
        )
    pads = _explicit_padding(fname, padding, nd, strings="")
    op = _output_padding(fname, output_padding, nd)
    if any(p >= st and p >= di for p, st, di in zip(op, s, d)):
        raise ValueError(
            f"{fname}: expected output_padding < stride or dilation along each axis, got "
            f"output_padding={op} with stride={s} and dilation={d}"
        )
    out = transposed_output_shape(spatial, kernel, s, pads, d, op)
    if min(out) < 1:
        raise ValueError(
            f"{fname}: expected every output size to be positive, got output spatial shape {out} "
            f"from input of spatial shape {spatial}, weight of shape {w_shape}, stride={s}, "
            f"padding={pads}, dilation={d}, output_padding={op}"
        )
    n_out = og * g
    if bias_shape is not None and bias_shape != (n_out,):
        raise ValueError(
            f"{fname}: expected bias of shape ({n_out},), got bias of shape {bias_shape}"
        )
    dtypes = [x_dtype, w_dtype] + ([bias_dtype] if bias_dtype is not None else [])
    compute, result = compute_dtypes(*dtypes)
    return Geometry(
        spec=ConvSpec(stride=s, padding=pads, dilation=d, groups=g, padding_mode="zeros"),
        input_shape=tuple(xb),
        weight_shape=tuple(w_shape),
        output_shape=(xb[0], n_out, *out),
        batched=batched,
        has_bias=bias_shape is not None,
        compute_dtype=compute,
        result_dtype=result,
    )


def _output_padding(fname: str, value: Any, nd: int) -> tuple[int, ...]:
    """An int or a sequence of ``nd`` ints, each >= 0."""
    items = tuple(value) if isinstance(value, Sequence | np.ndarray) else (value,) * nd
    if len(items) != nd:
        raise ValueError(
            f"{fname}: expected output_padding to be an int or a sequence of {nd} ints, "
            f"got output_padding={value!r} of length {len(items)}"
        )
    out = tuple(_as_int(fname, "output_padding", v, value) for v in items)
    if any(v < 0 for v in out):
        raise ValueError(
            f"{fname}: expected output_padding to be non-negative, got output_padding={value!r}"
        )
    return out


def as_shape(fname: str, name: str, value: Any, lengths: Sequence[int]) -> tuple[int, ...]:
    """A shape given as a parameter (``input_shape``, ``weight_shape``): non-negative ints."""
    if not isinstance(value, Sequence | np.ndarray) or isinstance(value, str):
        raise TypeError(
            f"{fname}: expected {name} to be a sequence of {' or '.join(map(str, lengths))} "
            f"ints, got {name}={value!r}"
        )
    shape = tuple(_as_int(fname, name, v, value) for v in value)
    if len(shape) not in lengths or any(v < 0 for v in shape):
        raise ValueError(
            f"{fname}: expected {name} to be a sequence of {' or '.join(map(str, lengths))} "
            f"non-negative ints, got {name}={value!r}"
        )
    return shape


def check_grad_output(fname: str, geo: Geometry, shape: tuple[int, ...]) -> None:
    """``grad_output`` must have the forward output's shape (batched like the input)."""
    expected = geo.output_shape if geo.batched else geo.output_shape[1:]
    if shape != expected:
        raise ValueError(
            f"{fname}: expected grad_output of shape {expected} (the output of the forward "
            f"convolution for these arguments), got grad_output of shape {shape}"
        )


#: what a backward call can compute
GRADIENTS: tuple[str, ...] = ("input", "weight", "bias")


def normalize_needs(fname: str, needs: Any) -> frozenset[str]:
    """``needs``: one name or a collection of names out of :data:`GRADIENTS`."""
    items = (needs,) if isinstance(needs, str) else needs
    try:
        names = frozenset(items)
    except TypeError:
        names = None
    if names is None or not names <= set(GRADIENTS):
        raise ValueError(
            f"{fname}: expected needs to be a collection of {', '.join(map(repr, GRADIENTS))}, "
            f"got needs={needs!r}"
        )
    return names
