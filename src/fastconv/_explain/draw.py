"""Pillow drawing for the animation: colours and their fixed palette, fonts, and grid panels.

Frames are drawn in RGB and mapped onto one fixed palette (no dithering), so every frame of a
GIF shares the palette. Pillow maps a colour through a cache of 4-value-wide slots looked up at
their lower corner, so every palette colour has channels that are multiples of 4 (or 255, with
no 252 beside it): then each colour below comes back exactly when the file is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

RGB = tuple[int, int, int]

WHITE: RGB = (255, 255, 255)
TEXT: RGB = (24, 24, 24)
GRID: RGB = (188, 188, 188)
OUTLINE: RGB = (212, 40, 40)  #: the window (or the scatter footprint)
HIGHLIGHT: RGB = (255, 216, 64)  #: the output element written by this step
TAP: RGB = (196, 220, 255)  #: cells under a kernel tap
KERNEL: RGB = (32, 80, 200)  #: kernel values drawn over the taps
PAD_FILL: RGB = (224, 224, 236)  #: padding cells (numbers) / cropped cells (transposed)
PAD_TEXT: RGB = (116, 116, 140)
PENDING: RGB = (252, 236, 212)  #: heat map: output not computed yet
PAD_TINT: RGB = (72, 108, 180)  #: heat map: padding is the grey value mixed with this

UI_COLOURS = (WHITE, TEXT, GRID, OUTLINE, HIGHLIGHT, TAP, KERNEL, PAD_FILL, PAD_TEXT, PENDING)
N_TINTS = 48


def _on_grid(values: np.ndarray) -> np.ndarray:
    """Channel values moved to the palette's grid: multiples of 4 up to 248, or 255."""
    v = np.round(np.asarray(values, np.float64) / 4) * 4
    return np.where(v >= 252, 255, v).astype(np.uint8)


def gray_levels() -> np.ndarray:
    """The grey ramp of the palette: 0, 4, ..., 248, 255 (64 levels).

    >>> gray_levels()[[0, 1, -2, -1]]
    array([  0,   4, 248, 255], dtype=uint8)
    """
    return _on_grid(np.arange(0, 256, 4))


def tinted(gray: np.ndarray) -> np.ndarray:
    """Heat-map colour of padding cells: the grey value mixed half and half with PAD_TINT."""
    g = np.asarray(gray, dtype=np.float64)[..., None]
    return _on_grid(0.5 * g + 0.5 * np.array(PAD_TINT))


@lru_cache(maxsize=1)
def palette() -> Image.Image:
    """The fixed 256-colour palette every frame is mapped onto."""
    grays = gray_levels()
    colours = [(int(g), int(g), int(g)) for g in grays]
    colours += [tuple(int(c) for c in t) for t in tinted(np.linspace(0, 255, N_TINTS))]
    colours += list(UI_COLOURS)
    colours = list(dict.fromkeys(colours))
    flat = [c for rgb in colours for c in rgb]
    flat += [0] * (768 - len(flat))
    image = Image.new("P", (1, 1))
    image.putpalette(flat)
    return image


def to_palette(frame: Image.Image) -> Image.Image:
    """``frame`` (RGB) mapped to the nearest colours of :func:`palette`, without dithering.

    >>> colours = np.array([UI_COLOURS], dtype=np.uint8)
    >>> back = to_palette(Image.fromarray(colours, "RGB")).convert("RGB")
    >>> bool((np.asarray(back) == colours).all())
    True
    """
    return frame.quantize(palette=palette(), dither=Image.Dither.NONE)


#: Pillow's bundled font has ASCII (and a few Latin-1 glyphs) only: what frames draw instead
_ASCII = str.maketrans({"×": "x", "–": "-", "→": "->", "⊙": "(.)", "·": "."})


def ascii_text(text: str) -> str:
    """``text`` with the glyphs the bundled font lacks replaced: ``rows 0–2`` -> ``rows 0-2``."""
    return text.translate(_ASCII)


def write(
    draw: ImageDraw.ImageDraw, xy, text: str, size: int, colour: RGB, anchor: str | None = None
) -> None:
    """Draw ``text`` (made ASCII) at ``xy`` in :func:`font` (``size``)."""
    draw.text(xy, ascii_text(text), fill=colour, font=font(size), anchor=anchor)


