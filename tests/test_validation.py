"""Every bad argument is refused up front with a ``ValueError`` or ``TypeError``.

The message follows the template of ``fastconv._spec``: ``"<function>: expected <what>, got
<value>"`` -- it names the function, the parameter, what was expected and what was given. Each
test below checks the exception's exact type and its message, that :func:`fastconv.plan` raises
the same error, that nothing was computed (the executor is replaced by a tripwire) and that the
arguments were left as they were.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

import fastconv
from fastconv import functional

FUNCS = {1: fastconv.conv1d, 2: fastconv.conv2d, 3: fastconv.conv3d}
NAMES = {1: "conv1d", 2: "conv2d", 3: "conv3d"}
ND = pytest.mark.parametrize("nd", [1, 2, 3])

DTYPE_EXPECTED = "to have a real floating (float16/32/64), integer or bool dtype"


def pattern(fname: str, *parts: str) -> str:
    """Regex: the message is ``fname: `` + ``parts[0]`` ..., then the other parts in order."""
    return "^" + re.escape(f"{fname}: ") + ".*".join(re.escape(p) for p in parts)


def operands(nd: int, n: int = 1, c: int = 2, size: int = 5, o: int = 2, k: int = 3):
    """A valid input ``(n, c, size...)`` and weight ``(o, c, k...)``."""
    rng = np.random.default_rng(nd)
    x = rng.standard_normal((n, c, *(size,) * nd))
    w = rng.standard_normal((o, c, *(k,) * nd))
    return x, w


def _same(before, after) -> bool:
    """Arrays and (nested) lists compare by value; other objects are not inspected."""
    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.dtype == after.dtype
            and before.shape == after.shape
            and bool(np.all(before == after))
        )
    if isinstance(before, list):
        return before == after
    return True


@pytest.fixture
def check(monkeypatch):
    """``check(exc, nd, parts, x, w, bias=None, **kwargs)``: the call is refused as specified.

    * ``conv{nd}d(x, w, bias, **kwargs)`` raises exactly ``exc`` and the message matches
      ``pattern(conv{nd}d, *parts)``;
    * ``fastconv.plan`` with the same arguments raises the same type with the same message
      (``plan_prefix="plan"`` where plan cannot know ``nd``: a weight with no usable ndim);
    * no convolution was run and ``x``, ``w``, ``bias`` are unchanged.
    """

    def tripwire(*args, **kwargs):
        raise AssertionError("the convolution ran although the arguments are invalid")

    monkeypatch.setattr(functional, "conv_general", tripwire)

    def run(exc, nd, parts, x, w, bias=None, *, plan_prefix=None, **kwargs):
        fname = NAMES[nd]
        snapshot = copy.deepcopy((x, w, bias))
        with pytest.raises(exc, match=pattern(fname, *parts)) as info:
            FUNCS[nd](x, w, bias, **kwargs)
        assert type(info.value) is exc
        message = str(info.value)

        with pytest.raises(exc) as pinfo:
            fastconv.plan(x, w, bias, **kwargs)
        assert type(pinfo.value) is exc
        if plan_prefix is None:
            assert str(pinfo.value) == message
        else:
            assert str(pinfo.value) == message.replace(f"{fname}: ", f"{plan_prefix}: ", 1)

        for before, after in zip(snapshot, (x, w, bias)):
            assert _same(before, after)

    return run


# --------------------------------------------------------------------------------------------
# shapes


@ND
@pytest.mark.parametrize("ndim", ["nd-1", "nd", "nd+3"])
def test_input_wrong_ndim(check, nd, ndim):
    _, w = operands(nd)
    n = {"nd-1": nd - 1, "nd": nd, "nd+3": nd + 3}[ndim]
    x = np.ones((2,) * n)
    expected = f"expected input with {nd + 1} (unbatched) or {nd + 2} (batched) dimensions"
    check(ValueError, nd, [expected, f"got input of shape {x.shape}"], x, w)


@ND
@pytest.mark.parametrize("extra", [-1, 1])
def test_weight_wrong_ndim(nd, extra):
    """(plan reads the dimension off the weight, so it cannot give conv{nd}d's message.)"""
    x, w = operands(nd)
    w = w.reshape((*w.shape, 1)) if extra > 0 else w[..., 0]
    kdims = ", ".join(["kD", "kH", "kW"][3 - nd :])
    parts = [
        f"expected weight with {nd + 2} dimensions (out_channels, in_channels/groups, {kdims})",
        f"got weight of shape {w.shape}",
    ]
    with pytest.raises(ValueError, match=pattern(NAMES[nd], *parts)):
        FUNCS[nd](x, w)


@pytest.mark.parametrize("w_ndim", [0, 1, 2, 6, 7])
def test_plan_weight_ndim_not_1d_2d_3d(w_ndim):
    """plan derives the convolution's dimension from the weight, so it names itself."""
    x, _ = operands(2)
    w = np.ones((2,) * w_ndim)
    parts = [
        "expected weight with 3, 4 or 5 dimensions (out_channels, in_channels/groups",
        f"got weight of shape {w.shape}",
    ]
    with pytest.raises(ValueError, match=pattern("plan", *parts)):
        fastconv.plan(x, w)


@ND
@pytest.mark.parametrize("batched", [True, False])
def test_channel_mismatch(check, nd, batched):
    x, w = operands(nd, c=3)
    w = w[:, :2]
    if not batched:
        x = x[0]
    parts = [
        f"given groups=1 and weight of shape {w.shape}",
        "expected input to have 2 channels",
        f"got input of shape {x.shape} with 3 channels",
    ]
    check(ValueError, nd, parts, x, w)


@ND
def test_zero_size_kernel(check, nd):
    x, w = operands(nd)
    for axis in range(2, nd + 2):
        shape = list(w.shape)
        shape[axis] = 0
        w0 = np.zeros(shape)
        parts = ["expected every kernel size to be at least 1", f"got weight of shape {w0.shape}"]
        check(ValueError, nd, parts, x, w0)


@ND
@pytest.mark.parametrize("how", ["kernel", "dilation", "one-axis", "empty-input"])
def test_kernel_larger_than_padded_input(check, nd, how):
    x, w = operands(nd, size=5, k=3)
    dilation = 1
    if how == "kernel":
        w = np.ones((2, 2, *(6,) * nd))
        dk = (6,) * nd
    elif how == "dilation":
        dilation = 3  # 3 * (3 - 1) + 1 = 7 > 5
        dk = (7,) * nd
    elif how == "one-axis":
        w = np.ones((2, 2, *(3,) * (nd - 1), 6))
        dk = (*(3,) * (nd - 1), 6)
    else:  # a zero-length axis with no padding cannot hold even a 1-tap kernel
        x = np.ones((1, 2, *(5,) * (nd - 1), 0))
        w = np.ones((2, 2, *(1,) * nd))
        dk = (1,) * nd
    padded = x.shape[2:]
    parts = [
        f"expected the dilated kernel {dk} to fit in the padded input {padded}",
        f"got weight of shape {w.shape} with dilation={(dilation,) * nd}",
    ]
    check(ValueError, nd, parts, x, w, dilation=dilation)


@ND
def test_kernel_fits_once_padded(nd):
    """The limit is the *padded* size: a 6-tap kernel fits 5 samples padded by 1."""
    x, _ = operands(nd, size=5)
    w = np.ones((2, 2, *(6,) * nd))
    assert FUNCS[nd](x, w, padding=1).shape == (1, 2, *(2,) * nd)


@ND
@pytest.mark.parametrize(
    "shape", [lambda o: (o + 1,), lambda o: (o - 1,), lambda o: (o, 1), lambda o: (1, o)]
)
def test_bias_wrong_shape(check, nd, shape):
    x, w = operands(nd, o=2)
    bias = np.zeros(shape(2))
    parts = ["expected bias of shape (2,)", f"got bias of shape {bias.shape}"]
    check(ValueError, nd, parts, x, w, bias)


@ND
def test_bias_scalar(check, nd):
    x, w = operands(nd, o=2)
    check(ValueError, nd, ["expected bias of shape (2,)", "got bias of shape ()"], x, w, 1.5)


# --------------------------------------------------------------------------------------------
# groups


@ND
@pytest.mark.parametrize("groups", [0, -1, -2])
def test_groups_not_positive(check, nd, groups):
    x, w = operands(nd)
    parts = ["expected groups to be a positive integer", f"got groups={groups!r}"]
    check(ValueError, nd, parts, x, w, groups=groups)


@ND
@pytest.mark.parametrize(
    "groups", [1.5, 2.0, True, False, np.True_, np.float64(1.0), "1", None, (1,)]
)
def test_groups_not_an_integer(check, nd, groups):
    x, w = operands(nd)
    parts = ["expected groups to be an integer", f"got groups={groups!r}"]
    check(TypeError, nd, parts, x, w, groups=groups)


@ND
def test_groups_not_dividing_out_channels(check, nd):
    x, _ = operands(nd, c=2)
    w = np.ones((3, 1, *(3,) * nd))
    parts = ["given groups=2, expected weight.shape[0] (3) to be divisible by 2"]
    check(ValueError, nd, parts, x, w, groups=2)


@ND
def test_groups_not_dividing_in_channels(check, nd):
    """3 input channels cannot be split in 2 groups: no weight.shape[1] satisfies 2 * C/g = 3."""
    x, _ = operands(nd, c=3)
    w = np.ones((4, 1, *(3,) * nd))
    parts = [
        f"given groups=2 and weight of shape {w.shape}",
        "expected input to have 2 channels",
        f"got input of shape {x.shape} with 3 channels",
    ]
    check(ValueError, nd, parts, x, w, groups=2)


@ND
def test_groups_numpy_integer_accepted(nd):
    x, w = operands(nd, c=2, o=2)
    w = w[:, :1]
    expected = FUNCS[nd](x, w, groups=2)
    np.testing.assert_array_equal(FUNCS[nd](x, w, groups=np.int64(2)), expected)


# --------------------------------------------------------------------------------------------
# stride and dilation


def _bad_axes(nd, value):
    """A per-axis tuple with one bad entry (the last)."""
    return (*(1,) * (nd - 1), value)


@ND
@pytest.mark.parametrize("param", ["stride", "dilation"])
@pytest.mark.parametrize("value", [0, -1, "tuple-0", "tuple-neg"])
def test_stride_dilation_not_positive(check, nd, param, value):
    if value == "tuple-0":
        value = _bad_axes(nd, 0)
    elif value == "tuple-neg":
        value = _bad_axes(nd, -2)
    x, w = operands(nd)
    parts = [f"expected {param} to be positive", f"got {param}={value!r}"]
    check(ValueError, nd, parts, x, w, **{param: value})


@ND
@pytest.mark.parametrize("param", ["stride", "dilation"])
@pytest.mark.parametrize("length", ["empty", "nd-1", "nd+1"])
def test_stride_dilation_wrong_length(check, nd, param, length):
    n = {"empty": 0, "nd-1": max(nd - 1, 0), "nd+1": nd + 1}[length]
    value = (1,) * n
    parts = [
        f"expected {param} to be an int or a sequence of {nd} ints",
        f"got {param}={value!r} of length {n}",
    ]
    x, w = operands(nd)
    check(ValueError, nd, parts, x, w, **{param: value})


@ND
@pytest.mark.parametrize("param", ["stride", "dilation"])
@pytest.mark.parametrize(
    "value",
    [
        2.0,
        1.5,
        True,
        False,
        np.float32(1.0),
        np.True_,
        None,
        "tuple-float",
        "tuple-bool",
        "array-float",
    ],
)
def test_stride_dilation_not_integer(check, nd, param, value):
    if value == "tuple-float":
        value = _bad_axes(nd, 2.0)
    elif value == "tuple-bool":
        value = _bad_axes(nd, True)
    x, w = operands(nd)
    if isinstance(value, str):  # "array-float": reported as given
        value = np.full(nd, 1.0)
    parts = [f"expected {param} to be an integer", f"got {param}={value!r}"]
    check(TypeError, nd, parts, x, w, **{param: value})


@ND
@pytest.mark.parametrize("param", ["stride", "dilation"])
def test_stride_dilation_integer_forms_accepted(nd, param):
    """int, list, tuple, NumPy integers and integer arrays are all the same parameter."""
    x, w = operands(nd, size=7)
    expected = FUNCS[nd](x, w, **{param: 2})
    for value in ([2] * nd, (2,) * nd, np.int64(2), np.full(nd, 2), (np.int32(2),) * nd):
        np.testing.assert_array_equal(FUNCS[nd](x, w, **{param: value}), expected)


# --------------------------------------------------------------------------------------------
# padding


@ND
@pytest.mark.parametrize("form", ["int", "per-dim", "per-side-before", "per-side-after"])
def test_negative_padding(check, nd, form):
    value = {
        "int": -1,
        "per-dim": _bad_axes(nd, -1),
        "per-side-before": ((0, 0),) * (nd - 1) + ((-1, 2),),
        "per-side-after": ((0, 0),) * (nd - 1) + ((2, -1),),
    }[form]
    x, w = operands(nd)
    parts = ["expected padding to be non-negative", f"got padding={value!r}"]
    check(ValueError, nd, parts, x, w, padding=value)


def _padding_form(nd):
    return (
        f"expected padding to be an int, a sequence of {nd} ints, a sequence of {nd} "
        "(before, after) pairs, 'valid' or 'same'"
    )


@ND
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda nd: ((1, 1),) * (nd + 1), id="too-many-pairs"),
        pytest.param(lambda nd: (1,) * (nd + 1), id="too-many-ints"),
        pytest.param(lambda nd: (), id="empty"),
        pytest.param(lambda nd: ((1, 1),) * (nd - 1) + ((1, 2, 3),), id="pair-of-3"),
        pytest.param(lambda nd: ((1, 1),) * (nd - 1) + ((1,),), id="pair-of-1"),
        pytest.param(lambda nd: ((1, 1),) * (nd - 1) + ((),), id="pair-of-0"),
    ],
)
def test_padding_wrong_form(check, nd, make):
    value = make(nd)
    x, w = operands(nd)
    check(ValueError, nd, [_padding_form(nd), f"got padding={value!r}"], x, w, padding=value)


