"""Benchmark workload W11: filtering a Zarr store into a Zarr store on a Dask cluster.

A 16384x16384 float32 image (1 GiB) in a Zarr store with 2048x2048 chunks (Zarr's default
codec, zstd), filtered with a 9x9 Gaussian (``kernels.gaussian(9)``: rank 1) and with a dense
random 9x9 kernel, border ``reflect``, written to a new Zarr store with the same chunks:
``fastconv.dask.filter_image`` against ``dask_image.ndfilters.correlate`` (``mode="reflect"``,
the same semantics: ``scipy.ndimage.correlate`` per chunk), on one ``LocalCluster`` of worker
processes with one thread each, same store, same chunks. Reported per kernel: seconds (median),
MB/s of input image, the ratio fastconv / dask-image (times; < 1: fastconv faster), the peak
RSS of the workers, and the same with 1 worker (the scaling).

Every run writes into a temporary folder that is removed afterwards; each output is checked
against the in-memory result on the image's four corners (where the border is used) and one
inner block (where the halos of four chunks meet). Runs are interleaved (round-robin over the
implementations), after one untimed warm-up run of each on a smaller store.

Run it as ``fastconv bench --workloads W11`` or ``python bench/dask_bench.py`` (options:
``--size``, ``--chunk``, ``--repeats``, ``--workers``, ``--quick``, ``--json``); it takes
about five minutes on the 2-core development machine (``--quick``: a 4096x4096 image, one
repeat).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

NAME = "W11"
TITLE = "16384x16384 float32 Zarr -> Zarr (2048x2048 chunks), 9x9 kernels, LocalCluster"
#: largest error relative to max|reference| that passes the check
REL_TOL = 1e-5


@dataclass
class Run:
    """Timed runs of one implementation, kernel and worker count."""

    impl: str
    kernel: str
    workers: int
    times_s: list[float] = field(default_factory=list)
    peak_rss: list[int] = field(default_factory=list)
    rel_err: float | None = None
    skipped: str | None = None

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.times_s) if self.times_s else None


def _kernels() -> dict[str, np.ndarray]:
    from . import kernels

    dense = np.random.default_rng(11).standard_normal((9, 9))
    return {"gaussian 9x9": kernels.gaussian(9), "dense 9x9": dense / np.abs(dense).sum()}


def _make_store(path: str, size: int, chunk: int, client) -> None:
    import dask.array as da

    noise = da.random.default_rng(0).random((size, size), chunks=chunk, dtype=np.float32)
    client.compute(noise.to_zarr(path, compute=False)).result()


def _fastconv(source: str, target: str, kernel: np.ndarray, client) -> None:
    import dask.array as da

    from .dask import filter_image, write_image

    image = da.from_zarr(source)
    write_image(filter_image(image, kernel.astype(np.float32), border="reflect"), target,
                client=client)  # fmt: skip


def _dask_image(source: str, target: str, kernel: np.ndarray, client) -> None:
    import dask.array as da
    from dask_image.ndfilters import correlate

    out = correlate(da.from_zarr(source), kernel.astype(np.float32), mode="reflect")
    client.compute(out.to_zarr(target, compute=False)).result()


IMPLS: dict[str, tuple[str, Callable]] = {
    "fastconv": ("fastconv", _fastconv),
    "dask-image": ("dask_image", _dask_image),
}


def _rss_start() -> None:
    import psutil

    state = _RSS
    state.clear()

    def sample() -> None:
        proc = psutil.Process()
        while not state.get("stop"):
            state["peak"] = max(state.get("peak", 0), proc.memory_info().rss)
            time.sleep(0.01)

    threading.Thread(target=sample, daemon=True).start()


_RSS: dict = {}


def _rss_stop() -> int:
    _RSS["stop"] = True
    time.sleep(0.03)
    return _RSS.get("peak", 0)


def _warm() -> None:
    """Load fastconv's compiled kernels in a worker (Numba's on-disk cache)."""
    import fastconv

    from . import kernels

    image = np.ones((64, 64), np.float32)
    fastconv.filter_image(image, kernels.gaussian(9).astype(np.float32))
    fastconv.filter_image(image, np.random.default_rng(0).random((9, 9)).astype(np.float32))


def _check(source: str, target: str, kernel: np.ndarray, chunk: int) -> float:
    """Largest relative error on the corners and one inner chunk corner, against the
    in-memory filter of the same windows (with enough margin for the kernel)."""
    import zarr

    from .image import filter_image

    inp = zarr.open_array(source, mode="r")
    out = zarr.open_array(target, mode="r")
    n = inp.shape[0]
    k = kernel.astype(np.float32)
    m, w = 8, 64  # margin beyond the kernel's reach, window side
    worst = 0.0
    windows = [(0, 0), (0, n - w), (n - w, 0), (n - w, n - w)]
    if n > 2 * chunk:
        windows.append((chunk - w // 2, chunk - w // 2))
    for r, c in windows:
        r0, c0 = max(r - m, 0), max(c - m, 0)
        r1, c1 = min(r + w + m, n), min(c + w + m, n)
        full = filter_image(inp[r0:r1, c0:c1], k, border="reflect")
        ref = full[r - r0 : r - r0 + w, c - c0 : c - c0 + w]
        got = out[r : r + w, c : c + w]
        worst = max(worst, float(np.abs(got - ref).max() / np.abs(ref).max()))
    return worst


def _run_cluster(workers: int, impls: Sequence[str], size: int, chunk: int, repeats: int,
                 folder: str, say) -> list[Run]:  # fmt: skip
    from distributed import Client, LocalCluster

    runs: list[Run] = []
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                     dashboard_address=":0", silence_logs=40) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        client.run(_warm)
        source = os.path.join(folder, "image.zarr")
        if not os.path.exists(source):
            say(f"writing the {size}x{size} float32 input store ({size * size * 4 / 2**20:.0f} "
                f"MiB, chunks {chunk}x{chunk}) ...")  # fmt: skip
            _make_store(source, size, chunk, client)
        warm_source = os.path.join(folder, "warm.zarr")
        if not os.path.exists(warm_source):
            _make_store(warm_source, min(size, 2 * chunk), chunk, client)
        kernels = _kernels()
        for kname, kernel in kernels.items():
            for impl in impls:  # untimed warm-up on the small store
                target = os.path.join(folder, f"warm-{impl}.zarr")
                IMPLS[impl][1](warm_source, target, kernel, client)
                shutil.rmtree(target)
            table = {impl: Run(impl, kname, workers) for impl in impls}
            for rep in range(repeats):
                order = list(impls[rep % len(impls) :]) + list(impls[: rep % len(impls)])
                for impl in order:
                    target = os.path.join(folder, f"out-{impl}.zarr")
                    client.run(_rss_start)
                    start = time.perf_counter()
                    IMPLS[impl][1](source, target, kernel, client)
                    seconds = time.perf_counter() - start
                    peak = max(client.run(_rss_stop).values())
                    run = table[impl]
                    run.times_s.append(seconds)
                    run.peak_rss.append(peak)
                    if run.rel_err is None:
                        run.rel_err = _check(source, target, kernel, chunk)
                    shutil.rmtree(target)
                    say(f"  {workers} worker{'s' if workers > 1 else ''}, {kname}, {impl}: "
                        f"{seconds:.2f} s, peak worker RSS {peak / 2**20:.0f} MiB")  # fmt: skip
            runs.extend(table.values())
    return runs


def format_report(runs: Sequence[Run], size: int) -> str:
    """The W11 table: per kernel and worker count, time, MB/s, ratio, peak RSS."""
    mb = size * size * 4 / 1e6
    lines = [
        f"{'kernel':14s} {'workers':>7s} {'fastconv s':>10s} {'MB/s':>7s} "
        f"{'dask-image s':>12s} {'MB/s':>7s} {'ratio':>6s} {'peak RSS MiB':>13s}"
    ]
    names = list(dict.fromkeys(r.kernel for r in runs))
    keys = sorted({(r.kernel, r.workers) for r in runs}, key=lambda k: (names.index(k[0]), -k[1]))
    by = {(r.impl, r.kernel, r.workers): r for r in runs}
    for kname, workers in keys:
        fc = by.get(("fastconv", kname, workers))
        di = by.get(("dask-image", kname, workers))

        def cells(r: Run | None) -> tuple[str, str]:
            if r is None or r.median_s is None:
                return "-", "-"
            return f"{r.median_s:.2f}", f"{mb / r.median_s:.0f}"

        ratio = (f"{fc.median_s / di.median_s:.2f}" if fc and di and fc.median_s and di.median_s
                 else "-")  # fmt: skip
        peaks = "/".join(f"{max(r.peak_rss) / 2**20:.0f}" for r in (fc, di) if r and r.peak_rss)
        lines.append(
            f"{kname:14s} {workers:>7d} {cells(fc)[0]:>10s} {cells(fc)[1]:>7s} "
            f"{cells(di)[0]:>12s} {cells(di)[1]:>7s} {ratio:>6s} {peaks:>13s}"
        )
    lines.append(
        "times: median seconds store to store; MB/s: input image MB / s; ratio: fastconv / "
        "dask-image time (< 1: fastconv faster); peak RSS: the largest worker's (fastconv/"
        "dask-image)"
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fastconv bench --workloads W11",
        description=f"{NAME}: {TITLE}. fastconv.dask.filter_image against "
        "dask_image.ndfilters.correlate, store to store.",
    )
    p.add_argument("--workloads", help=argparse.SUPPRESS)  # when called as fastconv bench
    p.add_argument("--size", type=int, default=16384, help="image side (16384)")
    p.add_argument("--chunk", type=int, default=2048, help="chunk side (2048)")
    p.add_argument("--repeats", type=int, default=None, help="timed runs each (3; --quick 1)")
    p.add_argument("--workers", default="2,1", help="cluster sizes, comma-separated (2,1)")
    p.add_argument("--quick", action="store_true", help="4096x4096, one repeat: a smoke test")
    p.add_argument("--json", metavar="PATH", help="also write the runs as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run W11; returns 0, or 1 when a fastconv output failed the check."""
    args = build_parser().parse_args(argv)
    size = 4096 if args.quick and args.size == 16384 else args.size
    chunk = min(args.chunk, size)
    repeats = args.repeats or (1 if args.quick else 3)
    counts = [int(w) for w in args.workers.split(",") if w.strip()]
    impls = []
    for impl, (module, _) in IMPLS.items():
        try:
            __import__(module)
            impls.append(impl)
        except ImportError:
            print(f"{impl}: not installed (skipped)")
    for module in ("dask", "distributed", "zarr", "psutil"):
        try:
            __import__(module)
        except ImportError:
            print(f"{NAME} needs {module}: pip install 'fastconv[dask]' psutil")
            return 1

    def say(text: str) -> None:
        print(text, flush=True)

    import dask
    import distributed

    say(f"{NAME}: {size}x{size} float32 Zarr -> Zarr ({chunk}x{chunk} chunks, zstd), border "
        f"reflect; LocalCluster of {' and '.join(map(str, counts))} worker process(es), 1 thread "
        f"each; {repeats} timed run(s) each, interleaved, after a warm-up run")  # fmt: skip
    say(f"versions: dask {dask.__version__}, distributed {distributed.__version__}, CPUs "
        f"{os.cpu_count()}")  # fmt: skip
    runs: list[Run] = []
    folder = tempfile.mkdtemp(prefix="fastconv-w11-")
    try:
        for workers in counts:
            runs += _run_cluster(workers, impls, size, chunk, repeats, folder, say)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    say("")
    say(format_report(runs, size))
    failed = [r for r in runs if r.impl == "fastconv" and (r.rel_err or 0) > REL_TOL]
    for r in runs:
        say(f"check {r.impl:10s} {r.kernel}, {r.workers} worker(s): max relative error "
            f"{r.rel_err:.1e} against the in-memory filter")  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"size": size, "chunk": chunk, "runs": [asdict(r) for r in runs]}, fh,
                      indent=2)  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":  # the module's own functions, so that workers find them by name
    from fastconv.bench_dask import main as _main

    sys.exit(_main())
