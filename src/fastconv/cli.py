"""The ``fastconv`` command line."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__, _cli_dask, _cli_explain

_EPILOG = (
    """commands:
  demo     the tutorial's 4×4 example step by step and animated, then a 512×512 image timed,
           then a sample image filtered with named kernels (files in ./fastconv-demo)
             $ fastconv demo --out fastconv-demo
  apply    filter an image file with a kernel and write the result; Zarr stores and
           (Big)TIFF files stream chunk by chunk with Dask (--chunks, --workers, --scheduler)
             $ fastconv apply photo.jpg -k gaussian:7,1.5 -o blurred.png
             $ fastconv apply scan.zarr -k gaussian:9 -o blurred.zarr --workers 4
  bench    fastconv against every installed peer (PyTorch, OpenCV, SciPy, NumPy)
             $ fastconv bench --workloads W1,W4 --quick
"""
    + _cli_explain.EPILOG
)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (``fastconv demo: error: ...``), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fastconv",
        description="The convolution operation of CNNs and image filtering, for NumPy.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fastconv {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run the worked example step by step, animate it, time a 512×512 image, filter a "
        "sample image",
    )
    demo.add_argument("--size", type=int, default=512, help="side of the timed image (512)")
    demo.add_argument(
        "--out",
        metavar="DIR",
        default="fastconv-demo",
        help="folder for the demo's files (default: fastconv-demo in the current folder)",
    )
    _add_apply(commands)
    commands.add_parser(
        "bench",
        help="benchmark against installed peers (options: fastconv bench --help)",
        add_help=False,
    )
    _cli_explain.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastconv`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # the benchmark owns its options
        from .bench import main as bench_main

        return bench_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.size < 3:
            parser.error(f"--size: expected an integer >= 3, got {args.size}")
        from .demo import output_folder, run, write_animation, write_filtered_images

        print(run(size=args.size), flush=True)
        try:  # the files: the explained example's animation, the filtered sample image
            folder = output_folder(args.out)
            gif = write_animation(folder)
            print(f"\nanimation of the 4×4 example: {gif}\n")
            print("\n".join(write_filtered_images(folder)))
        except OSError as exc:
            return _fail("fastconv demo", f"cannot write into {args.out!r}: {_reason(exc)}", 1)
        return 0
    if args.command == "apply":
        return _run_apply(args)
    if hasattr(args, "run"):
        return _cli_explain.run(args)
    parser.print_help()
    return 0


# ------------------------------------------------------------------------------ fastconv apply

_APPLY_EXAMPLES = """examples:
  fastconv apply photo.jpg -k sobel-x                  # writes photo-sobel-x.png
  fastconv apply photo.jpg -k gaussian:7,1.5 -o blurred.png
  fastconv apply scan.tif -k "1 0 -1; 2 0 -2; 1 0 -1" --border nearest -o edges.tif
  fastconv apply photo.png -k box:5 --stride 2 --mode valid -o small.png
  fastconv apply big.zarr -k gaussian:9 -o blurred.zarr --workers 4     # chunk by chunk
  fastconv apply slide.tif -k sobel-x -o edges.zarr --scheduler tcp://10.0.0.5:8786

