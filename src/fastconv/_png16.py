"""PNG files with 16 bits per sample: a small codec for what Pillow reduces to 8 bits.

Pillow reads a PNG with 16-bit RGB or RGBA samples as 8-bit ``RGB``/``RGBA`` and cannot write
one; :mod:`fastconv.io` reads and writes those files here. The codec covers every PNG of bit
depth 16 (gray, gray + alpha, RGB, RGBA; interlaced or not) and nothing else:

- :func:`write_png16` writes the signature, ``IHDR``, ``IDAT`` chunks (zlib of the scanlines of
  big-endian samples, each with filter type 1 — Sub, one vectorised subtraction — deflated with
  the run-length strategy, which compressed filtered 16-bit samples as well as the default in
  a third of the time) and ``IEND``, with CRCs from :func:`zlib.crc32`.
- :func:`read_png16` checks every chunk's CRC, refuses an image above ``max_pixels`` from its
  ``IHDR`` before inflating anything, inflates the ``IDAT`` chunks into one buffer of the
  exact size, undoes the five scanline filters (:mod:`fastconv._numba.png`), scatters the seven
  Adam7 passes of an interlaced file, and returns native ``uint16``.

Specification: PNG (Third Edition), W3C, sections 5 (chunks), 7–9 (scanlines, filters,
interlacing), 11.2 (IHDR).
"""

from __future__ import annotations

import struct
import zlib
from typing import IO

import numpy as np

from ._numba.png import unfilter_scanlines

__all__ = ["PNGError", "PNGTooLargeError", "read_png16", "write_png16"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: channels -> PNG colour type, and back
COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}
CHANNELS = {t: c for c, t in COLOUR_TYPE.items()}
#: Adam7 passes: first column, first row, column step, row step
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2))  # fmt: skip
#: the largest chunk length and image side the format allows
MAX_LENGTH = 2**31 - 1
#: uncompressed bytes compressed per step while writing, and the size of a written IDAT
_BLOCK = 1 << 22
_IDAT_SIZE = 1 << 20


class PNGError(ValueError):
    """Not a valid 16-bit PNG (the message says what is wrong)."""


class PNGTooLargeError(PNGError):
    """The image has more pixels than the caller allows."""


# ------------------------------------------------------------------------------------ writing


def _chunk(fh: IO[bytes], kind: bytes, data: bytes | memoryview = b"") -> None:
    fh.write(struct.pack(">I", len(data)))
    fh.write(kind)
    fh.write(data)
    fh.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def _sub_filtered(rows: np.ndarray, bpp: int) -> np.ndarray:
    """``rows`` ``(n, L)`` of bytes as scanlines of filter type 1 (Sub: each byte minus the
    byte one pixel to its left, modulo 256), each with its filter type byte in front."""
    out = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
    out[:, 0] = 1
    out[:, 1 : 1 + bpp] = rows[:, :bpp]
    np.subtract(rows[:, bpp:], rows[:, :-bpp], out=out[:, 1 + bpp :])  # wraps modulo 256
    return out


