"""``fastconv apply`` on images larger than memory: Zarr and (Big)TIFF, streamed with Dask.

Taken when the input or the output is a Zarr store, when the input TIFF is a BigTIFF or holds
more pixels than Pillow's limit, or when ``--chunks``, ``--workers`` or ``--scheduler`` is
given. The image is opened lazily (:func:`fastconv.dask.read_image`), filtered chunk by chunk
(:func:`fastconv.dask.filter_image`) and written block by block under a temporary name that is
renamed when complete (:func:`fastconv.dask.write_image`), on Dask's local threads, a local
cluster of ``--workers`` processes, or an existing ``dask.distributed`` scheduler.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

OPTIONS_HELP = (
    "streaming (Zarr stores and (Big)TIFF files, chunk by chunk with Dask; needs "
    "pip install 'fastconv[dask]')"
)


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(OPTIONS_HELP)
    group.add_argument(
        "--chunks",
        metavar="N|NY,NX",
        help="block size in pixels (default: the file's own chunks or tiles, merged into "
        "blocks of about 16 MiB); a strided axis is then resized to multiples of the stride",
    )
    group.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="compute on a local cluster of N worker processes (one thread each)",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="compute on an existing dask.distributed scheduler (tcp://host:8786); the "
        "workers need fastconv installed and must see INPUT and OUT at the same paths",
    )
    group.add_argument(
        "--channel-axis",
        type=int,
        default=-1,
        metavar="AXIS",
        help="axis of the channels of a 3-D Zarr array (default -1, the last; a TIFF's "
        "samples axis is moved last when it is read)",
    )
    group.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )


def wanted(args: argparse.Namespace) -> bool:
    """Whether this ``apply`` streams (see the module docstring)."""
    from ._stream import is_tiff, is_zarr

    if args.chunks or args.workers is not None or args.scheduler:
        return True
    if is_zarr(args.image) or (args.output is not None and is_zarr(args.output)):
        return True
    return is_tiff(args.image) and Path(args.image).is_file() and _large_tiff(args.image)


def _large_tiff(path: str) -> bool:
    """A BigTIFF, or more pixels than Pillow's decompression-bomb limit allows."""
    try:
        import tifffile
        from PIL import Image

        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            pixels = series.size // (series.shape[series.axes.index("S")]
                                     if "S" in series.axes else 1)  # fmt: skip
            return bool(tif.is_bigtiff) or pixels > (Image.MAX_IMAGE_PIXELS or float("inf"))
    except Exception:  # not readable by tifffile (or not installed): Pillow's path says why
        return False


def _chunks(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    sizes = tuple(int(s) for s in text.split(","))
    if len(sizes) not in (1, 2) or min(sizes) < 1:
        raise ValueError
    return sizes if len(sizes) == 2 else sizes * 2


def _describe(shape: tuple[int, ...], dtype: Any) -> str:
    layout = {2: "gray + alpha", 3: "RGB", 4: "RGBA"}
    what = "gray" if len(shape) == 2 else layout.get(shape[-1], f"{shape[-1]} channels")
    return f"{shape[0]}×{shape[1]} {what}, {dtype}"


def _blocks(chunks: tuple[tuple[int, ...], ...]) -> str:
    sizes = "×".join(str(max(c)) for c in chunks[:2])
    count = 1
    for c in chunks:
        count *= len(c)
    return f"{count} block{'s' if count != 1 else ''} of {sizes}"


@contextlib.contextmanager
def _compute_on(args: argparse.Namespace):
    """``(client or None, description)``: where the blocks are computed."""
    if args.workers is None and not args.scheduler:
        yield None, f"Dask's local threads ({os.cpu_count()} CPUs)"
        return
    from distributed import Client, LocalCluster

    if args.scheduler:
        with Client(args.scheduler, timeout="20s") as client:
            n = len(client.scheduler_info().get("workers", {}))
            yield client, f"the scheduler at {args.scheduler} ({n} workers)"
        return
    start = time.perf_counter()
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                     dashboard_address=":0", silence_logs=40) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        client.run(_load_kernels)  # imports and compiled kernels, before the clock starts
        yield (
            client,
            (
                f"a local cluster of {args.workers} worker processes (started in "
                f"{time.perf_counter() - start:.1f} s)"
            ),
        )


