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

Run it as ``fastconv bench`` or ``python bench/run.py``; ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Largest error, relative to ``max|reference|``, that still passes the check.
REL_TOL = 1e-3
#: A sample shorter than this loops the call and divides (seconds).
MIN_SAMPLE_S = 0.02
#: Timed-sample budget per implementation and workload; slower calls get fewer repeats.
SAMPLE_BUDGET_S = 3.0
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

Fn = Callable[[], np.ndarray]


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


@dataclass(frozen=True)
class BackwardWorkload(Workload):
    """The backward pass of a CNN layer: ``grad_input`` and ``grad_weight`` given
    ``grad_output`` (a fixed random array shaped like the layer's output).

    fastconv runs ``conv2d_backward(..., needs=("input", "weight"))``; PyTorch runs
    ``torch.nn.grad.conv2d_input`` and ``conv2d_weight``. The result checked is the pair.
    """


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


@dataclass
class Result:
    """Timings and accuracy of one implementation on one workload."""

    impl: str
    times_s: list[float] = field(default_factory=list)
    repeats: int = 0
    loops: int = 1
    rel_err: float | None = None
    skipped: str | None = None
    error: bool = False  # the implementation raised (not a deliberate skip)

    @property
    def is_fastconv(self) -> bool:
        """Whether this is a fastconv call rather than a peer."""
        return self.impl.startswith("fastconv")

    @property
    def ok(self) -> bool:
        """Whether the implementation ran and passed the accuracy check."""
        return self.rel_err is not None and self.rel_err <= REL_TOL

    @property
    def median_s(self) -> float | None:
        """Median time per call in seconds, ``None`` if never timed."""
        return statistics.median(self.times_s) if self.times_s else None


@dataclass
class WorkloadReport:
    """Everything measured on one workload."""

    workload: Workload
    results: list[Result]
    plan: str = ""

    def fastconv_results(self) -> list[Result]:
        """The results of every fastconv call run on this workload, in order."""
        return [r for r in self.results if r.is_fastconv]

    def fastconv(self) -> Result | None:
        """The first fastconv result (``conv2d`` or ``filter_image``), if any ran."""
        return next(iter(self.fastconv_results()), None)

    def best_peer(self) -> Result | None:
        """The fastest peer that ran and passed the accuracy check."""
        peers = [r for r in self.results if not r.is_fastconv and r.ok and r.times_s]
        return min(peers, key=lambda r: r.median_s, default=None)

    def ratio(self, fc: Result | None = None) -> float | None:
        """fastconv median / best peer median (below 1 means fastconv is faster), for ``fc``
        (default: the first fastconv result)."""
        fc = self.fastconv() if fc is None else fc
        best = self.best_peer()
        if fc is None or best is None or not fc.times_s:
            return None
        return fc.median_s / best.median_s


def _time_once(fn: Fn, loops: int, gap: float) -> float:
    time.sleep(gap)
    t0 = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - t0) / loops


def _calibrate(fn: Fn, min_sample: float, gap: float) -> tuple[int, float]:
    """Find how many back-to-back calls make a sample of at least ``min_sample`` seconds.

    Returns the loop count and the time per call measured with it.
    """
    loops = 1
    while True:
        per_call = _time_once(fn, loops, gap)
        if per_call * loops >= min_sample or loops >= 10**6:
            return loops, per_call
        loops = min(loops * 100, math.ceil(1.2 * min_sample / max(per_call, 1e-9)))


def _describe_plan(wl: Workload, x: np.ndarray, w: np.ndarray) -> str:
    """What ``fastconv.plan`` says it would run, or why it could not say."""
    try:
        import fastconv

        if isinstance(wl, BackwardWorkload):
            from fastconv._dispatch import choose_transpose_method, choose_weight_method

            geo = fastconv.plan(x, w, stride=wl.stride, padding=wl.padding, groups=wl.groups)
            geo = geo.geometry
            return (
                f"grad_input: {choose_transpose_method(geo)[0]}, "
                f"grad_weight: {choose_weight_method(geo)[0]}"
            )
        if wl.same_size:
            from fastconv.image import plan_filter

            p = plan_filter(x, w, border="reflect")
        elif wl.is_image:
            p = fastconv.plan(x[None, None], w[None, None])
        else:
            p = fastconv.plan(x, w, stride=wl.stride, padding=wl.padding, groups=wl.groups)
        method = getattr(p.method, "value", p.method)
        return f"{method} ({p.reason})"
    except Exception as exc:  # a benchmark reports, it does not crash
        return f"unavailable: {type(exc).__name__}: {exc}"


