"""Execution of a planned convolution: canonical operands in, finished result out.

``conv_general`` brings any validated problem to the canonical form every algorithm takes
(batched, three spatial axes, contiguous, compute dtype, padding applied or implicit), runs the
algorithm, then adds the bias, restores the caller's rank and casts to the result dtype.
"""

from __future__ import annotations

import numpy as np

from . import algorithms
from ._spec import NP_PAD_MODE, Geometry
from .algorithms import Canonical, Method


def _to3d(shape: tuple[int, ...], nd: int, fill: int = 1) -> tuple[int, ...]:
    """Insert leading spatial axes so that a 1-D or 2-D shape becomes 3-D."""
    return (*shape[:2], *(fill,) * (3 - nd), *shape[2:])


def _pad3(values: tuple[int, ...], fill: int) -> tuple[int, int, int]:
    return (*(fill,) * (3 - len(values)), *values)  # type: ignore[return-value]


def conv_general(
    x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, geo: Geometry, method: Method
) -> np.ndarray:
    """Correlate validated ``x`` with ``w`` as planned in ``geo`` using ``method``."""
    spec = geo.spec
    nd = spec.ndim
    dtype = geo.compute_dtype
    x = np.ascontiguousarray(x, dtype=dtype).reshape(_to3d(geo.input_shape, nd))
    w = np.ascontiguousarray(w, dtype=dtype).reshape(_to3d(geo.weight_shape, nd))

    if spec.padding_mode != "zeros" and any(p for pair in spec.padding for p in pair):
        pad_width = [(0, 0)] * (5 - nd) + list(spec.padding)
        x = np.pad(x, pad_width, mode=NP_PAD_MODE[spec.padding_mode])
        pad_lo = (0, 0, 0)
    else:  # zero padding stays implicit: the kernels skip taps outside x
        pad_lo = _pad3(tuple(lo for lo, _ in spec.padding), 0)

    out = np.zeros(_to3d(geo.output_shape, nd), dtype=dtype)
    if out.size:
        geo3 = Canonical(_pad3(spec.stride, 1), _pad3(spec.dilation, 1), pad_lo, spec.groups)
        algorithms.get(method)(x, w, out, geo3)
        if bias is not None:
            out += np.asarray(bias, dtype=dtype).reshape(1, -1, 1, 1, 1)

    out = out.reshape(geo.output_shape)
    if not geo.batched:
        out = out[0]
    return out if geo.result_dtype == dtype else out.astype(geo.result_dtype)
