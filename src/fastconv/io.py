"""Image files: read them into NumPy arrays and write arrays back.

:func:`read_image` returns ``(H, W)`` grayscale, ``(H, W, 2)`` gray + alpha, ``(H, W, 3)`` RGB
or ``(H, W, 4)`` RGBA arrays, ``uint8``, or ``uint16`` for 16-bit files, from PNG, JPEG, TIFF,
BMP and WebP, turned upright by the EXIF orientation. Pillow's decompression-bomb limit
(``PIL.Image.MAX_IMAGE_PIXELS``) is kept: a larger image raises :class:`ImageTooLargeError`.

:func:`write_image` writes PNG or TIFF (also BMP, JPEG, WebP) chosen by the file's suffix,
atomically (a temporary file in the same folder, then a rename, so a reader never sees half a
file and a failed write leaves nothing behind), and never replaces an existing file unless
``overwrite=True``.

Who handles what: Pillow opens every file — format, size (so the bomb limit is checked before
any pixel is decoded), mode and EXIF orientation — and decodes and encodes everything it holds
exactly. Pillow keeps at most 8 bits per *colour* channel, so the pixels of 16-bit RGB and RGBA
files go elsewhere: PNG through fastconv's own codec (:mod:`fastconv._png16`, which also hands
Pillow an ``eXIf`` chunk found after the image data), TIFF through ``tifffile``. 16-bit
grayscale needs Pillow only. Writing goes through :func:`fastconv._files.atomic_write`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from . import _png16
from ._files import atomic_write

__all__ = ["ImageFormatError", "ImageTooLargeError", "read_image", "write_image"]

#: suffix -> Pillow format name
FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
}
#: formats that hold 16-bit samples
SIXTEEN_BIT = ("PNG", "TIFF")
READ_MODES = ("L", "LA", "RGB", "RGBA")
#: Pillow's save options per format
_SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 95},
    "WEBP": {"lossless": True},
    "TIFF": {"compression": "tiff_deflate"},
}
#: EXIF tag of the orientation
_ORIENTATION = 0x0112


class ImageTooLargeError(ValueError):
    """An image has more pixels than Pillow's decompression-bomb limit allows."""


class ImageFormatError(ValueError):
    """A file is not an image fastconv can read, or an array not one it can write there."""


def _upright(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1–8) to ``(H, W, ...)``, as ``ImageOps.exif_transpose``."""
    if orientation == 2:
        a = a[:, ::-1]
    elif orientation == 3:
        a = a[::-1, ::-1]
    elif orientation == 4:
        a = a[::-1]
    elif orientation == 5:
        a = a.swapaxes(0, 1)
    elif orientation == 6:
        a = np.rot90(a, -1)
    elif orientation == 7:
        a = a[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:
        a = np.rot90(a, 1)
    return np.ascontiguousarray(a)


def _open(path: Path) -> Image.Image:
    """Open lazily (header only), turning Pillow's bomb and format errors into ours."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        limit = Image.MAX_IMAGE_PIXELS
        raise ImageTooLargeError(
            f"read_image: {str(path)!r} is larger than Pillow's decompression-bomb limit of "
            f"{limit} pixels (PIL.Image.MAX_IMAGE_PIXELS; {exc})"
        ) from None
    except UnidentifiedImageError:
        raise ImageFormatError(
            f"read_image: {str(path)!r} is not an image Pillow can read (expected PNG, JPEG, "
            f"TIFF, BMP or WebP)"
        ) from None


