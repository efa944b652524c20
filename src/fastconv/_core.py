"""Execution of a planned convolution: canonical operands in, finished result out.

``conv_general`` brings any validated problem to the canonical form every algorithm takes
(batched, three spatial axes, contiguous, compute dtype, padding applied or implicit), runs the
algorithm, then adds the bias, restores the caller's rank and casts to the result dtype.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import algorithms
from ._spec import NP_PAD_MODE, Geometry
from .algorithms import Canonical, Method


def _to3d(shape: tuple[int, ...], nd: int, fill: int = 1) -> tuple[int, ...]:
    """Insert leading spatial axes so that a 1-D or 2-D shape becomes 3-D."""
    return (*shape[:2], *(fill,) * (3 - nd), *shape[2:])


def _pad3(values: tuple[int, ...], fill: int) -> tuple[int, int, int]:
    return (*(fill,) * (3 - len(values)), *values)  # type: ignore[return-value]


class Layout(NamedTuple):
    """The canonical form of one geometry, computed once per plan (not per call)."""

    x_shape: tuple[int, ...]  # (N, C, D, H, W)
    w_shape: tuple[int, ...]  # (O, C/groups, KD, KH, KW)
    out_shape: tuple[int, ...]  # (N, O, OD, OH, OW)
    pad_width: list[tuple[int, int]] | None  # for np.pad; None: zero padding stays implicit
    canonical: Canonical


def layout(geo: Geometry) -> Layout:
    """Canonical shapes and kernel geometry of ``geo``."""
    spec = geo.spec
    nd = spec.ndim
    if spec.padding_mode != "zeros" and any(p for pair in spec.padding for p in pair):
        pad_width: list[tuple[int, int]] | None = [(0, 0)] * (5 - nd) + list(spec.padding)
        pad_lo = (0, 0, 0)
    else:  # zero padding stays implicit: the kernels skip taps outside x
        pad_width = None
        pad_lo = _pad3(tuple(lo for lo, _ in spec.padding), 0)
    return Layout(
        _to3d(geo.input_shape, nd),
        _to3d(geo.weight_shape, nd),
        _to3d(geo.output_shape, nd),
        pad_width,
        Canonical(_pad3(spec.stride, 1), _pad3(spec.dilation, 1), pad_lo, spec.groups),
    )


def conv_general(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    geo: Geometry,
    method: Method,
    lay: Layout,
) -> np.ndarray:
    """Correlate validated ``x`` with ``w`` as planned in ``geo`` using ``method``.

    ``lay`` is ``layout(geo)``, which callers compute once and keep with their plan. ``out`` is
    never empty when an algorithm runs.
    """
    dtype = geo.compute_dtype
    x = np.ascontiguousarray(x, dtype=dtype).reshape(lay.x_shape)
    w = np.ascontiguousarray(w, dtype=dtype).reshape(lay.w_shape)
    if lay.pad_width is not None:
        x = np.pad(x, lay.pad_width, mode=NP_PAD_MODE[geo.spec.padding_mode])

    out = np.empty(lay.out_shape, dtype=dtype)  # every algorithm overwrites all of it
    if out.size:
        algorithms.get(method)(x, w, out, lay.canonical)
        if bias is not None:
            out += np.asarray(bias, dtype=dtype).reshape(1, -1, 1, 1, 1)

    out = out.reshape(geo.output_shape)
    if not geo.batched:
        out = out[0]
    return out if geo.result_dtype == dtype else out.astype(geo.result_dtype)