def _load_kernels() -> None:
    """Import fastconv in a fresh worker and load its compiled filter kernels."""
    import numpy as np

    from .image import filter_image

    tiny = np.ones((8, 8), np.float32)
    filter_image(tiny, np.ones((3, 3), np.float32))
    filter_image(tiny, np.eye(3, dtype=np.float32))


def run(args: argparse.Namespace, kernel, stride, fail) -> int:
    """The streaming ``fastconv apply``; ``fail(message, status)`` reports an error."""
    try:
        from . import dask as fd
        from ._stream import TIFF_SUFFIXES, ZARR_SUFFIXES, is_zarr
        from .image import plan_filter
    except ImportError as exc:
        return fail(f"streaming Zarr/TIFF needs Dask ({exc}); pip install 'fastconv[dask]'", 1)
    if args.workers is not None and args.workers < 1:
        return fail(f"--workers: expected a positive integer, got {args.workers}", 2)
    if args.workers is not None and args.scheduler:
        return fail("--workers and --scheduler: expected one of them, got both", 2)
    try:
        chunks = _chunks(args.chunks)
    except ValueError:
        return fail(f"--chunks: expected N or NY,NX with positive integers, got "
                    f"{args.chunks!r}", 2)  # fmt: skip
    source = Path(args.image)
    if not source.exists():
        return fail(f"cannot read {str(source)!r}: no such file or Zarr store", 1)
    if args.output is None:
        suffix = ".zarr" if is_zarr(source) else ".tif"
        label = "".join(c if c.isalnum() or c in "-." else "-" for c in args.kernel.lower())
        target = source.with_name(f"{source.name.split('.')[0]}-{label.strip('-.')}{suffix}")
    else:
        target = Path(args.output)
    if target.suffix.lower() not in ZARR_SUFFIXES + TIFF_SUFFIXES:
        return fail(f"-o/--output: expected a Zarr store (.zarr) or a TIFF file (.tif, .tiff) "
                    f"when streaming, got {str(target)!r}", 2)  # fmt: skip
    if target.exists() and _same(target, source):
        return fail(f"-o/--output: refusing to write onto the input {str(source)!r}", 2)
    if (target.exists() or target.is_symlink()) and not args.overwrite:
        return fail(f"-o/--output: {str(target)!r} exists; pass --overwrite to replace it", 2)

    try:
        image = fd.read_image(source, chunks=chunks)
    except (OSError, ValueError) as exc:
        return fail(f"cannot read {str(source)!r}: {exc}", 1)
    options = dict(
        border=args.border,
        cval=args.cval,
        mode=args.mode,
        stride=stride if len(stride) == 2 else stride[0],
        channel_axis=args.channel_axis,
        filter_alpha=args.filter_alpha,
        method=args.method,
    )
    try:
        plan = plan_filter(image, kernel, **options)
        result = fd.filter_image(image, kernel, **options)
    except (ValueError, TypeError) as exc:
        return fail(str(exc), 2)
    kind = "Zarr" if is_zarr(source) else "TIFF"
    print(f"read   {source}: {_describe(image.shape, image.dtype)} ({kind}, "
          f"{_blocks(image.chunks)})", flush=True)  # fmt: skip
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        with _compute_on(args) as (client, where):
            kh, kw = kernel.shape
            print(f"filter {args.kernel} ({kh}×{kw}), border {plan.border}, mode {args.mode}, "
                  f"stride {args.stride}: {plan.method} ({plan.reason}), on {where}",
                  flush=True)  # fmt: skip
            start = time.perf_counter()
            written = fd.write_image(result, target, overwrite=args.overwrite,
                                     progress=progress, client=client)  # fmt: skip
            seconds = time.perf_counter() - start
    except FileExistsError as exc:
        return fail(str(exc).replace("overwrite=True", "--overwrite"), 2)
    except OSError as exc:
        return fail(f"cannot write {str(target)!r}: {exc.strerror or exc}", 1)
    except KeyboardInterrupt:
        return fail(f"interrupted; nothing written to {str(target)!r}", 130)
    mb = (image.nbytes + result.nbytes) / 1e6
    unit = "block" if written.format == "zarr" else "row band"
    unit += "s" if written.blocks != 1 else ""
    print(f"wrote  {target}: {_describe(result.shape, result.dtype)} ({written.format}, "
          f"{written.blocks} {unit}) in {seconds:.2f} s ({image.nbytes / 1e6 / seconds:.1f} MB/s "
          f"of input, {mb / seconds:.1f} MB/s read + written)")  # fmt: skip
    return 0


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()