def write_png16(fh: IO[bytes], image: np.ndarray, *, level: int = 6) -> None:
    """Write ``image`` to the binary file ``fh`` as a 16-bit PNG.

    ``image`` is ``(H, W)`` gray, or ``(H, W, C)`` with C = 2 (gray + alpha), 3 (RGB) or
    4 (RGBA); ``uint16``; H and W from 1 to 2**31 - 1 (checked by the caller). ``level`` is
    zlib's compression level (with run-length matching it changes little).
    """
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    bpp = 2 * channels
    row_bytes = width * bpp
    fh.write(SIGNATURE)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, COLOUR_TYPE[channels], 0, 0, 0)
    _chunk(fh, b"IHDR", ihdr)
    compressor = zlib.compressobj(level, zlib.DEFLATED, 15, 8, zlib.Z_RLE)
    pending: list[bytes] = []
    size = 0
    step = max(1, _BLOCK // row_bytes)
    for y in range(0, height, step):
        block = image[y : y + step].astype(">u2").reshape(-1, row_bytes // 2).view(np.uint8)
        data = compressor.compress(_sub_filtered(block, bpp))
        pending.append(data)
        size += len(data)
        if size >= _IDAT_SIZE:
            _chunk(fh, b"IDAT", b"".join(pending))
            pending, size = [], 0
    pending.append(compressor.flush())
    _chunk(fh, b"IDAT", b"".join(pending))
    _chunk(fh, b"IEND")


# ------------------------------------------------------------------------------------ reading


def _read(fh: IO[bytes], n: int, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise PNGError(f"the file ends inside {what} (expected {n} bytes, got {len(data)})")
    return data


def _next_chunk(fh: IO[bytes]) -> tuple[bytes, bytes]:
    """The next chunk's type and data, its CRC checked."""
    length, kind = struct.unpack(">I4s", _read(fh, 8, "a chunk header"))
    name = kind.decode("latin-1")
    if length > MAX_LENGTH:
        raise PNGError(f"expected a chunk length of at most 2**31 - 1, got {length} ({name})")
    data = _read(fh, length, f"the {name} chunk")
    (crc,) = struct.unpack(">I", _read(fh, 4, f"the CRC of the {name} chunk"))
    if crc != zlib.crc32(data, zlib.crc32(kind)):
        raise PNGError(f"the CRC of the {name} chunk does not match its content")
    return kind, data


def _header(data: bytes) -> tuple[int, int, int, int]:
    """``(width, height, channels, interlace)`` from the IHDR chunk's data."""
    if len(data) != 13:
        raise PNGError(f"expected an IHDR chunk of 13 bytes, got {len(data)}")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", data
    )
    if not (0 < width <= MAX_LENGTH and 0 < height <= MAX_LENGTH):
        raise PNGError(f"expected a width and height from 1 to 2**31 - 1, got {width}x{height}")
    if depth != 16 or colour not in CHANNELS:
        raise PNGError(
            f"expected bit depth 16 with colour type 0, 2, 4 or 6, got bit depth {depth}, "
            f"colour type {colour}"
        )
    if compression != 0 or filtering != 0 or interlace not in (0, 1):
        raise PNGError(
            f"expected compression method 0, filter method 0 and interlace method 0 or 1, got "
            f"{compression}, {filtering} and {interlace}"
        )
    return width, height, CHANNELS[colour], interlace


def _passes(width: int, height: int, interlace: int) -> list[tuple[int, int, int, int, int, int]]:
    """``(x0, y0, dx, dy, pass width, pass height)`` of each non-empty pass."""
    grid = ADAM7 if interlace else ((0, 0, 1, 1),)
    out = []
    for x0, y0, dx, dy in grid:
        w = (width - x0 + dx - 1) // dx if width > x0 else 0
        h = (height - y0 + dy - 1) // dy if height > y0 else 0
        if w and h:
            out.append((x0, y0, dx, dy, w, h))
    return out


def read_png16(fh: IO[bytes], *, max_pixels: int | None = None) -> tuple[np.ndarray, bytes | None]:
    """Read a 16-bit PNG from the binary file ``fh``.

    Returns
    -------
    (ndarray, bytes or None)
        The image, native ``uint16``: ``(H, W)`` gray, ``(H, W, 2)`` gray + alpha,
        ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA; and the content of the ``eXIf`` chunk, if any.

    Raises
    ------
    PNGTooLargeError
        ``max_pixels`` is given and the image has more pixels (checked before inflating).
    PNGError
        Not a PNG, not of bit depth 16, a bad CRC, missing or damaged image data.
    """
    if fh.read(8) != SIGNATURE:
        raise PNGError("expected the PNG signature at the start of the file")
    kind, data = _next_chunk(fh)
    if kind != b"IHDR":
        raise PNGError(f"expected the IHDR chunk first, got {kind.decode('latin-1')}")
    width, height, channels, interlace = _header(data)
    if max_pixels is not None and width * height > max_pixels:
        raise PNGTooLargeError(
            f"{width}x{height} = {width * height} pixels is more than {max_pixels}"
        )
    passes = _passes(width, height, interlace)
    buffer = np.empty(sum(h * (1 + w * 2 * channels) for *_, w, h in passes), np.uint8)
    filled = 0
    inflater = zlib.decompressobj()
    exif: bytes | None = None
    idat = "before"  # before, in, after the IDAT chunks
    while True:
        kind, data = _next_chunk(fh)
        if kind == b"IDAT":
            if idat == "after":
                raise PNGError("expected the IDAT chunks to follow each other")
            idat = "in"
            room = buffer.size - filled
            if room:
                try:
                    out = inflater.decompress(data, room)
                except zlib.error as exc:
                    raise PNGError(f"the image data cannot be inflated: {exc}") from None
                buffer[filled : filled + len(out)] = np.frombuffer(out, np.uint8)
                filled += len(out)
            continue
        if idat == "in":
            idat = "after"
        if kind == b"IEND":
            break
        if kind == b"eXIf":
            exif = data
        elif kind == b"IHDR" or (kind[0] & 0x20 == 0 and kind != b"PLTE"):
            raise PNGError(f"unexpected critical chunk {kind.decode('latin-1')}")
    if filled != buffer.size:
        raise PNGError(
            f"the image data holds {filled} bytes after inflating, expected {buffer.size}"
        )
    image = np.empty((height, width, channels), np.uint16)
    start = 0
    for x0, y0, dx, dy, w, h in passes:
        rows = buffer[start : start + h * (1 + w * 2 * channels)].reshape(h, -1)
        start += rows.size
        filters = rows[:, 0]
        if filters.max() > 4:
            bad = filters[filters > 4][0]
            raise PNGError(f"expected scanline filter types 0 to 4, got {bad}")
        unfilter_scanlines(rows, 2 * channels)
        image[y0::dy, x0::dx] = rows[:, 1:].view(">u2").reshape(h, w, channels)
    return (image[..., 0] if channels == 1 else image), exif
