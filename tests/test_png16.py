"""The 16-bit PNG codec: round trips, files built here row by row with each of the five
scanline filters and with Adam7 interlacing (checked against Pillow's own decoder, which reads
their top 8 bits), files written by OpenCV, and damaged files."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from fastconv import _png16
from fastconv._png16 import PNGError, PNGTooLargeError, read_png16, write_png16

try:
    import cv2

    HAVE_CV2 = True
except ImportError:
    HAVE_CV2 = False

SIGNATURE = b"\x89PNG\r\n\x1a\n"
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]  # fmt: skip


# ------------------------------------------------------------ a PNG encoder, plainly written


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(kind: int, row: bytes, prev: bytes, bpp: int) -> bytes:
    """One scanline with filter ``kind``, as the PNG specification defines it (section 9.2)."""
    out = bytearray([kind])
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out.append((x - pred) % 256)
    return bytes(out)


def scanlines(image: np.ndarray, filters) -> bytes:
    """The filtered scanlines of ``(h, w, c)`` uint16; row ``y`` gets ``filters[y % len]``."""
    h, _, c = image.shape
    rows = image.astype(">u2").reshape(h, -1).view(np.uint8)
    prev = bytes(rows.shape[1])
    out = b""
    for y in range(h):
        row = rows[y].tobytes()
        out += filter_row(filters[y % len(filters)], row, prev, 2 * c)
        prev = row
    return out


def build_png(
    image: np.ndarray, filters=(0,), *, interlace: bool = False, extra: bytes = b""
) -> bytes:
    """A 16-bit PNG of ``image`` ((h, w) or (h, w, c)), its data split over three IDATs;
    ``extra`` chunks go between the last IDAT and IEND."""
    image = image[..., None] if image.ndim == 2 else image
    h, w, c = image.shape
    if interlace:
        raw = b"".join(
            scanlines(image[y0::dy, x0::dx], filters)
            for x0, y0, dx, dy in ADAM7
            if image[y0::dy, x0::dx].size
        )
    else:
        raw = scanlines(image, filters)
    data = zlib.compress(raw)
    third = len(data) // 3 + 1
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    return (
        SIGNATURE
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour, 0, 0, int(interlace)))
        + b"".join(chunk(b"IDAT", data[i : i + third]) for i in range(0, len(data), third))
        + extra
        + chunk(b"IEND", b"")
    )


def chunk_types(data: bytes) -> list[bytes]:
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        out.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return out


def filter_types(data: bytes, shape: tuple[int, int, int]) -> set[int]:
    """The scanline filter types in a non-interlaced PNG of ``shape``."""
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(shape[0], -1)
    return set(rows[:, 0].tolist())


def pillow_view(data: bytes) -> np.ndarray:
    """What Pillow's own decoder reads: 16-bit gray exactly, everything else as top 8 bits
    (gray + alpha opens as RGBA)."""
    with Image.open(io.BytesIO(data)) as im:
        a = np.asarray(im)
        if data[25] == 4:  # colour type gray + alpha
            return a[..., [0, 3]]
    return a if a.ndim == 3 else a[..., None]


def expected_by_pillow(image: np.ndarray) -> np.ndarray:
    image = image[..., None] if image.ndim == 2 else image
    return image if image.shape[2] == 1 else (image >> 8).astype(np.uint8)


def read(data: bytes, **kwargs) -> np.ndarray:
    image, _ = read_png16(io.BytesIO(data), **kwargs)
    return image


def picture(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Random samples with the extremes in the first pixels."""
    a = np.random.default_rng(seed).integers(0, 65536, shape).astype(np.uint16)
    a.reshape(-1)[:4] = (0, 65535, 255, 256)[: a.size]
    return a


# ---------------------------------------------------------------------------------- writing

SHAPES = [(1, 1), (3, 5), (17, 9), (1, 1, 2), (4, 3, 2), (1, 1, 3), (5, 8, 3), (2, 1, 4), (9, 7, 4)]