def _is_16bit_colour(im: Image.Image) -> bool:
    """Pillow opened a 16-bit-per-sample colour file as 8-bit ``RGB``/``RGBA``."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    for tile in im.tile:
        args = tile.args if hasattr(tile, "args") else tile[3]
        raw = args[0] if isinstance(args, tuple) else args
        if isinstance(raw, str) and ";16" in raw:
            return True
    return False


def _read_16bit_colour(im: Image.Image, path: Path) -> np.ndarray:
    """The pixels of a 16-bit RGB(A) PNG or TIFF that Pillow opened (and would reduce to 8
    bits), ``(H, W, 3 or 4)`` native ``uint16``."""
    if im.format == "PNG":
        with open(path, "rb") as fh:
            try:
                a, exif = _png16.read_png16(fh, max_pixels=Image.MAX_IMAGE_PIXELS)
            except _png16.PNGTooLargeError as exc:  # Pillow's open checked this already
                raise ImageTooLargeError(
                    f"read_image: {str(path)!r} is larger than Pillow's decompression-bomb "
                    f"limit of {Image.MAX_IMAGE_PIXELS} pixels (PIL.Image.MAX_IMAGE_PIXELS; "
                    f"{exc})"
                ) from None
        # Pillow finds an eXIf chunk after the image data only by decoding the pixels again
        im.info.setdefault("exif", exif)
    elif im.format == "TIFF":
        a = _read_tiff16(path)
    else:
        raise ImageFormatError(f"read_image: {str(path)!r}: 16-bit colour {im.format} files "
                               "cannot be read; pass mode='RGB' to read 8 bits")  # fmt: skip
    if a.ndim != 3 or a.shape[2] != len(im.mode):
        raise ImageFormatError(
            f"read_image: {str(path)!r} holds {im.mode} pixels by its header, but its image "
            f"data has shape {a.shape}"
        )
    return a


def _read_tiff16(path: Path) -> np.ndarray:
    """The first page of a 16-bit RGB(A) TIFF, through tifffile."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        try:
            a = page.asarray()
        except ValueError as exc:
            if "imagecodecs" not in str(exc):
                raise
            raise ImageFormatError(
                f"read_image: {str(path)!r} has 16-bit colour compressed as "
                f"{getattr(page.compression, 'name', page.compression)}, which tifffile "
                "decodes only with imagecodecs installed (pip install imagecodecs); or pass "
                "mode='RGB' to read 8 bits through Pillow"
            ) from None
        axes = page.axes
    if axes != "YXS":
        raise ImageFormatError(
            f"read_image: expected the first page of {str(path)!r} to be one image with "
            f"samples per pixel, got axes {axes!r} of shape {a.shape}"
        )
    if a.dtype.kind != "u" or a.dtype.itemsize != 2:
        raise ImageFormatError(f"read_image: expected 16-bit samples in {str(path)!r}, got "
                               f"{a.dtype}")  # fmt: skip
    return np.ascontiguousarray(a, dtype=np.uint16)


