"""The algorithms, behind one signature.

Each algorithm is ``run(x, w, out, canon) -> None`` on canonical operands prepared by
``fastconv._core``: ``x`` is ``(N, C, D, H, W)`` and ``w`` is ``(O, C/groups, KD, KH, KW)``,
both C-contiguous in the compute dtype (float32 or float64); ``out`` is the uninitialised
``(N, O, OD, OH, OW)`` result, which the algorithm overwrites entirely. ``canon``
(:class:`Canonical`) holds stride, dilation and the *leading* zero padding per axis as
3-tuples; trailing padding is implied by ``out``'s shape.
Non-zero padding modes were already applied to ``x``, so ``canon.pad_lo`` is zero for them.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import NamedTuple

import numpy as np


class Canonical(NamedTuple):
    """Geometry of a canonical (3 spatial axes) problem, as the kernels take it."""

    stride: tuple[int, int, int]
    dilation: tuple[int, int, int]
    pad_lo: tuple[int, int, int]
    groups: int


class Method(str, Enum):
    """The algorithms fastconv can run; ``str`` so that ``Method.GEMM == "gemm"``.

    >>> Method("gemm") is Method.GEMM, Method.DIRECT == "direct", str(Method.DIRECT)
    (True, True, 'direct')
    """

    DIRECT = "direct"
    GEMM = "gemm"
    SEPARABLE = "separable"
    WINOGRAD = "winograd"
    WINOGRAD_F2 = "winograd_f2"
    FFT = "fft"
    DEPTHWISE = "depthwise"

    def __str__(self) -> str:
        return self.value


#: What a transposed convolution or a gradient may be asked to run: separable needs the
#: forward pass's one-channel, rank-1 structure, which these do not keep. (Weight gradients
#: asked for winograd, fft or depthwise run gemm: they are correlations with a kernel as large
#: as the output gradient.) The input gradient of a depthwise layer is again depthwise.
TRANSPOSE_METHODS: tuple[str, ...] = (
    Method.DIRECT.value,
    Method.GEMM.value,
    Method.WINOGRAD.value,
    Method.WINOGRAD_F2.value,
    Method.FFT.value,
    Method.DEPTHWISE.value,
)


Algorithm = Callable[[np.ndarray, np.ndarray, np.ndarray, Canonical], None]


_registry: dict[Method, Algorithm] = {}


def get(method: Method) -> Algorithm:
    """The ``run`` function of ``method`` (its module is imported on first use)."""
    run = _registry.get(method)
    if run is None:
        if method is Method.DIRECT:
            from .direct import run
        elif method is Method.GEMM:
            from .gemm import run
        elif method is Method.WINOGRAD:
            from .winograd import run
        elif method is Method.WINOGRAD_F2:
            from .winograd import run_f2 as run
        elif method is Method.FFT:
            from .fft_conv import run
        elif method is Method.DEPTHWISE:
            from .depthwise import run
        else:
            from .separable import run
        _registry[method] = run
    return run


#: Documented error of each method, relative to ``max|reference|``, by compute precision: what
#: the tests hold each method to and the benchmark's accuracy check (``fastconv bench``) uses.
#: Sums of products (direct, gemm, separable, depthwise) lose a few units in the last place
#: (``tests/support.py``'s tolerance table); Winograd's transforms amplify rounding (measured
#: bound ``algorithms.winograd.ERROR_BOUND``); the FFT's error is about ``4 u log2(N)`` of the
#: typical output (``algorithms.fft``), taken by ``method="auto"`` only where that is below
#: 1e-4 (``"oa"``: its overlap-save form, as ``filter_image`` and the signal functions name it).
ERROR_BOUNDS: dict[str, dict[str, float]] = {
    "float32": {"sum": 1e-5, "winograd": 1e-4, "winograd_f2": 1e-4, "fft": 1e-4, "oa": 1e-4},
    "float64": {"sum": 1e-12, "winograd": 1e-12, "winograd_f2": 1e-12, "fft": 1e-12, "oa": 1e-12},
}


def error_bound(method: str, dtype: np.dtype | str = "float32") -> float:
    """The documented relative error bound of ``method`` in ``dtype`` (:data:`ERROR_BOUNDS`).

    ``"a/b"`` (a backward call running ``a`` for the input gradient and ``b`` for the weight
    gradient) takes the larger of the two.

    >>> error_bound("gemm"), error_bound("winograd/gemm"), error_bound("fft", "float64")
    (1e-05, 0.0001, 1e-12)
    """
    table = ERROR_BOUNDS[np.dtype(dtype).name]
    return max(table.get(str(part), table["sum"]) for part in str(method).split("/"))
