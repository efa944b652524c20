"""Depthwise algorithm: each output plane from one input plane (see ``_numba.depthwise``).

It runs convolutions whose every output reads one input channel and whose groups hold one
input channel each (``groups == C``, ``O = mult * C``: MobileNet's depthwise layers, with
any channel multiplier), on one or two spatial axes. The work is cut into bands of output rows
of one plane; the bands are split over fastconv's thread pool.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .._numba.depthwise import depthwise_bands
from .._threads import num_threads, run_tasks
from . import Canonical

#: Below this many multiply-adds the calling thread alone is faster than the pool
#: (``python bench/crossover.py depthwise``, thread part, 3×3 float32, loaded 2-core dev VM,
#: 2026-11-25: one thread won up to 3.6 M multiply-adds (0.22 against 0.25 ms), the two tied at
#: 7.2 M (0.44 ms), the pool won at 14.5 M (0.95 against 1.27 ms)).
PARALLEL_MIN_MACS = 1 << 23

#: Elements of the phase workspace a band may fill: 16384 float32 values (64 KiB) stay in the
#: 1 MiB L2 cache of the dev VM beside the band's outputs; a whole 56x56 plane of W6 fits
#: (3364 values), and a 512x512 image is cut into bands of 29 output rows.
BAND_ELEMENTS = 1 << 14


def unsupported(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], out_shape: tuple[int, ...], groups: int
) -> str | None:
    """Why the depthwise algorithm cannot run canonical shapes, or ``None`` if it can.

    >>> unsupported((8, 128, 1, 56, 56), (128, 1, 1, 3, 3), (8, 128, 1, 56, 56), 128) is None
    True
    >>> unsupported((8, 128, 1, 56, 56), (128, 2, 1, 3, 3), (8, 128, 1, 54, 54), 64)
    'groups == in_channels (one input channel per group), got groups=64 for 128 channels'
    >>> unsupported((1, 4, 8, 8, 8), (4, 1, 3, 3, 3), (1, 4, 6, 6, 6), 4)
    'one or two spatial axes, got a 3-D kernel (3, 3, 3)'
    >>> unsupported((1, 4, 1, 8, 8), (4, 1, 1, 3, 3), (1, 4, 3, 6, 6), 4)
    'one or two spatial axes, got input depth 1 and output depth 3'
    """
    c = x_shape[1]
    if groups != c or w_shape[1] != 1:
        return (
            "groups == in_channels (one input channel per group), got "
            f"groups={groups} for {c} channels"
        )
    if w_shape[2] != 1:
        return f"one or two spatial axes, got a 3-D kernel {tuple(w_shape[2:])}"
    if x_shape[2] != 1 or out_shape[2] != 1:  # conv3d with a flat kernel: depth not handled
        return (
            f"one or two spatial axes, got input depth {x_shape[2]} and output depth {out_shape[2]}"
        )
    return None


@functools.lru_cache(maxsize=256)
def layout(
    w_shape: tuple[int, ...], out_shape: tuple[int, ...], canon: Canonical
) -> tuple[int, int, int, np.ndarray]:
    """Band rows, phase rows ``R``, phase pitch ``Q`` and the per-tap workspace offsets.

    Remembered per geometry: on small planes working them out cost as much as the convolution.
    """
    kh, kw = w_shape[3:]
    oh, ow = out_shape[3:]
    sh, sw = canon.stride[1:]
    dh, dw = canon.dilation[1:]
    halo = (kh - 1) * dh // sh
    q = ow + (kw - 1) * dw // sw
    band = max(1, min(oh, BAND_ELEMENTS // (sh * sw * q) - halo))
    r = band + halo
    a, i = np.divmod(np.arange(kh) * dh, sh)  # phase row offset and phase of each kernel row
    b, j = np.divmod(np.arange(kw) * dw, sw)
    offs = (i[:, None] * sw + j[None, :]) * r * q + a[:, None] * q + b[None, :]
    offs = np.ascontiguousarray(offs.reshape(-1), dtype=np.int64)
    offs.flags.writeable = False  # shared by every call of this geometry
    return band, r, q, offs


def run(x: np.ndarray, w: np.ndarray, out: np.ndarray, canon: Canonical) -> None:
    """Depthwise correlation of canonical operands into ``out`` (see ``fastconv.algorithms``).

    The caller has checked :func:`unsupported`.
    """
    band, r, q, offs = layout(w.shape, out.shape, canon)
    sh, sw = canon.stride[1:]
    n_tasks_total = out.shape[0] * out.shape[1] * math.ceil(out.shape[3] / band)
    macs = out.size * w[0].size
    threads = 1 if macs < PARALLEL_MIN_MACS else min(num_threads(), n_tasks_total)
    bounds = [n_tasks_total * i // threads for i in range(threads + 1)]
    size_buf = sh * sw * r * q

    def bands(task: int, worker: int) -> None:
        buf = np.empty(size_buf, dtype=x.dtype)  # this thread's workspaces, in cache
        acc = np.empty(band * q, dtype=x.dtype)
        depthwise_bands(x, w, out, canon.stride, canon.dilation, canon.pad_lo, band,
                        bounds[task], bounds[task + 1], offs, buf, acc)  # fmt: skip

    if threads == 1:
        bands(0, 0)
    else:
        run_tasks(bands, range(threads))
