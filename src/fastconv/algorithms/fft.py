"""FFT correlation: one whole-array transform, or overlap-save blocks for small kernels.

Both compute the *correlation* of the trailing ``nd`` axes (the convolution axes; leading axes
broadcast between ``x`` and ``w`` like NumPy operands)::

    out[..., i] = sum_j xz[..., i + j] * w[..., j]      for 0 <= i < out_shape

where ``xz`` is ``x`` shifted by ``pad_lo`` and extended with zeros (``xz[t] = x[t - pad_lo]``
inside ``x``, 0 outside), so zero padding before and after costs nothing. The kernel is not
conjugated (the caller conjugates it where its convention asks for that). Real operands use
real transforms (``rfftn``/``irfftn``), complex ones complex transforms; every transform length
comes from ``scipy.fft.next_fast_len``. ``workers`` threads share each whole-array transform
(``scipy.fft``'s ``workers``); overlap-save runs its batches of blocks side by side on
fastconv's thread pool instead, one thread per transform.

- A plan without blocks (``FFTPlan.blocks is None``) makes one transform of each operand at
  the full ``out + k - 1`` extent (rounded up to a fast length). The kernel spectrum is as
  large as the image, so this is the method for two large operands.
- A plan with ``blocks`` (one FFT length ``B`` per axis, ``B >= k``) runs *overlap-save*: the
  output is cut into tiles of ``L = B - k + 1`` points per axis; each tile is one circular
  correlation of the ``B``-point input block that covers it with the kernel, of which exactly
  the first ``L`` points are free of wrap-around. The kernel spectrum is computed once, at the
  block size; tiles are transformed a row of tiles at a time (cache-sized batches), each batch
  reading (and, with a boundary rule, extending) only its part of the input. :func:`plan` picks
  the cheaper of the two and the block sizes by its cost model.

Error bound
-----------
With unit roundoff ``u`` of the working precision (2**-24 in float32, 2**-53 in float64) and a
transform of ``N`` points, the computed spectrum of ``a`` is ``F(a) + e`` with
``||e||_2 <= c u log2(N) ||F(a)||_2`` (the classical normwise bound of the Cooley-Tukey FFT;
Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §24.1). Carrying the three
transforms and the product through, with ``||F(a) . F(b)||_2 <= ||F(a)||_2 ||b||_1`` and
Parseval (``||F(a)||_2 = sqrt(N) ||a||_2``), every output of the correlation satisfies::

    |fft(a, b)[i] - (a * b)[i]|  <=  ||error||_2  <=  C u log2(N) ||a||_2 ||b||_1      (rigorous)

and because the rounding errors of the butterflies are independent, the error of one output is
in practice about ``u log2(N) rms(a) ||b||_2`` -- the same size at *every* output, whatever the
local magnitude there (measured on normal, uniform and spiky inputs, float32 and float64,
``n`` from 1e3 to 1e5, kernels of 15 to 3001 taps: observed maximum error / that estimate
between 0.7 and 3.0). The direct method's error bound is local instead:
``|direct[i] - exact[i]| <= k u sum_j |a[i + j] b[j]|`` (``k`` terms). :func:`error_estimate`
and :func:`exactness_bound` give the two FFT quantities; ``fastconv.signal`` uses them to keep
``method="auto"`` off the FFT where it would lose precision. For overlap-save, ``N`` is the block
size and ``a`` one block, so its error is, if anything, smaller than that of one large transform.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import _threads

#: Constant of the error *estimate* (maximum observed error / ``u log2(N) rms(a) ||b||_2`` was
#: at most 3.0 in the measurements described in the module docstring; 4 leaves a margin).
ERROR_ESTIMATE_FACTOR = 4.0
#: Constant ``C`` of the rigorous bound ``C u log2(N) ||a||_2 ||b||_1`` (three transforms and a
#: product, each within ``(log2(N) + 2) u`` of exact in the 2-norm; doubled for safety).
ERROR_BOUND_FACTOR = 8.0

#: Bytes of input blocks transformed in one batch by overlap-save (a few MiB stay in cache).
BATCH_BYTES = 4 * 2**20


def _sp():
    """``scipy.fft``, imported on first use (it adds ~0.15 s to ``import fastconv``)."""
    from scipy import fft

    return fft


class FFTPlan(NamedTuple):
    """How :func:`correlate` runs: one whole transform (``blocks is None``) or overlap-save."""

    blocks: tuple[int, ...] | None  # FFT length per axis for overlap-save, None: whole arrays
    fft_shape: tuple[int, ...]  # transform shape per call (whole extent, or the block)
    tiles: int  # number of blocks (1 for the whole-array transform)
    cost: float  # model cost in units of N log2 N (see :func:`plan`)

    @property
    def method(self) -> str:
        """``"fft"`` (whole arrays) or ``"oa"`` (overlap-save blocks)."""
        return "fft" if self.blocks is None else "oa"


def _fft_units(shape: tuple[int, ...]) -> float:
    """``N log2 N`` of one transform of ``shape`` (at least ``N``)."""
    n = math.prod(shape)
    return n * max(math.log2(n), 1.0) if n > 1 else 1.0


@lru_cache(maxsize=256)
def _fast_len(n: int, real: bool) -> int:
    return _sp().next_fast_len(n, real)


@lru_cache(maxsize=1024)
def _block_candidates(out: int, k: int, real: bool) -> tuple[int, ...]:
    """Block lengths worth trying along one axis: powers of two above ``k`` (the fastest
    transform lengths of ``scipy.fft``; measured 2-D float32 blocks of 375 and 192 points ran
    1.9x and 1.2x slower per output than 256 for a 31-tap kernel) and the whole extent."""
    whole = _fast_len(out + k - 1, real)
    sizes = {whole}
    b = 1 << int(max(k, 1)).bit_length()  # > k
    while b < whole and b <= 64 * max(k, 16):
        sizes.add(b)
        b *= 2
    return tuple(sorted(sizes))


@lru_cache(maxsize=512)
def plan(
    out_shape: tuple[int, ...],
    k_shape: tuple[int, ...],
    x_batch: int = 1,
    w_batch: int = 1,
    out_batch: int = 1,
    real: bool = True,
    blocks: bool | None = None,
) -> FFTPlan:
    """Choose whole-array FFT or overlap-save blocks for one correlation, by a cost model.

    The cost counts ``N log2 N`` units per transform: ``x_batch`` forward transforms of the
    input (per block), ``w_batch`` of the kernel, ``out_batch`` inverse transforms (per block),
    plus the pointwise product and the block copies (``N`` units each, weighted by 2). Complex
    transforms count twice. ``blocks=True`` forces overlap-save, ``False`` the whole-array
    transform, ``None`` takes the cheaper one.

    >>> plan((4096, 4096), (31, 31)).method
    'oa'
    >>> plan((1000,), (1000,)).method
    'fft'
    """
    nd = len(out_shape)
    factor = 1.0 if real else 2.0
    whole = tuple(_fast_len(o + k - 1, real) for o, k in zip(out_shape, k_shape))
    whole_cost = factor * (
        (x_batch + w_batch + out_batch) * _fft_units(whole) + 2 * out_batch * math.prod(whole)
    )
    best = FFTPlan(None, whole, 1, whole_cost)
    if blocks is False or nd == 0:
        return best
    # overlap-save: coordinate descent over per-axis block lengths (independent enough)
    cands = [_block_candidates(o, k, real) for o, k in zip(out_shape, k_shape)]
    choice = [c[-1] for c in cands]

    def cost(bs: list[int]) -> tuple[float, int]:
        tiles = math.prod(-(-o // (b - k + 1)) for o, k, b in zip(out_shape, k_shape, bs))
        units = _fft_units(tuple(bs))
        n = math.prod(bs)
        return factor * (
            tiles * ((x_batch + out_batch) * units + 4 * out_batch * n) + w_batch * units
        ), tiles

    for _ in range(3):
        for a in range(nd):
            choice[a] = min(
                cands[a], key=lambda b, a=a: cost([*choice[:a], b, *choice[a + 1 :]])[0]
            )
    c, tiles = cost(choice)
    oa = FFTPlan(tuple(choice), tuple(choice), tiles, c)
    if blocks or (blocks is None and oa.cost < best.cost and tiles > 1):
        return oa
    return best


def _kernel_spectrum(w: np.ndarray, fshape: tuple[int, ...], real: bool, workers: int):
    """Spectrum that turns a product of spectra into a *correlation* with ``w``.

    Circular correlation ``sum_j a[i + j] w[j]`` has spectrum ``F(a) * conj(F(conj(w)))``;
    for real ``w`` that is ``conj(rfftn(w))``.
    """
    axes = tuple(range(-len(fshape), 0))
    if real:
        return np.conj(_sp().rfftn(w, fshape, axes=axes, workers=workers))
    return np.conj(_sp().fftn(np.conj(w), fshape, axes=axes, workers=workers))


def correlate(
    x: np.ndarray,
    w: np.ndarray,
    pad_lo: tuple[int, ...],
    out_shape: tuple[int, ...],
    *,
    fft_plan: FFTPlan | None = None,
    workers: int = 1,
    read: Callable[[list[tuple[int, int]]], np.ndarray] | None = None,
) -> np.ndarray:
    """Correlate the trailing ``len(pad_lo)`` axes of ``x`` with ``w`` by FFT.

    ``out[..., i] = sum_j xz[..., i + j] w[..., j]`` for ``0 <= i < out_shape`` (see the module
    docstring), leading axes broadcast. ``x`` and ``w`` must be floating or complex arrays
    (float32 computes in single precision, as ``scipy.fft`` does); the result has their common
    FFT dtype and shape ``(*broadcast batch, *out_shape)``. ``fft_plan`` (from :func:`plan`)
    chooses whole-array or overlap-save; by default the cheaper one. ``read(ranges)``, if
    given, returns the input over index ranges of ``x`` (one ``(start, stop)`` per trailing
    axis) with another extension than zeros -- a boundary rule; overlap-save calls it for each
    batch of blocks (so the whole input is never copied), the whole-array transform once.

    >>> x = np.arange(6.0)
    >>> correlate(x, np.array([1.0, -1.0]), (0,), (5,)).round(12)   # x[i] - x[i + 1]
    array([-1., -1., -1., -1., -1.])
    >>> correlate(x, np.array([1.0, 2.0, 1.0]), (2,), (8,)).round(12)   # 'full' extent
    array([ 0.,  1.,  4.,  8., 12., 16., 14.,  5.])
    """
    nd = len(pad_lo)
    k_shape = tuple(w.shape[x.ndim - nd :])
    batch = np.broadcast_shapes(x.shape[: x.ndim - nd], w.shape[: w.ndim - nd])
    real = not (np.iscomplexobj(x) or np.iscomplexobj(w))
    dtype = np.result_type(x.dtype, w.dtype, np.float32)
    if math.prod(out_shape) == 0 or math.prod(batch) == 0:
        return np.zeros((*batch, *out_shape), dtype)
    if fft_plan is None:
        fft_plan = plan(
            tuple(out_shape),
            k_shape,
            math.prod(x.shape[: x.ndim - nd]),
            math.prod(w.shape[: w.ndim - nd]),
            math.prod(batch),
            real,
        )
    if fft_plan.blocks is None:
        if read is not None:  # the extended input over every point the outputs read
            k_sp = w.shape[w.ndim - len(pad_lo) :]
            x = read([(-lo, o + k - 1 - lo) for lo, o, k in zip(pad_lo, out_shape, k_sp)])
            pad_lo = (0,) * len(pad_lo)
        return _whole(x, w, pad_lo, out_shape, fft_plan.fft_shape, real, workers)
    return _overlap_save(x, w, pad_lo, out_shape, fft_plan.blocks, real, workers, batch, dtype,
                         read)  # fmt: skip


def _times(spec: np.ndarray, spec_w: np.ndarray) -> np.ndarray:
    """``spec * spec_w``, in place when the product has ``spec``'s shape and dtype."""
    if (
        spec.ndim >= spec_w.ndim
        and np.broadcast_shapes(spec.shape, spec_w.shape) == spec.shape
        and np.result_type(spec.dtype, spec_w.dtype) == spec.dtype
    ):
        return np.multiply(spec, spec_w, out=spec)
    return spec * spec_w


