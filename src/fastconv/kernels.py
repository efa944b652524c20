"""Named kernels, and the one text syntax that names a kernel or a matrix.

Every function returns a new float64 2-D array, to be used as a correlation kernel (the CNN
convention: ``fastconv.correlate`` and ``conv2d`` do not flip it; ``convolve`` does). Rows are
the image's y axis, pointing down; columns its x axis, pointing right. So ``sobel_x`` responds
positively where intensity grows to the right, ``sobel_y`` where it grows downwards.

The text syntax (:func:`parse`) is shared by the command line, configs and the examples:

============================  ==============================================================
``sobel-x``                   a named kernel at its default parameters (:func:`names`)
``gaussian:7,1.5``            a named kernel with positional parameters after a colon
``"1 0 -1; 2 0 -2; 1 0 -1"``  an inline matrix: ``;`` (or a newline) ends a row, spaces or
                              commas separate values, ``|`` separates planes of a 3-D array;
                              ``1/9``-style fractions are allowed
``path/to/kernel.npy``        a ``.npy``, ``.csv`` (comma-separated) or ``.txt`` (whitespace)
                              file
============================  ==============================================================

Examples
--------
>>> from fastconv import kernels
>>> kernels.parse("sobel-x")
array([[-1.,  0.,  1.],
       [-2.,  0.,  2.],
       [-1.,  0.,  1.]])
>>> kernels.parse("1 2 1; 0 0 0; -1 -2 -1")
array([[ 1.,  2.,  1.],
       [ 0.,  0.,  0.],
       [-1., -2., -1.]])
>>> kernels.parse("box:2")
array([[0.25, 0.25],
       [0.25, 0.25]])
"""

from __future__ import annotations

import difflib
import inspect
import math
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = [
    "KernelSpecError",
    "box",
    "describe",
    "emboss",
    "format_matrix",
    "gabor",
    "gaussian",
    "get",
    "identity",
    "laplacian",
    "laplacian_of_gaussian",
    "motion_blur",
    "names",
    "outline",
    "parse",
    "parse_matrix",
    "prewitt_x",
    "prewitt_y",
    "read_matrix",
    "scharr_x",
    "scharr_y",
    "sharpen",
    "sobel_x",
    "sobel_y",
    "unsharp",
]


class KernelSpecError(ValueError):
    """A kernel or matrix written in the text syntax could not be read; the message names the
    offending token."""


# --------------------------------------------------------------------------------------------
# parameter checks (named kernels are public functions: they validate like the rest of fastconv)


def _positive_int(fname: str, name: str, value: object, *, odd: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fname}: expected {name} to be an integer, got {value!r}")
    value = int(value)
    if value < 1 or (odd and value % 2 == 0):
        what = "a positive odd integer" if odd else "a positive integer"
        raise ValueError(f"{fname}: expected {name} to be {what}, got {value}")
    return value


def _finite(fname: str, name: str, value: object, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fname}: expected {name} to be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        what = "a positive finite number" if positive else "a finite number"
        raise ValueError(f"{fname}: expected {name} to be {what}, got {value}")
    return value


def _centred_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates ``(y, x)`` of a ``size × size`` grid, measured from its centre."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2
    return np.meshgrid(r, r, indexing="ij")


# --------------------------------------------------------------------------------------------
# the named kernels


def identity(size: int = 3) -> np.ndarray:
    """The kernel that leaves an image unchanged: 1 at the centre, 0 elsewhere.

    Parameters
    ----------
    size : int, optional
        Side of the kernel; a positive odd integer (default 3).

    Returns
    -------
    ndarray, shape (size, size)

    Examples
    --------
    >>> identity()
    array([[0., 0., 0.],
           [0., 1., 0.],
           [0., 0., 0.]])
    """
    size = _positive_int("identity", "size", size, odd=True)
    k = np.zeros((size, size))
    k[size // 2, size // 2] = 1.0
    return k


def box(n: int = 3) -> np.ndarray:
    """The mean filter: ``k[i, j] = 1 / n²``.

    Parameters
    ----------
    n : int, optional
        Side of the kernel (default 3).

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> box(3) * 9
    array([[1., 1., 1.],
           [1., 1., 1.],
           [1., 1., 1.]])
    """
    n = _positive_int("box", "n", n)
    return np.full((n, n), 1.0 / (n * n))


def _gaussian_1d(fname: str, size: int, sigma: float | None) -> np.ndarray:
    size = _positive_int(fname, "size", size)
    if sigma is None:  # OpenCV's rule for sigma from the size (getGaussianKernel, sigma <= 0)
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    sigma = _finite(fname, "sigma", sigma, positive=True)
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(r * r) / (2 * sigma * sigma))
    return g / g.sum()


