"""``fastconv demo``: the tutorial's worked example, then the same operation at image size."""

from __future__ import annotations

import time

import numpy as np

from .functional import conv2d, plan

#: The worked example: a 4×4 image and a 3×3 kernel, stride 1 (the tutorial's geometry).
SEED_IMAGE = np.array(
    [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]], dtype=np.float64
)
SEED_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)


def _matrix(a: np.ndarray, indent: str = "    ") -> str:
    width = max(len(f"{v:g}") for v in a.ravel())
    return "\n".join(indent + " ".join(f"{v:>{width}g}" for v in row) for row in a)


def run(size: int = 512, repeats: int = 20) -> str:
    """Run the demo and return its report.

    >>> print(run(size=16, repeats=1))  # doctest: +ELLIPSIS
    The convolution operation: slide the kernel over the image, multiply, sum.
    <BLANKLINE>
    image (4×4):
         1  2  3  4
         5  6  7  8
         9 10 11 12
        13 14 15 16
    kernel (3×3):
        1 0 1
        0 1 0
        1 0 1
    <BLANKLINE>
    window at rows 0–2, columns 0–2: sum of products = 30
    window at rows 0–2, columns 1–3: sum of products = 35
    window at rows 1–3, columns 0–2: sum of products = 50
    window at rows 1–3, columns 1–3: sum of products = 55
    <BLANKLINE>
    output (2×2) = fastconv.conv2d(image, kernel):
        30 35
        50 55
    <BLANKLINE>
    16×16 image, 3×3 kernel (float32, method: direct):
      first call ... ms (includes loading or compiling the Numba kernels)
      then       ... ms per call (median of 1)
    """
    lines = [
        "The convolution operation: slide the kernel over the image, multiply, sum.",
        "",
        "image (4×4):",
        _matrix(SEED_IMAGE),
        "kernel (3×3):",
        _matrix(SEED_KERNEL),
        "",
    ]
    kh, kw = SEED_KERNEL.shape
    for i in range(SEED_IMAGE.shape[0] - kh + 1):
        for j in range(SEED_IMAGE.shape[1] - kw + 1):
            window = SEED_IMAGE[i : i + kh, j : j + kw]
            lines.append(
                f"window at rows {i}–{i + kh - 1}, columns {j}–{j + kw - 1}: "
                f"sum of products = {np.sum(window * SEED_KERNEL):g}"
            )
    out = conv2d(SEED_IMAGE[None], SEED_KERNEL[None, None])[0]
    lines += ["", "output (2×2) = fastconv.conv2d(image, kernel):", _matrix(out), ""]

    rng = np.random.default_rng(0)
    image = rng.random((1, size, size), dtype=np.float32)
    kernel = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    start = time.perf_counter()
    conv2d(image, kernel)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        conv2d(image, kernel)
        times.append(time.perf_counter() - start)
    lines += [
        f"{size}×{size} image, 3×3 kernel (float32, method: {plan(image, kernel).method}):",
        f"  first call {first * 1e3:.1f} ms (includes loading or compiling the Numba kernels)",
        f"  then       {float(np.median(times)) * 1e3:.3f} ms per call (median of {repeats})",
    ]
    return "\n".join(lines)