KERNEL is a named kernel with optional parameters (identity, box, gaussian, sobel-x,
sobel-y, scharr-x, prewitt-x, laplacian, sharpen, unsharp, emboss, outline, motion-blur,
gabor, ...), an inline matrix ("1 0 -1; 2 0 -2; 1 0 -1"; one row without ';' is a row
kernel; one that starts with '-' is written -k="-1 0 1") or a .npy/.csv/.txt file.
Integer images are rounded and saturated to their dtype.
Exit status: 0 done, 2 bad argument, 1 a file that cannot be read or written.
"""


def _add_apply(commands: argparse._SubParsersAction) -> None:
    from .image import BORDERS
    from .image import METHODS as image_methods

    apply = commands.add_parser(
        "apply",
        help="filter an image file with a kernel (options: fastconv apply --help)",
        description="Correlate an image file with a kernel (scipy.ndimage.correlate semantics, "
        "the same kernel on every colour channel) and write the result.",
        epilog=_APPLY_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    apply.add_argument(
        "image",
        metavar="IMAGE",
        help="PNG, JPEG, TIFF, BMP or WebP file, or a Zarr store (streamed, like a BigTIFF)",
    )
    apply.add_argument(
        "-k", "--kernel", required=True, metavar="KERNEL", help="name, inline matrix or file"
    )
    apply.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output file, .png/.tif/.tiff/.bmp/.jpg/.webp, or a .zarr store (default: "
        "IMAGE-KERNEL.png beside IMAGE, .tif for float images; streamed: .zarr or .tif)",
    )
    apply.add_argument(
        "--border",
        default="reflect",
        choices=list(BORDERS),
        metavar="MODE",
        help="reflect (default), mirror, nearest, wrap or constant: scipy.ndimage's names "
        "(grid-mirror, grid-wrap, grid-constant accepted)",
    )
    apply.add_argument(
        "--cval", type=float, default=0.0, help="value outside the image for --border constant"
    )
    apply.add_argument("--stride", default="1", metavar="S", help="S or SY,SX (1)")
    apply.add_argument("--mode", default="same", choices=["same", "valid"], help="(same)")
    apply.add_argument("--method", default="auto", choices=["auto", *image_methods], help="(auto)")
    apply.add_argument("--gray", action="store_true", help="convert the image to grayscale")
    apply.add_argument("--filter-alpha", action="store_true", help="filter the alpha channel too")
    apply.add_argument(
        "--overwrite", action="store_true", help="replace OUT if it exists (never IMAGE)"
    )
    _cli_dask.add_options(apply)


def _fail(prog: str, message: str, status: int) -> int:
    print(f"{prog}: error: {' '.join(message.split())}", file=sys.stderr)
    return status


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _describe(a) -> str:
    layout = {2: "gray + alpha", 3: "RGB", 4: "RGBA"}
    what = "gray" if a.ndim == 2 else layout.get(a.shape[2], f"{a.shape[2]} channels")
    return f"{a.shape[0]}×{a.shape[1]} {what}, {a.dtype}"


def _default_output(image: Path, spec: str, dtype) -> Path:
    label = spec.strip().lower()
    label = re.sub(r"[:,]+", "-", label) if re.fullmatch(r"[a-z][a-z-]*(:[\d.,]+)?", label) else ""
    suffix = ".tif" if dtype.kind == "f" else ".png"
    return image.with_name(f"{image.stem}-{label or 'filtered'}{suffix}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _run_apply(args: argparse.Namespace) -> int:
    import numpy as np

    from . import kernels
    from .image import filter_image, plan_filter
    from .io import FORMATS, read_image, write_image

    prog = "fastconv apply"
    try:
        stride = tuple(int(s) for s in args.stride.split(","))
        if len(stride) not in (1, 2) or min(stride) < 1:
            raise ValueError
    except ValueError:
        return _fail(prog, f"--stride: expected S or SY,SX with positive integers, got "
                     f"{args.stride!r}", 2)  # fmt: skip
    try:
        kernel = kernels.parse(args.kernel)
    except (ValueError, TypeError) as exc:
        return _fail(prog, f"-k/--kernel: {exc}", 2)
    if kernel.ndim == 1:
        kernel = kernel[None, :]
    if _cli_dask.wanted(args):  # Zarr, a large TIFF or a Dask option: chunk by chunk
        return _cli_dask.run(
            args, kernel, stride, lambda message, status: _fail(prog, message, status)
        )
    source = Path(args.image)
    if not source.is_file():
        why = "no such file" if not source.exists() else "not a file"
        return _fail(prog, f"cannot read {str(source)!r}: {why}", 1)
    if args.output is not None:
        target = Path(args.output)
        if target.suffix.lower() not in FORMATS:
            return _fail(prog, f"-o/--output: expected a file name ending in "
                         f"{', '.join(FORMATS)}, got {args.output!r}", 2)  # fmt: skip
        if target.exists() and _same_file(target, source):
            return _fail(prog, f"-o/--output: refusing to write onto the input image "
                         f"{str(source)!r}", 2)  # fmt: skip
        if target.exists() and not args.overwrite:
            return _fail(prog, f"-o/--output: {str(target)!r} exists; pass --overwrite to "
                         "replace it", 2)  # fmt: skip

    start = time.perf_counter()
    try:
        image = read_image(source, mode="L" if args.gray else None)
    except OSError as exc:
        return _fail(prog, f"cannot read {str(source)!r}: {_reason(exc)}", 1)
    except ValueError as exc:  # not an image, or too large: the message names the file
        return _fail(prog, str(exc), 1)
    read_s = time.perf_counter() - start

    options = dict(
        border=args.border,
        cval=args.cval,
        mode=args.mode,
        stride=stride if len(stride) == 2 else stride[0],
        filter_alpha=args.filter_alpha,
        method=args.method,
    )
    try:
        plan = plan_filter(image, kernel, **options)
        # a first call in a process loads the compiled Numba kernels (~0.5 s): timed apart
        start = time.perf_counter()
        filter_image(np.ascontiguousarray(image[:2, :2]), kernel, **{**options, "mode": "same"})
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        result = filter_image(image, kernel, **options)
        filter_s = time.perf_counter() - start
    except (ValueError, TypeError) as exc:
        return _fail(prog, str(exc), 2)

    target = (
        Path(args.output)
        if args.output is not None
        else _default_output(source, args.kernel, np.dtype(result.dtype))
    )
    if target.exists() and _same_file(target, source):
        return _fail(prog, f"refusing to write onto the input image {str(source)!r}", 2)
    start = time.perf_counter()
    try:
        write_image(target, result, overwrite=args.overwrite)
    except FileExistsError as exc:
        return _fail(prog, f"{exc}".replace("overwrite=True", "--overwrite"), 2)
    except (OSError, ValueError) as exc:
        return _fail(prog, f"cannot write {str(target)!r}: {_reason(exc)}", 1)
    write_s = time.perf_counter() - start

    kh, kw = kernel.shape
    print(f"read   {source}: {_describe(image)} ({read_s * 1e3:.1f} ms)")
    print(
        f"filter {args.kernel} ({kh}×{kw}), border {plan.border}, mode {args.mode}, stride "
        f"{args.stride}: {plan.method} ({plan.reason}): {filter_s * 1e3:.1f} ms (after "
        f"{load_s * 1e3:.0f} ms loading the compiled kernels)"
    )
    print(f"wrote  {target}: {_describe(result)} ({write_s * 1e3:.1f} ms)")
    return 0