def test_padding_three_pairs_for_conv2d(check):
    """The issue's example, literally."""
    x, w = operands(2)
    value = ((1, 1), (1, 1), (1, 1))
    check(ValueError, 2, [_padding_form(2), f"got padding={value!r}"], x, w, padding=value)


@ND
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda nd: 1.0, id="float"),
        pytest.param(lambda nd: True, id="bool"),
        pytest.param(lambda nd: None, id="None"),
        pytest.param(lambda nd: _bad_axes(nd, 0.5), id="per-dim-float"),
        pytest.param(lambda nd: ((0, 0),) * (nd - 1) + ((0, 1.0),), id="per-side-float"),
        pytest.param(lambda nd: ((0, 0),) * (nd - 1) + ((np.True_, 0),), id="per-side-bool"),
        pytest.param(lambda nd: ("same",) * nd, id="per-dim-string"),
    ],
)
def test_padding_not_integer(check, nd, make):
    value = make(nd)
    x, w = operands(nd)
    parts = ["expected padding to be an integer", f"got padding={value!r}"]
    check(TypeError, nd, parts, x, w, padding=value)


@ND
@pytest.mark.parametrize("value", ["full", "SAME", "Valid", "", "causal"])
def test_unknown_padding_string(check, nd, value):
    x, w = operands(nd)
    parts = [
        "expected padding to be an int, a sequence, 'valid' or 'same'",
        f"got padding={value!r}",
    ]
    check(ValueError, nd, parts, x, w, padding=value)


