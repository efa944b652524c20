"""FFT algorithm for CNN-style calls: ``algorithms.fft`` behind the one algorithm signature.

Stride 1 and dilation 1 (zero padding implicit, ``pad_lo`` shifts the input). Where every
output channel reads one input channel (single-image filtering, depthwise layers) the whole
batch is one broadcast correlation of ``(N, C, *spatial)`` with ``(C, *kernel)``, and
:func:`fastconv.algorithms.fft.plan` picks whole-array transforms or overlap-save blocks by its
cost model; whole-array spectra are taken for as many images at a time as fit the workspace
cap (:func:`fastconv.set_workspace_limit`). With several input channels per group the spectra
are summed over the channels before one inverse transform per output channel (whole-array
transforms: the products of all channel pairs in the frequency domain, taken for chunks of
filters and images whose spectra fit the cap). Transforms are real (``rfftn``), of
``scipy.fft.next_fast_len`` sizes, with ``workers`` = fastconv's thread count.

Error: ``fastconv.algorithms.fft`` (module docstring) bounds the error of one output by about
``4 u log2(N) rms(x) ||w||_2``, the same at every output; ``method="auto"`` uses it only for
floating inputs (integer inputs stay on the exact methods).
"""

from __future__ import annotations

import math

import numpy as np

from .._options import get_workspace_limit
from .._threads import num_threads
from . import Canonical, fft


def unsupported(w_shape, stride, dilation) -> str | None:
    """Why the FFT algorithm cannot run this canonical problem, or ``None`` if it can."""
    if tuple(stride) != (1, 1, 1) or tuple(dilation) != (1, 1, 1):
        return "stride 1 and dilation 1"
    return None


def _axes(x: np.ndarray, w: np.ndarray, out: np.ndarray) -> int:
    """Spatial axes that need transforming: leading axes of size 1 (input, kernel and output:
    padding can give a size-1 input axis a longer output) drop."""
    nd = 3
    while nd > 1 and x.shape[5 - nd] == 1 and w.shape[5 - nd] == 1 and out.shape[5 - nd] == 1:
        nd -= 1
    return nd


def _spectrum_elems(fshape: tuple[int, ...]) -> int:
    """Complex values in one real-input spectrum of ``fshape`` (``rfftn`` halves the last axis)."""
    return math.prod(fshape[:-1]) * (fshape[-1] // 2 + 1)


def _chunks(count: int, size: int) -> list[tuple[int, int]]:
    return [(i, min(count, i + size)) for i in range(0, count, size)]


def run(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical) -> None:
    """FFT correlation of canonical operands into ``out`` (see ``fastconv.algorithms``)."""
    n_images, n_out = out.shape[:2]
    groups = canon.groups
    cg = w.shape[1]
    og = n_out // groups
    nd = _axes(x, w, out)
    sp = out.shape[5 - nd :]
    pad_lo = canon.pad_lo[3 - nd :]
    xs = x.reshape(*x.shape[:2], *x.shape[5 - nd :])
    ws = w.reshape(*w.shape[:2], *w.shape[5 - nd :])
    os = out.reshape(n_images, n_out, *sp)
    k_shape = ws.shape[2:]
    workers = num_threads()
    limit = get_workspace_limit()
    fshape = tuple(fft._fast_len(o + k - 1, True) for o, k in zip(sp, k_shape))
    f = _spectrum_elems(fshape)
    cbytes = 2 * x.itemsize  # one complex value of a real input's spectrum
    real_bytes = math.prod(fshape) * x.itemsize
    if cg == 1:  # each input channel feeds og filters: one broadcast batch of correlations
        xg = xs.reshape(n_images, groups, 1, *xs.shape[2:])
        wg = ws.reshape(1, groups, og, *k_shape)
        p = fft.plan(tuple(sp), k_shape, n_images * groups, n_out, n_images * n_out)
        n_chunk = n_images
        if p.blocks is None:
            # whole-array spectra: the kernels' (and their zero-padded, shifted real form)
            # once, then per image its channels', the products', the real inverse and its
            # crop; as many images at a time as fit the cap (overlap-save is bounded by its
            # batches of blocks already)
            held = n_out * (f * cbytes + 2 * real_bytes)
            per_image = (groups + n_out) * f * cbytes + n_out * real_bytes
            per_image += n_out * math.prod(sp) * x.itemsize
            n_chunk = max(1, min(n_images, (limit - held) // per_image))
        for n0, n1 in _chunks(n_images, n_chunk):
            res = fft.correlate(xg[n0:n1], wg, pad_lo, sp, fft_plan=p, workers=workers)
            os[n0:n1] = res.reshape(n1 - n0, n_out, *sp)
        return
    # several channels per group: sum the spectra over the channels, one inverse per output;
    # filters and images are taken in chunks whose spectra fit the workspace cap
    sfft = fft._sp()
    axes = tuple(range(-nd, 0))
    extent = tuple(o + k - 1 for o, k in zip(sp, k_shape))
    # the kernel spectra of a chunk of filters (and their real zero-padded form) take at most
    # half the cap; per image: its spectra, the products (and their transposed copy) and the
    # real inverse
    og_chunk = max(1, min(og, limit // 2 // (cg * (f * cbytes + real_bytes))))
    per_image = (cg + 2 * og_chunk) * f * cbytes + og_chunk * real_bytes
    spent = og_chunk * cg * (f * cbytes + real_bytes)
    n_chunk = max(1, min(n_images, (limit - spent) // max(per_image, 1)))
    for g in range(groups):
        xc, starts = fft._crop_input(xs[:, g * cg : (g + 1) * cg], pad_lo, extent)
        for o0, o1 in _chunks(og, og_chunk):
            wbuf = np.zeros((o1 - o0, cg, *fshape), dtype=w.dtype)
            wbuf[(..., *(slice(0, k) for k in k_shape))] = ws[g * og + o0 : g * og + o1]
            if any(starts):
                wbuf = np.roll(wbuf, tuple(-s for s in starts), axis=axes)
            spec_w = fft._kernel_spectrum(wbuf, fshape, True, workers)  # (o, cg, F)
            del wbuf
            b = spec_w.reshape(o1 - o0, cg, f).transpose(2, 1, 0)  # (F, cg, o)
            for n0, n1 in _chunks(n_images, n_chunk):
                spec_x = sfft.rfftn(xc[n0:n1], fshape, axes=axes, workers=workers)
                a = spec_x.reshape(n1 - n0, cg, f).transpose(2, 0, 1)  # (F, n, cg)
                # per frequency: (n, cg) @ (cg, o)
                prod = np.matmul(a, b)
                del spec_x, a
                prod = prod.transpose(1, 2, 0).reshape(n1 - n0, o1 - o0, *fshape[:-1], -1)
                full = sfft.irfftn(prod, fshape, axes=axes, workers=workers)
                del prod
                os[n0:n1, g * og + o0 : g * og + o1] = full[(..., *(slice(0, o) for o in sp))]
