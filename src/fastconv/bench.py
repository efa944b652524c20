"""Benchmark fastconv against the convolution routines already installed.

Every workload is run, in one process, by fastconv and by each installed peer. The CNN
workloads (W0–W8, ``fastconv.conv2d``) by PyTorch ``torch.nn.functional.conv2d``, OpenCV
``cv2.filter2D``, ``scipy.signal.correlate2d``, ``scipy.signal.fftconvolve``,
``scipy.ndimage.correlate`` and NumPy ``sliding_window_view`` + ``einsum``. The image-filtering
workloads (W1s–W3s: W1–W3 with a same-size output and a reflected border; W10: a separable
15×15 Gaussian; ``fastconv.filter_image`` and, where it exists, ``fastconv.correlate2d``) by
OpenCV ``cv2.filter2D`` (and ``cv2.sepFilter2D`` on W10), ``scipy.ndimage.correlate`` (and
two ``correlate1d`` passes on W10), ``scipy.signal.correlate2d(boundary="symm")`` and
``fftconvolve``/``oaconvolve`` on the padded image. Each result is checked against a float64
reference computed without fastconv, and the median time of every implementation is
printed with the ratio of each fastconv call / fastest peer that passed the check.

Thread pools (PyTorch's OpenMP, OpenBLAS, Numba) keep spinning for a while after a call
and slow down whatever runs next on the same cores, so every timed sample is preceded by
an idle gap and the implementations are interleaved (round-robin) rather than timed one
after another.

Each summary row also gives fastconv's effective GFLOP/s, its fraction of the roofline (the
machine's float32 ``np.matmul`` peak and memory bandwidth, measured at the start of the same
run: :mod:`fastconv._bench.roofline`), the method it ran, its error against the float64
reference, and the peak extra memory of one untimed call (``tracemalloc``). ``--plot`` draws
the ratios as a bar chart (PNG), ``--json`` writes everything.

Two further modes: ``--scaling`` times W1's image from 256² to 8192² and W4's batch from 1 to
64, fastconv beside the fastest peer at each point; ``--check-choice`` times every method of
fastconv on W0–W10 and on 30 fixed random geometries and reports how often ``method="auto"``
lands within 1.3x of the fastest (:mod:`fastconv._bench.choice`).

Run it as ``fastconv bench`` or ``python bench/run.py``; ``--help`` lists the options. The
parts that do not depend on the workloads and peers below (timing, roofline, check-choice,
tables, charts) are in the private package :mod:`fastconv._bench`.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._bench import choice, plot, report
from ._bench.measure import (
    GAP_MODES,
    MIN_SAMPLE_S,
    REL_TOL,
    SAMPLE_BUDGET_S,
    Fn,
    Result,
    WorkloadReport,
    interleave,
    peak_extra_bytes,
    set_gap_mode,
    warm_up,
)
from ._bench.report import format_report, format_summary, format_table, machine_info  # noqa: F401
from ._bench.roofline import Roofline, measure_roofline

#: Peers that would take longer than this per call are skipped (seconds).
MAX_CALL_S = 2.0
#: Peers that would materialise more window memory than this are skipped (bytes).
MAX_WINDOW_BYTES = 2 * 1024**3
#: Throughput of the direct peers on this machine (2 cores, AVX2), multiply-adds per
#: second, measured on 2048x2048 * 5x5 float32; used only to skip hopeless calls.
PEER_MACS_PER_S = {
    "scipy.correlate2d": 0.5e9,
    "ndimage.correlate": 1.5e9,
    "numpy.einsum": 1.0e9,
}


class Skip(Exception):
    """Raised by a peer adapter that cannot or should not run a workload."""


@dataclass(frozen=True)
class Workload:
    """One benchmark case.

    Attributes
    ----------
    name : str
        Short identifier, e.g. ``"W4"``.
    title : str
        Human-readable description.
    x_shape : tuple of int
        ``(H, W)`` for a single-channel image, ``(N, C, H, W)`` for a CNN layer.
    w_shape : tuple of int
        ``(kH, kW)`` for an image kernel, ``(O, C // groups, kH, kW)`` for a CNN layer.
    stride, padding, groups : int
        Convolution parameters (PyTorch semantics; images always use stride 1, no padding).
    max_repeats : int or None
        Cap on the number of timed samples per implementation.
    kind : {"conv", "filter", "separable"}
        ``"conv"``: a 'valid' convolution (W0–W8); ``"filter"``: a same-size output with the
        border reflected (``d c b a | a b c d | d c b a``, ndimage's ``"reflect"``, OpenCV's
        ``BORDER_REFLECT``) and a random kernel; ``"separable"``: the same with a Gaussian.
    """

    name: str
    title: str
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    stride: int = 1
    padding: int = 0
    groups: int = 1
    max_repeats: int | None = None
    kind: str = "conv"

    @property
    def is_image(self) -> bool:
        """Whether this is a single-channel 2-D image workload."""
        return len(self.x_shape) == 2

    @property
    def same_size(self) -> bool:
        """Whether the output has the input's size (a filtering workload)."""
        return self.kind != "conv"

    def out_hw(self) -> tuple[int, int]:
        """Spatial output shape ``(Ho, Wo)``."""
        h, w = self.x_shape[-2:]
        if self.same_size:
            return h, w
        kh, kw = self.w_shape[-2:]
        p, s = self.padding, self.stride
        return (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1

    def macs(self) -> int:
        """Multiply-adds of the direct algorithm."""
        ho, wo = self.out_hw()
        if self.is_image:
            return ho * wo * math.prod(self.w_shape)
        return self.x_shape[0] * ho * wo * math.prod(self.w_shape)

    def flops(self) -> int:
        """Floating-point operations of the direct algorithm: 2 per multiply-add."""
        return 2 * self.macs()

    def min_bytes(self) -> int:
        """Compulsory memory traffic: input, weight and output (float32) moved once."""
        ho, wo = self.out_hw()
        out = ho * wo if self.is_image else self.x_shape[0] * self.w_shape[0] * ho * wo
        return 4 * (math.prod(self.x_shape) + math.prod(self.w_shape) + out)


@dataclass(frozen=True)
class BackwardWorkload(Workload):
    """The backward pass of a CNN layer: ``grad_input`` and ``grad_weight`` given
    ``grad_output`` (a fixed random array shaped like the layer's output).

    fastconv runs ``conv2d_backward(..., needs=("input", "weight"))``; PyTorch runs
    ``torch.nn.grad.conv2d_input`` and ``conv2d_weight``. The result checked is the pair.
    """

    def flops(self) -> int:
        """Two products of the forward pass's size: ``grad_input`` and ``grad_weight``."""
        return 4 * self.macs()

    def min_bytes(self) -> int:
        """``x``, ``w`` and ``grad_output`` read; ``grad_input`` and ``grad_weight`` written."""
        return super().min_bytes() + 4 * (math.prod(self.x_shape) + math.prod(self.w_shape))


WORKLOADS: tuple[Workload, ...] = (
    Workload("W0", "4x4 image, 3x3 kernel (the seed; call overhead)", (4, 4), (3, 3)),
    Workload("W1", "512x512 image, 3x3 kernel, valid", (512, 512), (3, 3)),
    Workload("W2", "2048x2048 image, 5x5 kernel, valid", (2048, 2048), (5, 5)),
    Workload("W3", "4096x4096 image, 31x31 kernel, valid", (4096, 4096), (31, 31), max_repeats=3),
    Workload("W4", "N=8 C=64 56x56 -> 64 3x3, pad 1", (8, 64, 56, 56), (64, 64, 3, 3), padding=1),
    Workload(
        "W5",
        "N=8 C=64 56x56 -> 128 3x3, pad 1, stride 2",
        (8, 64, 56, 56),
        (128, 64, 3, 3),
        stride=2,
        padding=1,
    ),
    Workload(
        "W6",
        "depthwise N=8 C=128 56x56, 3x3, pad 1, groups 128",
        (8, 128, 56, 56),
        (128, 1, 3, 3),
        padding=1,
        groups=128,
    ),
    Workload("W7", "N=8 C=256 28x28 -> 64 1x1", (8, 256, 28, 28), (64, 256, 1, 1)),
    Workload(
        "W8",
        "N=8 C=3 224x224 -> 64 7x7, stride 2, pad 3",
        (8, 3, 224, 224),
        (64, 3, 7, 7),
        stride=2,
        padding=3,
    ),
    BackwardWorkload(
        "W9",
        "backward of W4: grad_input + grad_weight",
        (8, 64, 56, 56),
        (64, 64, 3, 3),
        padding=1,
    ),
    Workload("W1s", "512x512 image, 3x3 kernel, same size, reflect", (512, 512), (3, 3),
             kind="filter"),
    Workload("W2s", "2048x2048 image, 5x5 kernel, same size, reflect", (2048, 2048), (5, 5),
             kind="filter"),
    Workload("W3s", "4096x4096 image, 31x31 kernel, same size, reflect", (4096, 4096), (31, 31),
             kind="filter", max_repeats=3),
    Workload("W10", "2048x2048 image, 15x15 Gaussian (separable), same size, reflect",
             (2048, 2048), (15, 15), kind="separable"),
)  # fmt: skip


# --------------------------------------------------------------------------- inputs


def make_inputs(wl: Workload, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Build the float32 input and weight of a workload.

    Parameters
    ----------
    wl : Workload
        The workload.
    seed : int, optional
        Seed of the random generator.

    Returns
    -------
    x, w : numpy.ndarray
        C-contiguous float32 arrays of shapes ``wl.x_shape`` and ``wl.w_shape``. W0 uses
        the seed's 4x4 image ``1..16`` and a fixed integer kernel; a separable workload the
        Gaussian ``outer(g, g)`` of :func:`gaussian_1d`.
    """
    if wl.name == "W0":
        x = np.arange(1, 17, dtype=np.float32).reshape(4, 4)
        w = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=np.float32)
        return x, w
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(wl.x_shape, dtype=np.float32)
    if wl.kind == "separable":
        g = gaussian_1d(wl.w_shape[0])
        return x, np.outer(g, g).astype(np.float32)
    w = rng.standard_normal(wl.w_shape, dtype=np.float32)
    return x, w


def gaussian_1d(size: int) -> np.ndarray:
    """Normalised 1-D Gaussian of ``size`` taps, OpenCV's default sigma for that size.

    ``sigma = 0.3 * ((size - 1) / 2 - 1) + 0.8`` (``cv2.getGaussianKernel``), float64.

    >>> gaussian_1d(3).round(3)
    array([0.239, 0.522, 0.239])
    """
    sigma = 0.3 * ((size - 1) / 2 - 1) + 0.8
    t = np.arange(size) - (size - 1) / 2
    g = np.exp(-(t**2) / (2 * sigma**2))
    return g / g.sum()


def _reflect_pad(x: np.ndarray, w_shape: tuple[int, ...]) -> np.ndarray:
    """``x`` extended by ndimage's ``"reflect"`` border for a centred ``w_shape`` kernel."""
    kh, kw = w_shape
    return np.pad(x, ((kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2)), "symmetric")


def grad_output(wl: Workload) -> np.ndarray:
    """The fixed float32 ``grad_output`` of a :class:`BackwardWorkload`, ``(N, O, Ho, Wo)``."""
    shape = (wl.x_shape[0], wl.w_shape[0], *wl.out_hw())
    return np.random.default_rng(1).standard_normal(shape, dtype=np.float32)


def backward_reference(wl: Workload, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(grad_input, grad_weight)`` in float64 without fastconv (groups 1): one tensordot
    per kernel tap, scattering (grad_input) or gathering (grad_weight) the strided windows."""
    x64, w64, g64 = x.astype(np.float64), w.astype(np.float64), grad_output(wl).astype(np.float64)
    p, s = wl.padding, wl.stride
    xp = np.pad(x64, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = wl.out_hw()
    gxp = np.zeros_like(xp)
    gw = np.empty_like(w64)
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            window = (slice(None), slice(None), slice(i, i + s * ho, s), slice(j, j + s * wo, s))
            gxp[window] += np.tensordot(g64, w64[:, :, i, j], axes=([1], [0])).transpose(0, 3, 1, 2)
            gw[:, :, i, j] = np.tensordot(g64, xp[window], axes=([0, 2, 3], [0, 2, 3]))
    h, wd = x.shape[2:]
    return gxp[:, :, p : p + h, p : p + wd], gw


def reference(wl: Workload, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Compute the float64 result of a workload without fastconv.

    Parameters
    ----------
    wl : Workload
        The workload.
    x, w : numpy.ndarray
        Input and weight from :func:`make_inputs`.

    Returns
    -------
    numpy.ndarray
        ``(Ho, Wo)`` for images (``scipy.signal.correlate``, direct or FFT, mode
        ``'valid'``, of the reflect-padded image for filtering workloads);
        ``(N, O, Ho, Wo)`` for CNN layers (padding, ``sliding_window_view`` and one
        ``tensordot`` per sample and group).
    """
    import scipy.signal

    if isinstance(wl, BackwardWorkload):
        return backward_reference(wl, x, w)  # type: ignore[return-value]
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    if wl.same_size:
        method = "direct" if wl.macs() <= 10**8 else "fft"
        return scipy.signal.correlate(_reflect_pad(x64, w.shape), w64, "valid", method=method)
    if wl.is_image:
        method = "direct" if wl.macs() <= 10**8 else "fft"
        return scipy.signal.correlate(x64, w64, mode="valid", method=method)
    p, s, g = wl.padding, wl.stride, wl.groups
    xp = np.pad(x64, ((0, 0), (0, 0), (p, p), (p, p)))
    o, cg, kh, kw = w64.shape
    og = o // g
    out = np.empty((x.shape[0], o, *wl.out_hw()))
    for n in range(x.shape[0]):  # chunk over the batch to bound memory
        win = sliding_window_view(xp[n], (kh, kw), axis=(1, 2))[:, ::s, ::s]  # C,Ho,Wo,kh,kw
        for j in range(g):
            out[n, j * og : (j + 1) * og] = np.tensordot(
                w64[j * og : (j + 1) * og],
                win[j * cg : (j + 1) * cg],
                axes=([1, 2, 3], [0, 3, 4]),
            )
    return out


def rel_error(out: np.ndarray, ref: np.ndarray) -> float:
    """Return ``max|out - ref| / max|ref|`` (``inf`` on a shape mismatch); for a tuple of
    results (a backward pass), the largest error of its parts."""
    if isinstance(ref, tuple):
        if not isinstance(out, tuple) or len(out) != len(ref):
            return math.inf
        return max(rel_error(o, r) for o, r in zip(out, ref))
    out = np.asarray(out)
    if out.shape != ref.shape:
        return math.inf
    scale = float(np.max(np.abs(ref))) or 1.0
    return float(np.max(np.abs(out.astype(np.float64) - ref))) / scale


# --------------------------------------------------------------------------- adapters
# Each adapter prepares its inputs outside the timed region and returns a zero-argument
# callable that computes the workload and returns the 'valid' result as a NumPy array
# shaped like the reference. It raises Skip when the peer does not apply.


def _crop_valid(out: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Crop a same-size, centre-anchored filter output to its 'valid' part."""
    h, w = out.shape
    return out[kh // 2 : h - (kh - 1 - kh // 2), kw // 2 : w - (kw - 1 - kw // 2)]


def _require_image(wl: Workload) -> None:
    if not wl.is_image:
        raise Skip("single-channel 2-D only")


def _require_fast(name: str, wl: Workload) -> None:
    est = wl.macs() / PEER_MACS_PER_S[name]
    if est > MAX_CALL_S:
        raise Skip(f"estimated {est:.0f} s per call")


def adapt_fastconv(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``fastconv.conv2d``; images as ``conv2d(img[None, None], k[None, None])``."""
    import fastconv

    if isinstance(wl, BackwardWorkload):
        g = grad_output(wl)
        return lambda: fastconv.conv2d_backward(
            g, x, w, stride=wl.stride, padding=wl.padding, groups=wl.groups,
            needs=("input", "weight"),
        )[:2]  # fmt: skip
    if wl.is_image:
        xi, wi = x[None, None], w[None, None]
        return lambda: fastconv.conv2d(xi, wi)[0, 0]
    return lambda: fastconv.conv2d(x, w, stride=wl.stride, padding=wl.padding, groups=wl.groups)


def adapt_torch(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``torch.nn.functional.conv2d`` under ``torch.inference_mode``."""
    import torch
    import torch.nn.functional as F

    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    if isinstance(wl, BackwardWorkload):
        tg = torch.from_numpy(grad_output(wl))
        geometry = dict(stride=wl.stride, padding=wl.padding, groups=wl.groups)

        def backward() -> tuple[np.ndarray, np.ndarray]:
            with torch.inference_mode():
                gi = torch.nn.grad.conv2d_input(tx.shape, tw, tg, **geometry)
                gw = torch.nn.grad.conv2d_weight(tx, tw.shape, tg, **geometry)
            return gi.numpy(), gw.numpy()

        return backward
    if wl.is_image:
        tx, tw = tx[None, None], tw[None, None]

    def run() -> np.ndarray:
        with torch.inference_mode():
            out = F.conv2d(tx, tw, stride=wl.stride, padding=wl.padding, groups=wl.groups)
        return out[0, 0].numpy() if wl.is_image else out.numpy()

    return run


def adapt_cv2(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``cv2.filter2D`` (correlation, centre anchor), cropped to the valid part."""
    import cv2

    _require_image(wl)
    kh, kw = w.shape
    return lambda: _crop_valid(cv2.filter2D(x, -1, w, borderType=cv2.BORDER_CONSTANT), kh, kw)


def adapt_correlate2d(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``scipy.signal.correlate2d(mode='valid')``."""
    import scipy.signal

    _require_image(wl)
    _require_fast("scipy.correlate2d", wl)
    return lambda: scipy.signal.correlate2d(x, w, mode="valid")


def adapt_fftconvolve(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``scipy.signal.fftconvolve(mode='valid')`` with the flipped kernel."""
    import scipy.signal

    _require_image(wl)
    wf = np.ascontiguousarray(w[::-1, ::-1])
    return lambda: scipy.signal.fftconvolve(x, wf, mode="valid")


def adapt_ndimage(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``scipy.ndimage.correlate`` (centre origin), cropped to the valid part."""
    import scipy.ndimage

    _require_image(wl)
    _require_fast("ndimage.correlate", wl)
    kh, kw = w.shape
    return lambda: _crop_valid(scipy.ndimage.correlate(x, w, mode="constant"), kh, kw)


def adapt_einsum(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """NumPy ``sliding_window_view`` + ``einsum(optimize=True)``; padding is timed."""
    if isinstance(wl, BackwardWorkload):
        raise Skip("forward only")
    _require_fast("numpy.einsum", wl)
    ho, wo = wl.out_hw()
    n_windows = ho * wo * (1 if wl.is_image else x.shape[0] * x.shape[1])
    nbytes = n_windows * math.prod(w.shape[-2:]) * x.itemsize
    if nbytes > MAX_WINDOW_BYTES:
        raise Skip(f"windows would take {nbytes / 1024**3:.0f} GiB")
    if wl.is_image:
        return lambda: np.einsum("hwij,ij->hw", sliding_window_view(x, w.shape), w, optimize=True)

    p, s, g = wl.padding, wl.stride, wl.groups
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    wg = w.reshape(g, o // g, cg, kh, kw)

    def run() -> np.ndarray:
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::s, ::s]
        if g == 1:
            return np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
        win = win.reshape(n, g, cg, ho, wo, kh, kw)
        out = np.einsum("ngchwij,gocij->ngohw", win, wg, optimize=True)
        return out.reshape(n, o, ho, wo)

    return run


# --- filtering workloads (same-size output, reflected border)


def adapt_filter_image(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``fastconv.filter_image(x, w)`` (border ``"reflect"``, the default)."""
    from fastconv.image import filter_image

    return lambda: filter_image(x, w, border="reflect")


def adapt_fastconv_correlate2d(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``fastconv.correlate2d(x, w, mode="same", boundary="symm")``, where it exists."""
    import fastconv

    correlate2d = getattr(fastconv, "correlate2d", None)
    if correlate2d is None:
        raise Skip("fastconv.correlate2d is not in this build")
    return lambda: correlate2d(x, w, mode="same", boundary="symm")


def adapt_cv2_reflect(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``cv2.filter2D(x, -1, w, borderType=cv2.BORDER_REFLECT)`` (correlation, centred)."""
    import cv2

    return lambda: cv2.filter2D(x, -1, w, borderType=cv2.BORDER_REFLECT)


def adapt_cv2_sep(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``cv2.sepFilter2D`` with the workload's 1-D Gaussian, ``BORDER_REFLECT``."""
    import cv2

    g = gaussian_1d(w.shape[0]).astype(np.float32)
    return lambda: cv2.sepFilter2D(x, -1, g, g, borderType=cv2.BORDER_REFLECT)


def adapt_ndimage_reflect(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``scipy.ndimage.correlate(x, w, mode="reflect")``."""
    import scipy.ndimage

    _require_fast("ndimage.correlate", wl)
    return lambda: scipy.ndimage.correlate(x, w, mode="reflect")


def adapt_ndimage_sep(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """Two ``scipy.ndimage.correlate1d`` passes with the 1-D Gaussian (``mode="reflect"``)."""
    import scipy.ndimage

    g = gaussian_1d(w.shape[0]).astype(np.float32)

    def run() -> np.ndarray:
        rows = scipy.ndimage.correlate1d(x, g, axis=1, mode="reflect")
        return scipy.ndimage.correlate1d(rows, g, axis=0, mode="reflect")

    return run


def adapt_correlate2d_symm(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
    """``scipy.signal.correlate2d(x, w, mode="same", boundary="symm")``."""
    import scipy.signal

    _require_fast("scipy.correlate2d", wl)
    return lambda: scipy.signal.correlate2d(x, w, mode="same", boundary="symm")


def _adapt_fft_padded(name: str) -> Callable[[Workload, np.ndarray, np.ndarray], Fn]:
    def adapt(wl: Workload, x: np.ndarray, w: np.ndarray) -> Fn:
        import scipy.signal

        fn = getattr(scipy.signal, name)
        wf = np.ascontiguousarray(w[::-1, ::-1])
        return lambda: fn(_reflect_pad(x, w.shape), wf, mode="valid")  # padding is timed

    adapt.__doc__ = f"``scipy.signal.{name}`` of the reflect-padded image (padding timed)."
    return adapt


@dataclass(frozen=True)
class Impl:
    """An implementation under test: display name, module it needs, adapter, and the
    workload kinds it runs (a name starting with ``fastconv`` is what the ratios measure)."""

    name: str
    module: str
    adapter: Callable[[Workload, np.ndarray, np.ndarray], Fn]
    kinds: tuple[str, ...] = ("conv",)

    @property
    def is_fastconv(self) -> bool:
        """Whether this is a fastconv call (a ratio's numerator) rather than a peer."""
        return self.name.startswith("fastconv")


_FILTERING = ("filter", "separable")

IMPLS: tuple[Impl, ...] = (
    Impl("fastconv", "fastconv", adapt_fastconv),
    Impl("torch.conv2d", "torch", adapt_torch),
    Impl("cv2.filter2D", "cv2", adapt_cv2),
    Impl("scipy.correlate2d", "scipy.signal", adapt_correlate2d),
    Impl("scipy.fftconvolve", "scipy.signal", adapt_fftconvolve),
    Impl("ndimage.correlate", "scipy.ndimage", adapt_ndimage),
    Impl("numpy.einsum", "numpy", adapt_einsum),
    Impl("fastconv.filter_image", "fastconv", adapt_filter_image, _FILTERING),
    Impl("fastconv.correlate2d", "fastconv", adapt_fastconv_correlate2d, _FILTERING),
    Impl("cv2.filter2D", "cv2", adapt_cv2_reflect, _FILTERING),
    Impl("cv2.sepFilter2D", "cv2", adapt_cv2_sep, ("separable",)),
    Impl("ndimage.correlate", "scipy.ndimage", adapt_ndimage_reflect, _FILTERING),
    Impl("ndimage.correlate1d x2", "scipy.ndimage", adapt_ndimage_sep, ("separable",)),
    Impl("scipy.correlate2d", "scipy.signal", adapt_correlate2d_symm, _FILTERING),
    Impl("scipy.fftconvolve", "scipy.signal", _adapt_fft_padded("fftconvolve"), _FILTERING),
    Impl("scipy.oaconvolve", "scipy.signal", _adapt_fft_padded("oaconvolve"), _FILTERING),
)


# --------------------------------------------------------------------------- timing


def _describe_plan(wl: Workload, x: np.ndarray, w: np.ndarray) -> str:
    """What ``fastconv.plan`` says the workload's first fastconv call would run, or why it
    could not say."""
    try:
        planner = PLANNERS["fastconv.filter_image" if wl.same_size else "fastconv"]
        method, reason = planner(wl, x, w)
        return f"{method} ({reason})"
    except Exception as exc:  # a benchmark reports, it does not crash
        return f"unavailable: {type(exc).__name__}: {exc}"


def _name(method: Any) -> str:
    return str(getattr(method, "value", method))


def _conv_args(wl: Workload, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """``conv2d``'s operands and keywords for a workload (an image as ``(1, 1, H, W)``)."""
    if wl.is_image:
        return x[None, None], w[None, None], {}
    return x, w, dict(stride=wl.stride, padding=wl.padding, groups=wl.groups)


def plan_conv(wl: Workload, x: np.ndarray, w: np.ndarray) -> tuple[str, str]:
    """Method and reason of ``fastconv.conv2d`` (or of both parts of its backward pass)."""
    import fastconv

    xc, wc, kwargs = _conv_args(wl, x, w)
    p = fastconv.plan(xc, wc, **kwargs)
    if not isinstance(wl, BackwardWorkload):
        return _name(p.method), p.reason
    from fastconv.grad import backward_methods

    (mi, ri), (mw, rw) = backward_methods(p.geometry)
    method = _name(mi) if _name(mi) == _name(mw) else f"{_name(mi)}/{_name(mw)}"
    return method, f"grad_input: {_name(mi)} ({ri}); grad_weight: {_name(mw)} ({rw})"


def plan_filter_image(wl: Workload, x: np.ndarray, w: np.ndarray) -> tuple[str, str]:
    """Method and reason of ``fastconv.filter_image(x, w, border="reflect")``."""
    from fastconv.image import plan_filter

    p = plan_filter(x, w, border="reflect")
    return _name(p.method), p.reason


def plan_correlate2d(wl: Workload, x: np.ndarray, w: np.ndarray) -> tuple[str, str]:
    """Method and reason of ``fastconv.correlate2d(x, w, "same", "symm")`` (its internal plan)."""
    from fastconv import signal

    p = signal._Plan2D("correlate2d", x, w, "same", "symm", 0, 1, 1, False)
    picked = p.resolve(*p.operands(x, w))
    return _name(picked.method), picked.reason


#: How each fastconv call of :data:`IMPLS` says what it runs (by implementation name).
PLANNERS: dict[str, Callable[[Workload, np.ndarray, np.ndarray], tuple[str, str]]] = {
    "fastconv": plan_conv,
    "fastconv.filter_image": plan_filter_image,
    "fastconv.correlate2d": plan_correlate2d,
}


def _plan_result(res: Result, wl: Workload, x: np.ndarray, w: np.ndarray) -> None:
    planner = PLANNERS.get(res.impl)
    if planner is None:
        return
    try:
        res.method, res.reason = planner(wl, x, w)
    except Exception as exc:  # a benchmark reports, it does not crash
        res.method, res.reason = "?", f"unavailable: {type(exc).__name__}: {exc}"
        return
    from .algorithms import error_bound

    res.bound = error_bound(res.method, x.dtype)


def run_workload(
    wl: Workload,
    impls: Sequence[Impl],
    *,
    repeats: int,
    gap: float,
    min_sample: float = MIN_SAMPLE_S,
    memory: bool = True,
) -> WorkloadReport:
    """Check and time every implementation on one workload.

    Each implementation is called once to warm up (Numba compilation included; a second call
    where the first took a second or more) and its result is checked against
    :func:`reference`. Then, round after round, every implementation still owed samples is
    timed once, in an order rotated each round, after ``gap`` seconds of idling. A call
    faster than ``min_sample`` is looped and the sample divided. An implementation gets
    ``repeats`` samples, fewer (not below 3) where they would exceed ``SAMPLE_BUDGET_S``, and
    at most ``wl.max_repeats``. A peer whose warm call takes over ``MAX_CALL_S`` is not timed
    further. Finally, with ``memory``, one more untimed call of each
    fastconv implementation measures its peak extra memory.

    Parameters
    ----------
    wl : Workload
        The workload.
    impls : sequence of Impl
        Implementations to run (already known to be importable).
    repeats : int
        Samples per implementation for fast calls.
    gap : float
        Idle seconds before each timed call or loop.
    min_sample : float, optional
        Shortest sample in seconds; faster calls are looped.
    memory : bool, optional
        Measure fastconv's peak extra memory (``tracemalloc``).

    Returns
    -------
    WorkloadReport
        Per-implementation results; skipped or failed implementations say why.
    """
    x, w = make_inputs(wl)
    ref = reference(wl, x, w)
    cap = min(repeats, wl.max_repeats or repeats)
    rep = WorkloadReport(wl, [], plan=_describe_plan(wl, x, w))
    entries = []
    for impl in (impl for impl in impls if wl.kind in impl.kinds):
        res = Result(impl.name)
        rep.results.append(res)
        try:
            fn = impl.adapter(wl, x, w)
            out, estimate = warm_up(fn, res, cap=cap, min_sample=min_sample, gap=gap)
        except Skip as exc:
            res.skipped = str(exc)
            continue
        except Exception as exc:  # report, do not crash
            res.skipped = f"error: {type(exc).__name__}: {exc}"
            res.error = True
            continue
        if estimate > MAX_CALL_S and not impl.is_fastconv:
            res.skipped = f"{estimate:.1f} s per call (over {MAX_CALL_S:g} s)"
            continue
        res.rel_err = rel_error(out, ref)
        del out
        entries.append((res, fn))
    interleave(entries, gap)
    for res, fn in entries:
        if res.is_fastconv:
            _plan_result(res, wl, x, w)
            if memory:
                res.peak_bytes = peak_extra_bytes(fn)
    return rep


# --------------------------------------------------------------------------- check-choice


def choice_problem(wl: Workload) -> choice.Problem:
    """The ``--check-choice`` problem of a workload: ``conv2d``, ``filter_image`` or
    ``conv2d_backward`` with each method forced (for ``filter_image`` also the methods of
    ``fastconv.image.METHODS`` that are not values of ``fastconv.Method``, such as ``fft``)."""
    import fastconv

    x, w = make_inputs(wl)
    extra: tuple[str, ...] = ()  # names the call accepts beyond fastconv.Method
    if wl.same_size:
        from fastconv import image
        from fastconv.image import plan_filter

        extra = tuple(getattr(image, "METHODS", ()))

        def run(method: str) -> Fn:
            return lambda: fastconv.filter_image(x, w, border="reflect", method=method)

        def plan() -> Any:
            return plan_filter(x, w, border="reflect")

        planner = plan_filter_image
    else:
        xc, wc, kw = _conv_args(wl, x, w)
        if isinstance(wl, BackwardWorkload):
            g = grad_output(wl)

            def run(method: str) -> Fn:
                return lambda: fastconv.conv2d_backward(
                    g, xc, wc, **kw, needs=("input", "weight"), method=method
                )[:2]

            def plan() -> Any:
                return None  # the backward pass has no plan object: try every method
        else:

            def run(method: str) -> Fn:
                return lambda: fastconv.conv2d(xc, wc, **kw, method=method)

            def plan() -> Any:
                return fastconv.plan(xc, wc, **kw)

        planner = plan_conv

    def candidates() -> list[str]:
        names = choice.method_names(plan())
        return names + [m for m in extra if m not in names]

    return choice.Problem(wl.name, wl.title, run, lambda: planner(wl, x, w), candidates)


def _parse_geometries(text: str) -> list[choice.ConvCase]:
    cases = choice.random_geometries()
    if text.strip().lower() == "all":
        return cases
    if text.strip().lower() == "none":
        return []
    by_name = {c.name: c for c in cases}
    names = [n.strip().upper() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"given {text!r}, expected 'all', 'none' or a comma-separated subset of "
            f"G01..G{len(cases):02d}"
        )
    return [by_name[n] for n in names]


def run_check_choice(
    problems: Sequence[choice.Problem], *, repeats: int, gap: float, min_sample: float
) -> tuple[list[choice.ChoiceReport], dict[str, Any]]:
    """Time every method of every problem, printing each as it finishes; then the table."""

    def progress(rep: choice.ChoiceReport) -> None:
        print(report.format_choice_report(rep), end="\n\n", flush=True)

    reports = choice.check_choice(
        problems, repeats=repeats, gap=gap, min_sample=min_sample, progress=progress
    )
    stats = choice.summary(reports)
    print("Summary (check-choice)")
    print(report.format_choice_summary(reports, stats))
    return reports, stats


# --------------------------------------------------------------------------- scaling

#: Image sides of W1 and batch sizes of W4 in the scaling run.
SCALING_SIDES = (256, 512, 1024, 2048, 4096, 8192)
SCALING_BATCHES = (1, 2, 4, 8, 16, 32, 64)


def _workload(name: str) -> Workload:
    return next(wl for wl in WORKLOADS if wl.name == name)


def scaling_series(quick: bool = False) -> dict[str, list[Workload]]:
    """W1 with its image side and W4 with its batch varied (``quick``: the smaller half)."""
    w1, w4 = _workload("W1"), _workload("W4")
    sides = [s for s in SCALING_SIDES if not quick or s <= 1024]
    batches = [n for n in SCALING_BATCHES if not quick or n <= 8]
    return {
        "W1": [
            dataclasses.replace(w1, name=f"W1@{s}", title=f"{s}x{s} image, 3x3 kernel, valid",
                                x_shape=(s, s), max_repeats=3 if s >= 4096 else None)
            for s in sides
        ],
        "W4": [
            dataclasses.replace(w4, name=f"W4@N={n}", title=f"N={n} C=64 56x56 -> 64 3x3, pad 1",
                                x_shape=(n, *w4.x_shape[1:]), max_repeats=3 if n >= 32 else None)
            for n in batches
        ],
    }  # fmt: skip


def scaling_point(series: str, rep: WorkloadReport) -> dict[str, Any]:
    """One point of the scaling run: the varied size, fastconv's and the best peer's medians."""
    wl, fc, best = rep.workload, rep.fastconv(), rep.best_peer()
    return {
        "series": series,
        "workload": wl.name,
        "x": wl.x_shape[0] if series == "W4" else wl.x_shape[-1],
        "x_shape": wl.x_shape,
        "fastconv_s": fc.median_s if fc and fc.ok else None,
        "fastconv_ok": bool(fc and fc.ok),
        "method": fc.method if fc else None,
        "best_peer": best.impl if best else None,
        "peer_s": best.median_s if best else None,
        "ratio": rep.ratio(fc),
        "gflops": wl.flops() / fc.median_s / 1e9 if fc and fc.median_s else None,
        "medians_s": {r.impl: r.median_s for r in rep.results if r.ok and r.times_s},
    }


def run_scaling(
    impls: Sequence[Impl],
    *,
    quick: bool,
    repeats: int,
    gap: float,
    min_sample: float,
    series: Sequence[str] = ("W1", "W4"),
) -> list[dict[str, Any]]:
    """Time fastconv and every peer at each point of the ``series`` of :func:`scaling_series`;
    print a line per point as it finishes and return the points."""
    points = []
    headers = ["point", "fastconv ms", "method", "best peer", "peer ms", "ratio", "GFLOP/s"]
    widths = [10, 12, 10, 18, 10, 7, 8]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(n) if i in (0, 2, 3) else c.rjust(n)
                         for i, (c, n) in enumerate(zip(cells, widths)))  # fmt: skip

    print(line(headers))
    for name, workloads in scaling_series(quick).items():
        if name not in series:
            continue
        for wl in workloads:
            rep = run_workload(wl, impls, repeats=repeats, gap=gap, min_sample=min_sample,
                               memory=False)  # fmt: skip
            p = scaling_point(name, rep)
            points.append(p)
            cells = [wl.name, report.fmt_ms(p["fastconv_s"]), p["method"] or "-",
                     p["best_peer"] or "-", report.fmt_ms(p["peer_s"]),
                     report.fmt_ratio(p["ratio"]),
                     "-" if p["gflops"] is None else f"{p['gflops']:.3g}"]  # fmt: skip
            print(line(cells), flush=True)
    return points


def plot_scaling(path: str | Path, points: Sequence[dict[str, Any]]) -> Path:
    """Two log-log panels: time per call against W1's image side and against W4's batch."""
    panels = []
    titles = {
        "W1": ("W1: 3x3 kernel, n x n float32 image", "image side n"),
        "W4": ("W4: 64 -> 64 channels, 3x3, 56x56, batch N", "batch N"),
    }
    for series, (title, x_label) in titles.items():
        pts = [p for p in points if p["series"] == series]
        if not pts:
            continue
        xs = [p["x"] for p in pts]
        peers = sorted({p["best_peer"] for p in pts if p["best_peer"]})
        panels.append(plot.Panel(
            title, x_label, "ms per call (median)",
            [plot.Series("fastconv", xs, [_ms(p["fastconv_s"]) for p in pts]),
             plot.Series(f"best peer ({', '.join(peers) or 'none'})", xs,
                         [_ms(p["peer_s"]) for p in pts])],
            x_labels=[str(x) for x in xs],
        ))  # fmt: skip
    return plot.line_chart(path, panels, title="fastconv and the fastest peer as the problem grows")


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


# --------------------------------------------------------------------------- command line


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except Exception:  # ImportError, or a broken install (e.g. a missing shared library)
        return False
    return True


def _parse_workloads(text: str) -> list[Workload]:
    by_name = {wl.name.upper(): wl for wl in WORKLOADS}
    names = [n.strip().upper() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"given {text!r}, expected a comma-separated subset of "
            f"{', '.join(wl.name for wl in WORKLOADS)}"
        )
    return [by_name[n] for n in names]


def _run_dask_workloads(argv: list[str]) -> int | None:
    """``--workloads W11`` (the Dask workload, :mod:`fastconv.bench_dask`): run it, with the
    other workloads named beside it (and their options) first; ``None`` without W11."""
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--workloads=") else (
            argv[i + 1] if arg == "--workloads" and i + 1 < len(argv) else None)  # fmt: skip
        if value is None:
            continue
        names = [n.strip() for n in value.split(",") if n.strip()]
        if "W11" not in (n.upper() for n in names):
            return None
        from .bench_dask import main as w11

        rest = [n for n in names if n.upper() != "W11"]
        status = 0
        if rest:  # the other workloads first, with their options (--json included)
            skip = 1 if "=" in arg else 2
            status = main([*argv[:i], "--workloads=" + ",".join(rest), *argv[i + skip :]])
        own = ["--quick"] if "--quick" in argv else []
        if not rest and "--json" in argv[:-1]:  # the JSON file is W11's alone
            own += ["--json", argv[argv.index("--json") + 1]]
        return max(status, w11(own))
    return None


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``fastconv bench``."""
    p = argparse.ArgumentParser(
        prog="fastconv bench",
        description="Time fastconv against installed peers; check every result against a "
        "float64 reference; report GFLOP/s, the fraction of this machine's measured roofline, "
        "the method and the peak extra memory of each fastconv call.",
    )
    p.add_argument(
        "--workloads",
        type=_parse_workloads,
        default=list(WORKLOADS),
        help="comma-separated workloads, e.g. W1,W4,W10 (default: all: "
        + ",".join(wl.name for wl in WORKLOADS)
        + "); W11, a Zarr store filtered on a Dask cluster against dask-image, runs only "
        "when named (fastconv.bench_dask: about five minutes)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed samples per implementation for fast calls; slow calls get "
        "fewer, not below 3 (default 7, --quick 3)",
    )
    p.add_argument(
        "--gap",
        type=float,
        default=None,
        help="idle seconds before each sample, so thread pools of the previous "
        "call stop spinning (default 0.2, also with --quick: OpenBLAS's idle threads spin "
        "longer than 0.05 s and slowed the next call up to 6x)",
    )
    p.add_argument(
        "--gap-mode",
        choices=list(GAP_MODES),
        default="sleep",
        help="how the gap passes: sleep (the CPU idles; default) or spin (the calling thread "
        "busy-waits, as a program busy between calls would keep its core awake)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats, a smaller roofline measurement and scaling run: a "
        "smoke test, not a measurement",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument(
        "--plot",
        metavar="PNG",
        help="draw a chart to PNG: the ratios (bars), the --scaling curves, or the "
        "--check-choice ratios chosen / fastest",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--scaling",
        action="store_true",
        help="instead of the table: W1's image from 256^2 to 8192^2 and W4's batch from 1 to "
        "64 (those of W1, W4 that --workloads names), fastconv beside the fastest peer",
    )
    mode.add_argument(
        "--check-choice",
        action="store_true",
        help="instead of the table: time every method of fastconv on --workloads and on the "
        f"random geometries; report how often auto is within {choice.TOLERANCE}x of the fastest",
    )
    p.add_argument(
        "--geometries",
        type=_parse_geometries,
        default=None,
        metavar="LIST",
        help="with --check-choice: 'all' (default), 'none' or a subset such as G01,G07 of the "
        f"{choice.GEOMETRY_COUNT} random geometries (bench/geometries.json)",
    )
    return p


def _print_header(info: dict[str, Any], missing: Sequence[str]) -> None:
    print("fastconv benchmark (float32; times are medians in ms per call)")
    print(f"machine: {info['cpu']}, {info['cpu_count']} CPUs, {info['platform']}")
    versions = ("fastconv", "numpy", "scipy", "numba", "torch", "cv2")
    print("versions: " + ", ".join(f"{m} {info[m]}" for m in versions)
          + f", python {info['python']}")  # fmt: skip
    print("threads: " + ", ".join(f"{k} {v}" for k, v in info["threads"].items()))
    if missing:
        print("not installed (skipped): " + ", ".join(missing))


def _print_timing(repeats: int, gap: float, min_sample: float, gap_mode: str) -> None:
    fewer = (
        f" (fewer, min 3, for calls over {SAMPLE_BUDGET_S / repeats:.2g} s)" if repeats > 3 else ""
    )
    caps = "".join(f", {wl.name} at most {wl.max_repeats}" for wl in WORKLOADS if wl.max_repeats)
    print(
        f"timing: warm-up call per implementation, then interleaved repeats (round-robin "
        f"over implementations, order rotated each round) with a {gap:g} s idle gap "
        f"({gap_mode}) before "
        f"each sample; {repeats} samples per implementation{fewer}{caps}; calls "
        f"under {min_sample * 1e3:g} ms are looped within a sample and divided"
    )
    print(f"check: max|result - float64 reference| / max|reference| <= {REL_TOL:g}")


def _print_roofline(roof: Roofline) -> None:
    print(
        f"roofline: float32 np.matmul peak {roof.peak_gflops:.1f} GFLOP/s, memory bandwidth "
        f"{roof.bandwidth_gbs:.1f} GB/s (c = a + b, one thread per CPU), ridge "
        f"{roof.ridge:.1f} flop/B; measured now, best of several"
    )


def _write_json(path: str, payload: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, default=str)
    print(f"\nwrote {path}")


def _main_table(args: argparse.Namespace, impls: Sequence[Impl], settings: dict) -> list[dict]:
    roof = measure_roofline(quick=args.quick, gap=settings["gap_s"])
    _print_roofline(roof)
    print()
    reports = []
    for wl in args.workloads:
        rep = run_workload(wl, impls, repeats=settings["repeats"], gap=settings["gap_s"],
                           min_sample=settings["min_sample_s"])  # fmt: skip
        reports.append(rep)
        print(format_report(rep, roof), end="\n\n", flush=True)
    rows = report.summary_rows(reports, roof)
    print("Summary")
    print(format_summary(rows))
    if args.plot:
        path = plot.bar_chart(
            args.plot, [r["row"] for r in rows], [r["ratio"] for r in rows],
            title="fastconv median / fastest peer median (float32, one run)",
            axis_label="ratio (log scale; left of 1: fastconv faster)",
            reference_label="same speed",
        )  # fmt: skip
        print(f"\nwrote {path}")
    if args.json:
        _write_json(args.json, {
            "roofline": dataclasses.asdict(roof),
            "summary": rows,
            "workloads": [report.workload_json(rep) for rep in reports],
        } | settings["payload"])  # fmt: skip
    return rows


def _main_check_choice(args: argparse.Namespace, settings: dict) -> list[choice.ChoiceReport]:
    geometries = args.geometries if args.geometries is not None else choice.random_geometries()
    problems = [choice_problem(wl) for wl in args.workloads]
    problems += [choice.conv_problem(case) for case in geometries]
    print(f"check-choice: {len(problems)} problems; every method that applies is timed\n")
    reports, stats = run_check_choice(problems, repeats=settings["repeats"],
                                      gap=settings["gap_s"],
                                      min_sample=settings["min_sample_s"])  # fmt: skip
    if args.plot:
        path = plot.bar_chart(
            args.plot, [f"{r.name} {r.chosen}" for r in reports], [r.ratio for r in reports],
            title=f"auto's method / fastest method ({stats['within']} of {stats['problems']} "
            f"within {choice.TOLERANCE}x)",
            axis_label="median of the chosen method / median of the fastest (log scale)",
            reference=choice.TOLERANCE, reference_label=f"{choice.TOLERANCE}x", base=1.0,
            axis_range=(0.97, max(2.0, 1.2 * max((r.ratio or 1.0) for r in reports))),
        )  # fmt: skip
        print(f"\nwrote {path}")
    if args.json:
        _write_json(args.json, {
            "check_choice": stats,
            "problems": [report.choice_json(rep) for rep in reports],
        } | settings["payload"])  # fmt: skip
    return reports


def _main_scaling(args: argparse.Namespace, impls: Sequence[Impl], settings: dict) -> list[dict]:
    series = [wl.name for wl in args.workloads if wl.name in ("W1", "W4")]
    print(f"scaling: {' and '.join(series)} (W1 over image sides, W4 over batch sizes)\n")
    conv_impls = [impl for impl in impls if "conv" in impl.kinds]
    points = run_scaling(conv_impls, quick=args.quick, repeats=settings["repeats"],
                         gap=settings["gap_s"], min_sample=settings["min_sample_s"],
                         series=series)  # fmt: skip
    if args.plot:
        print(f"\nwrote {plot_scaling(args.plot, points)}")
    if args.json:
        _write_json(args.json, {"scaling": points} | settings["payload"])
    return points


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0, or 1 when fastconv raised or failed the accuracy check on some workload (with
        ``--check-choice``: when a method raised something other than ``ValueError``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    dask_status = _run_dask_workloads(argv)  # W11 runs only when named, by its own runner
    if dask_status is not None:
        return dask_status
    parser = build_parser()
    args = parser.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    gap = args.gap if args.gap is not None else 0.2
    min_sample = MIN_SAMPLE_S / 4 if args.quick else MIN_SAMPLE_S
    if repeats < 1 or gap < 0:
        parser.error("--repeats must be >= 1 and --gap >= 0")
    if args.geometries is not None and not args.check_choice:
        parser.error("--geometries needs --check-choice")
    if args.scaling and not {"W1", "W4"} & {wl.name for wl in args.workloads}:
        parser.error("--scaling varies W1 and W4: give --workloads W1, W4 or W1,W4")

    info = machine_info()
    impls = [impl for impl in IMPLS if _importable(impl.module)]
    missing = sorted({impl.module for impl in IMPLS} - {impl.module for impl in impls})
    _print_header(info, missing)
    set_gap_mode(args.gap_mode)
    _print_timing(repeats, gap, min_sample, args.gap_mode)
    settings = {"repeats": repeats, "gap_s": gap, "min_sample_s": min_sample,
                "gap_mode": args.gap_mode}  # fmt: skip
    settings["payload"] = {
        "machine": info,
        "settings": {**settings, "rel_tol": REL_TOL, "quick": args.quick},
    }
    if args.check_choice:
        reports = _main_check_choice(args, settings)
        return 1 if any(r.error for rep in reports for r in rep.results) else 0
    if args.scaling:
        points = _main_scaling(args, impls, settings)
        return 0 if all(p["fastconv_ok"] for p in points) else 1
    rows = _main_table(args, impls, settings)
    return 0 if all(r["ok"] for r in rows) else 1
