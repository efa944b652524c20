"""The ``explain``, ``animate`` and ``kernels`` commands of the ``fastconv`` command line.

``--image`` is read with :func:`fastconv.kernels.read_matrix` (an inline matrix such as
``"1 2 3 4; 5 6 7 8"``, a ``.npy``/``.csv``/``.txt`` file or an image file, read as
grayscale) and ``--kernel`` with :func:`fastconv.kernels.parse` (a kernel name such as
``sobel-x`` or ``gaussian:5,1``, an inline matrix or a file). Without them the commands use the
tutorial's 4×4 image and 3×3 kernel.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np

EPILOG = """\
  explain  the convolution step by step: every window, product and sum
             $ fastconv explain --image "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16" \\
                 --kernel "1 0 1; 0 1 0; 1 0 1" --padding 1 --stride 2
  animate  the sliding window as an animated GIF
             $ fastconv animate --image photo.png --kernel sobel-x --stride 2 -o sobel.gif
  kernels  the named kernels with their values
             $ fastconv kernels
"""

#: what the commands use without --image / --kernel: the tutorial's worked example
SEED_IMAGE = "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16"
SEED_KERNEL = "1 0 1; 0 1 0; 1 0 1"


class UsageError(ValueError):
    """A command-line value that cannot be used; printed as one line, exit status 2."""


def _per_axis(text: str, name: str, allow_words: tuple[str, ...] = ()) -> Any:
    """``"2"`` -> 2, ``"2,1"`` -> (2, 1); ``"same"``/``"valid"`` where allowed."""
    value = text.strip()
    if value in allow_words:
        return value
    try:
        items = tuple(int(v) for v in value.split(","))
    except ValueError:
        words = f", {' or '.join(allow_words)}" if allow_words else ""
        raise UsageError(
            f"{name}: expected an integer or comma-separated integers (one per axis){words}, "
            f"got {text!r}"
        ) from None
    return items[0] if len(items) == 1 else items


def _region(text: str | None) -> Any:
    """``"0:2,1:3"`` -> ``[(0, 2), (1, 3)]``; ``"1,:"`` -> ``[1, (None, None)]``."""
    if text is None:
        return None
    region: list[Any] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if ":" in part:
                lo, hi = part.split(":")
                region.append((int(lo) if lo.strip() else None, int(hi) if hi.strip() else None))
            else:
                region.append(int(part))
        except ValueError:
            raise UsageError(
                f"--region: expected START:STOP or a position per axis, comma-separated "
                f"(e.g. 0:2,1:3), got {text!r}"
            ) from None
    return region


def _max_steps(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise UsageError(f"--max-steps: expected a non-negative integer or 'all', got {text!r}")
    return n


def _operands(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    from . import kernels

    image = kernels.read_matrix(args.image)
    kernel = kernels.parse(args.kernel)
    if image.ndim == 2 and kernel.ndim == 1:  # "1 0 -1" beside an image: one row
        kernel = kernel[None]
    return image, kernel


def _geometry(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "stride": _per_axis(args.stride, "--stride"),
        "padding": _per_axis(args.padding, "--padding", ("same", "valid")),
        "dilation": _per_axis(args.dilation, "--dilation"),
    }


def _write_text(text: str, out: str | None) -> None:
    from ._files import atomic_write

    text = text if text.endswith("\n") else text + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write(out, lambda fh: fh.write(text.encode("utf-8")))


def _progress() -> bool:
    return sys.stderr.isatty()


def run_explain(args: argparse.Namespace) -> int:
    import json

    from ._explain.schema import trace_to_dict
    from ._explain.text import render_markdown, render_text
    from ._explain.trace import explain

    image, kernel = _operands(args)
    trace = explain(image, kernel, padding_mode=args.padding_mode, convolve=args.convolve,
                    **_geometry(args))  # fmt: skip
    numbers = trace.select(_max_steps(args.max_steps), _region(args.region))
    progress = _progress()
    if args.format == "json":
        text = json.dumps(trace_to_dict(trace, numbers, progress=progress), indent=2,
                          allow_nan=False)  # fmt: skip
    elif args.format == "markdown":
        text = render_markdown(trace, numbers, progress=progress)
    else:
        text = render_text(trace, numbers, progress=progress)
    _write_text(text, args.output)
    return 0


def run_animate(args: argparse.Namespace) -> int:
    from ._explain.animation import animate

    image, kernel = _operands(args)
    result = animate(
        image,
        kernel,
        args.output,
        padding_mode=args.padding_mode,
        convolve=args.convolve,
        transposed=args.transposed,
        output_padding=_per_axis(args.output_padding, "--output-padding"),
        fps=args.fps,
        max_frames=args.max_frames,
        progress=_progress(),
        **_geometry(args),
    )
    sampled = "" if result.frames == result.total_steps else f" of {result.total_steps} steps"
    print(
        f"wrote {result.path} ({result.frames} frames{sampled}, "
        f"{result.size[0]}×{result.size[1]} pixels, {result.mode})"
    )
    return 0


def run_kernels(args: argparse.Namespace) -> int:
    from . import kernels

    print(kernels.describe())
    return 0


def _operand_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--image",
        default=SEED_IMAGE,
        metavar="MATRIX|FILE",
        help='the input: an inline matrix ("1 2 3 4; 5 6 7 8"), a .npy/.csv/.txt file or an '
        "image file (read as grayscale); default: the tutorial's 4×4 image",
    )
    p.add_argument(
        "--kernel",
        default=SEED_KERNEL,
        metavar="NAME|MATRIX|FILE",
        help="the kernel: a name (fastconv kernels lists them, e.g. sobel-x, gaussian:5,1), an "
        "inline matrix (one row, such as '1 0 -1', is a 1×k kernel for an image) or a "
        ".npy/.csv/.txt file; default: the tutorial's 3×3 kernel",
    )
    p.add_argument("--stride", default="1", help="an int or one per axis, e.g. 2,1 (default 1)")
    p.add_argument(
        "--padding",
        default="0",
        help="an int, one per axis, 'same' or 'valid' (default 0)",
    )
    p.add_argument("--dilation", default="1", help="an int or one per axis (default 1)")
    p.add_argument(
        "--padding-mode",
        default="zeros",
        choices=("zeros", "reflect", "replicate", "circular", "symmetric"),
        help="how the padding is filled (default zeros)",
    )
    p.add_argument(
        "--convolve",
        action="store_true",
        help="mathematical convolution: flip the kernel first (default: cross-correlation)",
    )


def add_commands(commands: Any) -> None:
    """Add ``explain``, ``animate`` and ``kernels`` to the ``fastconv`` sub-parsers."""
    ex = commands.add_parser(
        "explain",
        help="the convolution step by step: windows, products, sums",
        description="Explain a convolution step by step: every window, product and sum, in "
        "the tutorial's order (top-left to bottom-right, row by row).",
    )
    _operand_options(ex)
    ex.add_argument(
        "--format", default="text", choices=("text", "markdown", "json"), help="(default text)"
    )
    ex.add_argument(
        "--max-steps",
        default="20",
        metavar="N|all",
        help="show at most N steps (default 20; 'all' for every step)",
    )
    ex.add_argument(
        "--region",
        metavar="START:STOP,...",
        help="only the steps of these output positions, one START:STOP per axis, e.g. 0:2,1:3",
    )
    ex.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    ex.set_defaults(run=run_explain)

    an = commands.add_parser(
        "animate",
        help="the sliding window as an animated GIF",
        description="Draw the sliding window as an animated GIF (or an animated PNG with -o "
        "NAME.png): the (padded) input with the window, the output filling in, each step's sum.",
    )
    _operand_options(an)
    an.add_argument("-o", "--output", default="conv.gif", metavar="FILE", help="(default conv.gif)")
    an.add_argument(
        "--transposed",
        action="store_true",
        help="draw a transposed convolution: each input element scatters the kernel",
    )
    an.add_argument(
        "--output-padding", default="0", help="transposed only: extra output at the end"
    )
    an.add_argument("--fps", type=float, default=2.0, help="frames per second (default 2)")
    an.add_argument(
        "--max-frames", type=int, default=200, help="at most this many frames (default 200)"
    )
    an.set_defaults(run=run_animate)

    ke = commands.add_parser(
        "kernels",
        help="the named kernels with their values",
        description="List the named kernels that --kernel accepts, with their values.",
    )
    ke.set_defaults(run=run_kernels)


def run(args: argparse.Namespace) -> int:
    """Run one of these commands; bad input is one line on stderr and exit status 2."""
    try:
        return args.run(args)
    except (ValueError, TypeError) as exc:  # KernelSpecError is a ValueError
        print(f"fastconv {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except ImportError as exc:  # e.g. an image file before fastconv.io is available
        print(f"fastconv {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = f" {exc.filename!r}" if exc.filename else ""
        print(f"fastconv {args.command}: error: cannot write{where}: {reason}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
