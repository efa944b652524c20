"""Images that no single machine holds: read lazily from Zarr or TIFF, write block by block.

:func:`read_image` opens a Zarr array or a (Big)TIFF file as a Dask array without reading any
pixels (each block is read where it is computed, by path, so worker processes on other
machines read it too when the path is on a shared file system); other image files are read
into memory with :func:`fastconv.io.read_image` and wrapped. :func:`write_image` computes a
Dask array block by block into a Zarr store or a tiled (Big)TIFF file, atomically: a store is
written under a temporary name beside the target (``OUT.tmp-XXXXXXXX``), a TIFF file through
:func:`fastconv._files.atomic_write`; either is renamed only when complete and removed if the
run fails or is interrupted -- the final name never holds half an image. Both are re-exported
by :mod:`fastconv.dask`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: suffixes of the streamed formats
ZARR_SUFFIXES = (".zarr",)
TIFF_SUFFIXES = (".tif", ".tiff")
#: side of the square tiles of a written TIFF (a multiple of 16, as TIFF requires)
TIFF_TILE = 256
#: a written TIFF larger than this is a BigTIFF (classic TIFF offsets are 32-bit)
BIGTIFF_BYTES = 2**32 - 2**25
#: default block size when the file's own chunks (tiles, strips) are smaller
DEFAULT_BLOCK_BYTES = 16 * 2**20


def is_zarr(path: str | os.PathLike[str]) -> bool:
    """A Zarr store: a ``.zarr`` path, or a folder holding ``zarr.json`` / ``.zarray``."""
    p = Path(path)
    if p.suffix.lower() in ZARR_SUFFIXES:
        return True
    return p.is_dir() and any((p / name).is_file() for name in ("zarr.json", ".zarray"))


def is_tiff(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in TIFF_SUFFIXES


@dataclass(frozen=True)
class _TiffRegion:
    """Reads regions of the first series of a TIFF file, opening it by path for each read
    (picklable: a worker on another process or machine reads its own blocks)."""

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype
    key: tuple  # size and modification time: a changed file is a different array

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, index) -> np.ndarray:
        import tifffile
        import zarr

        with tifffile.TiffFile(self.path) as tif:
            store = tif.series[0].aszarr()
            try:
                return np.asarray(zarr.open(store, mode="r")[index])
            finally:
                store.close()


def _block_chunks(shape, dtype, previous, chunks):
    """``chunks`` as given, or blocks of about DEFAULT_BLOCK_BYTES aligned to ``previous``."""
    from dask.array.core import normalize_chunks

    if chunks is not None:
        if isinstance(chunks, tuple) and len(chunks) < len(shape):  # the rest whole
            chunks = chunks + (-1,) * (len(shape) - len(chunks))
        return normalize_chunks(chunks, shape, dtype=dtype)
    return normalize_chunks(
        "auto", shape, limit=DEFAULT_BLOCK_BYTES, dtype=dtype, previous_chunks=previous
    )


def read_image(path: str | os.PathLike[str], *, chunks: Any = None):
    """Open an image as a Dask array: Zarr and (Big)TIFF lazily, other files in memory.

    Parameters
    ----------
    path : str or path-like
        A Zarr array (a ``.zarr`` folder, or the folder of one array inside a group), a
        ``.tif``/``.tiff`` file (its first series; a channel axis ``S`` is moved last), or any
        file :func:`fastconv.io.read_image` reads.
    chunks : int, tuple or None, optional
        Block shape (Dask's ``chunks``; a tuple shorter than the image's dimensions leaves the
        other axes whole). Default: the file's own chunks (Zarr chunks, TIFF tiles or
        strips), merged into blocks of about 16 MiB when they are smaller.

    Returns
    -------
    dask.array.Array

    Examples
    --------
    >>> import os, tempfile, numpy as np, zarr
    >>> path = os.path.join(tempfile.mkdtemp(), "in.zarr")
    >>> z = zarr.create_array(path, shape=(6, 8), chunks=(3, 4), dtype="uint8")
    >>> z[:] = np.arange(48, dtype=np.uint8).reshape(6, 8)
    >>> image = read_image(path)
    >>> image.shape, image.dtype, image.chunks
    ((6, 8), dtype('uint8'), ((6,), (8,)))
    >>> read_image(path, chunks=(3, 4)).chunks
    ((3, 3), (4, 4))
    """
    import dask.array as da

    p = Path(path)
    if is_zarr(p):
        import zarr

        try:
            z = zarr.open(str(p), mode="r")
        except FileNotFoundError:
            raise FileNotFoundError(f"read_image: no Zarr store at {str(p)!r}") from None
        if not hasattr(z, "shape"):
            names = ", ".join(sorted(z.array_keys())) or "none"
            raise ValueError(
                f"read_image: expected a Zarr array, got a group at {str(p)!r} (arrays: {names}; "
                "give the path of one, e.g. store.zarr/name)"
            )
        return da.from_zarr(z, chunks=_block_chunks(z.shape, z.dtype, z.chunks, chunks))
    if is_tiff(p):
        import tifffile

        stat = p.stat()
        with tifffile.TiffFile(p) as tif:
            series = tif.series[0]
            axes = series.axes
            store = series.aszarr()
            try:
                import zarr

                tiles = zarr.open(store, mode="r").chunks
            finally:
                store.close()
            reader = _TiffRegion(str(p.resolve()), tuple(series.shape), np.dtype(series.dtype),
                                 (stat.st_size, stat.st_mtime_ns))  # fmt: skip
        image = da.from_array(
            reader,
            chunks=_block_chunks(reader.shape, reader.dtype, tiles, chunks),
            meta=np.empty((0,) * reader.ndim, reader.dtype),
        )
        if "S" in axes and axes.index("S") != image.ndim - 1:
            image = da.moveaxis(image, axes.index("S"), -1)
        return image
    from . import io

    return da.from_array(io.read_image(p), chunks="auto" if chunks is None else chunks)


# --------------------------------------------------------------------------------------------
# running a graph: on a distributed client or Dask's local threads, with a progress bar


def _progress(total: int, show: bool, what: str, unit: str = "block"):
    from tqdm import tqdm

    return tqdm(total=total, disable=not show, unit=unit, desc=what, file=sys.stderr,
                dynamic_ncols=True, leave=True)  # fmt: skip


def _client(client: Any) -> Any:
    """The given client, else the default ``dask.distributed`` client if one exists (``False``:
    Dask's local threads, whatever clients exist)."""
    if client is False:
        return None
    if client is not None:
        return client
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def run_all(tasks: Sequence[Any], *, client: Any = None, bar: Any = None) -> list[Any]:
    """Compute Dask ``tasks`` (delayed objects), advancing ``bar`` by one per finished task."""
    client = _client(client)
    if client is not None:
        from distributed import as_completed

        futures = client.compute(list(tasks))
        try:
            for future in as_completed(futures):
                future.result()  # raises the task's error here
                if bar is not None:
                    bar.update(1)
        except BaseException:
            client.cancel(futures)
            _wait_until_stopped(client, {f.key for f in futures})
            raise
        return [f.result() for f in futures]
    from concurrent.futures import ThreadPoolExecutor

    import dask
    from dask.callbacks import Callback

    keys = {t.key for t in tasks}

    class _Bar(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if bar is not None and key in keys:
                bar.update(1)

    pool = ThreadPoolExecutor(os.cpu_count() or 1)
    try:
        with _Bar():
            return list(dask.compute(*tasks, scheduler="threads", pool=pool))
    finally:  # a failure or Ctrl-C: no task may still be writing when the caller cleans up
        pool.shutdown(wait=True, cancel_futures=True)


def _executing(keys: set, dask_worker=None) -> list:
    """The tasks among ``keys`` that this worker's threads are still running."""
    state = dask_worker.state
    return [ts.key for ts in (*state.executing, *state.long_running) if ts.key in keys]


def _wait_until_stopped(client: Any, keys: set, timeout: float = 60.0) -> None:
    """After a cancel: wait until no worker thread still runs one of ``keys`` (a cancelled task
    that is executing runs to its end, and a late write must not land after the cleanup)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            running = client.run(_executing, keys)
        except Exception:  # workers gone or unreachable: nothing more to wait for here
            return
        if not any(running.values()):
            return
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# writing


def _regular(chunks: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
    """Chunks of one size per axis (the first block's; the last block may be shorter)."""
    out = []
    for c in chunks:
        n, size = sum(c), max(c[0], 1)
        out.append((size,) * (n // size) + ((n % size,) if n % size else ()) or (0,))
    return tuple(out)


def _write_zarr_block(block: np.ndarray, path: str, region: tuple[slice, ...]) -> int:
    import zarr

    zarr.open_array(path, mode="r+")[region] = block
    return block.nbytes


def _write_zarr(array, tmp: Path, client: Any, bar_factory) -> int:
    import dask
    import zarr

    regular = _regular(array.chunks)
    if array.chunks != regular:  # each block must be whole Zarr chunks: no two write one
        array = array.rechunk(regular)
    chunk_shape = tuple(max(c[0], 1) for c in regular)
    zarr.create_array(str(tmp), shape=array.shape, chunks=chunk_shape, dtype=array.dtype,
                      fill_value=0)  # fmt: skip
    starts = [list(itertools.accumulate(c, initial=0)) for c in array.chunks]
    blocks = array.to_delayed().ravel()
    write = dask.delayed(_write_zarr_block, pure=True)
    tasks = []
    for block, index in zip(blocks, itertools.product(*(range(len(c)) for c in array.chunks))):
        region = tuple(slice(s[i], s[i + 1]) for s, i in zip(starts, index))
        tasks.append(write(block, str(tmp), region))
    with bar_factory(len(tasks)) as bar:
        run_all(tasks, client=client, bar=bar)
    return len(tasks)


def _tiles(band: np.ndarray, tile: int) -> Iterator[np.ndarray]:
    for r in range(0, band.shape[0], tile):
        for c in range(0, band.shape[1], tile):
            yield band[r : r + tile, c : c + tile]


def _write_tiff(array, tmp: Any, client: Any, bar_factory) -> int:
    """Row bands of whole tiles, computed on the cluster (the next while this one is written)
    and written tile by tile in the file's order."""
    import tifffile

    from .dask import stride_chunks

    if array.ndim not in (2, 3):
        raise ValueError(
            f"write_image: expected a 2-D or 3-D (channels last) array for a TIFF file, got "
            f"shape {array.shape}"
        )
    rows = stride_chunks(array.chunks[0], TIFF_TILE)
    array = array.rechunk({0: rows, 1: -1, **({2: -1} if array.ndim == 3 else {})})
    bands = [array.blocks[i] for i in range(array.numblocks[0])]
    channels = array.shape[2] if array.ndim == 3 else 1
    photometric = "rgb" if channels in (3, 4) and array.dtype.kind == "u" else "minisblack"
    big = array.nbytes > BIGTIFF_BYTES
    client = _client(client)

    def computed() -> Iterator[np.ndarray]:
        if client is not None:
            ahead = client.compute(bands[0])
            for i in range(len(bands)):
                current = ahead
                if i + 1 < len(bands):
                    ahead = client.compute(bands[i + 1])
                yield current.result()
        else:
            for band in bands:
                yield band.compute(scheduler="threads")

    with bar_factory(len(bands)) as bar:

        def tiles() -> Iterator[np.ndarray]:
            for band in computed():
                bar.update(1)  # computed: the writer consumes no more than the tiles it needs
                yield from _tiles(band, TIFF_TILE)

        with tifffile.TiffWriter(tmp, bigtiff=big) as tw:
            tw.write(tiles(), shape=array.shape, dtype=array.dtype, tile=(TIFF_TILE, TIFF_TILE),
                     photometric=photometric, metadata=None)  # fmt: skip
    return len(bands)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    """Give the finished store ``tmp`` (a folder) its final name; never replace ``target``
    unless asked, and then only once ``tmp`` is complete."""
    exists = f"write_image: {str(target)!r} exists; pass overwrite=True to replace it"
    if tmp.is_dir():
        if target.exists() or target.is_symlink():
            if not overwrite:
                raise FileExistsError(exists)
            old = target.with_name(f"{target.name}.old-{secrets.token_hex(4)}")
            os.rename(target, old)  # out of the way first: a folder cannot replace a folder
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(old, target)
                raise
            _remove(old)
            return
        try:
            os.rename(tmp, target)  # fails on a non-empty folder that appeared meanwhile
        except OSError as exc:
            if target.exists():
                raise FileExistsError(exists) from exc
            raise
        return
    raise AssertionError("files go through fastconv._files.atomic_write")  # pragma: no cover


@dataclass(frozen=True)
class Written:
    """What :func:`write_image` wrote: the path, the format, the blocks (Zarr) or row bands
    (TIFF), and the seconds it took."""

    path: Path
    format: str
    blocks: int
    seconds: float


def write_image(array: Any, path: str | os.PathLike[str], *, overwrite: bool = False,
                progress: bool = False, client: Any = None) -> Written:  # fmt: skip
    """Compute a Dask array block by block into a Zarr store or a tiled (Big)TIFF, atomically.

    Parameters
    ----------
    array : dask.array.Array
        The image (a TIFF needs ``(H, W)`` or ``(H, W, C)``).
    path : str or path-like
        ``.zarr`` (a folder: one array, chunked like ``array``'s first blocks) or
        ``.tif``/``.tiff`` (256x256 tiles, uncompressed; BigTIFF above 4 GiB).
    overwrite : bool, default False
        Replace an existing ``path``; without it, ``FileExistsError`` before anything is
        computed (and again, without touching it, if it appeared meanwhile).
    progress : bool, default False
        A progress bar on stderr (tqdm), one step per block (Zarr) or row band (TIFF).
    client : distributed.Client or False, optional
        Where to compute; default: the current ``dask.distributed`` client if there is one,
        else Dask's local threads (``False``: those threads in any case). A Zarr store is
        written by the workers themselves (the path must be on a file system they share); a
        TIFF file by this process, band by band.

    Returns
    -------
    Written

    Examples
    --------
    >>> import os, tempfile, numpy as np, dask.array as da
    >>> folder = tempfile.mkdtemp()
    >>> out = write_image(da.ones((5, 7), chunks=3), os.path.join(folder, "ones.zarr"))
    >>> out.format, out.blocks, sorted(os.listdir(folder))
    ('zarr', 6, ['ones.zarr'])
    >>> read_image(out.path).sum().compute(scheduler="synchronous")
    np.float64(35.0)
    >>> write_image(da.ones((5, 7)), out.path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileExistsError: write_image: '...ones.zarr' exists; pass overwrite=True to replace it
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in ZARR_SUFFIXES + TIFF_SUFFIXES:
        raise ValueError(
            f"write_image: expected a path ending in .zarr, .tif or .tiff, got {str(target)!r}"
        )
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise FileExistsError(
            f"write_image: {str(target)!r} exists; pass overwrite=True to replace it"
        )
    if not target.parent.is_dir():
        raise FileNotFoundError(f"write_image: no folder {str(target.parent)!r} to write into")
    tmp = target.with_name(f"{target.name}.tmp-{secrets.token_hex(4)}")

    def bar_factory(total: int):
        unit = "block" if suffix in ZARR_SUFFIXES else "band"
        return _progress(total, progress, f"writing {target.name}", unit)

    start = time.perf_counter()
    if suffix in TIFF_SUFFIXES:  # one file: the house's atomic writer
        from ._files import atomic_write

        counted: list[int] = []
        try:
            atomic_write(target, lambda fh: counted.append(_write_tiff(array, fh, client,
                                                                       bar_factory)),
                         overwrite=overwrite)  # fmt: skip
        except FileExistsError:
            raise FileExistsError(
                f"write_image: {str(target)!r} exists; pass overwrite=True to replace it"
            ) from None
        return Written(target, "tiff", counted[0], time.perf_counter() - start)
    try:
        blocks = _write_zarr(array, tmp, client, bar_factory)
        _publish(tmp, target, overwrite)
    except BaseException:
        _remove(tmp)
        raise
    return Written(target, "zarr", blocks, time.perf_counter() - start)