@ND
@pytest.mark.parametrize("mode", ["wrap", "constant", "edge", "Zeros", "", None, 0])
def test_unknown_padding_mode(check, nd, mode):
    x, w = operands(nd)
    parts = [
        "expected padding_mode to be one of 'zeros', 'reflect', 'replicate', 'circular', "
        "'symmetric'",
        f"got padding_mode={mode!r}",
    ]
    check(ValueError, nd, parts, x, w, padding=1, padding_mode=mode)


@ND
@pytest.mark.parametrize("method", ["winograd4", "overlap", "GEMM", "Direct", "", None, 1])
def test_unknown_method(check, nd, method):
    x, w = operands(nd)
    parts = ["expected method to be one of 'auto', 'direct', 'gemm'", f"got method={method!r}"]
    check(ValueError, nd, parts, x, w, method=method)


# padding modes that copy the input need enough input to copy from


def _mode_parts(mode, rule, pads, spatial):
    return [
        f"padding_mode={mode!r} needs {rule} along each padded axis",
        f"got padding {pads} for input of spatial shape {spatial}",
    ]


@ND
@pytest.mark.parametrize("side", ["both", "before", "after"])
def test_reflect_padding_not_smaller_than_input(check, nd, side):
    x, w = operands(nd, size=5)
    last = {"both": (5, 5), "before": (5, 0), "after": (0, 5)}[side]
    pads = ((1, 1),) * (nd - 1) + (last,)
    parts = _mode_parts("reflect", "padding < input size", pads, x.shape[2:])
    check(ValueError, nd, parts, x, w, padding=pads, padding_mode="reflect")


