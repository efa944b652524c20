"""FFT algorithm for CNN-style calls: ``algorithms.fft`` behind the one algorithm signature.

Stride 1 and dilation 1 (zero padding implicit, ``pad_lo`` shifts the input). Where every
output channel reads one input channel (single-image filtering, depthwise layers) the whole
batch is one broadcast correlation of ``(N, C, *spatial)`` with ``(C, *kernel)``, and
:func:`fastconv.algorithms.fft.plan` picks whole-array transforms or overlap-save blocks by its
cost model. With several input channels per group the spectra are summed over the channels
before one inverse transform per output channel (whole-array transforms: the products of all
channel pairs in the frequency domain). Transforms are real (``rfftn``), of
``scipy.fft.next_fast_len`` sizes, with ``workers`` = fastconv's thread count.

Error: ``fastconv.algorithms.fft`` (module docstring) bounds the error of one output by about
``4 u log2(N) rms(x) ||w||_2``, the same at every output; ``method="auto"`` uses it only for
floating inputs (integer inputs stay on the exact methods).
"""

from __future__ import annotations

import numpy as np

from .._threads import num_threads
from . import Canonical, fft


def unsupported(w_shape, stride, dilation) -> str | None:
    """Why the FFT algorithm cannot run this canonical problem, or ``None`` if it can."""
    if tuple(stride) != (1, 1, 1) or tuple(dilation) != (1, 1, 1):
        return "stride 1 and dilation 1"
    return None


def _axes(x: np.ndarray, w: np.ndarray) -> int:
    """Spatial axes that need transforming: leading axes of size 1 (kernel and input) drop."""
    nd = 3
    while nd > 1 and x.shape[5 - nd] == 1 and w.shape[5 - nd] == 1:
        nd -= 1
    return nd


def run(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical) -> None:
    """FFT correlation of canonical operands into ``out`` (see ``fastconv.algorithms``)."""
    n_images, n_out = out.shape[:2]
    groups = canon.groups
    cg = w.shape[1]
    og = n_out // groups
    nd = _axes(x, w)
    sp = out.shape[5 - nd :]
    pad_lo = canon.pad_lo[3 - nd :]
    xs = x.reshape(*x.shape[:2], *x.shape[5 - nd :])
    ws = w.reshape(*w.shape[:2], *w.shape[5 - nd :])
    os = out.reshape(n_images, n_out, *sp)
    workers = num_threads()
    if cg == 1 and og == 1:  # one channel in, one out: a broadcast batch of correlations
        os[...] = fft.correlate(xs, ws[None, :, 0], pad_lo, sp, workers=workers)
        return
    if cg == 1:  # each input channel feeds og filters
        xg = xs.reshape(n_images, groups, 1, *xs.shape[2:])
        wg = ws.reshape(1, groups, og, *ws.shape[2:])
        os[...] = fft.correlate(xg, wg, pad_lo, sp, workers=workers).reshape(os.shape)
        return
    # several channels per group: sum the spectra over the channels, one inverse per output
    sfft = fft._sp()
    k_shape = ws.shape[2:]
    fshape = tuple(fft._fast_len(o + k - 1, True) for o, k in zip(sp, k_shape))
    axes = tuple(range(-nd, 0))
    extent = tuple(o + k - 1 for o, k in zip(sp, k_shape))
    for g in range(groups):
        xc, starts = fft._crop_input(xs[:, g * cg : (g + 1) * cg], pad_lo, extent)
        wbuf = np.zeros((og, cg, *fshape), dtype=w.dtype)
        wbuf[(..., *(slice(0, k) for k in k_shape))] = ws[g * og : (g + 1) * og]
        if any(starts):
            wbuf = np.roll(wbuf, tuple(-s for s in starts), axis=axes)
        spec_w = fft._kernel_spectrum(wbuf, fshape, True, workers)  # (og, cg, F)
        spec_x = sfft.rfftn(xc, fshape, axes=axes, workers=workers)  # (N, cg, F)
        f = int(np.prod(spec_x.shape[2:]))
        # per frequency: (N, cg) @ (cg, og)
        a = spec_x.reshape(n_images, cg, f).transpose(2, 0, 1)
        b = spec_w.reshape(og, cg, f).transpose(2, 1, 0)
        prod = np.matmul(a, b).transpose(1, 2, 0).reshape(n_images, og, *spec_x.shape[2:])
        full = sfft.irfftn(prod, fshape, axes=axes, workers=workers)
        os[:, g * og : (g + 1) * og] = full[(..., *(slice(0, o) for o in sp))]