def gaussian(size: int = 5, sigma: float | None = None) -> np.ndarray:
    """The Gaussian blur: ``k[y, x] ∝ exp(-(x² + y²) / (2σ²))``, normalised to sum 1.

    It is the outer product of two 1-D Gaussians, so it is separable (rank 1).

    Parameters
    ----------
    size : int, optional
        Side of the kernel (default 5); coordinates are measured from its centre.
    sigma : float, optional
        Standard deviation in pixels; by default OpenCV's rule
        ``0.3 · ((size - 1) / 2 - 1) + 0.8`` (1.1 for size 5).

    Returns
    -------
    ndarray, shape (size, size)

    Examples
    --------
    >>> print(np.round(gaussian(3, 1.0), 4))
    [[0.0751 0.1238 0.0751]
     [0.1238 0.2042 0.1238]
     [0.0751 0.1238 0.0751]]
    >>> float(gaussian(7, 2.0).sum())
    1.0
    """
    g = _gaussian_1d("gaussian", size, sigma)
    return np.outer(g, g)


def sobel_x() -> np.ndarray:
    """Sobel's derivative along x: a [1, 2, 1] smoothing down the rows times the difference
    [-1, 0, 1] across the columns.

    Returns
    -------
    ndarray, shape (3, 3)

    Examples
    --------
    >>> sobel_x()
    array([[-1.,  0.,  1.],
           [-2.,  0.,  2.],
           [-1.,  0.,  1.]])
    """
    return np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])


def sobel_y() -> np.ndarray:
    """Sobel's derivative along y (downwards): the transpose of :func:`sobel_x`.

    Returns
    -------
    ndarray, shape (3, 3)

    Examples
    --------
    >>> sobel_y()
    array([[-1., -2., -1.],
           [ 0.,  0.,  0.],
           [ 1.,  2.,  1.]])
    """
    return sobel_x().T.copy()


def scharr_x() -> np.ndarray:
    """Scharr's derivative along x: smoothing [3, 10, 3] times the difference [-1, 0, 1]; more
    rotation-invariant than Sobel's.

    Returns
    -------
    ndarray, shape (3, 3)

    Examples
    --------
    >>> scharr_x()
    array([[ -3.,   0.,   3.],
           [-10.,   0.,  10.],
           [ -3.,   0.,   3.]])
    """
    return np.outer([3.0, 10.0, 3.0], [-1.0, 0.0, 1.0])


def scharr_y() -> np.ndarray:
    """Scharr's derivative along y (downwards): the transpose of :func:`scharr_x`.

    Returns
    -------
    ndarray, shape (3, 3)

    Examples
    --------
    >>> scharr_y()
    array([[ -3., -10.,  -3.],
           [  0.,   0.,   0.],
           [  3.,  10.,   3.]])
    """
    return scharr_x().T.copy()


def prewitt_x() -> np.ndarray:
    """Prewitt's derivative along x: a plain [1, 1, 1] average times [-1, 0, 1].

    Returns
    -------
    ndarray, shape (3, 3)

    Examples
    --------
    >>> prewitt_x()
    array([[-1.,  0.,  1.],
           [-1.,  0.,  1.],
           [-1.,  0.,  1.]])
    """
    return np.outer([1.0, 1.0, 1.0], [-1.0, 0.0, 1.0])


def prewitt_y() -> np.ndarray:
    """Prewitt's derivative along y (downwards): the transpose of :func:`prewitt_x`.

    Returns
    -------
    ndarray, shape (3, 3)

    Examples
    --------
    >>> prewitt_y()
    array([[-1., -1., -1.],
           [ 0.,  0.,  0.],
           [ 1.,  1.,  1.]])
    """
    return prewitt_x().T.copy()


