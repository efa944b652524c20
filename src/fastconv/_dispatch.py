"""Algorithm choice: a pure, inspectable function of shapes, geometry and dtype.

The rule (``method="auto"``), in order:

1. **Tiny problems** (fewer than ``TINY_MACS`` multiply-adds in all): *direct*. Nothing is worth
   amortising; the direct kernel has the least call overhead.
2. **Short reductions** (each output sums fewer than ``GEMM_MIN_REDUCTION`` products,
   ``C/groups * prod(kernel)``): *direct*. Single-channel filtering and depthwise layers give
   BLAS too little work per output to pay for building the window matrix.
3. Otherwise *gemm*: multi-channel layers are matrix products, and BLAS does those best.

The thresholds are measured, not guessed; :data:`THRESHOLDS` says where.
"""

from __future__ import annotations

import math

from ._spec import Geometry
from .algorithms import Method

#: name -> (value, provenance)
THRESHOLDS: dict[str, tuple[int, str]] = {
    "TINY_MACS": (
        4096,
        "bench/crossover.py on the 2-core AVX2 dev machine (2026-11-25): below ~4k MACs the "
        "direct kernel's call costs less than gemm's tiling and matmul set-up",
    ),
    "GEMM_MIN_REDUCTION": (
        32,
        "bench/crossover.py on the 2-core AVX2 dev machine (2026-11-25): N=8, 56x56, 3x3, "
        "C/groups swept 1..16; gemm overtakes direct between 2 and 4 input channels "
        "(reduction 18..36)",
    ),
}
TINY_MACS = THRESHOLDS["TINY_MACS"][0]
GEMM_MIN_REDUCTION = THRESHOLDS["GEMM_MIN_REDUCTION"][0]


def choose_method(geo: Geometry) -> tuple[Method, str]:
    """Return the algorithm ``method="auto"`` runs for this problem, and why.

    >>> from fastconv._spec import normalize_conv
    >>> import numpy as np
    >>> f4 = np.dtype("float32")
    >>> geo = normalize_conv("conv2d", 2, (8, 64, 56, 56), f4, (64, 64, 3, 3), f4,
    ...                      None, None, 1, 1, 1, 1, "zeros")
    >>> choose_method(geo)
    (<Method.GEMM: 'gemm'>, 'reduction of 576 products per output >= 32: BLAS matrix product')
    """
    w = geo.weight_shape
    reduction = math.prod(w[1:])
    macs = math.prod(geo.output_shape) * reduction
    if macs < TINY_MACS:
        return Method.DIRECT, f"tiny problem ({macs} multiply-adds < {TINY_MACS})"
    if reduction < GEMM_MIN_REDUCTION:
        return Method.DIRECT, (
            f"reduction of {reduction} products per output < {GEMM_MIN_REDUCTION}: "
            "too little work per output for BLAS"
        )
    return Method.GEMM, (
        f"reduction of {reduction} products per output >= {GEMM_MIN_REDUCTION}: BLAS matrix product"
    )