def run_workload(
    wl: Workload,
    impls: Sequence[Impl],
    *,
    repeats: int,
    gap: float,
    min_sample: float = MIN_SAMPLE_S,
) -> WorkloadReport:
    """Check and time every implementation on one workload.

    Each implementation is called once to warm up (Numba compilation included) and its
    result is checked against :func:`reference`. Then, round after round, every
    implementation still owed samples is timed once, in an order rotated each round,
    after ``gap`` seconds of idling. A call faster than ``min_sample`` is looped and the
    sample divided. An implementation gets ``repeats`` samples, fewer (not below 3)
    where they would exceed ``SAMPLE_BUDGET_S``, and at most ``wl.max_repeats``.

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

    Returns
    -------
    WorkloadReport
        Per-implementation results; skipped or failed implementations say why.
    """
    x, w = make_inputs(wl)
    ref = reference(wl, x, w)
    cap = min(repeats, wl.max_repeats or repeats)
    report = WorkloadReport(wl, [], plan=_describe_plan(wl, x, w))
    fns: dict[str, Fn] = {}
    for impl in (impl for impl in impls if wl.kind in impl.kinds):
        res = Result(impl.name)
        report.results.append(res)
        try:
            fn = impl.adapter(wl, x, w)
            time.sleep(gap)
            t0 = time.perf_counter()
            out = fn()  # warm-up: compiles, fills caches, gives the result to check
            estimate = time.perf_counter() - t0
        except Skip as exc:
            res.skipped = str(exc)
            continue
        except Exception as exc:  # report, do not crash
            res.skipped = f"error: {type(exc).__name__}: {exc}"
            res.error = True
            continue
        res.rel_err = rel_error(out, ref)
        if estimate < 1.0:  # the warm-up may include compilation: calibrate afresh
            res.loops, estimate = _calibrate(fn, min_sample, gap)
        res.repeats = min(cap, max(3, int(SAMPLE_BUDGET_S / max(estimate, 1e-9))))
        fns[impl.name] = fn

    timed = [r for r in report.results if r.impl in fns]
    for k in range(max((r.repeats for r in timed), default=0)):
        due = [r for r in timed if len(r.times_s) < r.repeats]
        shift = k % len(due)
        for res in due[shift:] + due[:shift]:
            res.times_s.append(_time_once(fns[res.impl], res.loops, gap))
    return report


# --------------------------------------------------------------------------- output


def _fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.1f}" if ms >= 100 else f"{ms:.3f}" if ms >= 1 else f"{ms:.4f}"


def _fmt_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> str:
    """Align string cells in columns: first column left-aligned, the others right-aligned.

    Parameters
    ----------
    headers : sequence of str
        Column titles.
    rows : sequence of sequence of str
        Cells. A row shorter than ``headers`` is a note: its first cell goes in the first
        column and the rest is printed after it as is, without widening any column.
    indent : str, optional
        Prefix of every line.

    Returns
    -------
    str
        The table, lines joined by newlines.
    """
    widths = [len(h) for h in headers]
    for row in rows:
        cells = row if len(row) == len(headers) else row[:1]
        for i, cell in enumerate(cells):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        if len(cells) < len(headers):
            parts = [cells[0].ljust(widths[0]), *cells[1:]]
        else:
            parts = [
                c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)
            ]
        return (indent + "  ".join(parts)).rstrip()

    out = [line(headers), indent + "  ".join("-" * n for n in widths)]
    out += [line(row) for row in rows]
    return "\n".join(out)


def format_report(rep: WorkloadReport) -> str:
    """Render one workload's results as an aligned table with its fastconv ratio."""
    wl = rep.workload
    shape = f"x{wl.x_shape} w{wl.w_shape}"
    head = f"{wl.name}: {wl.title}   {shape}\n  fastconv plan: {rep.plan}"
    rows = []
    for r in rep.results:
        if r.skipped is not None:
            rows.append([r.impl, f"skipped: {r.skipped}"])
            continue
        check = "ok" if r.ok else "FAIL"
        rows.append(
            [
                r.impl,
                _fmt_ms(r.median_s),
                _fmt_ms(min(r.times_s, default=None)),
                f"{r.rel_err:.1e}",
                check,
                f"{len(r.times_s)} x {r.loops}",
            ]
        )
    table = format_table(
        ["implementation", "median ms", "min ms", "rel err", "check", "samples x loop"],
        rows,
        indent="  ",
    )
    best = rep.best_peer()
    name = best.impl if best else "no peer"
    tails = []
    for fc in rep.fastconv_results():
        if fc.skipped is not None and not fc.error:
            continue
        tail = f"  {fc.impl} / best peer ({name}): {_fmt_ratio(rep.ratio(fc))}"
        if fc.rel_err is not None and not fc.ok:
            tail += f"   ({fc.impl} FAILED the accuracy check)"
        tails.append(tail)
    return "\n".join([head, table, *tails])