@ND
@pytest.mark.parametrize("mode", ["symmetric", "circular"])
@pytest.mark.parametrize("side", ["both", "before", "after"])
def test_symmetric_circular_padding_larger_than_input(check, nd, mode, side):
    x, w = operands(nd, size=5)
    last = {"both": (6, 6), "before": (6, 0), "after": (0, 6)}[side]
    pads = ((5, 5),) * (nd - 1) + (last,)  # 5 == size is still allowed on the other axes
    parts = _mode_parts(mode, "padding <= input size", pads, x.shape[2:])
    check(ValueError, nd, parts, x, w, padding=pads, padding_mode=mode)


@ND
@pytest.mark.parametrize(
    ("mode", "rule"),
    [
        ("replicate", "a non-empty input"),
        ("reflect", "padding < input size"),
        ("symmetric", "padding <= input size"),
        ("circular", "padding <= input size"),
    ],
)
def test_copying_padding_modes_on_empty_axis(check, nd, mode, rule):
    x = np.ones((1, 2, *(5,) * (nd - 1), 0))
    w = np.ones((2, 2, *(1,) * nd))
    pads = ((0, 0),) * (nd - 1) + ((1, 1),)
    check(
        ValueError,
        nd,
        _mode_parts(mode, rule, pads, x.shape[2:]),
        x,
        w,
        padding=pads,
        padding_mode=mode,
    )