@pytest.mark.parametrize("shape", SHAPES)
def test_round_trip_is_exact(shape) -> None:
    image = picture(shape)
    fh = io.BytesIO()
    write_png16(fh, image)
    back, exif = read_png16(io.BytesIO(fh.getvalue()))
    assert back.dtype == np.uint16 and back.shape == shape and exif is None
    np.testing.assert_array_equal(back, image)
    # an independent decoder reads the same file: Pillow, at its 8 bits for all but gray
    np.testing.assert_array_equal(pillow_view(fh.getvalue()), expected_by_pillow(image))


def test_written_file_layout(monkeypatch) -> None:
    """Signature, IHDR, many IDATs when the image is large (here: small blocks), IEND; big-endian
    samples in Sub-filtered scanlines; non-contiguous input."""
    monkeypatch.setattr(_png16, "_BLOCK", 100)
    monkeypatch.setattr(_png16, "_IDAT_SIZE", 50)
    image = picture((300, 200, 4), seed=1)[:, ::-1]  # a view with negative strides
    fh = io.BytesIO()
    write_png16(fh, image)
    data = fh.getvalue()
    assert data[:8] == SIGNATURE
    kinds = chunk_types(data)
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and kinds.count(b"IDAT") > 3
    assert set(kinds[1:-1]) == {b"IDAT"}
    assert data[16:29] == struct.pack(">IIBBBBB", 200, 300, 16, 6, 0, 0, 0)
    assert filter_types(data, image.shape) == {1}
    np.testing.assert_array_equal(read(data), image)


# ---------------------------------------------------------------------------------- reading


@pytest.mark.jitless
@pytest.mark.parametrize("filters", [(0,), (1,), (2,), (3,), (4,), (4, 0, 3, 1, 2, 3, 4)])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_each_scanline_filter_is_undone(filters, channels: int) -> None:
    image = picture((7, 6, channels), seed=channels)
    image[3:5] = image[2:4] // 2 + 7  # some rows close to the ones above
    data = build_png(image, filters)
    assert filter_types(data, image.shape) == set(filters)
    np.testing.assert_array_equal(pillow_view(data), expected_by_pillow(image))  # file is right
    np.testing.assert_array_equal(read(data), image[..., 0] if channels == 1 else image)


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 4), (5, 1, 3), (9, 7, 3), (17, 13, 4)])
def test_interlaced_files_are_read(shape) -> None:
    image = picture(shape, seed=sum(shape))
    data = build_png(image, (0, 1, 2, 3, 4), interlace=True)
    np.testing.assert_array_equal(pillow_view(data), expected_by_pillow(image))
    np.testing.assert_array_equal(read(data), image)


def test_exif_chunk_is_returned_wherever_it_is() -> None:
    image = picture((2, 3, 3))
    exif = b"MM\x00*\x00\x00\x00\x08\x00\x00"
    _, found = read_png16(io.BytesIO(build_png(image, extra=chunk(b"eXIf", exif))))
    assert found == exif


def test_ancillary_and_palette_chunks_are_skipped() -> None:
    image = picture((3, 4, 3))
    extra = chunk(b"tEXt", b"Comment\x00hello") + chunk(b"PLTE", bytes(6))
    np.testing.assert_array_equal(read(build_png(image, extra=extra)), image)


@pytest.mark.skipif(not HAVE_CV2, reason="needs OpenCV to write the files")
@pytest.mark.parametrize("channels", [3, 4])
def test_files_written_by_opencv(tmp_path, channels: int) -> None:
    """libpng's adaptive filtering picks a filter per row: photographs and flat areas."""
    y, x = np.mgrid[0:64, 0:80]
    smooth = np.stack([y * 900 + x * 300, (x * y * 13) % 65536, 65535 - x * 800, y * 1000], -1)
    images = [smooth[..., :channels].astype(np.uint16), picture((33, 21, channels), seed=5)]
    seen: set[int] = set()
    for level in (1, 9):
        for i, image in enumerate(images):
            path = tmp_path / f"cv{level}-{i}.png"
            bgr = np.ascontiguousarray(image[..., [2, 1, 0, 3][:channels]])
            assert cv2.imwrite(str(path), bgr, [cv2.IMWRITE_PNG_COMPRESSION, level])
            data = path.read_bytes()
            seen |= filter_types(data, image.shape)
            np.testing.assert_array_equal(read(data), image)
    assert len(seen) > 1, seen


