"""Renderings of a trace as text: the tutorial's narrative, and the same as Markdown tables."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .select import summary

if TYPE_CHECKING:
    from .trace import Step, Trace

#: a plane (one channel of one image, one depth slice) is printed up to this size per axis
PRINT_LIMIT = 16
#: the running output is shown after each step up to this size per axis (1-D and 2-D)
RUNNING_LIMIT = 12
#: the sum is written out term by term up to this many products per channel
TERMS_LIMIT = 16
#: at most this many planes of the input and of the output are printed
PLANES_LIMIT = 8

_SINGULAR = {"rows": "row", "columns": "column", "planes": "plane", "positions": "position"}
PENDING = "·"


def with_progress(numbers: Sequence[int], progress: bool) -> Iterable[int]:
    """``numbers``, behind a tqdm progress bar on stderr when ``progress`` (after 0.5 s)."""
    if not progress:
        return numbers
    from tqdm import tqdm

    return tqdm(numbers, desc="explain", unit="step", file=sys.stderr, delay=0.5, leave=False)


def fmt(v: float) -> str:
    """A number as the trace prints it: up to 6 significant digits, no ``-0``.

    >>> fmt(30.0), fmt(-0.0), fmt(1 / 3), fmt(float("nan"))
    ('30', '0', '0.333333', 'nan')
    """
    s = f"{float(v):.6g}"
    return "0" if s == "-0" else s


def matrix(a: np.ndarray, cells: Callable[[float], str] = fmt) -> list[str]:
    """Rows of a 1-D or 2-D array, right-aligned to one width.

    >>> print("\\n".join(matrix(np.array([[1, 2], [30, -4]]))))
     1  2
    30 -4
    """
    a = np.atleast_2d(a)
    text = [[cells(v) for v in row] for row in a]
    width = max((len(t) for row in text for t in row), default=0)
    return [" ".join(t.rjust(width) for t in row) for row in text]


def side_by_side(blocks: Sequence[list[str]], ops: Sequence[str]) -> list[str]:
    """Blocks of lines joined left to right, each ``op`` on the middle row between two blocks.

    >>> print("\\n".join(side_by_side([["1 2", "3 4"], ["5"]], ["="])))
    1 2
    3 4  =  5
    """
    height = max(len(b) for b in blocks)
    widths = [max((len(line) for line in b), default=0) for b in blocks]
    middle = (height - 1) // 2 if height % 2 else height // 2
    rows = []
    for r in range(height):
        parts = []
        for i, block in enumerate(blocks):
            top = max(0, min(height - len(block), middle - (len(block) - 1) // 2))
            line = block[r - top] if 0 <= r - top < len(block) else ""
            parts.append(line.ljust(widths[i]))
            if i < len(ops):
                parts.append(f"  {ops[i]}  " if r == middle else " " * (len(ops[i]) + 4))
        rows.append("".join(parts).rstrip())
    return rows


def shape_text(shape: Sequence[int]) -> str:
    """``(4, 4)`` -> ``4×4``."""
    return "×".join(str(n) for n in shape)


def index_text(index: Sequence[int]) -> str:
    """``output[0, 1]``."""
    return f"output[{', '.join(str(i) for i in index)}]"


def span(taps: Sequence[int]) -> str:
    """``0–2`` (or ``3`` for a single tap)."""
    return f"{taps[0]}" if taps[0] == taps[-1] else f"{taps[0]}–{taps[-1]}"


def window_text(trace: Trace, step: Step) -> str:
    """``rows 0–2, columns 1–3`` (with the taps' spacing under dilation)."""
    parts = []
    for axis, taps in zip(trace.axes, step.taps):
        name = axis.name if len(taps) > 1 else _SINGULAR[axis.name]
        part = f"{name} {span(taps)}"
        if axis.dilation > 1 and len(taps) > 1:
            part += f" (taps {axis.dilation} apart)"
        parts.append(part)
    where = ", ".join(parts)
    if any(a.pad != (0, 0) for a in trace.axes):
        where += " of the padded input"
    return where


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("s" if n != 1 else "")


def describe(trace: Trace) -> tuple[str, str]:
    """``(operation, what with what)``: the first line of a rendering.

    >>> from fastconv import explain
    >>> describe(explain(np.zeros((4, 4)), np.ones((3, 3))))
    ('Cross-correlation', 'a 4×4 input with a 3×3 kernel')
    >>> describe(explain(np.zeros((2, 4, 5, 5)), np.ones((6, 2, 3, 3)), groups=2))[1]
    'a batch of 2 inputs, 4 channels of 5×5 each, by 6 filters, 2 channels of 3×3 each'
    """
    op = "Convolution" if trace.convolve else "Cross-correlation"
    n_batch, n_chan, *spatial = trace.input.shape
    n_out, width, *kernel = trace.weight.shape
    if trace.layout == "plain":
        return op, f"a {shape_text(spatial)} input with a {shape_text(kernel)} kernel"
    if trace.layout == "batched":
        inputs = f"a batch of {_plural(n_batch, 'input')}, {_plural(n_chan, 'channel')} of "
        inputs += f"{shape_text(spatial)} each"
    else:
        inputs = f"an input of {_plural(n_chan, 'channel')} of {shape_text(spatial)}"
    filters = f"{_plural(n_out, 'filter')}, {_plural(width, 'channel')} of {shape_text(kernel)}"
    return op, f"{inputs}, by {filters} each"


def notes(trace: Trace) -> list[str]:
    """The flip (and the groups) said in words."""
    lines = [flip_note(trace)]
    if trace.spec.groups > 1:
        per = trace.weight.shape[0] // trace.spec.groups
        g = trace.spec.groups
        who = "filter 0 reads" if per == 1 else f"filters 0–{per - 1} read"
        lines.append(
            f"the input channels are split into {g} groups (groups={g}) of "
            f"{trace.weight.shape[1]}: {who} the first group, and so on"
        )
    return lines


def parameters(trace: Trace) -> str:
    """``stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1)`` (+ groups, mode)."""
    s = trace.spec
    text = f"stride={s.stride}, padding={s.padding}, dilation={s.dilation}"
    if s.groups > 1:
        text += f", groups={s.groups}"
    if any(p for pair in s.padding for p in pair):
        text += f", padding_mode={s.padding_mode!r}"
    return text


def flip_note(trace: Trace) -> str:
    if trace.convolve:
        return "the kernel is flipped along every axis first: convolve=True"
    return "the kernel is not flipped"


def movement(trace: Trace, step: Step, previous: int | None) -> str:
    """How the window got here from the previous step, in the tutorial's words."""
    nd = trace.ndim
    corner = "the left" if nd == 1 else "the top-left"
    if step.number == 1:
        return f"start at {corner}"
    if previous != step.number - 1:
        return "move the window"
    prev = trace.step(step.number - 1)
    if prev.batch != step.batch:
        return f"next image of the batch ({step.batch}): start again at {corner}"
    if prev.out_channel != step.out_channel:
        return f"next filter (output channel {step.out_channel}): start again at {corner}"
    changed = next(a for a in range(nd) if prev.position[a] != step.position[a])
    stride = trace.spec.stride[changed]
    if changed == nd - 1:
        return f"shift right by the stride ({stride})"
    if changed == nd - 2:
        return f"move down by the stride ({stride}) and start again from the left"
    return f"move to the next planes by the stride ({stride}) and start again from the top-left"


def terms(products: np.ndarray) -> str:
    """``1 + 0 + (-3)``."""
    return " + ".join(f"({fmt(v)})" if fmt(v).startswith("-") else fmt(v) for v in products.ravel())


def plane_blocks(a: np.ndarray, label: str) -> list[tuple[str, np.ndarray]]:
    """A 1-D/2-D/3-D array as ``(label, 2-D block)`` pairs (one per depth slice in 3-D)."""
    if a.ndim <= 2:
        return [(label, a)]
    return [(f"{label}, plane {i}", a[i]) for i in range(a.shape[0])]


def running_plane(trace: Trace, step: Step) -> np.ndarray | None:
    """The output plane of the step's image and filter after the step, or None if too big."""
    if trace.ndim > 2 or max(trace.output_spatial) > RUNNING_LIMIT:
        return None
    after = trace.output_after(step.number).reshape(trace.batched_output_shape)
    return after[step.batch, step.out_channel]


def pending_cells(v: float) -> str:
    return PENDING if np.isnan(v) else fmt(v)


def output_planes(trace: Trace) -> list[tuple[str, np.ndarray]]:
    """The output as ``(label, plane)`` pairs, one per image and filter."""
    out = trace.output.reshape(trace.batched_output_shape)
    planes = []
    for n in range(out.shape[0]):
        for o in range(out.shape[1]):
            label = {
                "plain": "output",
                "unbatched": f"output[{o}]",
                "batched": f"output[{n}, {o}]",
            }[trace.layout]
            planes.append((label, out[n, o]))
    return planes


def input_planes(trace: Trace) -> list[tuple[str, np.ndarray]]:
    """The padded input as ``(label, plane)`` pairs, one per image and channel."""
    planes = []
    for n in range(trace.padded.shape[0]):
        for c in range(trace.padded.shape[1]):
            if trace.layout == "plain":
                label = "input"
            elif trace.layout == "unbatched":
                label = f"input channel {c}"
            else:
                label = f"input[{n}] channel {c}"
            planes.append((label, trace.padded[n, c]))
    return planes


def _too_big(a: np.ndarray) -> bool:
    return max(a.shape, default=1) > PRINT_LIMIT


def _range_text(a: np.ndarray) -> str:
    if a.size == 0:
        return "empty"
    return f"min {fmt(np.nanmin(a))}, max {fmt(np.nanmax(a))}"


# ------------------------------------------------------------------------------------------
# text


def render_text(trace: Trace, numbers: Sequence[int], progress: bool = False) -> str:
    """The narrative (see :meth:`Trace.to_text`)."""
    op, what = describe(trace)
    if trace.layout == "plain":
        lines = [f"{op} of {what} ({flip_note(trace)})"]
    else:
        lines = [f"{op} of {what}", *notes(trace)]
    lines += [parameters(trace), ""]
    lines += _text_operands(trace)
    lines += _text_geometry(trace)
    shown = summary(trace, numbers)
    if shown:
        lines += [f"{shown}", ""]
    previous = None
    for number in with_progress(numbers, progress):
        lines += _text_step(trace, trace.step(number), previous)
        previous = number
    lines += _text_output(trace)
    return "\n".join(lines).rstrip("\n")


def _text_planes(planes: list[tuple[str, np.ndarray]], cells=fmt, note: str = "") -> list[str]:
    lines: list[str] = []
    for label, plane in planes[:PLANES_LIMIT]:
        shape = shape_text(plane.shape)
        if _too_big(plane):
            lines.append(f"{label} ({shape}{note}): too large to print ({_range_text(plane)})")
            continue
        for sub, block in plane_blocks(plane, label):
            lines.append(f"{sub} ({shape_text(block.shape)}{note}):")
            lines += ["    " + row for row in matrix(block, cells)]
    if len(planes) > PLANES_LIMIT:
        lines.append(f"... and {len(planes) - PLANES_LIMIT} more")
    return lines


def _text_operands(trace: Trace) -> list[str]:
    lines: list[str] = []
    padded = any(a.pad != (0, 0) for a in trace.axes)
    if padded:
        lines += _text_planes(_input_planes_unpadded(trace))
        lines += _marked_padded(trace)
    else:
        lines += _text_planes(input_planes(trace))
    lines += _text_kernels(trace)
    lines.append("")
    return lines


def _input_planes_unpadded(trace: Trace) -> list[tuple[str, np.ndarray]]:
    inner = tuple(slice(a.pad[0], a.pad[0] + a.size) for a in trace.axes)
    return [(label, plane[inner]) for label, plane in input_planes(trace)]


def _marked_padded(trace: Trace) -> list[str]:
    """The padded planes, padding cells marked (``·`` for zeros, ``value*`` otherwise)."""
    mask = trace.padding_mask
    zeros = trace.spec.padding_mode == "zeros"
    how = "· = zero padding" if zeros else f"* = padding ({trace.spec.padding_mode})"
    lines = []
    planes = input_planes(trace)
    for label, plane in planes[:PLANES_LIMIT]:
        name = f"padded {label}"
        if _too_big(plane):
            lines.append(
                f"{name} ({shape_text(plane.shape)}): too large to print ({_range_text(plane)})"
            )
            continue
        marked = np.empty(plane.shape, dtype=object)
        for idx in np.ndindex(plane.shape):
            v = fmt(plane[idx])
            marked[idx] = (PENDING if zeros else v + "*") if mask[idx] else v
        for sub, block in plane_blocks(marked, name):
            lines.append(f"{sub} ({shape_text(block.shape)}, {how}):")
            lines += ["    " + row for row in matrix(block, str)]
    if len(planes) > PLANES_LIMIT:
        lines.append(f"... and {len(planes) - PLANES_LIMIT} more")
    return lines


def _text_kernels(trace: Trace) -> list[str]:
    lines: list[str] = []
    blocks = []
    for o in range(trace.weight.shape[0]):
        for c in range(trace.weight.shape[1]):
            label = "kernel" if trace.layout == "plain" else f"filter {o}, channel {c}"
            blocks.append((label, o, c))
    for label, o, c in blocks[:PLANES_LIMIT]:
        applied = trace.weight[o, c]
        if trace.convolve:
            given = trace.given_weight[o, c]
            lines.append(f"{label} ({shape_text(given.shape)}), as given:")
            lines += ["    " + row for row in _flat_rows(given)]
            lines.append(f"{label}, flipped along every axis (convolve=True): this one slides")
            lines += ["    " + row for row in _flat_rows(applied)]
        else:
            lines.append(f"{label} ({shape_text(applied.shape)}):")
            lines += ["    " + row for row in _flat_rows(applied)]
    if len(blocks) > PLANES_LIMIT:
        lines.append(f"... and {len(blocks) - PLANES_LIMIT} more")
    if trace.bias is not None:
        lines.append(f"bias: {' '.join(fmt(b) for b in trace.bias)}")
    return lines


def _flat_rows(a: np.ndarray) -> list[str]:
    if a.ndim <= 2:
        return matrix(a)
    rows = []
    for i, block in enumerate(a):
        rows.append(f"plane {i}:")
        rows += ["  " + r for r in matrix(block)]
    return rows


def _text_geometry(trace: Trace) -> list[str]:
    lines = [
        "output size per axis: floor((in + before + after - dilation·(k - 1) - 1) / stride) + 1"
    ]
    width = max(len(a.name) for a in trace.axes) + 1
    for a in trace.axes:
        lines.append(f"  {(a.name + ':').ljust(width)} {a.formula}")
    lines.append(f"output: {shape_text(trace.output_shape)}")
    lines.append("")
    return lines


def _text_step(trace: Trace, step: Step, previous: int | None) -> list[str]:
    total = trace.n_steps
    lines = [f"step {step.number} of {total}: {index_text(step.index)}"]
    lines.append(f"  {movement(trace, step, previous)}")
    lines.append(f"  select the window at {window_text(trace, step)}")
    many = len(step.channels) > 1
    for i, c in enumerate(step.channels):
        if many:
            lines.append(f"  input channel {c}:")
        for label, (w, k, p) in zip(*_triples(step.window[i], step.kernel[i], step.products[i])):
            if label:
                lines.append(f"  {label}:")
            blocks = [matrix(w), matrix(k), matrix(p)]
            lines += ["    " + row for row in side_by_side(blocks, ["⊙", "="])]
        products = step.products[i]
        if products.size <= TERMS_LIMIT:
            expr = f"{terms(products)} = {fmt(step.channel_sums[i])}"
        else:
            expr = f"the {products.size} products add up to {fmt(step.channel_sums[i])}"
        lead = f"  channel {c} sum" if many else "  multiply element-wise and sum"
        lines.append(f"{lead}: {expr}")
    if many:
        lines.append(f"  add the channel sums: {terms(step.channel_sums)} = {fmt(step.sum)}")
    if trace.bias is not None:
        lines.append(f"  add the bias: {fmt(step.sum)} + {_signed(step.bias)} = {fmt(step.value)}")
    lines.append(f"  {index_text(step.index)} = {fmt(step.value)}")
    plane = running_plane(trace, step)
    if plane is not None and trace.n_steps > 1:
        lines.append("  output so far:")
        lines += ["    " + row for row in matrix(plane, pending_cells)]
    lines.append("")
    return lines


def _signed(v: float) -> str:
    s = fmt(v)
    return f"({s})" if s.startswith("-") else s


def _triples(w: np.ndarray, k: np.ndarray, p: np.ndarray):
    """Labels and (window, kernel, products) 2-D blocks: one per depth slice in 3-D."""
    if w.ndim <= 2:
        return [""], [(w, k, p)]
    labels = [f"window plane {i}" for i in range(w.shape[0])]
    return labels, list(zip(w, k, p))


def _text_output(trace: Trace) -> list[str]:
    lines = []
    for label, plane in output_planes(trace)[:PLANES_LIMIT]:
        if _too_big(plane):
            lines.append(
                f"{label} ({shape_text(plane.shape)}): too large to print ({_range_text(plane)})"
            )
            continue
        for sub, block in plane_blocks(plane, label):
            lines.append(f"{sub} ({shape_text(block.shape)}):")
            lines += ["    " + row for row in matrix(block)]
    extra = len(output_planes(trace)) - PLANES_LIMIT
    if extra > 0:
        lines.append(f"... and {extra} more")
    return lines


# ------------------------------------------------------------------------------------------
# markdown


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _md_matrix(a: np.ndarray, cells: Callable[[float], str] = fmt) -> list[str]:
    a = np.atleast_2d(a)
    header = ["", *(str(j) for j in range(a.shape[1]))]
    rows = [[f"**{i}**", *(cells(v) for v in row)] for i, row in enumerate(a)]
    return _md_table(header, rows)


def _md_side_by_side(w: np.ndarray, k: np.ndarray, p: np.ndarray) -> list[str]:
    w, k, p = (np.atleast_2d(a) for a in (w, k, p))
    cols = w.shape[1]
    header = ["window", *[""] * (cols - 1), "", "kernel", *[""] * (cols - 1), ""]
    header += ["products", *[""] * (cols - 1)]
    middle = (w.shape[0] - 1) // 2
    rows = []
    for r in range(w.shape[0]):
        op1, op2 = ("⊙", "=") if r == middle else ("", "")
        rows.append([*map(fmt, w[r]), op1, *map(fmt, k[r]), op2, *map(fmt, p[r])])
    return _md_table(header, rows)


def _md_planes(planes: list[tuple[str, np.ndarray]], cells=fmt) -> list[str]:
    lines: list[str] = []
    for label, plane in planes[:PLANES_LIMIT]:
        if _too_big(plane):
            lines += [
                f"**{label}** ({shape_text(plane.shape)}): too large to print "
                f"({_range_text(plane)})",
                "",
            ]
            continue
        for sub, block in plane_blocks(plane, label):
            lines += [f"**{sub}** ({shape_text(block.shape)})", "", *_md_matrix(block, cells), ""]
    if len(planes) > PLANES_LIMIT:
        lines += [f"... and {len(planes) - PLANES_LIMIT} more", ""]
    return lines


def render_markdown(trace: Trace, numbers: Sequence[int], progress: bool = False) -> str:
    """The narrative as Markdown (see :meth:`Trace.to_markdown`)."""
    op, what = describe(trace)
    lines = [
        f"# {op} of {what}",
        "",
        " ".join(f"{n[0].upper()}{n[1:]}." for n in notes(trace)) + f" `{parameters(trace)}`",
        "",
    ]
    padded = any(a.pad != (0, 0) for a in trace.axes)
    lines += _md_planes(_input_planes_unpadded(trace) if padded else input_planes(trace))
    if padded:
        mask = trace.padding_mask
        planes = [(f"padded {label}", plane) for label, plane in input_planes(trace)]
        lines += [f"Padding ({trace.spec.padding_mode}) is in italics.", ""]
        for label, plane in planes[:PLANES_LIMIT]:
            marked = np.empty(plane.shape, dtype=object)
            for idx in np.ndindex(plane.shape):
                marked[idx] = f"*{fmt(plane[idx])}*" if mask[idx] else fmt(plane[idx])
            lines += _md_planes([(label, marked)], cells=str)
    for o in range(min(trace.weight.shape[0], PLANES_LIMIT)):
        for c in range(min(trace.weight.shape[1], PLANES_LIMIT)):
            label = "kernel" if trace.layout == "plain" else f"filter {o}, channel {c}"
            if trace.convolve:
                label += " (flipped)"
            lines += _md_planes([(label, trace.weight[o, c])])
    if trace.bias is not None:
        lines += [f"**bias**: {', '.join(fmt(b) for b in trace.bias)}", ""]
    lines += [
        "## Output size",
        "",
        "Per axis: `floor((in + before + after - dilation·(k - 1) - 1) / stride) + 1`.",
        "",
    ]
    header = ["axis", "in", "before", "after", "kernel", "dilation", "stride", "output"]
    rows = [
        [
            a.name,
            str(a.size),
            str(a.pad[0]),
            str(a.pad[1]),
            str(a.kernel),
            str(a.dilation),
            str(a.stride),
            str(a.output),
        ]
        for a in trace.axes
    ]
    lines += [*_md_table(header, rows), ""]
    shown = summary(trace, numbers)
    lines += ["## Steps", ""]
    if shown:
        lines += [shown.capitalize() + ".", ""]
    previous = None
    for number in with_progress(numbers, progress):
        step = trace.step(number)
        lines += [f"### Step {number} of {trace.n_steps}: {index_text(step.index)}", ""]
        move = movement(trace, step, previous)
        lines += [
            f"{move[0].upper()}{move[1:]}: select the window at {window_text(trace, step)}.",
            "",
        ]
        many = len(step.channels) > 1
        for i, c in enumerate(step.channels):
            labels, triples = _triples(step.window[i], step.kernel[i], step.products[i])
            for label, (w, k, p) in zip(labels, triples):
                title = ", ".join(t for t in (f"input channel {c}" if many else "", label) if t)
                if title:
                    lines += [f"*{title}*", ""]
                lines += [*_md_side_by_side(w, k, p), ""]
            products = step.products[i]
            total = fmt(step.channel_sums[i])
            expr = terms(products) + " = " if products.size <= TERMS_LIMIT else ""
            lead = f"Channel {c} sum" if many else "Multiply element-wise and sum"
            lines += [f"{lead}: {expr}**{total}**.", ""]
        if many:
            lines += [
                f"Add the channel sums: {terms(step.channel_sums)} = **{fmt(step.sum)}**.",
                "",
            ]
        if trace.bias is not None:
            lines += [
                f"Add the bias: {fmt(step.sum)} + {_signed(step.bias)} = **{fmt(step.value)}**.",
                "",
            ]
        lines += [f"`{index_text(step.index)}` = **{fmt(step.value)}**", ""]
        previous = number
    lines += ["## Output", ""]
    lines += _md_planes(output_planes(trace))
    return "\n".join(lines).rstrip("\n") + "\n"
