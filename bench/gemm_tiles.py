"""Measure the GEMM path's constants (``fastconv.algorithms.gemm``) against PyTorch.

Reproduces, on the CNN workloads of ``fastconv bench`` (W5, W7, W8, and W4 forced to gemm):

- ``FLAT_TILE_BYTES``: the flat window matrix with tiles of 256 KiB to 4 MiB per thread;
- the flat window matrix against per-image ``im2col`` tiles (``FLAT_MAX_EXTENSION = 0``
  forces the latter);
- the 1×1 path: one product per image on fastconv's pool (BLAS on one thread per worker)
  against the same products on OpenBLAS's own threads;
- ``torch.nn.functional.conv2d`` on the same operands, interleaved in the same process.

Every variant is timed round-robin (``--rounds`` rounds, 5 samples each with a 30 ms idle
gap before every sample, so thread pools stop spinning); printed are the minimum and the
median over all samples, in ms. Run under the benchmark lock, e.g.
``flock /tmp/fastconv-bench.lock python bench/gemm_tiles.py W5 W8`` (about 20 s per workload).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import fastconv
from fastconv.algorithms import gemm

#: name -> (input shape, weight shape, stride, padding): the CNN workloads of fastconv.bench
WORKLOADS = {
    "W4": ((8, 64, 56, 56), (64, 64, 3, 3), 1, 1),
    "W5": ((8, 64, 56, 56), (128, 64, 3, 3), 2, 1),
    "W7": ((8, 256, 28, 28), (64, 256, 1, 1), 1, 0),
    "W8": ((8, 3, 224, 224), (64, 3, 7, 7), 2, 3),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=["W5", "W7", "W8"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
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
        if ws[2:] == (1, 1) and stride == 1 and padding == 0:
            variants["1x1 on BLAS threads"] = pointwise_on_blas_threads(x, w)
        else:
            variants["im2col tiles"] = with_constant("FLAT_MAX_EXTENSION", 0.0, conv)
            for kib in (256, 512, 2048, 4096):
                variants[f"flat {kib} KiB"] = with_constant("FLAT_TILE_BYTES", kib << 10, conv)
        if torch is not None:
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