def laplacian(neighbours: int = 4) -> np.ndarray:
    """The discrete Laplacian ``∂²/∂x² + ∂²/∂y²``: each neighbour minus the centre.

    Parameters
    ----------
    neighbours : {4, 8}, optional
        4 uses the edge neighbours only; 8 adds the diagonals (default 4).

    Returns
    -------
    ndarray, shape (3, 3)

    Examples
    --------
    >>> laplacian()
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]])
    >>> laplacian(8)
    array([[ 1.,  1.,  1.],
           [ 1., -8.,  1.],
           [ 1.,  1.,  1.]])
    """
    if isinstance(neighbours, (int, np.integer)) and not isinstance(neighbours, bool):
        if neighbours == 4:
            return np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
        if neighbours == 8:
            k = np.ones((3, 3))
            k[1, 1] = -8.0
            return k
    raise ValueError(f"laplacian: expected neighbours to be 4 or 8, got {neighbours!r}")


def laplacian_of_gaussian(size: int = 5, sigma: float = 1.0) -> np.ndarray:
    """The Laplacian of a Gaussian (Marr–Hildreth), shifted to sum 0:
    ``k ∝ -(1 - r² / (2σ²)) · exp(-r² / (2σ²)) / (πσ⁴)`` with ``r² = x² + y²``, then the mean
    is subtracted so that flat regions give exactly 0.

    Parameters
    ----------
    size : int, optional
        Side of the kernel, a positive odd integer (default 5).
    sigma : float, optional
        Standard deviation of the Gaussian in pixels (default 1.0).

    Returns
    -------
    ndarray, shape (size, size)

    Examples
    --------
    >>> print(np.round(laplacian_of_gaussian(5, 1.0), 3))
    [[ 0.023  0.045  0.049  0.045  0.023]
     [ 0.045  0.006 -0.091  0.006  0.045]
     [ 0.049 -0.091 -0.312 -0.091  0.049]
     [ 0.045  0.006 -0.091  0.006  0.045]
     [ 0.023  0.045  0.049  0.045  0.023]]
    """
    size = _positive_int("laplacian_of_gaussian", "size", size, odd=True)
    sigma = _finite("laplacian_of_gaussian", "sigma", sigma, positive=True)
    y, x = _centred_grid(size)
    q = (x * x + y * y) / (2 * sigma * sigma)
    k = -(1.0 - q) * np.exp(-q) / (math.pi * sigma**4)
    return k - k.mean()


def sharpen() -> np.ndarray:
    """Sharpening: the identity plus the negated 4-neighbour Laplacian (``δ - ∇²``).

    Returns
    -------
    ndarray, shape (3, 3)

    Examples
    --------
    >>> sharpen()
    array([[ 0., -1.,  0.],
           [-1.,  5., -1.],
           [ 0., -1.,  0.]])
    """
    return identity(3) - laplacian(4)


def unsharp(size: int = 5, sigma: float = 1.0, amount: float = 1.0) -> np.ndarray:
    """Unsharp masking: ``(1 + amount) · δ - amount · gaussian(size, sigma)``; adds back
    ``amount`` times the detail that a Gaussian blur removes. Sums to 1.

    Parameters
    ----------
    size : int, optional
        Side of the kernel, a positive odd integer (default 5).
    sigma : float, optional
        Standard deviation of the blur (default 1.0).
    amount : float, optional
        Strength of the sharpening (default 1.0).

    Returns
    -------
    ndarray, shape (size, size)

    Examples
    --------
    >>> print(np.round(unsharp(3, 1.0, 1.0), 4))
    [[-0.0751 -0.1238 -0.0751]
     [-0.1238  1.7958 -0.1238]
     [-0.0751 -0.1238 -0.0751]]
    """
    size = _positive_int("unsharp", "size", size, odd=True)
    amount = _finite("unsharp", "amount", amount)
    return (1.0 + amount) * identity(size) - amount * gaussian(size, sigma)