def _crop_input(x: np.ndarray, pad_lo, extent) -> tuple[np.ndarray, tuple[int, ...]]:
    """The part of ``x`` that ``xz[0:extent]`` covers, and where it starts in ``xz``."""
    nd = len(pad_lo)
    sl = [slice(None)] * (x.ndim - nd)
    starts = []
    for n, lo, e in zip(x.shape[x.ndim - nd :], pad_lo, extent):
        c0 = max(0, -lo)
        c1 = max(c0, min(n, e - lo))
        sl.append(slice(c0, c1))
        starts.append(c0 + lo)
    return x[tuple(sl)], tuple(starts)


def _whole(x, w, pad_lo, out_shape, fshape, real, workers) -> np.ndarray:
    nd = len(pad_lo)
    axes = tuple(range(-nd, 0))
    k_shape = w.shape[w.ndim - nd :]
    extent = tuple(o + k - 1 for o, k in zip(out_shape, k_shape))
    xc, starts = _crop_input(x, pad_lo, extent)
    # xc sits at index 0 of the transform but at ``starts`` in xz: rather than rolling the
    # (large) result, place the (small) kernel ``starts`` earlier, cyclically
    wbuf = np.zeros((*w.shape[: w.ndim - nd], *fshape), dtype=w.dtype)
    wbuf[(..., *(slice(0, k) for k in k_shape))] = w
    if any(starts):
        wbuf = np.roll(wbuf, tuple(-s for s in starts), axis=axes)
    spec_w = _kernel_spectrum(wbuf, fshape, real, workers)
    if real:
        spec = _times(_sp().rfftn(xc, fshape, axes=axes, workers=workers), spec_w)
        full = _sp().irfftn(spec, fshape, axes=axes, workers=workers)
    else:
        spec = _times(_sp().fftn(xc, fshape, axes=axes, workers=workers), spec_w)
        full = _sp().ifftn(spec, fshape, axes=axes, workers=workers)
    return np.ascontiguousarray(full[(..., *(slice(0, o) for o in out_shape))])