# ----------------------------------------------------------------------------------- errors


def test_pixel_limit_is_checked_before_inflating() -> None:
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 50, 40, 16, 2, 0, 0, 0))
    data = SIGNATURE + ihdr + chunk(b"IDAT", b"not zlib at all") + chunk(b"IEND", b"")
    with pytest.raises(PNGTooLargeError, match=r"50x40 = 2000 pixels is more than 1999"):
        read(data, max_pixels=1999)
    with pytest.raises(PNGError, match="cannot be inflated"):
        read(data, max_pixels=2000)


def _damaged(what: str) -> bytes:
    good = build_png(picture((6, 5, 3)), (4,))
    ihdr_end = 8 + 8 + 13 + 4
    if what == "signature":
        return b"\x89PNG\r\n\x1a\x00" + good[8:]
    if what == "crc":
        return good[:-20] + bytes([good[-20] ^ 1]) + good[-19:]  # inside the last IDAT
    if what == "truncated":
        return good[: len(good) // 2]
    if what == "no IEND":
        return good[:-12]
    if what == "IHDR not first":
        return SIGNATURE + chunk(b"tEXt", b"a\x00b") + good[8:]
    if what == "8 bits":
        return SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 6, 8, 2, 0, 0, 0))
    if what == "palette":
        return SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 6, 16, 3, 0, 0, 0))
    if what == "zero width":
        return SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 6, 16, 2, 0, 0, 0))
    if what == "interlace 2":
        return SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 6, 16, 2, 0, 0, 2))
    if what == "critical chunk":
        return good[:ihdr_end] + chunk(b"ABCD", b"") + good[ihdr_end:]
    if what == "IDAT apart":
        kinds_end = good.rindex(b"IDAT") - 4  # the last IDAT chunk's start
        return good[:kinds_end] + chunk(b"tEXt", b"a\x00b") + good[kinds_end:]
    if what == "short data":
        return build_png(picture((6, 5, 3)))[:ihdr_end] + chunk(
            b"IDAT", zlib.compress(bytes(10))
        ) + chunk(b"IEND", b"")  # fmt: skip
    if what == "filter 5":
        raw = bytearray(zlib.decompress(zlib.compress(scanlines(picture((6, 5, 3)), (0,)))))
        raw[31] = 5  # the second row's filter type
        return good[:ihdr_end] + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")
    raise AssertionError(what)


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("signature", "expected the PNG signature"),
        ("crc", "the CRC of the IDAT chunk does not match its content"),
        ("truncated", "the file ends inside"),
        ("no IEND", r"the file ends inside a chunk header \(expected 8 bytes, got 0\)"),
        ("IHDR not first", "expected the IHDR chunk first, got tEXt"),
        ("8 bits", "expected bit depth 16 with colour type 0, 2, 4 or 6, got bit depth 8"),
        ("palette", "got bit depth 16, colour type 3"),
        ("zero width", "expected a width and height from 1 to 2\\*\\*31 - 1, got 0x6"),
        ("interlace 2", "interlace method 0 or 1, got 0, 0 and 2"),
        ("critical chunk", "unexpected critical chunk ABCD"),
        ("IDAT apart", "expected the IDAT chunks to follow each other"),
        ("short data", r"holds 10 bytes after inflating, expected 186"),
        ("filter 5", "expected scanline filter types 0 to 4, got 5"),
    ],
)
def test_damaged_files_are_refused(what: str, message: str) -> None:
    with pytest.raises(PNGError, match=message):
        read(_damaged(what))
    assert issubclass(PNGError, ValueError)