def emboss() -> np.ndarray:
    """Embossing: a diagonal derivative (top-left dark, bottom-right light) plus the identity,
    so the image looks lit from the top left.

    Returns
    -------
    ndarray, shape (3, 3)

    Examples
    --------
    >>> emboss()
    array([[-2., -1.,  0.],
           [-1.,  1.,  1.],
           [ 0.,  1.,  2.]])
    """
    return np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])


def outline() -> np.ndarray:
    """Outline (edge detection): the negated 8-neighbour Laplacian, ``8·centre − neighbours``.

    Returns
    -------
    ndarray, shape (3, 3)

    Examples
    --------
    >>> outline()
    array([[-1., -1., -1.],
           [-1.,  8., -1.],
           [-1., -1., -1.]])
    """
    return -laplacian(8)


def motion_blur(length: int = 5, angle: float = 0.0) -> np.ndarray:
    """Motion blur: the average along a line segment of ``length`` pixels through the centre.

    The segment makes ``angle`` degrees with the x axis, counter-clockwise as seen on screen
    (rows point down), and is drawn as a Bresenham line: one cell per column (per row for
    steep angles), spanning the kernel edge to edge. Each of its ``length`` cells weighs
    ``1 / length``.

    Parameters
    ----------
    length : int, optional
        Length of the segment and side of the kernel, a positive odd integer (default 5).
    angle : float, optional
        Direction in degrees (default 0: horizontal).

    Returns
    -------
    ndarray, shape (length, length)

    Examples
    --------
    >>> motion_blur(3) * 3
    array([[0., 0., 0.],
           [1., 1., 1.],
           [0., 0., 0.]])
    >>> motion_blur(5, 30) * 5
    array([[0., 0., 0., 0., 0.],
           [0., 0., 0., 1., 1.],
           [0., 0., 1., 0., 0.],
           [1., 1., 0., 0., 0.],
           [0., 0., 0., 0., 0.]])
    """
    length = _positive_int("motion_blur", "length", length, odd=True)
    angle = _finite("motion_blur", "angle", angle)
    c = length // 2
    theta = math.radians(angle)
    dx, dy = math.cos(theta), -math.sin(theta)  # rows point down: a positive angle goes up
    # One cell per step along the major axis (a Bresenham line), so the segment spans the
    # kernel edge to edge and every cell gets the same weight.
    steps = np.arange(-c, c + 1, dtype=np.float64) / max(abs(dx), abs(dy))
    cols = c + np.rint(steps * dx).astype(np.intp)
    rows = c + np.rint(steps * dy).astype(np.intp)
    k = np.zeros((length, length))
    k[rows, cols] = 1.0
    return k / k.sum()


def gabor(
    size: int = 7,
    sigma: float = 2.0,
    theta: float = 0.0,
    lambd: float = 4.0,
    gamma: float = 0.5,
    psi: float = 0.0,
) -> np.ndarray:
    """The Gabor filter: a Gaussian envelope times a cosine wave.

    ``k[y, x] = exp(-(x'² + γ² y'²) / (2σ²)) · cos(2π x' / λ + ψ)`` with
    ``x' = x cos θ + y sin θ`` and ``y' = -x sin θ + y cos θ`` (OpenCV's ``getGaborKernel``
    formula, on the centred grid with rows pointing down). Not normalised.

    Parameters
    ----------
    size : int, optional
        Side of the kernel (default 7).
    sigma : float, optional
        Standard deviation of the envelope in pixels (default 2.0).
    theta : float, optional
        Orientation of the wave's normal in radians (default 0: the wave runs along x).
    lambd : float, optional
        Wavelength of the cosine in pixels (default 4.0).
    gamma : float, optional
        Spatial aspect ratio of the envelope (default 0.5).
    psi : float, optional
        Phase offset in radians (default 0.0).

    Returns
    -------
    ndarray, shape (size, size)

    Examples
    --------
    >>> print(np.round(gabor(5, sigma=2.0, theta=0.0, lambd=4.0, gamma=1.0), 3))
    [[-0.368  0.     0.607  0.    -0.368]
     [-0.535  0.     0.882  0.    -0.535]
     [-0.607  0.     1.     0.    -0.607]
     [-0.535  0.     0.882  0.    -0.535]
     [-0.368  0.     0.607  0.    -0.368]]
    """
    size = _positive_int("gabor", "size", size)
    sigma = _finite("gabor", "sigma", sigma, positive=True)
    theta = _finite("gabor", "theta", theta)
    lambd = _finite("gabor", "lambd", lambd, positive=True)
    gamma = _finite("gabor", "gamma", gamma)
    psi = _finite("gabor", "psi", psi)
    y, x = _centred_grid(size)
    xr = x * math.cos(theta) + y * math.sin(theta)
    yr = -x * math.sin(theta) + y * math.cos(theta)
    envelope = np.exp(-(xr * xr + gamma * gamma * yr * yr) / (2 * sigma * sigma))
    return envelope * np.cos(2 * math.pi * xr / lambd + psi)