def test_same_padding_too_wide_for_reflect(check):
    """'same' is resolved first, then checked against the mode: 5-tap kernel, 2 rows."""
    x = np.ones((1, 1, 2, 5))
    w = np.ones((1, 1, 5, 3))
    pads = ((2, 2), (1, 1))
    parts = _mode_parts("reflect", "padding < input size", pads, (2, 5))
    check(ValueError, 2, parts, x, w, padding="same", padding_mode="reflect")


@pytest.mark.parametrize(
    ("mode", "limit"), [("reflect", 4), ("symmetric", 5), ("circular", 5), ("replicate", 9)]
)
def test_padding_at_the_mode_limit_is_accepted(mode, limit):
    """The boundary cases of the rules above are valid and agree with the reference."""
    from fastconv.reference import conv_reference

    x, w = operands(2, size=5, k=2)
    pads = ((limit, limit), (1, limit))
    got = fastconv.conv2d(x, w, padding=pads, padding_mode=mode)
    want = conv_reference(x, w, padding=pads, padding_mode=mode)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


# --------------------------------------------------------------------------------------------
# dtypes and array-likes


BAD_DTYPES = [
    np.complex64,
    np.complex128,
    object,
    "U3",
    "S3",
    "datetime64[s]",
    "timedelta64[s]",
]
if np.dtype(np.longdouble).itemsize > 8:
    BAD_DTYPES.append(np.longdouble)