def _to_array(im: Image.Image) -> np.ndarray:
    """The natural array of an opened image (see :func:`read_image`)."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(im).astype(np.uint16, copy=False)
    if mode == "I":  # 32-bit integers; 16-bit files open so in some Pillow versions
        a = np.asarray(im)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ImageFormatError(
                f"read_image: expected samples of at most 16 bits, got 32-bit integers from "
                f"{im.filename!r} (range {a.min()}..{a.max()})"
            )
        return a.astype(np.uint16)
    if mode == "F":
        return np.asarray(im, dtype=np.float32)
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(im)
    if mode == "1":
        return np.asarray(im.convert("L"))
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        return np.asarray(im.convert("RGBA" if has_alpha else "RGB"))
    if mode in ("La", "RGBa"):  # premultiplied alpha
        return np.asarray(im.convert(mode.upper()))
    return np.asarray(im.convert("RGB"))  # CMYK, YCbCr, LAB, HSV, RGBX


def _convert(a: np.ndarray, mode: str) -> np.ndarray:
    """Convert a natural array to ``mode`` (L, LA, RGB, RGBA), 16 bits scaled to 8 first."""
    if a.dtype == np.uint16:
        a = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif a.dtype != np.uint8:  # float32 'F'
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    natural = {2: "L", 3: "LA" if a.shape[-1] == 2 else "RGB" if a.shape[-1] == 3 else "RGBA"}
    current = natural[a.ndim] if a.ndim == 2 else natural[3]
    if current == mode:
        return a
    return np.asarray(Image.fromarray(a, mode=current).convert(mode))


def read_image(path: str | os.PathLike[str], *, mode: str | None = None) -> np.ndarray:
    """Read an image file into a NumPy array, upright.

    Parameters
    ----------
    path : str or path-like
        A PNG, JPEG, TIFF, BMP or WebP file (the content decides, not the suffix).
    mode : {None, "L", "LA", "RGB", "RGBA"}, optional
        ``None`` keeps the file's own layout: ``(H, W)`` grayscale (bilevel images as 0/255),
        ``(H, W, 2)`` gray + alpha, ``(H, W, 3)`` RGB (also from palette, CMYK, YCbCr files),
        ``(H, W, 4)`` RGBA (palettes with transparency too); ``uint8``, ``uint16`` for 16-bit
        samples, ``float32`` for floating-point TIFF. A mode converts to that layout in
        ``uint8`` (Pillow's conversions; 16-bit samples scaled to 8 bits first, ``"L"`` takes
        the luminance ``0.299 R + 0.587 G + 0.114 B`` and drops alpha).

    Returns
    -------
    ndarray
        C-contiguous, rows top to bottom after the EXIF orientation is applied.

    Raises
    ------
    FileNotFoundError, PermissionError, IsADirectoryError
        The file cannot be opened.
    ImageFormatError
        Not an image Pillow can read (a ``ValueError``).
    ImageTooLargeError
        More pixels than Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``;
        Pillow refuses twice that and warns above it — both are refused here). A ``ValueError``.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "ramp.png")
    >>> write_image(path, np.arange(12, dtype=np.uint8).reshape(3, 4) * 20)
    >>> read_image(path)
    array([[  0,  20,  40,  60],
           [ 80, 100, 120, 140],
           [160, 180, 200, 220]], dtype=uint8)
    >>> read_image(path, mode="RGB").shape
    (3, 4, 3)
    """
    if mode is not None and mode not in READ_MODES:
        raise ValueError(
            f"read_image: expected mode to be None or one of {', '.join(map(repr, READ_MODES))}, "
            f"got mode={mode!r}"
        )
    p = Path(os.fspath(path))
    with _open(p) as im:
        sixteen_bit_colour = _is_16bit_colour(im)  # before anything loads and drops the tiles
        try:
            if sixteen_bit_colour and mode is None:
                a = _read_16bit_colour(im, p)
            else:
                im.load()
                a = _to_array(im)
        except (OSError, SyntaxError, ValueError) as exc:
            if isinstance(exc, ImageFormatError | ImageTooLargeError):
                raise
            raise ImageFormatError(f"read_image: {str(p)!r} could not be decoded: {exc}") from None
        try:
            orientation = int(im.getexif().get(_ORIENTATION, 1))
        except Exception:  # a damaged EXIF block is no reason to refuse the pixels
            orientation = 1
    if mode is not None:
        a = _convert(a, mode)
    return _upright(a, orientation)


# -------------------------------------------------------------------------------- writing


def _pillow_image(a: np.ndarray, fmt: str, path: Path) -> Image.Image | None:
    """The Pillow image for ``a``, or ``None`` for 16-bit colour, which Pillow cannot hold."""
    where = f"write_image: {str(path)!r}"
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)):
        raise ImageFormatError(
            f"{where}: expected an (H, W) grayscale or (H, W, C) array with C in 2, 3, 4, got "
            f"array of shape {a.shape}"
        )
    if 0 in a.shape:
        raise ImageFormatError(f"{where}: expected a non-empty image, got shape {a.shape}")
    if a.dtype == np.uint8:
        mode = {2: "L", 3: None}[a.ndim] or {2: "LA", 3: "RGB", 4: "RGBA"}[a.shape[2]]
        if fmt == "JPEG" and mode in ("LA", "RGBA"):
            raise ImageFormatError(f"{where}: JPEG holds no alpha, got array of shape {a.shape}")
        if fmt == "BMP" and mode in ("LA", "RGBA"):
            raise ImageFormatError(f"{where}: BMP keeps no alpha, got array of shape {a.shape}")
        return Image.fromarray(a, mode=mode)
    if a.dtype == np.uint16:
        if fmt not in SIXTEEN_BIT:
            raise ImageFormatError(
                f"{where}: 16-bit samples need PNG or TIFF, got a {fmt} file name"
            )
        if a.ndim == 2:
            return Image.fromarray(a.astype("<u2", copy=False))  # mode I;16
        if a.shape[2] == 2:
            raise ImageFormatError(f"{where}: 16-bit gray + alpha cannot be written")
        return None
    if a.dtype == np.float32 and a.ndim == 2:
        if fmt != "TIFF":
            raise ImageFormatError(f"{where}: float32 images need a TIFF file name")
        return Image.fromarray(a, mode="F")
    raise ImageFormatError(
        f"{where}: expected a uint8 or uint16 array (or float32 grayscale for TIFF), got dtype "
        f"{a.dtype}; convert first, e.g. np.clip(x, 0, 255).astype(np.uint8)"
    )


def _write_16bit_colour(fh: Any, a: np.ndarray, fmt: str) -> None:
    """Write ``(H, W, 3 or 4)`` ``uint16`` as PNG (fastconv's codec) or TIFF (tifffile)."""
    if fmt == "PNG":
        _png16.write_png16(fh, a)
        return
    import tifffile

    tifffile.imwrite(
        fh,
        np.ascontiguousarray(a),
        photometric="rgb",
        extrasamples=("unassalpha",) if a.shape[2] == 4 else None,
        compression="zlib",  # deflate, as Pillow writes TIFF; with the horizontal predictor
        predictor=True,
        metadata=None,  # no tifffile JSON in the ImageDescription tag
    )


def write_image(path: str | os.PathLike[str], array: Any, *, overwrite: bool = False) -> None:
    """Write an array as an image file, atomically; the suffix picks the format.

    Parameters
    ----------
    path : str or path-like
        ``.png``, ``.tif``/``.tiff`` (also ``.bmp``, ``.jpg``/``.jpeg`` — lossy, quality 95 —
        and ``.webp``, written lossless). The folder must exist.
    array : array_like
        ``(H, W)`` grayscale, ``(H, W, 2)`` gray + alpha, ``(H, W, 3)`` RGB or ``(H, W, 4)``
        RGBA; ``uint8`` (bool as 0/255), ``uint16`` (PNG and TIFF; not gray + alpha), or
        ``float32`` grayscale (TIFF).
    overwrite : bool, default False
        Replace an existing file. Without it an existing ``path`` is never touched.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    ImageFormatError
        The suffix, shape or dtype cannot be written (a ``ValueError``).
    OSError
        The folder is missing or not writable.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "gray16.tif")
    >>> write_image(path, np.array([[0, 1000], [40000, 65535]], dtype=np.uint16))
    >>> read_image(path)
    array([[    0,  1000],
           [40000, 65535]], dtype=uint16)
    >>> write_image(path, np.zeros((2, 2), np.uint16))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileExistsError: write_image: ... exists; pass overwrite=True to replace it
    """
    p = Path(os.fspath(path))
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ImageFormatError(
            f"write_image: expected a file name ending in {', '.join(FORMATS)}, got {str(p)!r}"
        )
    if not isinstance(overwrite, bool | np.bool_):
        raise TypeError(
            f"write_image: expected overwrite to be True or False, got overwrite={overwrite!r}"
        )
    a = np.asarray(array)
    image = _pillow_image(a, fmt, p)
    if not overwrite and p.exists():
        raise FileExistsError(f"write_image: {str(p)!r} exists; pass overwrite=True to replace it")

    def write(fh: Any) -> None:
        if image is None:
            _write_16bit_colour(fh, a, fmt)
        else:
            image.save(fh, format=fmt, **_SAVE_OPTIONS.get(fmt, {}))

    try:
        atomic_write(p, write, overwrite=bool(overwrite))
    except FileExistsError:  # appeared while this was writing
        if overwrite:
            raise
        raise FileExistsError(
            f"write_image: {str(p)!r} exists; pass overwrite=True to replace it"
        ) from None