#: Spec name -> function. Names use hyphens; ``parse`` also accepts underscores.
_NAMED: dict[str, Callable[..., np.ndarray]] = {
    "identity": identity,
    "box": box,
    "gaussian": gaussian,
    "sobel-x": sobel_x,
    "sobel-y": sobel_y,
    "scharr-x": scharr_x,
    "scharr-y": scharr_y,
    "prewitt-x": prewitt_x,
    "prewitt-y": prewitt_y,
    "laplacian": laplacian,
    "laplacian-of-gaussian": laplacian_of_gaussian,
    "sharpen": sharpen,
    "unsharp": unsharp,
    "emboss": emboss,
    "outline": outline,
    "motion-blur": motion_blur,
    "gabor": gabor,
}


def names() -> tuple[str, ...]:
    """The names :func:`parse` and :func:`get` accept, in the order of :func:`describe`.

    Examples
    --------
    >>> names()[:4]
    ('identity', 'box', 'gaussian', 'sobel-x')
    """
    return tuple(_NAMED)


def _lookup(name: str) -> Callable[..., np.ndarray]:
    key = name.strip().lower().replace("_", "-")
    if key in _NAMED:
        return _NAMED[key]
    close = sorted(difflib.get_close_matches(key, _NAMED, n=3))
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(_NAMED)}"
    raise KernelSpecError(f"kernel: unknown kernel name {name!r}{hint}")


def get(name: str, *params: float) -> np.ndarray:
    """The named kernel ``name`` with positional ``params``: ``get("gaussian", 7, 1.5)``.

    Raises
    ------
    KernelSpecError
        If the name is unknown.

    Examples
    --------
    >>> get("prewitt_y")[0]
    array([-1., -1., -1.])
    """
    return _lookup(name)(*params)


