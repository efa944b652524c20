"""The JSON form of a trace: its schema (a JSON-Schema dict), the conversion, and a validator.

The schema is versioned by its ``schema`` field (``"fastconv.trace/1"``): fields are only ever
added within a version. Numbers are JSON numbers, except non-finite values, which are the
strings ``"nan"``, ``"inf"`` and ``"-inf"`` (JSON has no literal for them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .select import summary
from .text import with_progress

if TYPE_CHECKING:
    from .trace import Trace

SCHEMA_ID = "fastconv.trace/1"


def _ints(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "integer"}, "description": description}


_NUMBER = {"$ref": "#/$defs/number"}
_TENSOR = {"$ref": "#/$defs/tensor"}

#: JSON Schema (draft 2020-12 vocabulary) of :meth:`Trace.to_json`.
TRACE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "fastconv trace",
    "description": "A convolution step by step: geometry, operands, output and the steps shown.",
    "type": "object",
    "$defs": {
        "number": {
            "description": "A number; non-finite values as the strings nan, inf, -inf.",
            "anyOf": [{"type": "number"}, {"enum": ["nan", "inf", "-inf"]}],
        },
        "tensor": {
            "description": "A number or a nested list of numbers (row-major, NumPy's tolist).",
            "anyOf": [
                {"$ref": "#/$defs/number"},
                {"type": "array", "items": {"$ref": "#/$defs/tensor"}},
            ],
        },
        "axis": {
            "type": "object",
            "description": "Geometry of one spatial axis.",
            "required": [
                "name",
                "size",
                "pad_before",
                "pad_after",
                "kernel",
                "stride",
                "dilation",
                "output",
                "formula",
            ],
            "additionalProperties": False,
            "properties": {
                "name": {"enum": ["positions", "planes", "rows", "columns"]},
                "size": {"type": "integer", "minimum": 0, "description": "input size"},
                "pad_before": {"type": "integer", "minimum": 0},
                "pad_after": {"type": "integer", "minimum": 0},
                "kernel": {"type": "integer", "minimum": 1},
                "stride": {"type": "integer", "minimum": 1},
                "dilation": {"type": "integer", "minimum": 1},
                "output": {"type": "integer", "minimum": 1},
                "formula": {"type": "string", "description": "the output size, filled in"},
            },
        },
        "step": {
            "type": "object",
            "description": "One output element: its window, the products and their sum.",
            "required": [
                "number",
                "index",
                "batch",
                "out_channel",
                "position",
                "channels",
                "taps",
                "window",
                "products",
                "channel_sums",
                "sum",
                "bias",
                "value",
            ],
            "additionalProperties": False,
            "properties": {
                "number": {"type": "integer", "minimum": 1, "description": "from 1, in order"},
                "index": _ints("index of the element in output"),
                "batch": {"type": "integer", "minimum": 0},
                "out_channel": {"type": "integer", "minimum": 0},
                "position": _ints("output position per spatial axis"),
                "channels": _ints("input channels the window reads"),
                "taps": {
                    "type": "array",
                    "items": _ints("padded-input coordinates of the taps"),
                    "description": "per spatial axis, the coordinates of the kernel taps",
                },
                "window": {**_TENSOR, "description": "(channels, *kernel) input values"},
                "products": {**_TENSOR, "description": "window * weight[out_channel]"},
                "channel_sums": {"type": "array", "items": _NUMBER},
                "sum": _NUMBER,
                "bias": _NUMBER,
                "value": {**_NUMBER, "description": "sum + bias: the output element"},
            },
        },
    },
    "required": [
        "schema",
        "operation",
        "kernel_flipped",
        "layout",
        "input_shape",
        "weight_shape",
        "output_shape",
        "stride",
        "padding",
        "dilation",
        "groups",
        "padding_mode",
        "axes",
        "padded_input",
        "weight",
        "given_weight",
        "bias",
        "output",
        "total_steps",
        "shown",
        "steps",
    ],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "operation": {"enum": ["cross-correlation", "convolution"]},
        "kernel_flipped": {"type": "boolean", "description": "true when convolve=True"},
        "layout": {
            "enum": ["plain", "unbatched", "batched"],
            "description": "how the input was given; output and step indices follow it",
        },
        "input_shape": _ints("shape of the input as given"),
        "weight_shape": _ints("shape of the weight as given"),
        "output_shape": _ints("shape of output"),
        "stride": _ints("per spatial axis"),
        "padding": {
            "type": "array",
            "items": {**_ints("(before, after)"), "minItems": 2, "maxItems": 2},
            "description": "per spatial axis, resolved from 'same'/'valid'",
        },
        "dilation": _ints("per spatial axis"),
        "groups": {"type": "integer", "minimum": 1},
        "padding_mode": {"enum": ["zeros", "reflect", "replicate", "circular", "symmetric"]},
        "axes": {"type": "array", "items": {"$ref": "#/$defs/axis"}},
        "padded_input": {**_TENSOR, "description": "(N, C, *padded) the windows slide over"},
        "weight": {**_TENSOR, "description": "(O, C / groups, *kernel) as applied"},
        "given_weight": {**_TENSOR, "description": "the weight as given (before any flip)"},
        "bias": {"anyOf": [{"type": "null"}, {"type": "array", "items": _NUMBER}]},
        "output": {**_TENSOR, "description": "the assembled output, shaped like conv*d's"},
        "total_steps": {"type": "integer", "minimum": 0},
        "shown": {
            "type": ["string", "null"],
            "description": "which steps are shown, e.g. 'steps 1–20 of 50 176 shown'; "
            "null when all are",
        },
        "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
    },
}


def _number(v: float) -> float | str:
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _tensor(a: np.ndarray) -> Any:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return _number(a)
    if np.isfinite(a).all():
        return a.tolist()
    return [_tensor(sub) for sub in a]


def trace_to_dict(trace: Trace, numbers: Sequence[int], progress: bool = False) -> dict[str, Any]:
    """The trace as data following :data:`TRACE_SCHEMA`, with the steps ``numbers``."""
    spec = trace.spec
    steps = []
    for number in with_progress(numbers, progress):
        s = trace.step(number)
        steps.append(
            {
                "number": s.number,
                "index": list(s.index),
                "batch": s.batch,
                "out_channel": s.out_channel,
                "position": list(s.position),
                "channels": list(s.channels),
                "taps": [list(t) for t in s.taps],
                "window": _tensor(s.window),
                "products": _tensor(s.products),
                "channel_sums": [_number(v) for v in s.channel_sums],
                "sum": _number(s.sum),
                "bias": _number(s.bias),
                "value": _number(s.value),
            }
        )
    given_input = {
        "plain": trace.input.shape[2:],
        "unbatched": trace.input.shape[1:],
        "batched": trace.input.shape,
    }[trace.layout]
    given_weight = (
        trace.given_weight.shape[2:] if trace.layout == "plain" else (trace.given_weight.shape)
    )
    return {
        "schema": SCHEMA_ID,
        "operation": "convolution" if trace.convolve else "cross-correlation",
        "kernel_flipped": trace.convolve,
        "layout": trace.layout,
        "input_shape": list(given_input),
        "weight_shape": list(given_weight),
        "output_shape": list(trace.output_shape),
        "stride": list(spec.stride),
        "padding": [list(p) for p in spec.padding],
        "dilation": list(spec.dilation),
        "groups": spec.groups,
        "padding_mode": spec.padding_mode,
        "axes": [
            {
                "name": a.name,
                "size": a.size,
                "pad_before": a.pad[0],
                "pad_after": a.pad[1],
                "kernel": a.kernel,
                "stride": a.stride,
                "dilation": a.dilation,
                "output": a.output,
                "formula": a.formula,
            }
            for a in trace.axes
        ],
        "padded_input": _tensor(trace.padded),
        "weight": _tensor(trace.weight),
        "given_weight": _tensor(trace.given_weight),
        "bias": None if trace.bias is None else [_number(b) for b in trace.bias],
        "output": _tensor(trace.output),
        "total_steps": trace.n_steps,
        "shown": summary(trace, numbers),
        "steps": steps,
    }


# ------------------------------------------------------------------------------------------
# a small validator for the part of JSON Schema that TRACE_SCHEMA uses

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def schema_errors(instance: Any, schema: dict[str, Any] | None = None) -> list[str]:
    """Where ``instance`` breaks ``schema`` (default :data:`TRACE_SCHEMA`): one line each.

    Supports ``type``, ``enum``, ``const``, ``properties``, ``required``,
    ``additionalProperties: false``, ``items``, ``minItems``, ``maxItems``, ``minimum``,
    ``anyOf`` and local ``$ref`` (``#/$defs/...``): what the trace schema uses.

    >>> schema_errors({"schema": "fastconv.trace/1"})[:2]
    ["$: missing required property 'operation'", "$: missing required property 'kernel_flipped'"]
    >>> schema_errors(3, {"type": "array"})
    ['$: expected type array, got 3']
    """
    root = TRACE_SCHEMA if schema is None else schema
    errors: list[str] = []
    _check(instance, root, root, "$", errors)
    return errors


def validate(instance: Any, schema: dict[str, Any] | None = None) -> None:
    """Raise ``ValueError`` listing every place where ``instance`` breaks ``schema``."""
    errors = schema_errors(instance, schema)
    if errors:
        raise ValueError("trace JSON does not match its schema:\n" + "\n".join(errors))


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"schema: only local references are supported, got $ref={ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _check(
    value: Any, schema: dict[str, Any], root: dict[str, Any], path: str, errors: list[str]
) -> None:
    if "$ref" in schema:
        _check(value, _resolve(schema["$ref"], root), root, path, errors)
    if "anyOf" in schema:
        if not any(not _sub_errors(value, sub, root, path) for sub in schema["anyOf"]):
            errors.append(f"{path}: matches none of the allowed forms, got {_short(value)}")
            return
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            errors.append(f"{path}: expected type {' or '.join(types)}, got {_short(value)}")
            return
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}, got {_short(value)}")
    if "enum" in schema and not any(value == e and type(value) is type(e) for e in schema["enum"]):
        errors.append(f"{path}: expected one of {schema['enum']}, got {_short(value)}")
    if "minimum" in schema and _TYPES["number"](value) and value < schema["minimum"]:
        errors.append(f"{path}: expected at least {schema['minimum']}, got {value}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}: missing required property {name!r}")
        props = schema.get("properties", {})
        for name, item in value.items():
            if name in props:
                _check(item, props[name], root, f"{path}.{name}", errors)
            elif schema.get("additionalProperties", True) is False:
                errors.append(f"{path}: unexpected property {name!r}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path}: expected at least {schema['minItems']} items, got {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: expected at most {schema['maxItems']} items, got {len(value)}")
        if "items" in schema:
            for i, item in enumerate(value):
                _check(item, schema["items"], root, f"{path}[{i}]", errors)


def _sub_errors(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    errors: list[str] = []
    _check(value, schema, root, path, errors)
    return errors


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