def format_summary(reports: Sequence[WorkloadReport]) -> str:
    """Render the final table: workload, fastconv ms, best peer and its ms, ratio."""
    rows = []
    for rep in reports:
        best = rep.best_peer()
        # a fastconv call this build lacks (skipped, not failed) gets no row
        calls = [r for r in rep.fastconv_results() if r.skipped is None or r.error]
        for fc in calls or [None]:
            fc_ms = _fmt_ms(fc.median_s) if fc else "-"
            if fc is not None and (fc.skipped or not fc.ok):
                fc_ms += " !"
            name = rep.workload.name
            if fc is not None and fc.impl != "fastconv":
                name += " " + fc.impl.removeprefix("fastconv.")
            rows.append(
                [
                    name,
                    fc_ms,
                    best.impl if best else "-",
                    _fmt_ms(best.median_s) if best else "-",
                    _fmt_ratio(rep.ratio(fc) if fc else None),
                ]
            )
    headers = ["workload", "fastconv ms", "best peer", "peer ms", "ratio"]
    note = "ratio = fastconv / best peer median (< 1: fastconv faster); '!' = fastconv failed"
    return format_table(headers, rows) + "\n" + note


def machine_info() -> dict[str, object]:
    """Collect CPU, library versions and thread counts for the report header."""
    info: dict[str, object] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            models = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        info["cpu"] = models[0]
    except (OSError, IndexError):
        info["cpu"] = platform.processor() or "unknown"
    for mod in ("fastconv", "numpy", "scipy", "numba", "torch", "cv2"):
        try:
            info[mod] = getattr(importlib.import_module(mod), "__version__", "?")
        except Exception:
            info[mod] = "not installed"
    threads = {}
    for mod, getter in (
        ("torch", "get_num_threads"),
        ("numba", "get_num_threads"),
        ("cv2", "getNumThreads"),
    ):
        try:
            threads[mod] = getattr(importlib.import_module(mod), getter)()
        except Exception:
            pass
    info["threads"] = threads
    return info


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
        description="Time fastconv.conv2d against installed peers; check every result "
        "against a float64 reference.",
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
        "call stop spinning (default 0.2, --quick 0.05)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats and shorter gaps: a smoke test, not a measurement",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0, or 1 when fastconv raised or failed the accuracy check on some workload.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    dask_status = _run_dask_workloads(argv)  # W11 runs only when named, by its own runner
    if dask_status is not None:
        return dask_status
    args = build_parser().parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    gap = args.gap if args.gap is not None else (0.05 if args.quick else 0.2)
    min_sample = MIN_SAMPLE_S / 4 if args.quick else MIN_SAMPLE_S
    if repeats < 1 or gap < 0:
        build_parser().error("--repeats must be >= 1 and --gap >= 0")

    info = machine_info()
    impls = [impl for impl in IMPLS if _importable(impl.module)]
    missing = sorted({impl.module for impl in IMPLS} - {impl.module for impl in impls})
    print("fastconv benchmark (float32; times are medians in ms per call)")
    print(f"machine: {info['cpu']}, {info['cpu_count']} CPUs, {info['platform']}")
    print(
        "versions: "
        + ", ".join(
            f"{m} {info[m]}" for m in ("fastconv", "numpy", "scipy", "numba", "torch", "cv2")
        )
        + f", python {info['python']}"
    )
    print("threads: " + ", ".join(f"{k} {v}" for k, v in info["threads"].items()))
    fewer = (
        f" (fewer, min 3, for calls over {SAMPLE_BUDGET_S / repeats:.2g} s)" if repeats > 3 else ""
    )
    caps = "".join(f", {wl.name} at most {wl.max_repeats}" for wl in WORKLOADS if wl.max_repeats)
    print(
        f"timing: warm-up call per implementation, then interleaved repeats (round-robin "
        f"over implementations, order rotated each round) with a {gap:g} s idle gap before "
        f"each sample; {repeats} samples per implementation{fewer}{caps}; calls "
        f"under {min_sample * 1e3:g} ms are looped within a sample and divided"
    )
    print(f"check: max|result - float64 reference| / max|reference| <= {REL_TOL:g}")
    if missing:
        print("not installed (skipped): " + ", ".join(missing))
    print()

    reports = []
    for wl in args.workloads:
        rep = run_workload(wl, impls, repeats=repeats, gap=gap, min_sample=min_sample)
        reports.append(rep)
        print(format_report(rep), end="\n\n", flush=True)

    print("Summary")
    print(format_summary(reports))

    if args.json:
        payload = {
            "machine": info,
            "settings": {
                "repeats": repeats,
                "gap_s": gap,
                "min_sample_s": min_sample,
                "rel_tol": REL_TOL,
                "quick": args.quick,
            },
            "workloads": [
                {
                    "workload": asdict(rep.workload),
                    "fastconv_plan": rep.plan,
                    "results": [
                        {**asdict(r), "median_s": r.median_s, "ok": r.ok} for r in rep.results
                    ],
                    "best_peer": rep.best_peer().impl if rep.best_peer() else None,
                    "ratio": rep.ratio(),
                    "ratios": {fc.impl: rep.ratio(fc) for fc in rep.fastconv_results()},
                }
                for rep in reports
            ],
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, default=str)
        print(f"\nwrote {args.json}")

    failed = any(
        fc.error or (fc.skipped is None and not fc.ok)
        for rep in reports
        for fc in rep.fastconv_results()
    )
    return 1 if failed else 0
