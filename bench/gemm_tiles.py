"""Measure the GEMM path's constants (``fastconv.algorithms.gemm``) against PyTorch.

Reproduces, on the CNN workloads of ``fastconv bench`` (W5, W7, W8, W9; W4 forced to gemm):

- ``FLAT_TILE_BYTES``: the flat window matrix with tiles of 256 KiB to 4 MiB per thread;
- the flat window matrix against per-image ``im2col`` tiles (``FLAT_MAX_EXTENSION = 0``
  forces the latter);
- the 1×1 path: one batched product on OpenBLAS's own threads (what ``gemm`` runs) against
  one product per image on them (the former path) and on fastconv's pool (BLAS on one
  thread per worker);
- W9: both gradients of W4 as ``method="auto"`` runs them, and the weight gradient alone,
  each also with the weight gradient on per-image ``im2col`` tiles;
- ``torch.nn.functional.conv2d`` (W9: ``torch.nn.grad.conv2d_input`` + ``conv2d_weight``) on
  the same operands, interleaved in the same process;
- with ``--geometries``, ``FLAT_MIN_REUSE``: the flat window matrix against ``im2col`` tiles
  on the 30 random geometries of ``fastconv bench --check-choice`` (``bench/geometries.json``),
  the minimum process CPU time of 10 calls each (CPU time, not wall time: the dev VM is shared,
  and a call's own work is what differs between the two).

Every variant is timed round-robin (``--rounds`` rounds, 5 samples each with a 30 ms idle
gap before every sample, so thread pools stop spinning); printed are the minimum and the
median over all samples, in ms. Run under the benchmark lock, e.g.
``flock /tmp/fastconv-bench.lock python bench/gemm_tiles.py W5 W8`` (about 20 s per workload).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import fastconv
from fastconv.algorithms import gemm

#: name -> (input shape, weight shape, stride, padding): the CNN workloads of fastconv.bench
WORKLOADS = {
    "W4": ((8, 64, 56, 56), (64, 64, 3, 3), 1, 1),
    "W5": ((8, 64, 56, 56), (128, 64, 3, 3), 2, 1),
    "W7": ((8, 256, 28, 28), (64, 256, 1, 1), 1, 0),
    "W8": ((8, 3, 224, 224), (64, 3, 7, 7), 2, 3),
    "W9": ((8, 64, 56, 56), (64, 64, 3, 3), 1, 1),  # the backward of W4
}


def samples_ms(fn: Callable[[], object], repeats: int = 5, gap: float = 0.03) -> list[float]:
    """``repeats`` timings of ``fn`` in ms, each after an idle ``gap``."""
    fn()
    out = []
    for _ in range(repeats):
        time.sleep(gap)
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def with_constant(name: str, value: object, fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` run with ``gemm.<name>`` set to ``value`` (restored afterwards)."""

    def call() -> object:
        old = getattr(gemm, name)
        setattr(gemm, name, value)
        try:
            return fn()
        finally:
            setattr(gemm, name, old)

    return call


def pointwise_on_blas_threads(x: np.ndarray, w: np.ndarray) -> Callable[[], object]:
    """The 1×1 products one image at a time on OpenBLAS's own threads (the former path)."""
    n, c = x.shape[:2]
    xm = x.reshape(n, c, -1)
    wm = w.reshape(w.shape[0], c)
    out = np.empty((n, w.shape[0], xm.shape[2]), dtype=x.dtype)

    def call() -> object:
        for i in range(n):
            np.matmul(wm, xm[i], out=out[i])
        return out

    return call


def cpu_ms(fn: Callable[[], object], repeats: int = 10) -> float:
    """Minimum process CPU time of ``repeats`` calls of ``fn``, in ms."""
    fn()
    best = math.inf
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best * 1e3


def geometries() -> None:
    """Flat window matrix against im2col tiles on the --check-choice geometries (gemm)."""
    path = Path(__file__).with_name("geometries.json")
    rng = np.random.default_rng(0)
    conv = {1: fastconv.conv1d, 2: fastconv.conv2d, 3: fastconv.conv3d}
    print("geometry  reads  flat ms  im2col ms  im2col/flat  (CPU time)")
    for geo in json.loads(path.read_text(encoding="utf-8"))["geometries"]:
        x = rng.standard_normal(geo["x_shape"], dtype=np.float32)
        w = rng.standard_normal(geo["w_shape"], dtype=np.float32)
        nd = x.ndim - 2
        kw = {k: geo[k] for k in ("stride", "padding", "dilation", "groups")}

        def call(x=x, w=w, nd=nd, kw=kw) -> object:
            return conv[nd](x, w, method="gemm", **kw)

        stride = geo["stride"]
        reads = math.prod(w.shape[2:]) / (stride**nd if isinstance(stride, int) else 1)
        flat = with_constant("FLAT_MIN_REUSE", 0.0, call)
        tiles = with_constant("FLAT_MAX_EXTENSION", 0.0, call)
        t_flat = min(cpu_ms(flat) for _ in range(2))
        t_tiles = min(cpu_ms(tiles) for _ in range(2))
        print(f"{geo['name']:8s}  {reads:5.2f}  {t_flat:7.2f}  {t_tiles:9.2f}  "
              f"{t_tiles / t_flat:11.2f}  {geo['description']}")  # fmt: skip