@lru_cache(maxsize=8)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` pixels (its fixed bitmap font without FreeType)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1 or no FreeType
        return ImageFont.load_default()


def text_size(text: str, size: int) -> tuple[int, int]:
    """Width and height in pixels of ``text`` in :func:`font` (``size``)."""
    left, top, right, bottom = font(size).getbbox(ascii_text(text))
    return int(right - left), int(bottom - top)


@dataclass(frozen=True)
class Panel:
    """A grid of cells drawn at ``(x, y)``, each ``cell`` pixels wide and ``cell_height`` high.

    Cell ``(r, c)`` covers pixels ``x + c * cell`` to ``x + (c + 1) * cell - 1`` across and
    ``y + r * h`` to ``y + (r + 1) * h - 1`` down, ``h`` being ``cell_height`` (``cell`` when
    0: square cells). An outline around cells is drawn 2 pixels wide just outside them (see
    :meth:`outline_box`).

    >>> Panel(20, 74, 4, 4, 36).box(1, 2)
    (92, 110, 127, 145)
    """

    x: int
    y: int
    rows: int
    cols: int
    cell: int
    cell_height: int = 0

    @property
    def height_of_cell(self) -> int:
        return self.cell_height or self.cell

    @property
    def width(self) -> int:
        return self.cols * self.cell

    @property
    def height(self) -> int:
        return self.rows * self.height_of_cell

    def box(self, r0: int, c0: int, r1: int | None = None, c1: int | None = None):
        """Pixel box ``(x0, y0, x1, y1)`` (inclusive) of cells ``r0..r1``, ``c0..c1``."""
        r1 = r0 if r1 is None else r1
        c1 = c0 if c1 is None else c1
        h = self.height_of_cell
        return (
            self.x + c0 * self.cell,
            self.y + r0 * h,
            self.x + (c1 + 1) * self.cell - 1,
            self.y + (r1 + 1) * h - 1,
        )

    def outline_box(self, r0: int, c0: int, r1: int, c1: int):
        """The 2-pixel outline around cells ``r0..r1``, ``c0..c1``: its outer box."""
        x0, y0, x1, y1 = self.box(r0, c0, r1, c1)
        return (x0 - 2, y0 - 2, x1 + 2, y1 + 2)


def outline(
    draw: ImageDraw.ImageDraw,
    panel: Panel,
    r0: int,
    c0: int,
    r1: int,
    c1: int,
    colour: RGB = OUTLINE,
) -> None:
    """Outline cells ``r0..r1``, ``c0..c1`` of ``panel``."""
    draw.rectangle(panel.outline_box(r0, c0, r1, c1), outline=colour, width=2)


def ticks(
    draw: ImageDraw.ImageDraw,
    panel: Panel,
    r0: int,
    c0: int,
    r1: int,
    c1: int,
    colour: RGB = OUTLINE,
) -> None:
    """Arrowheads above and left of ``panel`` pointing at cells ``r0..r1``, ``c0..c1``.

    They find a window of a few pixels in a large heat map.
    """
    x0, y0, x1, y1 = panel.box(r0, c0, r1, c1)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    top, left = panel.y - 4, panel.x - 4
    draw.polygon([(cx, top), (cx - 5, top - 7), (cx + 5, top - 7)], fill=colour)
    if panel.rows > 1:
        draw.polygon([(left, cy), (left - 7, cy - 5), (left - 7, cy + 5)], fill=colour)


def centered_text(
    draw: ImageDraw.ImageDraw, box, text: str, size: int, colour: RGB, dy: int = 0
) -> None:
    """``text`` centred in the pixel ``box`` (shifted down by ``dy``)."""
    x0, y0, x1, y1 = box
    write(draw, ((x0 + x1 + 1) / 2, (y0 + y1 + 1) / 2 + dy), text, size, colour, anchor="mm")


def arrow(draw: ImageDraw.ImageDraw, x0: int, x1: int, y: int, colour: RGB = TEXT) -> None:
    """A horizontal arrow from ``x0`` to ``x1`` at height ``y``."""
    draw.line((x0, y, x1 - 6, y), fill=colour, width=2)
    draw.polygon([(x1, y), (x1 - 8, y - 5), (x1 - 8, y + 5)], fill=colour)


def heat(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Grey levels 0–255 of ``values`` scaled from ``[lo, hi]`` (NaN and inf clipped)."""
    span = hi - lo if hi > lo else 1.0
    scaled = np.nan_to_num(
        (np.asarray(values, np.float64) - lo) / span, nan=0.0, posinf=1.0, neginf=0.0
    )
    return np.round(np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)


def finite_range(values: np.ndarray) -> tuple[float, float]:
    """Smallest and largest finite value (0, 1 if there is none)."""
    finite = np.asarray(values, np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def enlarge(rgb: np.ndarray, panel: Panel) -> Image.Image:
    """An ``(rows, cols, 3)`` array as an image, each value the size of ``panel``'s cells."""
    if panel.height_of_cell > 1:
        rgb = np.repeat(rgb, panel.height_of_cell, axis=0)
    if panel.cell > 1:
        rgb = np.repeat(rgb, panel.cell, axis=1)
    return Image.fromarray(np.ascontiguousarray(rgb), "RGB")
