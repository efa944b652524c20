"""``fastconv.animate``: the sliding window as an animated GIF (or APNG), drawn with Pillow.

Left panel: the (padded) input with the current window outlined and the kernel's values over
its taps. Right panel: the output filling in, the new value highlighted. Caption: the step's
sum. Numbers are written in the cells of small inputs; larger ones are grey heat maps.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._files import atomic_write
from .scatter import ScatterTrace, scatter_trace
from .text import fmt, index_text, span
from .trace import Trace, build_trace

#: numbers are written in the cells while no panel has more cells than this along an axis
NUMBERS_LIMIT = 14
#: heat maps are scaled to about this many pixels along their longest axis (at most 24 per cell)
HEATMAP_PIXELS = 520
MARGIN = 20
GAP = 56
FONT = 14
SMALL = 11
TITLE = 16

Mode = Literal["numbers", "heatmap"]


@dataclass(frozen=True)
class Animation:
    """What :func:`animate` wrote.

    Attributes
    ----------
    path : Path
        The file written.
    frames : int
        Number of frames: ``min(total_steps, max_frames)``.
    size : tuple of int
        ``(width, height)`` of every frame in pixels.
    steps : tuple of int
        The step (from 1) each frame shows; evenly spaced, always the first and the last.
    total_steps : int
        Steps of the operation (output elements; input elements when transposed).
    mode : {"numbers", "heatmap"}
        Numbers in the cells, or grey heat maps for larger inputs.
    input_panel, output_panel : Panel
        Where the cells are drawn: cell ``(r, c)`` of the (padded) input covers
        ``input_panel.box(r, c)``; a 1-D input is one row. The window (transposed: the
        scatter footprint in the output) is outlined just outside its cells, in
        :data:`fastconv._explain.draw.OUTLINE`.
    """

    path: Path
    frames: int
    size: tuple[int, int]
    steps: tuple[int, ...]
    total_steps: int
    mode: Mode
    input_panel: Any
    output_panel: Any


@dataclass(frozen=True)
class _Frame:
    """What one frame shows, as 2-D planes (a 1-D problem is one row)."""

    left_taps: tuple[tuple[int, ...], tuple[int, ...]]  # cells outlined/highlighted on the left
    left_labels: np.ndarray | None  # small numbers over the left taps (the kernel)
    right: np.ndarray  # running output, NaN where not computed yet
    right_taps: tuple[tuple[int, ...], tuple[int, ...]]  # cells written by this step
    right_labels: np.ndarray | None  # small numbers over the right taps (contributions)
    caption: tuple[str, str]


class _ConvScene:
    """Frames of a forward convolution trace of one 1-D or 2-D plane."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.one_d = trace.ndim == 1
        self.left = self._plane(trace.padded[0, 0])
        self.left_mask = self._plane(trace.padding_mask)
        self.final = self._plane(trace.output.reshape(trace.output_spatial))
        self.right_mask = np.zeros(self.final.shape, dtype=bool)
        self.kernel = self._plane(trace.weight[0, 0])
        self.n_steps = trace.n_steps
        s = trace.spec
        op = "Convolution (kernel flipped)" if trace.convolve else "Cross-correlation"
        self.title = f"{op}: stride {_compact(s.stride)}, padding {_pads(s.padding)}, " + (
            f"dilation {_compact(s.dilation)}"
        )
        if any(p for pair in s.padding for p in pair) and s.padding_mode != "zeros":
            self.title += f", padding mode {s.padding_mode}"
        padded = any(p for pair in s.padding for p in pair)
        shape = "×".join(map(str, trace.padded.shape[2:]))
        self.left_label = f"padded input {shape} (padding shaded)" if padded else (f"input {shape}")
        self.right_label = f"output {'×'.join(map(str, trace.output_spatial))}"

    def _plane(self, a: np.ndarray) -> np.ndarray:
        return a[None] if self.one_d else a

    def _taps(self, taps: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return ((0,), taps[0]) if self.one_d else (taps[0], taps[1])

    def frame(self, number: int) -> _Frame:
        t = self.trace
        step = t.step(number)
        pos = ((0,), (step.position[0],)) if self.one_d else tuple((p,) for p in step.position)
        where = ", ".join(f"{a.name} {span(taps)}" for a, taps in zip(t.axes, step.taps))
        line1 = f"step {number} of {self.n_steps}: window at {where}"
        products = " + ".join(
            f"{_paren(w)}×{_paren(k)}" for w, k in zip(step.window.ravel(), step.kernel.ravel())
        )
        total = f" = {fmt(step.sum)}"
        if t.bias is not None:
            total += f", + bias {fmt(step.bias)} = {fmt(step.value)}"
        result = f" → {index_text(step.index)}"
        long = products + total + result
        short = f"sum of the {step.products.size} products{total}{result}"
        running = t.output_after(number).reshape(t.output_spatial)
        return _Frame(
            left_taps=self._taps(step.taps),
            left_labels=self.kernel,
            right=self._plane(running),
            right_taps=pos,  # type: ignore[arg-type]
            right_labels=None,
            caption=(line1, long if step.products.size <= 9 else short),
        )


class _ScatterScene:
    """Frames of a transposed convolution: each input element scatters the kernel."""

    def __init__(self, trace: ScatterTrace) -> None:
        self.trace = trace
        self.one_d = trace.input.ndim == 1
        self.left = self._plane(trace.input)
        self.left_mask = np.zeros(self.left.shape, dtype=bool)
        full = trace.full_shape
        mask = np.ones(full, dtype=bool)
        mask[trace.crop] = False
        self.right_mask = self._plane(mask)
        self.final = self._plane(trace.canvas_after(trace.n_steps))
        self.kernel = self._plane(trace.kernel)
        self.n_steps = trace.n_steps
        self.title = (
            f"Transposed convolution: stride {_compact(trace.stride)}, padding "
            f"{_compact(trace.padding)}, dilation {_compact(trace.dilation)}"
        )
        if any(trace.output_padding):
            self.title += f", output padding {_compact(trace.output_padding)}"
        self.left_label = f"input {'×'.join(map(str, trace.input.shape))}"
        out = "×".join(str(n - 2 * p) for n, p in zip(full, trace.padding))
        self.right_label = f"output {'×'.join(map(str, full))} before cropping → {out}"
        if any(trace.padding):
            self.right_label += " (cropped cells shaded)"

    def _plane(self, a: np.ndarray) -> np.ndarray:
        return a[None] if self.one_d else a

    def frame(self, number: int) -> _Frame:
        t = self.trace
        step = t.step(number)
        names = ("positions",) if self.one_d else ("rows", "columns")
        where = ", ".join(f"{n} {span(taps)}" for n, taps in zip(names, step.taps))
        at = ", ".join(map(str, step.position))
        line1 = f"step {number} of {self.n_steps}: input[{at}] = {fmt(step.value)}"
        line2 = f"adds {fmt(step.value)} × kernel to the output at {where}"
        taps = ((0,), step.taps[0]) if self.one_d else (step.taps[0], step.taps[1])
        left = ((0,), step.position) if self.one_d else tuple((p,) for p in step.position)
        return _Frame(
            left_taps=left,  # type: ignore[arg-type]
            left_labels=None,
            right=self._plane(t.canvas_after(number)),
            right_taps=taps,
            right_labels=self._plane(step.contributions),
            caption=(line1, line2),
        )


def _compact(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "×".join(map(str, values))


def _pads(pads: tuple[tuple[int, int], ...]) -> str:
    flat = {p for pair in pads for p in pair}
    if len(flat) == 1:
        return str(flat.pop())
    return ", ".join(f"{lo}+{hi}" for lo, hi in pads)


def _paren(v: float) -> str:
    s = fmt(v)
    return f"({s})" if s.startswith("-") else s


def _times(v: float) -> str:
    """The kernel value drawn over a tap: ``×2``, ``×(-1)``."""
    s = _cell_text(v)
    return f"×({s})" if s.startswith("-") else f"×{s}"


def _cell_text(v: float) -> str:
    s = f"{float(v):.4g}"
    return "0" if s == "-0" else s


def sample_steps(total: int, max_frames: int) -> tuple[int, ...]:
    """Step numbers of the frames: all steps, or ``max_frames`` of them evenly spaced.

    >>> sample_steps(4, 200)
    (1, 2, 3, 4)
    >>> sample_steps(100, 5)
    (1, 26, 50, 75, 100)
    """
    if total <= max_frames:
        return tuple(range(1, total + 1))
    return tuple(int(k) for k in np.round(np.linspace(1, total, max_frames)))


# ------------------------------------------------------------------------------------------
# drawing


class _Renderer:
    """Lays out the canvas once and draws each frame of a scene."""

    def __init__(self, scene: _ConvScene | _ScatterScene) -> None:
        from . import draw

        self.draw = draw
        self.scene = scene
        dims = (*scene.left.shape, *scene.final.shape)
        self.mode: Mode = "numbers" if max(dims) <= NUMBERS_LIMIT else "heatmap"
        if self.mode == "numbers":
            texts = [_cell_text(v) for v in scene.left.ravel()]
            texts += [_cell_text(v) for v in scene.final.ravel()]
            labels = [_times(v) for v in scene.kernel.ravel()]
            if isinstance(scene, _ScatterScene):  # partial sums appear on the way
                for k in range(1, scene.n_steps):
                    partial = scene.trace.canvas_after(k)
                    texts += [_cell_text(v) for v in partial[np.isfinite(partial)]]
                labels = [
                    f"+{_cell_text(v * x)}"
                    for v in scene.kernel.ravel()
                    for x in scene.left.ravel()
                ]
            wide = max(draw.text_size(t, FONT)[0] for t in texts)
            label = max(draw.text_size(t, SMALL)[0] for t in labels)
            cell = max(36, wide + 12, label + 10)
            left_cell = right_cell = cell
        else:
            scale = max(1, min(24, HEATMAP_PIXELS // max(dims)))
            left_cell = right_cell = scale
        # a 1-D heat map is one row: give it the height of a readable strip
        tall = 32 if self.mode == "heatmap" and scene.left.shape[0] == 1 else 0
        top = MARGIN + 58
        self.left_panel = draw.Panel(MARGIN, top, *scene.left.shape, left_cell, tall)
        right_x = MARGIN + self.left_panel.width + GAP
        self.right_panel = draw.Panel(right_x, top, *scene.final.shape, right_cell, tall)
        bottom = top + max(self.left_panel.height, self.right_panel.height) + 16
        self.inset: Any = None
        if self.mode == "heatmap":
            k = scene.kernel
            if max(k.shape) <= 7:
                kcell = max(30, *(draw.text_size(_cell_text(v), SMALL)[0] + 10 for v in k.ravel()))
                self.inset = draw.Panel(MARGIN, bottom + 20, *k.shape, kcell)
                bottom = self.inset.y + self.inset.height + 16
            else:
                bottom += 24
        self.caption_y = bottom
        width = (
            MARGIN
            + max(
                self.right_panel.x + self.right_panel.width - MARGIN,
                self.right_panel.x + draw.text_size(scene.right_label, FONT)[0] - MARGIN,
                draw.text_size(scene.title, TITLE)[0],
            )
            + MARGIN
        )
        height = bottom + 2 * 22 + MARGIN
        self.size = (max(width, 560), height)
        self.caption_width = self.size[0] - 2 * MARGIN
        self.background = self._background()
        if self.mode == "heatmap":
            self.left_lo_hi = draw.finite_range(scene.left)
            self.right_lo_hi = draw.finite_range(scene.final)

    def _background(self):
        d = self.draw
        from PIL import Image, ImageDraw

        image = Image.new("RGB", self.size, d.WHITE)
        pen = ImageDraw.Draw(image)
        s = self.scene
        d.write(pen, (MARGIN, MARGIN), s.title, TITLE, d.TEXT)
        d.write(pen, (self.left_panel.x, MARGIN + 30), s.left_label, FONT, d.TEXT)
        d.write(pen, (self.right_panel.x, MARGIN + 30), s.right_label, FONT, d.TEXT)
        mid_y = self.left_panel.y + min(self.left_panel.height, self.right_panel.height) // 2
        x0 = self.left_panel.x + self.left_panel.width
        d.arrow(pen, x0 + 14, x0 + GAP - 14, mid_y)
        if self.mode == "heatmap":
            lo, hi = d.finite_range(s.left)
            gray = d.heat(s.left, lo, hi)
            rgb = np.repeat(gray[..., None], 3, axis=2)
            rgb[s.left_mask] = d.tinted(gray[s.left_mask])
            image.paste(d.enlarge(rgb, self.left_panel), (self.left_panel.x, self.left_panel.y))
            if self.inset is not None:
                d.write(pen, (self.inset.x, self.inset.y - 20), "kernel", FONT, d.TEXT)
                for r, c in np.ndindex(s.kernel.shape):
                    box = self.inset.box(r, c)
                    pen.rectangle(box, fill=d.WHITE, outline=d.GRID)
                    d.centered_text(pen, box, _cell_text(s.kernel[r, c]), SMALL, d.KERNEL)
            else:
                k = "×".join(map(str, s.kernel.shape))
                d.write(pen, (MARGIN, self.caption_y - 22), f"kernel {k}", FONT, d.TEXT)
        return image

    def render(self, frame: _Frame):
        from PIL import ImageDraw

        d = self.draw
        image = self.background.copy()
        pen = ImageDraw.Draw(image)
        if self.mode == "numbers":
            self._numbers_left(pen, frame)
            self._numbers_right(pen, frame)
        else:
            self._heat_right(image, frame)
        lp, rp = self.left_panel, self.right_panel
        for panel, (r, c) in ((lp, frame.left_taps), (rp, frame.right_taps)):
            d.outline(pen, panel, r[0], c[0], r[-1], c[-1])
            if self.mode == "heatmap":
                d.ticks(pen, panel, r[0], c[0], r[-1], c[-1])
        line1, line2 = frame.caption
        if d.text_size(line2, FONT)[0] > self.caption_width and "=" in line2:
            line2 = self._shorten(line2)
        d.write(pen, (MARGIN, self.caption_y), line1, FONT, d.TEXT)
        d.write(pen, (MARGIN, self.caption_y + 22), line2, FONT, d.TEXT)
        return d.to_palette(image)

    def _shorten(self, line: str) -> str:
        """``a×b + ... = s → out`` too wide for the canvas: keep the sum and the result."""
        tail = line[line.index(" = ") :]
        return f"sum of the products{tail}"

    def _numbers_left(self, pen, frame: _Frame) -> None:
        d, s, panel = self.draw, self.scene, self.left_panel
        rows, cols = frame.left_taps
        taps = {(r, c): (i, j) for i, r in enumerate(rows) for j, c in enumerate(cols)}
        for r, c in np.ndindex(s.left.shape):
            box = panel.box(r, c)
            pad = bool(s.left_mask[r, c])
            fill = d.TAP if (r, c) in taps else (d.PAD_FILL if pad else d.WHITE)
            pen.rectangle(box, fill=fill, outline=d.GRID)
            colour = d.PAD_TEXT if pad else d.TEXT
            label = (r, c) in taps and frame.left_labels is not None
            d.centered_text(pen, box, _cell_text(s.left[r, c]), FONT, colour, dy=-5 if label else 0)
            if label:
                i, j = taps[(r, c)]
                _, _, x1, y1 = box
                d.write(
                    pen,
                    (x1 - 3, y1 - 2),
                    _times(frame.left_labels[i, j]),
                    SMALL,
                    d.KERNEL,
                    anchor="rd",
                )

    def _numbers_right(self, pen, frame: _Frame) -> None:
        d, s, panel = self.draw, self.scene, self.right_panel
        rows, cols = frame.right_taps
        taps = {(r, c): (i, j) for i, r in enumerate(rows) for j, c in enumerate(cols)}
        single = len(taps) == 1
        for r, c in np.ndindex(frame.right.shape):
            box = panel.box(r, c)
            crop = bool(s.right_mask[r, c])
            if (r, c) in taps:
                fill = d.HIGHLIGHT if single else d.TAP
            else:
                fill = d.PAD_FILL if crop else d.WHITE
            pen.rectangle(box, fill=fill, outline=d.GRID)
            v = frame.right[r, c]
            if np.isnan(v):
                continue
            label = (r, c) in taps and frame.right_labels is not None
            d.centered_text(
                pen, box, _cell_text(v), FONT, d.PAD_TEXT if crop else d.TEXT, dy=-5 if label else 0
            )
            if label:
                i, j = taps[(r, c)]
                _, _, x1, y1 = box
                d.write(
                    pen,
                    (x1 - 3, y1 - 2),
                    f"+{_cell_text(frame.right_labels[i, j])}",
                    SMALL,
                    d.KERNEL,
                    anchor="rd",
                )

    def _heat_right(self, image, frame: _Frame) -> None:
        d, s = self.draw, self.scene
        lo, hi = self.right_lo_hi
        gray = d.heat(frame.right, lo, hi)
        rgb = np.repeat(gray[..., None], 3, axis=2)
        rgb[s.right_mask] = d.tinted(gray[s.right_mask])
        rgb[np.isnan(frame.right)] = d.PENDING
        image.paste(d.enlarge(rgb, self.right_panel), (self.right_panel.x, self.right_panel.y))


def animate(
    x: Any,
    weight: Any,
    path: str | os.PathLike[str],
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    padding_mode: str = "zeros",
    convolve: bool = False,
    transposed: bool = False,
    output_padding: Any = 0,
    fps: float = 2,
    max_frames: int = 200,
    progress: bool = False,
) -> Animation:
    """Draw the sliding window as an animated GIF (``.gif``) or APNG (``.png``).

    Each frame is one step of :func:`explain`: on the left the (padded) input with the window
    outlined in red and the kernel's values over its taps (blue cells; the gaps of a dilated
    kernel stay white; padding is shaded); on the right the output filling in, the new value in
    yellow; below, the step's products and sum. Inputs up to about 12×12 show their numbers;
    larger ones are grey heat maps (dark = low) with the window outlined. With more steps than
    ``max_frames``, frames are taken evenly from first to last.

    Parameters
    ----------
    x, weight : array_like
        One 1-D or 2-D plane: a plain signal/image with a kernel of the same rank, or the
        ``conv1d/2d`` layout with one image, one channel and one filter.
    path : str or PathLike
        Where to write; ``.gif`` or ``.png`` (animated PNG). Written atomically.
    stride, padding, dilation, padding_mode, convolve
        As in :func:`explain`.
    transposed : bool, default False
        Draw a transposed convolution instead (plain input and kernel): each input element,
        in order, scatters ``value × kernel`` into the output at ``stride`` spacing; the output
        is cropped by ``padding`` (an int or one per axis) on both sides and extended by
        ``output_padding`` at the end, as in PyTorch's ``conv_transpose2d``.
    fps : float, default 2
        Frames per second (the last frame is held for at least 2 s).
    max_frames : int, default 200
        At most this many frames.
    progress : bool, default False
        Show a progress bar (tqdm) on stderr.

    Returns
    -------
    Animation
        The path, number of frames (``min(steps, max_frames)``), frame size, the step shown in
        each frame and where the panels' cells are.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> image = np.arange(1.0, 17.0).reshape(4, 4)
    >>> kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     a = animate(image, kernel, os.path.join(tmp, "conv.gif"))
    ...     a.frames, a.steps, a.mode, os.path.exists(a.path)
    (4, (1, 2, 3, 4), 'numbers', True)
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".png"):
        raise ValueError(
            f"animate: expected path to end in .gif or .png (animated PNG), got {str(path)!r}"
        )
    if (
        isinstance(max_frames, bool)
        or not isinstance(max_frames, int | np.integer)
        or (max_frames < 1)
    ):
        raise ValueError(f"animate: expected max_frames to be an integer >= 1, got {max_frames!r}")
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not 0 < fps <= 100:
        raise ValueError(f"animate: expected fps to be a number in (0, 100], got {fps!r}")
    scene: _ConvScene | _ScatterScene
    if transposed:
        if padding_mode != "zeros" or convolve:
            raise ValueError(
                "animate: a transposed convolution is drawn with zero padding and convolve=False"
            )
        scene = _ScatterScene(
            scatter_trace(
                x,
                weight,
                stride=stride,
                padding=padding,
                output_padding=output_padding,
                dilation=dilation,
            )
        )
    else:
        trace = build_trace("animate", x, weight, None, stride, padding, dilation, 1,
                            padding_mode, convolve)  # fmt: skip
        if trace.ndim > 2 or trace.input.shape[:2] != (1, 1) or trace.weight.shape[0] != 1:
            raise ValueError(
                f"animate: expected one 1-D or 2-D plane (one image, one channel, one filter), "
                f"got input of shape {np.shape(x)} and weight of shape {np.shape(weight)}"
            )
        scene = _ConvScene(trace)
    renderer = _Renderer(scene)
    steps = sample_steps(scene.n_steps, int(max_frames))
    frames = []
    from tqdm import tqdm

    bar = tqdm(steps, desc="animate", unit="frame", disable=not progress, file=sys.stderr,
               delay=0.5, leave=False)  # fmt: skip
    for number in bar:
        frames.append(renderer.render(scene.frame(number)))
    duration = max(10, round(1000 / fps / 10) * 10)
    durations = [duration] * len(frames)
    durations[-1] = max(duration, 2000)
    _save(frames, out, "GIF" if suffix == ".gif" else "PNG", durations)
    return Animation(
        path=out,
        frames=len(frames),
        size=renderer.size,
        steps=steps,
        total_steps=scene.n_steps,
        mode=renderer.mode,
        input_panel=renderer.left_panel,
        output_panel=renderer.right_panel,
    )


def _save(frames: list, path: Path, fmt_name: str, durations: list[int]) -> None:
    """Write the frames to ``path`` atomically."""
    extra = {"disposal": 1} if fmt_name == "GIF" else {}  # each frame is whole

    def write(fh) -> None:
        frames[0].save(
            fh,
            format=fmt_name,
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=0,
            **extra,
        )

    atomic_write(path, write)