def zero_region(x: np.ndarray, ranges) -> np.ndarray:
    """``xz`` over ``ranges`` (per trailing axis, in ``x``'s indices): ``x`` inside, zeros
    outside -- a view where the ranges lie inside ``x``.

    >>> zero_region(np.arange(1.0, 4.0), [(-1, 2)])
    array([0., 1., 2.])
    """
    nd = len(ranges)
    sizes = x.shape[x.ndim - nd :]
    if all(0 <= r0 and r1 <= n for (r0, r1), n in zip(ranges, sizes)):
        return x[(..., *(slice(r0, r1) for r0, r1 in ranges))]
    out = np.zeros((*x.shape[: x.ndim - nd], *(r1 - r0 for r0, r1 in ranges)), x.dtype)
    src, dest = [], []
    for (r0, r1), n in zip(ranges, sizes):
        c0, c1 = min(max(r0, 0), n), max(min(r1, n), min(max(r0, 0), n))
        src.append(slice(c0, c1))
        dest.append(slice(c0 - r0, c1 - r0))
    out[(..., *dest)] = x[(..., *src)]
    return out


def _overlap_save(x, w, pad_lo, out_shape, blocks, real, workers, batch, dtype, read) -> np.ndarray:
    nd = len(pad_lo)
    axes = tuple(range(-nd, 0))
    k_shape = w.shape[w.ndim - nd :]
    steps = tuple(b - k + 1 for b, k in zip(blocks, k_shape))
    tiles = tuple(-(-o // s) for o, s in zip(out_shape, steps))
    if read is None:
        read = lambda ranges: zero_region(x, ranges)  # noqa: E731
    spec_w = _kernel_spectrum(w, blocks, real, workers)
    # kernel spectrum: (*w batch, [1] * nd tile axes, *spectrum)
    spec_w = spec_w.reshape((*spec_w.shape[: spec_w.ndim - nd], *(1,) * nd, *spec_w.shape[-nd:]))

    out = np.empty((*batch, *out_shape), dtype)
    # batches of tiles: whole rows along the first tile axis, as many as fit BATCH_BYTES and
    # leave a batch for every thread; the input of each batch is read (extended) on its own,
    # so no padded copy of the whole input is made
    row_bytes = math.prod(tiles[1:]) * math.prod(blocks) * x.itemsize * max(1, math.prod(batch))
    rows = max(1, min(BATCH_BYTES // max(row_bytes, 1), -(-tiles[0] // max(workers, 1))))
    tr = (_sp().rfftn, _sp().irfftn) if real else (_sp().fftn, _sp().ifftn)

    def run(t0: int, worker: int) -> None:
        t1 = min(tiles[0], t0 + rows)
        first = [(t0 * steps[0] - pad_lo[0], t1 * steps[0] - pad_lo[0] + k_shape[0] - 1)]
        rest = zip(pad_lo[1:], tiles[1:], steps[1:], k_shape[1:])
        region = read(first + [(-lo, t * st - lo + k - 1) for lo, t, st, k in rest])
        windows = sliding_window_view(region, blocks, axis=axes)
        windows = windows[(..., *(slice(None, None, st) for st in steps), *(slice(None),) * nd)]
        spec = _times(tr[0](windows, blocks, axes=axes), spec_w)
        _scatter(out, tr[1](spec, blocks, axes=axes), t0, t1, tiles, steps, out_shape)

    # batches run side by side on fastconv's pool, one thread per transform: pocketfft's own
    # ``workers`` split every transform pass and synchronise after it, which measured 1.5x
    # slower than whole batches per thread (4096x4096 blocks of 256x256, 2 cores). Each thread
    # takes the next batch when it is done with one (``next`` on a shared iterator is atomic
    # under the GIL): a thread slowed down by other work on its core takes fewer batches.
    starts = iter(range(0, tiles[0], rows))

    def worker(_: int, index: int) -> None:
        for t0 in starts:
            run(t0, index)

    _threads.run_tasks(worker, range(min(workers, -(-tiles[0] // rows))), threads=workers)
    return out


def _scatter(out, res, t0, t1, tiles, steps, out_shape) -> None:
    """Write the wrap-free part of blocks ``[t0, t1)`` (first tile axis) into ``out``.

    ``res`` is ``(*batch, T0c, T1, ..., B0, B1, ...)``. Per axis the tiles split into those
    whose ``L`` outputs all exist and a last, partial one; for each combination ``out``'s region
    is reshaped (a view: splitting axes) to ``(n0, L0, n1, L1, ...)`` and written in one go.
    """
    nd = len(steps)
    b = res.ndim - 2 * nd
    parts = []  # per axis: [(tile range in res, tile range in out, points per tile), ...]
    for a in range(nd):
        lo, hi = (t0, t1) if a == 0 else (0, tiles[a])
        full_hi = min(hi, out_shape[a] // steps[a])  # tiles before it are complete
        seg = []
        if full_hi > lo:
            seg.append((lo, full_hi, steps[a]))
        if hi > max(full_hi, lo):
            seg.append((max(full_hi, lo), hi, out_shape[a] - max(full_hi, lo) * steps[a]))
        parts.append(seg)
    perm = (*range(b), *itertools.chain.from_iterable((b + a, b + nd + a) for a in range(nd)))
    for combo in itertools.product(*parts):
        src = [slice(None)] * b
        dest = [slice(None)] * b
        shape = list(out.shape[:b])
        for a, (u0, u1, n) in enumerate(combo):
            src.append(slice(u0 - (t0 if a == 0 else 0), u1 - (t0 if a == 0 else 0)))
            dest.append(slice(u0 * steps[a], u0 * steps[a] + (u1 - u0) * n))
            shape += [u1 - u0, n]
        src += [slice(0, n) for _, _, n in combo]
        view = out[tuple(dest)].reshape(shape)
        view[...] = res[tuple(src)].transpose(perm)


def error_estimate(a_rms: float, b_l2: float, n_fft: int, eps: float) -> float:
    """Typical largest error of an FFT correlation: ``4 u log2(N) rms(a) ||b||_2``.

    ``eps`` is the machine epsilon of the working precision (``u = eps / 2``), ``n_fft`` the
    number of points of one transform (the block for overlap-save).

    >>> float(error_estimate(1.0, 1.0, 2**20, np.finfo(np.float64).eps))
    8.881784197001252e-15
    """
    return ERROR_ESTIMATE_FACTOR * (eps / 2) * max(math.log2(max(n_fft, 2)), 1.0) * a_rms * b_l2


def exactness_bound(a_max: float, a_size: int, b_l1: float, n_fft: int, eps: float) -> float:
    """Rigorous bound on any output's FFT error: ``C u log2(N) ||a||_2 ||b||_1``.

    ``||a||_2`` is bounded by ``a_max * sqrt(min(a_size, N))`` (one block or the whole array).
    Integer results rounded from an FFT are exact when this is below 0.5.

    >>> bool(exactness_bound(255, 512 * 512, 9 * 255, 2**16, np.finfo(np.float64).eps) < 1e-4)
    True
    """
    n = max(n_fft, 2)
    a_l2 = a_max * math.sqrt(min(a_size, n))
    return ERROR_BOUND_FACTOR * (eps / 2) * (math.log2(n) + 2) * a_l2 * b_l1
