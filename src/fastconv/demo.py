"""``fastconv demo``: the tutorial's worked example, then the same operation at image size."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ._explain import animate, explain
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

    The worked example is explained step by step by :func:`fastconv.explain`, then checked
    against ``conv2d``:

    >>> print(run(size=16, repeats=1))  # doctest: +ELLIPSIS
    The convolution operation: slide the kernel over the image, multiply, sum.
    <BLANKLINE>
    Cross-correlation of a 4×4 input with a 3×3 kernel (the kernel is not flipped)
    ...
    step 1 of 4: output[0, 0]
      start at the top-left
      select the window at rows 0–2, columns 0–2
         1  2  3     1 0 1      1  0  3
         5  6  7  ⊙  0 1 0  =   0  6  0
         9 10 11     1 0 1      9  0 11
      multiply element-wise and sum: 1 + 0 + 3 + 0 + 6 + 0 + 9 + 0 + 11 = 30
    ...
    output (2×2):
        30 35
        50 55
    <BLANKLINE>
    the same output from fastconv.conv2d(image, kernel):
        30 35
        50 55
    <BLANKLINE>
    16×16 image, 3×3 kernel (float32, method: direct):
      first call ... ms (includes loading or compiling the Numba kernels)
      then       ... ms per call (median of 1)
    """
    out = conv2d(SEED_IMAGE[None], SEED_KERNEL[None, None])[0]
    lines = [
        "The convolution operation: slide the kernel over the image, multiply, sum.",
        "",
        explain(SEED_IMAGE, SEED_KERNEL).to_text(max_steps=None),
        "",
        "the same output from fastconv.conv2d(image, kernel):",
        _matrix(out),
        "",
    ]

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


def write_animation(folder: str | os.PathLike[str] = "fastconv-demo") -> Path:
    """Animate the worked example into ``folder/conv.gif`` (the folder is created).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_animation(tmp).name
    'conv.gif'
    """
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return animate(SEED_IMAGE, SEED_KERNEL, path / "conv.gif").path
