"""Image files: round trips for every format and bit depth, modes, EXIF orientation, the
decompression-bomb limit, and the guarantees of write_image (atomic, never clobbering).
16-bit colour needs no OpenCV; where OpenCV is installed, files are exchanged with it."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps, PngImagePlugin

from fastconv.io import ImageFormatError, ImageTooLargeError, read_image, write_image

try:
    import cv2

    HAVE_CV2 = True
except ImportError:
    HAVE_CV2 = False

needs_cv2 = pytest.mark.skipif(not HAVE_CV2, reason="OpenCV (an optional peer) is not installed")


def smooth(shape: tuple[int, ...], dtype=np.uint8, seed: int = 0) -> np.ndarray:
    """A smooth random picture (gradients plus a little noise): JPEG keeps it well."""
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    y, x = np.meshgrid(np.linspace(0, 1, shape[0]), np.linspace(0, 1, shape[1]), indexing="ij")
    base = (0.5 + 0.25 * np.sin(6 * x) * np.cos(4 * y)) * top
    if len(shape) == 3:
        base = base[..., None] * np.linspace(0.6, 1.0, shape[2])
    noise = rng.integers(-2, 3, shape) * (top // 255)
    return np.clip(base + noise, 0, top).astype(dtype)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -------------------------------------------------------------------------------- round trips

LOSSLESS = [
    ("png", (9, 7)),
    ("png", (9, 7, 2)),
    ("png", (9, 7, 3)),
    ("png", (9, 7, 4)),
    ("tif", (9, 7)),
    ("tiff", (9, 7, 2)),
    ("tif", (9, 7, 3)),
    ("tif", (9, 7, 4)),
    ("bmp", (9, 7)),
    ("bmp", (9, 7, 3)),
    ("webp", (9, 7, 3)),
    ("webp", (9, 7, 4)),
]


@pytest.mark.parametrize(("suffix", "shape"), LOSSLESS)
def test_8bit_round_trip_is_exact(tmp_path: Path, suffix: str, shape) -> None:
    image = np.random.default_rng(1).integers(0, 256, shape).astype(np.uint8)
    path = tmp_path / f"image.{suffix}"
    write_image(path, image)
    back = read_image(path)
    assert back.dtype == np.uint8 and back.flags.c_contiguous
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("suffix", ["png", "tif"])
def test_16bit_gray_round_trip_is_exact(tmp_path: Path, suffix: str) -> None:
    image = np.random.default_rng(2).integers(0, 65536, (6, 11)).astype(np.uint16)
    image[0, :3] = (0, 255, 65535)
    write_image(tmp_path / f"g16.{suffix}", image)
    back = read_image(tmp_path / f"g16.{suffix}")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("suffix", ["png", "tif"])
@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_round_trip_is_exact(tmp_path: Path, suffix: str, channels: int) -> None:
    image = np.random.default_rng(3).integers(0, 65536, (5, 8, channels)).astype(np.uint16)
    image[0, 0] = (1, 2, 3, 4)[:channels]  # channel order
    write_image(tmp_path / f"c16.{suffix}", image)
    back = read_image(tmp_path / f"c16.{suffix}")
    assert back.dtype == np.uint16 and back.flags.c_contiguous
    np.testing.assert_array_equal(back, image)
    eight = read_image(tmp_path / f"c16.{suffix}", mode="RGB")  # Pillow's 8 bits, on request
    assert eight.dtype == np.uint8 and eight.shape == (5, 8, 3)
    np.testing.assert_array_equal(eight, image[..., :3] >> 8)  # the file holds what it should


def test_16bit_colour_png_needs_no_second_decode_by_pillow(tmp_path: Path, monkeypatch) -> None:
    """The orientation of a 16-bit colour PNG comes from its eXIf chunk wherever it is, found by
    fastconv's codec: Pillow does not decode the pixels again to look for it."""
    image = np.random.default_rng(8).integers(0, 65536, (4, 6, 3)).astype(np.uint16)
    write_image(tmp_path / "plain.png", image)
    data = (tmp_path / "plain.png").read_bytes()
    exif = Image.Exif()
    exif[0x0112] = 6
    payload = exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif") else exif.tobytes()
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + payload))
    (tmp_path / "rotated.png").write_bytes(data[:-12] + chunk + data[-12:])  # after the IDAT

    def no_load(self):
        raise AssertionError("Pillow decoded the pixels")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_load)
    np.testing.assert_array_equal(read_image(tmp_path / "plain.png"), image)
    np.testing.assert_array_equal(read_image(tmp_path / "rotated.png"), np.rot90(image, -1))
    monkeypatch.undo()
    with Image.open(tmp_path / "rotated.png") as im:  # Pillow agrees on the orientation
        expected = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(read_image(tmp_path / "rotated.png") >> 8, expected)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_16bit_colour_tiff_orientation_tag_is_applied(tmp_path: Path, orientation) -> None:
    image = np.random.default_rng(9).integers(0, 65536, (4, 6, 3)).astype(np.uint16)
    path = tmp_path / "oriented.tif"
    tifffile.imwrite(path, image, photometric="rgb", extratags=[(274, "H", 1, orientation)])
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im))  # Pillow's 8 bits, turned
    back = read_image(path)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back >> 8, expected)