@ND
@pytest.mark.parametrize("arg", ["input", "weight", "bias"])
@pytest.mark.parametrize("dtype", BAD_DTYPES, ids=lambda d: np.dtype(d).name)
def test_bad_dtype(check, nd, arg, dtype):
    x, w = operands(nd)
    b = np.zeros(2)
    if arg == "input":
        x = np.zeros(x.shape, dtype=dtype)
    elif arg == "weight":
        w = np.zeros(w.shape, dtype=dtype)
    else:
        b = np.zeros(b.shape, dtype=dtype)
    parts = [f"expected {arg} {DTYPE_EXPECTED}", f"got dtype {np.dtype(dtype)}"]
    check(TypeError, nd, parts, x, w, b)


def _plan_prefix(arg, value):
    """plan reads ``nd`` off the weight; a 0-d weight leaves it only its own name."""
    return "plan" if arg == "weight" and np.ndim(value) not in (3, 4, 5) else None


@pytest.mark.parametrize("arg", ["input", "weight", "bias"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(lambda s: np.full(s, "1.0").tolist(), id="list-of-strings"),
        pytest.param(lambda s: np.full(s, 1.0 + 1.0j).tolist(), id="list-of-complex"),
        pytest.param(lambda s: np.full(s, None).tolist(), id="list-of-None"),
        pytest.param(lambda s: object(), id="object"),
        pytest.param(lambda s: None if len(s) > 1 else "ab", id="None-or-str"),
    ],
)
def test_bad_array_like(check, arg, value):
    """Non-numeric array-likes are refused by dtype (bias=None means no bias, so a string)."""
    x, w = operands(2)
    b = np.zeros(2)
    given = {"input": x, "weight": w, "bias": b}
    given[arg] = value(given[arg].shape)
    dtype = np.asarray(given[arg]).dtype
    parts = [f"expected {arg} {DTYPE_EXPECTED}", f"got dtype {dtype}"]
    check(
        TypeError,
        2,
        parts,
        given["input"],
        given["weight"],
        given["bias"],
        plan_prefix=_plan_prefix(arg, given[arg]),
    )


@pytest.mark.parametrize("arg", ["input", "weight", "bias"])
def test_ragged_nested_lists(check, arg):
    x, w = operands(1, size=4)
    b = np.zeros(2)
    given = {"input": x.tolist(), "weight": w.tolist(), "bias": b.tolist()}
    ragged = given[arg]
    if arg == "bias":
        ragged[1] = [0.0, 1.0]
    else:
        ragged[-1][-1] = ragged[-1][-1][:-1]  # one row one element short
    parts = [f"expected {arg} to be an array-like of numbers", "got ", "sequence"]
    check(
        TypeError,
        1,
        parts,
        given["input"],
        given["weight"],
        given["bias"],
        plan_prefix="plan" if arg == "weight" else None,
    )


def test_plan_bad_weight_dtype_same_message_as_conv():
    """plan names the convolution it stands for, also when the weight's dtype is wrong."""
    x, w = operands(2)
    w = w.astype(np.complex128)
    with pytest.raises(TypeError) as conv_err:
        fastconv.conv2d(x, w)
    with pytest.raises(TypeError) as plan_err:
        fastconv.plan(x, w)
    assert str(plan_err.value) == str(conv_err.value)


# --------------------------------------------------------------------------------------------
# integers beyond the machine range


@ND
@pytest.mark.parametrize(
    ("param", "form"),
    [(p, f) for p in ("stride", "dilation", "padding") for f in ("2**62", "2**64", "per-axis")]
    + [("groups", "2**62"), ("groups", "2**64")],
)
def test_integer_too_large(check, nd, param, form):
    """The kernels index in int64: parameters must stay below 2**62 (once reached Numba)."""
    value = {"2**62": 2**62, "2**64": 2**64, "per-axis": _bad_axes(nd, 2**63)}[form]
    x, w = operands(nd)
    parts = [f"expected {param} to be below 2**62", f"got {param}={value!r}"]
    check(ValueError, nd, parts, x, w, **{param: value})


@pytest.mark.parametrize("method", ["direct", "gemm"])
@pytest.mark.parametrize("param", ["stride", "dilation"])
def test_integer_just_below_the_limit_is_accepted(method, param):
    """stride: one output, the first window; dilation: a 1-tap kernel, so no effect."""
    x, _ = operands(1, size=8)
    w = np.ones((2, 2, 3 if param == "stride" else 1))
    got = fastconv.conv1d(x, w, method=method, **{param: 2**62 - 1})
    want = fastconv.conv1d(x[..., :3] if param == "stride" else x, w, method=method)
    np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------------------------