def backward_variants(x: np.ndarray, w: np.ndarray) -> dict[str, Callable[[], object]]:
    """W9: both gradients of W4 as ``method="auto"`` runs them, and with the weight gradient
    on ``im2col`` tiles (one image per product) instead of the flat window matrix."""
    g = np.random.default_rng(1).standard_normal(x.shape, dtype=np.float32)

    def backward() -> object:
        return fastconv.conv2d_backward(g, x, w, padding=1, needs=("input", "weight"))

    def weight() -> object:
        return fastconv.conv2d_weight(x, w.shape, g, padding=1)

    return {
        "backward": backward,
        "backward, im2col": with_constant("FLAT_MAX_EXTENSION", 0.0, backward),
        "grad_weight": weight,
        "grad_weight, im2col": with_constant("FLAT_MAX_EXTENSION", 0.0, weight),
    }


def torch_backward(torch: object, x: np.ndarray, w: np.ndarray) -> Callable[[], object]:
    """``torch.nn.grad.conv2d_input`` and ``conv2d_weight``, as ``fastconv bench`` times W9."""
    g = np.random.default_rng(1).standard_normal(x.shape, dtype=np.float32)
    tx, tw, tg = (torch.from_numpy(a) for a in (x, w, g))

    def call() -> object:
        with torch.inference_mode():
            gi = torch.nn.grad.conv2d_input(tx.shape, tw, tg, padding=1)
            return gi, torch.nn.grad.conv2d_weight(tx, tw.shape, tg, padding=1)

    return call


def pointwise_on_the_pool(x: np.ndarray, w: np.ndarray) -> Callable[[], object]:
    """The 1×1 products one image per task on fastconv's pool, BLAS on one thread each."""
    from fastconv._threads import run_tasks

    n, c = x.shape[:2]
    xm = x.reshape(n, c, -1)
    wm = w.reshape(w.shape[0], c)
    out = np.empty((n, w.shape[0], xm.shape[2]), dtype=x.dtype)

    def call() -> object:
        run_tasks(lambda i, _: np.matmul(wm, xm[i], out=out[i]), range(n), blas=True)
        return out

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=["W5", "W7", "W8", "W9"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--geometries", action="store_true", help="FLAT_MIN_REUSE instead")
    args = parser.parse_args()
    if args.geometries:
        geometries()
        return
    rng = np.random.default_rng(0)
    try:
        import torch
    except ImportError:  # the peer is optional
        torch = None
    for name in args.workloads:
        xs, ws, stride, padding = WORKLOADS[name]
        x = rng.standard_normal(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32)

        def conv(x=x, w=w, stride=stride, padding=padding) -> object:
            return fastconv.conv2d(x, w, stride=stride, padding=padding, method="gemm")

        variants: dict[str, Callable[[], object]] = {"gemm": conv}
        if name == "W9":
            variants = backward_variants(x, w)
        elif ws[2:] == (1, 1) and stride == 1 and padding == 0:
            variants["1x1 per image, BLAS threads"] = pointwise_on_blas_threads(x, w)
            variants["1x1 on the pool"] = pointwise_on_the_pool(x, w)
        else:
            variants["im2col tiles"] = with_constant("FLAT_MAX_EXTENSION", 0.0, conv)
            for kib in (256, 512, 2048, 4096):
                variants[f"flat {kib} KiB"] = with_constant("FLAT_TILE_BYTES", kib << 10, conv)
        if torch is not None and name == "W9":
            variants["torch"] = torch_backward(torch, x, w)
        elif torch is not None:
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            variants["torch"] = lambda tx=tx, tw=tw, s=stride, p=padding: (
                torch.nn.functional.conv2d(tx, tw, stride=s, padding=p)
            )
        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(args.rounds):
            for key, fn in variants.items():
                times[key] += samples_ms(fn)
        print(f"{name}: x{xs} w{ws} stride {stride} padding {padding}")
        for key, t in times.items():
            print(f"  {key:22s} min {min(t):7.2f}  median {statistics.median(t):7.2f} ms")


if __name__ == "__main__":
    main()
