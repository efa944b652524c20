"""Recover a hidden filter by gradient descent: the convolution's output alters the filter values.

Random images are filtered with a hidden kernel (Sobel-x by default, any named kernel with
``--kernel``); a ``fastconv.nn.Conv2d`` layer starts from random filter values and learns to
produce the same outputs, by gradient descent on the mean squared error. The filter values are
printed as they converge, and an animated GIF of them is saved.

    python examples/learn_kernel.py                      # Sobel-x, saves learn_kernel.gif
    python examples/learn_kernel.py --kernel laplacian --steps 100
    python examples/learn_kernel.py --kernel gaussian:5,1.0 --gif gauss.gif

The loss is a quadratic in the filter values: for images of independent unit-variance pixels
its curvature is 2 in every direction, so each step with learning rate ``lr`` shrinks the
error by a factor of about ``1 - 2 * lr`` (0.8 at the default 0.1).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import fastconv
from fastconv import kernels
from fastconv.nn import Conv2d


@dataclass
class History:
    """What the learning went through: the filter after each step, the loss before it."""

    filters: list[np.ndarray] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def learn(
    target: np.ndarray,
    *,
    images: int = 16,
    size: int = 32,
    steps: int = 80,
    lr: float = 0.1,
    seed: int = 0,
    report: Callable[[int, float, np.ndarray], None] | None = None,
) -> tuple[np.ndarray, History]:
    """Learn ``target`` (a 2-D kernel) from ``images`` random ``size``×``size`` images.

    Returns the learned kernel and the :class:`History`; ``report(step, loss, kernel)`` is
    called after every step.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((images, 1, size, size))
    y = fastconv.conv2d(x, target[None, None])  # what the hidden filter makes of them
    layer = Conv2d(1, 1, target.shape, bias=False, dtype=np.float64, rng=rng)
    history = History([layer.weight[0, 0].copy()], [])
    for step in range(1, steps + 1):
        residual = layer.forward(x) - y
        loss = float(np.mean(residual**2))
        layer.zero_grad()
        layer.backward(2 * residual / residual.size)  # d(loss)/d(output)
        for value, grad in layer.parameters():
            value -= lr * grad
        history.filters.append(layer.weight[0, 0].copy())
        history.losses.append(loss)
        if report is not None:
            report(step, loss, layer.weight[0, 0])
    return layer.weight[0, 0].copy(), history


def format_values(a: np.ndarray) -> list[str]:
    """Rows of ``a`` with three decimals (no ``-0.000``)."""
    return [" ".join(f"{v:7.3f}".replace("-0.000", " 0.000") for v in row) for row in a]


def save_gif(path: Path, history: History, target: np.ndarray, name: str) -> None:
    """An animation of the filter values, one frame per step, beside the hidden kernel."""
    from PIL import Image, ImageDraw, ImageFont

    kh, kw = target.shape
    cell = max(40, 160 // max(kh, kw))
    font = ImageFont.load_default(size=max(10, cell // 4))
    title = ImageFont.load_default(size=14)
    pad, top = 16, 44
    grid_w, grid_h = kw * cell, kh * cell
    scale = float(np.max(np.abs(target))) or 1.0

    def colour(v: float) -> tuple[int, int, int]:  # blue (negative) - white - red (positive)
        t = max(-1.0, min(1.0, v / scale))
        fade = int(255 * (1 - abs(t)))
        return (255, fade, fade) if t > 0 else (fade, fade, 255)

    def grid(draw: ImageDraw.ImageDraw, a: np.ndarray, left: int) -> None:
        for i in range(kh):
            for j in range(kw):
                x0, y0 = left + j * cell, top + i * cell
                draw.rectangle([x0, y0, x0 + cell, y0 + cell], fill=colour(a[i, j]),
                               outline=(90, 90, 90))  # fmt: skip
                ink = (255, 255, 255) if abs(a[i, j]) > 0.6 * scale else (0, 0, 0)
                draw.text((x0 + cell / 2, y0 + cell / 2), f"{a[i, j] + 0.0:.2f}", fill=ink,
                          font=font, anchor="mm")  # fmt: skip

    frames = []
    for step, kernel in enumerate(history.filters):
        img = Image.new("RGB", (3 * pad + 2 * grid_w, top + grid_h + pad), "white")
        draw = ImageDraw.Draw(img)
        loss = history.losses[step - 1] if step else float("nan")
        caption = f"step {step}" + (f"   loss {loss:.2e}" if step else "   (random start)")
        draw.text((pad, 6), caption, fill=(0, 0, 0), font=title)
        draw.text((pad, 24), "learned", fill=(0, 0, 0), font=title)
        draw.text((2 * pad + grid_w, 24), f"hidden: {name}", fill=(0, 0, 0), font=title)
        grid(draw, kernel, pad)
        grid(draw, target, 2 * pad + grid_w)
        frames.append(img)
    durations = [800] + [120] * (len(frames) - 2) + [2000] if len(frames) > 1 else [2000]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kernel", default="sobel-x",
                   help="hidden kernel: a name (" + ", ".join(kernels.names()) + "), "
                   "'name:params' or an inline matrix (default sobel-x)")  # fmt: skip
    p.add_argument("--images", type=int, default=16, help="random images (default 16)")
    p.add_argument("--size", type=int, default=32, help="image height and width (default 32)")
    p.add_argument("--steps", type=int, default=80, help="gradient steps (default 80)")
    p.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--every", type=int, default=20, help="print every N steps (default 20)")
    p.add_argument("--gif", default="learn_kernel.gif", help="animation to write ('' for none)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    target = kernels.parse(args.kernel)
    if target.ndim != 2:
        build_parser().error(f"--kernel must give a 2-D kernel, got shape {target.shape}")
    print(f"hidden kernel ({args.kernel}):")
    print("\n".join("  " + row for row in format_values(target)))
    print(f"learning it from {args.images} random {args.size}x{args.size} images, "
          f"{args.steps} steps of gradient descent (lr {args.lr})\n")  # fmt: skip

    def report(step: int, loss: float, kernel: np.ndarray) -> None:
        if step % args.every == 0 or step in (1, args.steps):
            err = float(np.max(np.abs(kernel - target)))
            print(f"step {step:4d}  loss {loss:.3e}  max error {err:.2e}")
            print("\n".join("  " + row for row in format_values(kernel)))

    t0 = time.perf_counter()
    learned, history = learn(target, images=args.images, size=args.size, steps=args.steps,
                             lr=args.lr, seed=args.seed, report=report)  # fmt: skip
    elapsed = time.perf_counter() - t0
    err = float(np.max(np.abs(learned - target)))
    print(f"\nfinal max error {err:.2e} after {args.steps} steps ({elapsed:.2f} s)")
    if args.gif:
        save_gif(Path(args.gif), history, target, args.kernel)
        print(f"wrote {args.gif} ({len(history.filters)} frames)")
    return 0 if err <= 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
