"""Algorithm choice: a pure, inspectable function of shapes, geometry and dtype.

The rule of ``method="auto"``: *direct* when each window feeds few filters, *gemm* otherwise.

- ``O/groups == 1`` (single-filter image filtering, depthwise layers): *direct*. A matrix
  product with one row is a matrix-vector product; BLAS gains nothing and gemm still pays for
  building the window matrix.
- ``O/groups * C/groups * prod(kernel) < GEMM_MIN_WORK``: *direct*. With few filters per group
  and short windows, building the window matrix costs more than the product saves.
- otherwise *gemm*: the window matrix is built once and reused by every filter of the group,
  and BLAS multiplies at close to the machine's peak.

The threshold is measured, not guessed; :data:`THRESHOLDS` says where.
"""

from __future__ import annotations

import dataclasses
import math

from ._spec import Geometry
from .algorithms import Method

#: name -> (value, provenance)
THRESHOLDS: dict[str, tuple[int, str]] = {
    "GEMM_MIN_WORK": (
        48,
        "bench/crossover.py on the 2-core AVX-512 dev VM (2026-11-25): N=8, 56x56, 3x3, "
        "padding 1, groups=4, O/groups in {1,2,3,4,6,8} x C/groups in {1,4,16}; gemm won "
        "every point with O/groups * C/groups * 9 >= 54, direct every point <= 36 and every "
        "point with O/groups == 1",
    ),
    "WEIGHT_DIRECT_MIN_TAPS": (
        81,
        "bench/grad_crossover.py on the 2-core dev VM (2026-11-25, float32, min of 7, two "
        "runs): gemm won every weight gradient with more than one filter per group (by "
        "1.3-12x) and, narrowly, depthwise 8x32x56x56 up to 9x9 (38.6 vs 41.3 ms); the direct "
        "correlation won a single 512x512 image from 7x7 taps on (9x9: 6.1 vs 11.3 and 7.2 vs "
        "15.9 ms; 7x7: 8.7 vs 9.3 and 9.9 vs 24.6; 5x5: gemm). 81 keeps depthwise 7x7 on gemm",
    ),
}
GEMM_MIN_WORK = THRESHOLDS["GEMM_MIN_WORK"][0]
WEIGHT_DIRECT_MIN_TAPS = THRESHOLDS["WEIGHT_DIRECT_MIN_TAPS"][0]


def choose_method(geo: Geometry) -> tuple[Method, str]:
    """Return the algorithm ``method="auto"`` runs for this problem, and why.

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> f4 = np.dtype("float32")
    >>> geo = normalize_conv("conv2d", 2, (8, 64, 56, 56), f4, (64, 64, 3, 3), f4,
    ...                      None, None, 1, 1, 1, 1, "zeros")
    >>> method, reason = choose_method(geo)
    >>> method
    <Method.GEMM: 'gemm'>
    >>> print(reason)
    64 filters per group share each window of 576 values: BLAS matrix product
    >>> geo = normalize_conv("conv2d", 2, (1, 512, 512), f4, (1, 1, 3, 3), f4,
    ...                      None, None, 1, 0, 1, 1, "zeros")
    >>> choose_method(geo)[1]
    'one filter per group: direct row accumulation'
    """
    per_group = geo.weight_shape[0] // geo.spec.groups
    window = math.prod(geo.weight_shape[1:])
    if per_group == 1:
        return Method.DIRECT, "one filter per group: direct row accumulation"
    if per_group * window < GEMM_MIN_WORK:
        return Method.DIRECT, (
            f"{per_group} filters per group x window of {window} values < {GEMM_MIN_WORK}: "
            "too little reuse for a window matrix"
        )
    return Method.GEMM, (
        f"{per_group} filters per group share each window of {window} values: BLAS matrix product"
    )


def choose_transpose_method(geo: Geometry) -> tuple[Method, str]:
    """The rule of :func:`choose_method` for a transposed convolution, and so for ``grad_input``.

    ``geo.weight_shape`` is read as a transposed convolution's weight
    ``(in_channels, out_channels / groups, *kernel)`` -- which a forward convolution's weight
    ``(O, C / groups, *kernel)`` is for its ``grad_input``. The transposed convolution is a
    correlation with the flipped weight whose channel axes are swapped,
    ``(out_channels, in_channels / groups, *kernel)``, and the rule is applied to that.

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> f4 = np.dtype("float32")
    >>> geo = normalize_conv("conv2d", 2, (8, 3, 224, 224), f4, (64, 3, 7, 7), f4,
    ...                      None, None, 2, 3, 1, 1, "zeros")
    >>> method, reason = choose_transpose_method(geo)   # grad_input of a 3 -> 64 channel layer
    >>> method
    <Method.GEMM: 'gemm'>
    >>> print(reason)
    3 filters per group share each window of 3136 values: BLAS matrix product
    """
    c_in, per_group, *kernel = geo.weight_shape
    groups = geo.spec.groups
    swapped = (per_group * groups, c_in // groups, *kernel)
    return choose_method(dataclasses.replace(geo, weight_shape=swapped))


def choose_weight_method(geo: Geometry) -> tuple[Method, str]:
    """The algorithm of a weight gradient (``conv*d_weight``) under ``method="auto"``.

    The GEMM form multiplies the forward window matrix of the input by the output gradient;
    the direct form is a correlation whose output rows are only a kernel row long, so it
    pays off only for one filter per group and a kernel of at least
    :data:`WEIGHT_DIRECT_MIN_TAPS` taps (where the window matrix is that many copies of the
    input).

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> f4 = np.dtype("float32")
    >>> geo = normalize_conv("conv2d", 2, (8, 32, 56, 56), f4, (32, 1, 3, 3), f4,
    ...                      None, None, 1, 1, 1, 32, "zeros")
    >>> choose_weight_method(geo)[0]    # depthwise 3x3
    <Method.GEMM: 'gemm'>
    >>> geo = normalize_conv("conv2d", 2, (1, 1, 512, 512), f4, (1, 1, 9, 9), f4,
    ...                      None, None, 1, 0, 1, 1, "zeros")
    >>> print(choose_weight_method(geo)[1])
    one filter per group and 81 taps >= 81: direct correlation of the input with grad_output
    """
    per_group = geo.weight_shape[0] // geo.spec.groups
    taps = math.prod(geo.weight_shape[2:])
    if per_group == 1 and taps >= WEIGHT_DIRECT_MIN_TAPS:
        return Method.DIRECT, (
            f"one filter per group and {taps} taps >= {WEIGHT_DIRECT_MIN_TAPS}: direct "
            "correlation of the input with grad_output"
        )
    return Method.GEMM, "window matrix of the input times grad_output: BLAS matrix product"