# validation comes first


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stride": 0},
        {"padding": -1},
        {"padding": 3, "padding_mode": "reflect"},
        {"groups": 3},
        {"method": "winograd4"},
        {"bias": np.zeros(3)},
    ],
    ids=str,
)
def test_invalid_call_leaves_arrays_and_cache_untouched(kwargs):
    """A refused call changes nothing: not its arrays, not later valid calls."""
    x = np.arange(2 * 2 * 3 * 3, dtype=np.float32).reshape(2, 2, 3, 3)
    w = np.ones((2, 2, 2, 2), dtype=np.float32)
    kwargs = dict(kwargs)
    bias = kwargs.pop("bias", np.array([1.0, -1.0], dtype=np.float32))
    x0, w0, b0 = x.copy(), w.copy(), bias.copy()
    good = fastconv.conv2d(x, w, np.array([1.0, -1.0], np.float32))
    with pytest.raises((ValueError, TypeError), match=r"^conv2d: "):
        fastconv.conv2d(x, w, bias, **kwargs)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(bias, b0)
    np.testing.assert_array_equal(fastconv.conv2d(x, w, np.array([1.0, -1.0], np.float32)), good)


def test_error_raised_before_any_array_work(monkeypatch):
    """Invalid parameters are refused even when the executor and the algorithms are broken."""
    from fastconv import algorithms

    def tripwire(*args, **kwargs):
        raise AssertionError("reached computation")

    monkeypatch.setattr(functional, "conv_general", tripwire)
    monkeypatch.setattr(algorithms, "get", tripwire)
    x, w = operands(2)
    with pytest.raises(ValueError, match=pattern("conv2d", "expected stride to be positive")):
        fastconv.conv2d(x, w, stride=(1, 0))
    # and a valid plan needs no computation either
    assert fastconv.plan(x, w).output_shape == (1, 2, 3, 3)


# --------------------------------------------------------------------------------------------
# workspace limit


@pytest.fixture
def restore_limit():
    before = fastconv.get_workspace_limit()
    yield before
    fastconv.set_workspace_limit(before)


@pytest.mark.parametrize("value", [1.5, 2048.0, "4096", None, [4096], np.float64(4096)])
def test_set_workspace_limit_not_integer(restore_limit, value):
    parts = ["expected nbytes to be an integer", f"got nbytes={value!r}"]
    with pytest.raises(TypeError, match=pattern("set_workspace_limit", *parts)):
        fastconv.set_workspace_limit(value)
    assert fastconv.get_workspace_limit() == restore_limit


@pytest.mark.parametrize("value", [1023, 1, 0, -1, -(2**40), np.int64(-5)])
def test_set_workspace_limit_too_small(restore_limit, value):
    parts = ["expected nbytes >= 1024", f"got nbytes={int(value)}"]
    with pytest.raises(ValueError, match=pattern("set_workspace_limit", *parts) + "$"):
        fastconv.set_workspace_limit(value)
    assert fastconv.get_workspace_limit() == restore_limit


@pytest.mark.parametrize("value", [0, 2.5, "big"])
def test_workspace_limit_context_refuses_bad_value(restore_limit, value):
    with pytest.raises((TypeError, ValueError), match=r"^workspace_limit: expected nbytes"):
        with fastconv.workspace_limit(value):
            pytest.fail("entered the block with an invalid limit")  # pragma: no cover
    assert fastconv.get_workspace_limit() == restore_limit


def test_set_workspace_limit_accepts_integers(restore_limit):
    assert fastconv.set_workspace_limit(np.int64(4096)) == restore_limit
    assert fastconv.get_workspace_limit() == 4096
    assert fastconv.set_workspace_limit(1024) == 4096


def test_set_workspace_limit_bool(restore_limit):
    with pytest.raises(
        TypeError,
        match=pattern("set_workspace_limit", "expected nbytes to be an integer", "got nbytes=True"),
    ):
        fastconv.set_workspace_limit(True)