@pytest.mark.parametrize(
    "options",
    [
        {"byteorder": ">"},
        {"compression": None},
        {"compression": "zlib", "predictor": True, "rowsperstrip": 2},
        {"tile": (16, 16)},
    ],
)
def test_16bit_colour_tiff_layouts(tmp_path: Path, options) -> None:
    image = np.random.default_rng(10).integers(0, 65536, (20, 17, 3)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "x.tif", image, photometric="rgb", metadata=None, **options)
    back = read_image(tmp_path / "x.tif")
    assert back.dtype == np.uint16 and back.flags.c_contiguous
    np.testing.assert_array_equal(back, image)


def test_16bit_colour_tiff_without_its_codec_says_what_to_install(tmp_path: Path) -> None:
    path = tmp_path / "lzw.tif"
    image = np.zeros((4, 5, 3), np.uint16)
    tifffile.imwrite(path, image, photometric="rgb", compression=None, metadata=None)
    with tifffile.TiffFile(path, mode="r+b") as tif:  # claim LZW, which needs imagecodecs
        tif.pages[0].tags["Compression"].overwrite(5)
    try:
        import imagecodecs  # noqa: F401
    except ImportError:
        with pytest.raises(ImageFormatError, match=r"lzw\.tif' has 16-bit colour compressed as "
                           r"LZW, .* imagecodecs installed .*; or pass mode='RGB'"):  # fmt: skip
            read_image(path)
    else:
        with pytest.raises(ImageFormatError, match=r"lzw\.tif' could not be decoded"):
            read_image(path)


def test_16bit_colour_limits_and_damage(tmp_path: Path, monkeypatch) -> None:
    write_image(tmp_path / "big.png", np.zeros((40, 50, 3), np.uint16))
    write_image(tmp_path / "big.tif", np.zeros((40, 50, 4), np.uint16))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    for name in ("big.png", "big.tif"):
        with pytest.raises(ImageTooLargeError, match=r"decompression-bomb limit of 1000 pixels"):
            read_image(tmp_path / name)
    monkeypatch.undo()
    cut = tmp_path / "cut.png"
    write_image(cut, np.random.default_rng(11).integers(0, 65536, (64, 64, 3)).astype(np.uint16))
    cut.write_bytes(cut.read_bytes()[:300])
    with pytest.raises(ImageFormatError, match=r"cut\.png' could not be decoded: the file ends"):
        read_image(cut)


@needs_cv2
@pytest.mark.parametrize("suffix", ["png", "tif"])
@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_files_are_exchanged_with_opencv(tmp_path, suffix, channels) -> None:
    y, x = np.mgrid[0:30, 0:41]
    image = np.stack([y * 2000, x * 1500, (x * y * 37) % 65536, 65535 - y * 900], -1)
    image = image[..., :channels].astype(np.uint16)
    image[0, 0] = (1, 2, 3, 4)[:channels]
    bgr = np.ascontiguousarray(image[..., [2, 1, 0, 3][:channels]])
    assert cv2.imwrite(str(tmp_path / f"by-cv2.{suffix}"), bgr)  # its TIFF is LZW
    if suffix == "png":
        np.testing.assert_array_equal(read_image(tmp_path / "by-cv2.png"), image)
    write_image(tmp_path / f"by-us.{suffix}", image)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / f"by-us.{suffix}"), -1), bgr)


