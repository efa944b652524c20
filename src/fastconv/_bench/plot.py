"""Two small chart types drawn with Pillow (no plotting library needed): horizontal bars that
diverge from a reference value on a logarithmic axis (the ratios), and log-log line charts
in side-by-side panels (the scaling run).

Text is ASCII: Pillow's bundled font has no other glyphs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WHITE = (255, 255, 255)
BLACK = (20, 20, 20)
GRID = (225, 225, 225)
AXIS = (120, 120, 120)
FASTER = (46, 139, 87)  # a bar on the good side of the reference
SLOWER = (217, 95, 2)
#: colours of the series of a line chart, in order
SERIES_COLOURS = ((31, 119, 180), (217, 95, 2), (46, 139, 87), (117, 112, 179))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _text_width(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return int(right - left)


#: tick mantissas, coarse to fine: the first that gives four ticks is used
_MANTISSAS = (
    (1, 2, 5),
    (1, 1.5, 2, 3, 5, 7),
    (1, 1.1, 1.2, 1.3, 1.5, 1.7, 2, 2.5, 3, 4, 5, 6, 7, 8),
)


def log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks at 1, 2 and 5 times the powers of ten between ``lo`` and ``hi`` (both > 0); at
    finer steps where that gives fewer than four.

    >>> log_ticks(0.3, 12)
    [0.5, 1.0, 2.0, 5.0, 10.0]
    >>> log_ticks(0.4, 4.9)
    [0.5, 0.7, 1.0, 1.5, 2.0, 3.0]
    >>> log_ticks(0.97, 2.0)
    [1.0, 1.1, 1.2, 1.3, 1.5, 1.7, 2.0]
    """
    exps = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    for mantissas in _MANTISSAS:
        ticks = [float(f"{m * 10.0**e:.6g}") for e in exps for m in mantissas]
        ticks = [t for t in ticks if lo <= t <= hi]
        if len(ticks) >= 4:
            break
    return ticks


def _fmt_tick(t: float) -> str:
    return f"{t:g}"


class _LogAxis:
    """Maps values on a logarithmic scale to pixels between ``p0`` and ``p1``."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float) -> None:
        self.a, self.b = math.log10(lo), math.log10(hi)
        self.p0, self.p1 = p0, p1

    def __call__(self, v: float) -> float:
        return self.p0 + (math.log10(v) - self.a) / (self.b - self.a) * (self.p1 - self.p0)


def _padded_range(values: Sequence[float], pad: float = 1.25) -> tuple[float, float]:
    lo, hi = min(values) / pad, max(values) * pad
    if hi / lo < 10:  # at least a decade, centred, so that ticks exist
        mid = math.sqrt(lo * hi)
        lo, hi = mid / math.sqrt(10), mid * math.sqrt(10)
    return lo, hi


def bar_chart(
    path: str | Path,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    axis_label: str,
    reference: float = 1.0,
    reference_label: str = "",
    base: float | None = None,
    value_format: str = "{:.2f}x",
    axis_range: tuple[float, float] | None = None,
) -> Path:
    """Horizontal bars from ``base`` (default: ``reference``) to each value on a log axis, a
    vertical line at ``reference``; PNG at ``path``.

    Bars ending at or below ``reference`` are green, above it orange; a value of ``None`` is
    written as ``-`` without a bar. ``axis_range`` fixes the axis (default: the values and
    the reference with a margin, at least a decade). Returns the path.
    """
    base = reference if base is None else base
    font, small, big = _font(14), _font(12), _font(17)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left = 20 + max((_text_width(probe, s, font) for s in labels), default=0)
    row, top, width = 24, 60, 960
    plot_w = width - left - 90
    height = top + row * len(labels) + 70
    img = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(img)
    draw.text((width // 2, 14), title, fill=BLACK, font=big, anchor="mt")

    known = [v for v in values if v is not None and v > 0]
    lo, hi = axis_range or _padded_range([*known, reference, base])
    axis = _LogAxis(lo, hi, left, left + plot_w)
    bottom = top + row * len(labels)
    for t in log_ticks(lo, hi):
        x = axis(t)
        draw.line([(x, top - 4), (x, bottom)], fill=GRID)
        draw.text((x, bottom + 6), _fmt_tick(t), fill=AXIS, font=small, anchor="mt")
    draw.text((left + plot_w / 2, bottom + 26), axis_label, fill=BLACK, font=font, anchor="mt")

    x_ref, x_base = axis(reference), axis(base)
    for i, (label, v) in enumerate(zip(labels, values)):
        y = top + i * row + row / 2
        draw.text((left - 10, y), label, fill=BLACK, font=font, anchor="rm")
        if v is None or v <= 0:
            draw.text((x_base + 6, y), "-", fill=AXIS, font=font, anchor="lm")
            continue
        x = axis(v)
        colour = FASTER if v <= reference else SLOWER
        x0, x1 = min(x, x_base), max(x, x_base)
        if x1 - x0 < 2:  # a value at the base still shows
            x0, x1 = x_base - 1, x_base + 1
        draw.rectangle([x0, y - row * 0.35, x1, y + row * 0.35], fill=colour)
        text = value_format.format(v)
        if x >= x_base:
            draw.text((x + 5, y), text, fill=BLACK, font=small, anchor="lm")
        else:
            draw.text((x - 5, y), text, fill=BLACK, font=small, anchor="rm")
    draw.line([(x_ref, top - 8), (x_ref, bottom)], fill=BLACK, width=2)
    if reference_label:
        draw.text((x_ref, top - 10), reference_label, fill=BLACK, font=small, anchor="mb")
    return _save(img, path)


@dataclass(frozen=True)
class Series:
    """One line of a :class:`Panel`: ``name`` in the legend, points ``(xs[i], ys[i])``."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float | None]


