"""``fastconv demo``: the tutorial's worked example explained and animated, the same operation
at image size, then a sample image filtered with named kernels and written as PNG files.

Every file goes into one folder, made by :func:`output_folder`; each part of the demo that
writes files takes the folder (:func:`write_animation`, :func:`write_filtered_images`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ._explain import animate, explain
from .functional import conv2d, plan

#: Folder the demo writes into unless told otherwise (relative to the current directory).
DEFAULT_FOLDER = "fastconv-demo"
#: The named kernels the demo applies to the sample image: file stem -> kernel spec.
DEMO_KERNELS: dict[str, str] = {
    "blur": "gaussian:9,2.5",
    "sharpen": "sharpen",
    "emboss": "emboss",
    "outline": "outline",
}

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


def write_animation(folder: str | os.PathLike[str] = DEFAULT_FOLDER) -> Path:
    """Animate the worked example into ``folder/conv.gif`` (the folder is created).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_animation(tmp).name
    'conv.gif'
    """
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return animate(SEED_IMAGE, SEED_KERNEL, path / "conv.gif").path


def sample_image(size: int = 256) -> np.ndarray:
    """A deterministic ``(size, size, 3)`` uint8 test picture, made in code (no files).

    A sky-to-ground gradient, a sun (a soft disc), a checkerboard, diagonal stripes and a
    ring: smooth areas for blurs, straight and curved edges for edge and relief kernels.

    >>> img = sample_image(64)
    >>> img.shape, img.dtype, int(img[0, 0, 2]), int(img[-1, 0, 1])
    ((64, 64, 3), dtype('uint8'), 235, 96)
    """
    t = np.linspace(0.0, 1.0, size)
    y, x = np.meshgrid(t, t, indexing="ij")
    sky = np.stack([70 + 60 * y, 130 + 60 * y, 235 - 40 * y], axis=-1)
    ground = np.stack([60 + 40 * y, 96 + 60 * (1 - y), 50 + 0 * y], axis=-1)
    img = np.where((y > 0.62)[..., None], ground, sky)
    sun = np.clip(1.5 - np.hypot(y - 0.25, x - 0.75) / 0.1, 0.0, 1.0)[..., None]
    img = img * (1 - sun) + np.array([255.0, 220.0, 90.0]) * sun
    board = (y > 0.7) & (y < 0.95) & (x > 0.06) & (x < 0.44)
    checks = ((np.floor(y * 24) + np.floor(x * 24)) % 2).astype(bool)
    img[board & checks] = (240.0, 240.0, 240.0)
    img[board & ~checks] = (30.0, 30.0, 30.0)
    stripes = (y > 0.7) & (y < 0.95) & (x > 0.56) & (x < 0.94)
    img[stripes & (np.floor((x + y) * 20) % 2 == 0)] = (200.0, 40.0, 40.0)
    ring = np.abs(np.hypot(y - 0.32, x - 0.28) - 0.16) < 0.025
    img[ring] = (250.0, 250.0, 250.0)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def output_folder(out: str | os.PathLike[str] = DEFAULT_FOLDER) -> Path:
    """Create (if needed) and return the folder the demo writes its files into.

    >>> import tempfile
    >>> folder = output_folder(os.path.join(tempfile.mkdtemp(), "demo"))
    >>> folder.is_dir(), folder.name
    (True, 'demo')
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_filtered_images(folder: Path, size: int = 256) -> list[str]:
    """Filter :func:`sample_image` with each of :data:`DEMO_KERNELS` and write PNG files.

    Writes ``sample.png`` and one ``<name>.png`` per kernel into ``folder`` (replacing the
    demo's own earlier files of those names) and returns the report lines.

    >>> import tempfile
    >>> lines = write_filtered_images(output_folder(tempfile.mkdtemp()), size=32)
    >>> print(lines[0])  # doctest: +ELLIPSIS
    sample image (32×32 RGB), filtered with named kernels (border reflect), written to .../
    >>> sorted(p.name for p in Path(lines[0].split()[-1]).iterdir())
    ['blur.png', 'emboss.png', 'outline.png', 'sample.png', 'sharpen.png']
    """
    from . import kernels
    from .image import filter_image, plan_filter
    from .io import write_image

    image = sample_image(size)
    lines = [
        f"sample image ({size}×{size} RGB), filtered with named kernels (border reflect), "
        f"written to {folder}{os.sep}"
    ]
    write_image(folder / "sample.png", image, overwrite=True)
    lines.append(f"  {'sample.png':<12} the input")
    for name, spec in DEMO_KERNELS.items():
        kernel = kernels.parse(spec)
        start = time.perf_counter()
        result = filter_image(image, kernel)
        elapsed = time.perf_counter() - start
        write_image(folder / f"{name}.png", result, overwrite=True)
        method = plan_filter(image, kernel).method
        kh, kw = kernel.shape
        lines.append(f"  {name + '.png':<12} {spec} ({kh}×{kw}, {method}): {elapsed * 1e3:.1f} ms")
    return lines