def test_float32_tiff_round_trip(tmp_path: Path) -> None:
    image = np.random.default_rng(4).standard_normal((4, 6)).astype(np.float32)
    write_image(tmp_path / "f.tif", image)
    np.testing.assert_array_equal(read_image(tmp_path / "f.tif"), image)


@pytest.mark.parametrize("shape", [(32, 24), (32, 24, 3)])
def test_jpeg_round_trip_is_close(tmp_path: Path, shape) -> None:
    image = smooth(shape)
    write_image(tmp_path / "photo.jpg", image)
    back = read_image(tmp_path / "photo.jpg")
    assert back.shape == image.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - image).mean() < 2.0  # quality 95


def test_webp_gray_reads_back_as_rgb(tmp_path: Path) -> None:
    image = np.random.default_rng(5).integers(0, 256, (6, 5)).astype(np.uint8)
    write_image(tmp_path / "g.webp", image)  # WebP stores colour only
    back = read_image(tmp_path / "g.webp")
    assert back.shape == (6, 5, 3)
    np.testing.assert_array_equal(back, np.repeat(image[..., None], 3, axis=2))
    np.testing.assert_array_equal(read_image(tmp_path / "g.webp", mode="L"), image)


def test_bool_and_single_channel_arrays_are_written_as_gray(tmp_path: Path) -> None:
    write_image(tmp_path / "mask.png", np.eye(3, dtype=bool))
    np.testing.assert_array_equal(read_image(tmp_path / "mask.png"), np.eye(3) * 255)
    write_image(tmp_path / "one.png", np.full((2, 2, 1), 9, np.uint8))
    np.testing.assert_array_equal(read_image(tmp_path / "one.png"), np.full((2, 2), 9))


# ------------------------------------------------------------------------------------ modes


def test_modes_convert_like_pillow(tmp_path: Path) -> None:
    rgba = np.random.default_rng(6).integers(0, 256, (5, 6, 4)).astype(np.uint8)
    write_image(tmp_path / "rgba.png", rgba)
    pil = Image.fromarray(rgba, mode="RGBA")
    for mode in ("L", "LA", "RGB", "RGBA"):
        np.testing.assert_array_equal(read_image(tmp_path / "rgba.png", mode=mode),
                                      np.asarray(pil.convert(mode)))  # fmt: skip


def test_16bit_to_8bit_scales_by_257(tmp_path: Path) -> None:
    write_image(tmp_path / "g16.png", np.array([[0, 257, 65535, 385]], np.uint16))
    np.testing.assert_array_equal(read_image(tmp_path / "g16.png", mode="L"), [[0, 1, 255, 1]])
    assert read_image(tmp_path / "g16.png", mode="RGB").shape == (1, 4, 3)


def test_palette_bilevel_and_cmyk_files(tmp_path: Path) -> None:
    rgb = np.random.default_rng(7).integers(0, 256, (4, 5, 3)).astype(np.uint8)
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    palette.save(tmp_path / "p.png")
    np.testing.assert_array_equal(
        read_image(tmp_path / "p.png"), np.asarray(palette.convert("RGB"))
    )
    palette.info["transparency"] = 0
    palette.save(tmp_path / "pt.png", transparency=0)
    assert read_image(tmp_path / "pt.png").shape == (4, 5, 4)
    Image.fromarray(np.eye(4, dtype=bool)).save(tmp_path / "b.png")
    np.testing.assert_array_equal(read_image(tmp_path / "b.png"), np.eye(4) * 255)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.tif")
    assert read_image(tmp_path / "c.tif").shape == (4, 5, 3)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    image = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3) * 2
    pil = Image.fromarray(image)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "oriented.png"
    pil.save(path, exif=exif)  # PNG keeps the exact pixels, and EXIF
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    np.testing.assert_array_equal(read_image(path), expected)


# ------------------------------------------------------------------------------ read errors