def describe() -> str:
    """A printable listing of every named kernel: its syntax, its first docstring line and its
    values at the default parameters (what ``fastconv kernels`` prints).

    Examples
    --------
    >>> print(describe().split("\\n\\n")[0])
    identity[:SIZE]
      The kernel that leaves an image unchanged: 1 at the centre, 0 elsewhere.
      values (identity:3):
        0 0 0
        0 1 0
        0 0 0
    """
    blocks = []
    for name, fn in _NAMED.items():
        params = list(inspect.signature(fn).parameters.values())
        syntax = (
            name
            + "".join(("[:" if i == 0 else "[,") + p.name.upper() for i, p in enumerate(params))
            + "]" * len(params)
        )
        summary = " ".join(inspect.getdoc(fn).split("\n\n")[0].split())
        summary = re.sub(r":func:`(\w+)`", r"\1", summary).replace("``", "")
        defaults = ",".join(f"{p.default:g}" for p in params if p.default is not None)
        shown = f"{name}:{defaults}" if defaults else name
        values = fn()
        lines = [syntax, f"  {summary}", f"  values ({shown}):"]
        lines += ["    " + row for row in format_matrix(values).splitlines()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def format_matrix(a: np.ndarray, digits: int = 4) -> str:
    """Rows of ``a`` with right-aligned columns, each value rounded to ``digits`` significant
    digits and written without trailing zeros; values below ``1e-12 · max|a|`` (rounding
    noise, as in a Gabor kernel's zero crossings) are written as 0.

    Examples
    --------
    >>> print(format_matrix(np.array([[1.0, -0.5], [10.0, 0.125]])))
       1  -0.5
      10 0.125
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    if a.size:
        a = np.where(np.abs(a) <= 1e-12 * np.abs(a).max(), 0.0, a)
    cells = [[f"{v + 0.0:.{digits}g}" for v in row] for row in a]  # + 0.0 turns -0 into 0
    width = max((len(c) for row in cells for c in row), default=0)
    return "\n".join(" ".join(c.rjust(width) for c in row) for row in cells)


# --------------------------------------------------------------------------------------------
# the text syntax

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_MATRIX_FILES = (".npy", ".csv", ".txt")
_IMAGE_FILES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def _number(token: str, where: str) -> float:
    """One value of an inline matrix: a decimal number or a fraction ``p/q``."""
    parts = token.split("/")
    if len(parts) <= 2 and all(_NUMBER.match(p) for p in parts):
        value = float(parts[0])
        if len(parts) == 2:
            denominator = float(parts[1])
            if denominator == 0:
                raise KernelSpecError(f"matrix: division by zero in {token!r} ({where})")
            value /= denominator
        return value
    raise KernelSpecError(f"matrix: could not read {token!r} ({where}) as a number")


def parse_matrix(text: str) -> np.ndarray:
    """Read an inline matrix: ``;`` or a newline ends a row, spaces or commas separate values,
    ``|`` separates the planes of a 3-D array. Text without a row separator is a 1-D vector.

    Parameters
    ----------
    text : str
        E.g. ``"1 2 3 4; 5 6 7 8"`` or ``"1/9 1/9 1/9"``.

    Returns
    -------
    ndarray of float64
        1-D, 2-D ``(rows, columns)`` or 3-D ``(planes, rows, columns)``.

    Raises
    ------
    KernelSpecError
        Naming the token that is not a number, or the row whose length differs.

    Examples
    --------
    >>> parse_matrix("1 2 3 4; 5 6 7 8")
    array([[1., 2., 3., 4.],
           [5., 6., 7., 8.]])
    >>> parse_matrix("1, -2, .5")
    array([ 1. , -2. ,  0.5])
    >>> parse_matrix("1 2; 3")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fastconv.kernels.KernelSpecError: matrix: row 2 has 1 value, row 1 has 2 (ragged rows ...)
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_matrix: expected text to be a str, got {type(text).__name__}")
    planes_text = text.split("|")
    planes = []
    for p, plane_text in enumerate(planes_text, start=1):
        rows_text = [r for r in re.split(r"[;\n]", plane_text) if r.strip()]
        rows = []
        for i, row_text in enumerate(rows_text, start=1):
            tokens = [t for t in re.split(r"[\s,]+", row_text.strip()) if t]
            where = f"row {i}, column " if len(rows_text) > 1 else "position "
            where_plane = f"plane {p}, " if len(planes_text) > 1 else ""
            rows.append([_number(t, f"{where_plane}{where}{j}") for j, t in enumerate(tokens, 1)])
            if len(rows[-1]) != len(rows[0]):
                n = len(rows[-1])
                raise KernelSpecError(
                    f"matrix: {where_plane}row {i} has {n} value{'s' * (n != 1)}, row 1 has "
                    f"{len(rows[0])} (ragged rows in {text!r})"
                )
        if not rows:
            raise KernelSpecError(f"matrix: no values in {text!r}")
        planes.append(rows)
    if any(len(pl) != len(planes[0]) or len(pl[0]) != len(planes[0][0]) for pl in planes):
        raise KernelSpecError(f"matrix: planes of different shapes in {text!r}")
    arr = np.array(planes, dtype=np.float64)
    one_row = len(planes) == 1 and not re.search(r"[;\n]", text.strip())
    if one_row:
        return arr[0, 0]
    return arr[0] if len(planes) == 1 else arr


def _looks_like_matrix(spec: str) -> bool:
    """Numbers and separators only (``1/9`` fractions included), or a leading number."""
    return bool(re.fullmatch(r"[\d\s.,;|+\-eE/]+", spec) or re.match(r"[\d+\-.]", spec))


def _is_path(spec: str) -> bool:
    if spec.lower().endswith(_MATRIX_FILES + _IMAGE_FILES):
        return True
    return (os.sep in spec or "/" in spec) and not _looks_like_matrix(spec)


def _read_file(path: str, *, images: bool) -> np.ndarray:
    suffix = Path(path).suffix.lower()
    if suffix in _IMAGE_FILES and images:
        from .io import read_image  # Pillow is only needed for image files

        try:
            return read_image(path, mode="L").astype(np.float64)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise KernelSpecError(f"file: cannot read {path!r}: {reason}") from None
    allowed = _MATRIX_FILES + (_IMAGE_FILES if images else ())
    if suffix not in _MATRIX_FILES:
        raise KernelSpecError(f"file: expected a file ending in {', '.join(allowed)}, got {path!r}")
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            arr = np.loadtxt(path, delimiter="," if suffix == ".csv" else None, ndmin=1)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise KernelSpecError(f"file: cannot read {path!r}: {reason}") from None
    if arr.dtype.kind not in "biuf":
        raise KernelSpecError(f"file: expected numbers in {path!r}, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def parse(spec: str) -> np.ndarray:
    """Read a kernel written in the text syntax (see the module docstring).

    Parameters
    ----------
    spec : str
        A kernel name with optional parameters (``"gaussian:7,1.5"``), an inline matrix
        (``"1 0 -1; 2 0 -2; 1 0 -1"``) or a path to a ``.npy``/``.csv``/``.txt`` file.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    KernelSpecError
        Naming the token that could not be read: an unknown name (with the closest known
        ones), a parameter that is not a number or out of range, a ragged row, a file that
        cannot be read.

    Examples
    --------
    >>> parse("laplacian:8")[1]
    array([ 1., -8.,  1.])
    >>> parse("gaussian:7,1.5").shape
    (7, 7)
    >>> parse("sobel")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fastconv.kernels.KernelSpecError: kernel: unknown kernel name 'sobel'; did you mean sobel-x, ...
    >>> parse("gaussian:7,wide")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fastconv.kernels.KernelSpecError: kernel: could not read parameter 2 'wide' of ... as a number
    """
    if not isinstance(spec, str):
        raise TypeError(f"parse: expected spec to be a str, got {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise KernelSpecError("kernel: expected a name, an inline matrix or a file, got ''")
    if _is_path(text):
        return _read_file(text, images=False)
    if _looks_like_matrix(text):
        return parse_matrix(text)
    name, _, arg_text = text.partition(":")
    fn = _lookup(name)
    params: list[float] = []
    if arg_text.strip():
        for i, token in enumerate(arg_text.split(","), start=1):
            token = token.strip()
            if not _NUMBER.match(token):
                raise KernelSpecError(
                    f"kernel: could not read parameter {i} {token!r} of {spec!r} as a number"
                )
            params.append(int(token) if re.fullmatch(r"[+-]?\d+", token) else float(token))
    n_max = len(inspect.signature(fn).parameters)
    if len(params) > n_max:
        raise KernelSpecError(
            f"kernel: {name.strip()} takes at most {n_max} parameter{'s' * (n_max != 1)}, "
            f"got {len(params)} in {spec!r}"
        )
    try:
        return fn(*params)
    except (TypeError, ValueError) as exc:
        raise KernelSpecError(f"kernel: {exc} (in {spec!r})") from None


def read_matrix(spec: str) -> np.ndarray:
    """Read an array given on a command line: an inline matrix, a ``.npy``/``.csv``/``.txt``
    file, or an image file (PNG, JPEG, TIFF, BMP, WebP; read as grayscale).

    Parameters
    ----------
    spec : str
        The inline matrix or the path.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    KernelSpecError
        Naming the token or file that could not be read.

    Examples
    --------
    >>> read_matrix("1 2 3; 4 5 6").shape
    (2, 3)
    """
    if not isinstance(spec, str):
        raise TypeError(f"read_matrix: expected spec to be a str, got {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise KernelSpecError("matrix: expected an inline matrix or a file, got ''")
    if _is_path(text) or not _looks_like_matrix(text):
        return _read_file(text, images=True)
    return parse_matrix(text)