@dataclass(frozen=True)
class Panel:
    """One log-log chart: x ticks at the series' x values, labelled ``x_labels`` if given."""

    title: str
    x_label: str
    y_label: str
    series: Sequence[Series]
    x_labels: Sequence[str] | None = None


def line_chart(path: str | Path, panels: Sequence[Panel], *, title: str) -> Path:
    """Draw ``panels`` side by side, each a log-log line chart with markers; PNG at ``path``.

    Points whose y is ``None`` (or not positive) are left out. Returns the path.
    """
    font, small, big = _font(14), _font(12), _font(17)
    pw, ph, head = 600, 440, 40
    img = Image.new("RGB", (pw * len(panels), ph + head), WHITE)
    draw = ImageDraw.Draw(img)
    draw.text((img.width // 2, 12), title, fill=BLACK, font=big, anchor="mt")
    for k, panel in enumerate(panels):
        _draw_panel(draw, panel, (k * pw, head, (k + 1) * pw, head + ph), font, small)
    return _save(img, path)


def _draw_panel(draw, panel: Panel, box, font, small) -> None:
    x0, y0, x1, y1 = box
    left, right, top, bottom = x0 + 70, x1 - 20, y0 + 48, y1 - 60
    draw.text(((left + right) / 2, y0 + 4), panel.title, fill=BLACK, font=font, anchor="mt")
    xs = sorted({x for s in panel.series for x in s.xs})
    ys = [y for s in panel.series for y in s.ys if y is not None and y > 0]
    if not xs or not ys:
        draw.text(((left + right) / 2, (top + bottom) / 2), "no data", fill=AXIS, font=font)
        return
    x_axis = _LogAxis(xs[0] / 1.15, xs[-1] * 1.15, left, right)
    y_lo, y_hi = _padded_range(ys, 1.3)
    y_axis = _LogAxis(y_lo, y_hi, bottom, top)
    for t in log_ticks(y_lo, y_hi):
        y = y_axis(t)
        draw.line([(left, y), (right, y)], fill=GRID)
        draw.text((left - 6, y), _fmt_tick(t), fill=AXIS, font=small, anchor="rm")
    labels = list(panel.x_labels) if panel.x_labels else [_fmt_tick(x) for x in xs]
    for x, label in zip(xs, labels):
        px = x_axis(x)
        draw.line([(px, top), (px, bottom)], fill=GRID)
        draw.text((px, bottom + 6), label, fill=AXIS, font=small, anchor="mt")
    draw.rectangle([left, top, right, bottom], outline=AXIS)
    draw.text(((left + right) / 2, bottom + 28), panel.x_label, fill=BLACK, font=font, anchor="mt")
    draw.text((x0 + 10, y0 + 26), panel.y_label, fill=BLACK, font=small, anchor="lt")
    for i, s in enumerate(panel.series):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        points = [(x_axis(x), y_axis(y)) for x, y in zip(s.xs, s.ys) if y is not None and y > 0]
        if len(points) > 1:
            draw.line(points, fill=colour, width=3)
        for px, py in points:
            draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colour)
        ly = top + 10 + 20 * i
        draw.line([(left + 12, ly), (left + 36, ly)], fill=colour, width=3)
        draw.text((left + 42, ly), s.name, fill=BLACK, font=small, anchor="lm")


def _save(img: Image.Image, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG")
    return path