def test_decompression_bomb_limit_is_kept(tmp_path: Path, monkeypatch) -> None:
    write_image(tmp_path / "big.png", np.zeros((40, 50), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 2000 pixels: above the limit
    with pytest.raises(ImageTooLargeError, match=r"big\.png' is larger than Pillow's "
                       r"decompression-bomb limit of 1000 pixels"):  # fmt: skip
        read_image(tmp_path / "big.png")
    assert issubclass(ImageTooLargeError, ValueError)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    assert read_image(tmp_path / "big.png").shape == (40, 50)


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ImageFormatError, match=r"notes\.png' is not an image Pillow can read"):
        read_image(tmp_path / "notes.png")
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "missing.png")
    good = tmp_path / "cut.png"
    write_image(good, smooth((64, 64, 3)))
    good.write_bytes(good.read_bytes()[:200])  # truncated pixel data
    with pytest.raises(ImageFormatError, match=r"cut\.png' could not be decoded"):
        read_image(good)
    with pytest.raises(ValueError, match=r"read_image: expected mode to be None or one of"):
        read_image(tmp_path / "cut.png", mode="CMYK")


# ----------------------------------------------------------------------------- write guards


def test_existing_files_are_never_replaced_without_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "keep.png"
    write_image(path, np.zeros((3, 3), np.uint8))
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match=r"keep\.png' exists; pass overwrite=True"):
        write_image(path, np.ones((3, 3), np.uint8))
    assert path.read_bytes() == before
    write_image(path, np.ones((3, 3), np.uint8), overwrite=True)
    np.testing.assert_array_equal(read_image(path), np.ones((3, 3)))
    assert files(tmp_path) == ["keep.png"]  # no temporary file left behind


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "old.png"
    write_image(path, np.zeros((3, 3), np.uint8))
    before = path.read_bytes()

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_image(path, np.ones((3, 3), np.uint8), overwrite=True)
    with pytest.raises(OSError, match="disk full"):
        write_image(tmp_path / "new.png", np.ones((3, 3), np.uint8))
    assert path.read_bytes() == before
    assert files(tmp_path) == ["old.png"]


def test_the_file_appears_complete_under_its_final_name(tmp_path: Path, monkeypatch) -> None:
    """The temporary file lives in the same folder and is renamed (or linked) into place."""
    seen: list[tuple[str, str]] = []
    real_link, real_replace = os.link, os.replace
    monkeypatch.setattr(os, "link", lambda a, b: (seen.append((a, b)), real_link(a, b))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (seen.append((a, b)), real_replace(a, b))[1])
    write_image(tmp_path / "a.png", np.zeros((2, 2), np.uint8))
    write_image(tmp_path / "a.png", np.zeros((2, 2), np.uint8), overwrite=True)
    assert [Path(b).name for _, b in seen] == ["a.png", "a.png"]
    assert all(Path(a).parent == tmp_path and Path(a).name.startswith(".a.png.") for a, _ in seen)


@pytest.mark.parametrize(
    ("name", "array", "message"),
    [
        ("x.gif", np.zeros((2, 2), np.uint8), r"expected a file name ending in \.png, "),
        ("x.jpg", np.zeros((2, 2, 4), np.uint8), r"JPEG holds no alpha"),
        ("x.bmp", np.zeros((2, 2, 4), np.uint8), r"BMP keeps no alpha"),
        ("x.jpg", np.zeros((2, 2), np.uint16), r"16-bit samples need PNG or TIFF"),
        ("x.png", np.zeros((2, 2), np.float64), r"expected a uint8 or uint16 array .* float64"),
        ("x.png", np.zeros((2, 2), np.float32), r"float32 images need a TIFF file name"),
        ("x.png", np.zeros((2, 2, 5), np.uint8), r"expected an \(H, W\) grayscale .* \(2, 2, 5\)"),
        ("x.png", np.zeros((0, 2), np.uint8), r"expected a non-empty image"),
        ("x.png", np.zeros((2, 2, 2), np.uint16), r"16-bit gray \+ alpha cannot be written"),
        ("x.tif", np.zeros((2, 2, 2), np.uint16), r"16-bit gray \+ alpha cannot be written"),
    ],
)
def test_unwritable_arrays_and_names(tmp_path: Path, name, array, message) -> None:
    with pytest.raises(ImageFormatError, match=r"^write_image: .*" + message):
        write_image(tmp_path / name, array)
    assert files(tmp_path) == []


def test_missing_folder_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_image(tmp_path / "no" / "such" / "x.png", np.zeros((2, 2), np.uint8))
