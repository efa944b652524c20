"""Algorithm choice: a pure, inspectable function of shapes, geometry and dtype.

The rule of ``method="auto"``: *separable* for rank-1 kernels where it pays, *direct* when
each window feeds few filters, *gemm* otherwise.

- Every output reads one input channel (``C/groups == 1``), one filter per group
  (``O/groups == 1``), two spatial axes, a kernel of at least 2×2 with at least
  ``SEPARABLE_MIN_TAPS`` taps, and every kernel of numerical rank 1: *separable* (a row pass
  and a column pass, ``KH + KW`` instead of ``KH * KW`` multiply-adds per output). The rank
  depends on the weight *values*, so this step is taken per call, after the plan cache (whose
  key is shapes, dtypes and parameters): :func:`separable_candidate` says from the geometry
  whether to look, :func:`with_weights` looks.
- ``O/groups == 1`` (single-filter image filtering, depthwise layers): *direct*. A matrix
  product with one row is a matrix-vector product; BLAS gains nothing and gemm still pays for
  building the window matrix.
- ``O/groups * C/groups * prod(kernel) < GEMM_MIN_WORK``: *direct*. With few filters per group
  and short windows, building the window matrix costs more than the product saves.
- otherwise *gemm*: the window matrix is built once and reused by every filter of the group,
  and BLAS multiplies at close to the machine's peak.

The thresholds are measured, not guessed; :data:`THRESHOLDS` says where.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

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
    "SEPARABLE_MIN_TAPS": (
        9,
        "bench/crossover.py separable on the 2-core AVX-512 dev VM (2026-11-25): one float32 "
        "rank-1 filter, kernels 2x2 to 5x5, padding 'same' and 'valid' and filter_image; "
        "separable won every kernel at 256x256, 512x512 and 1024x1024 (by 20-50 %); at "
        "2048x2048, memory-bound on both threads, direct won 2x2 and 2x3 by 30-80 % and the "
        "two were within 10 % from 3x3 (9 taps) up",
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
SEPARABLE_MIN_TAPS = THRESHOLDS["SEPARABLE_MIN_TAPS"][0]
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


def separable_unsupported(geo: Geometry) -> str | None:
    """Why the separable algorithm cannot run this geometry, or ``None`` if it can.

    It needs two spatial axes and every output reading one input channel (``C/groups == 1``).
    """
    if geo.spec.ndim != 2:
        return f"a 2-D kernel (conv2d), got {geo.spec.ndim} spatial axes"
    if geo.weight_shape[1] != 1:
        return (
            f"each output to read one input channel (weight.shape[1] == 1: single-channel or "
            f"depthwise), got weight of shape {geo.weight_shape} with groups={geo.spec.groups}"
        )
    return None


def separable_pays(kernel: tuple[int, ...]) -> bool:
    """Whether two 1-D passes beat the direct algorithm for a rank-1 kernel of this shape.

    >>> separable_pays((2, 4)), separable_pays((3, 3)), separable_pays((1, 15))
    (False, True, False)
    """
    return min(kernel) >= 2 and math.prod(kernel) >= SEPARABLE_MIN_TAPS


def separable_candidate(geo: Geometry) -> bool:
    """Whether ``method="auto"`` should look at the weights for rank-1 kernels (step 1)."""
    return (
        geo.weight_shape[0] == geo.spec.groups  # one filter per group
        and separable_unsupported(geo) is None
        and separable_pays(geo.weight_shape[2:])
    )


def with_weights(
    method: Method, reason: str, geo: Geometry, weight: np.ndarray, *, explain: bool = False
) -> tuple[Method, str]:
    """Step 1 of the rule, for a :func:`separable_candidate` geometry: *separable* if every
    kernel of ``weight`` is of rank 1, else the geometry's choice (``method``, ``reason``);
    with ``explain`` the reason then says that the kernel is not of rank 1.

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> f8 = np.dtype("float64")
    >>> geo = normalize_conv("conv2d", 2, (1, 64, 64), f8, (1, 1, 5, 5), f8,
    ...                      None, None, 1, 0, 1, 1, "zeros")
    >>> method, reason = choose_method(geo)
    >>> method, reason = with_weights(method, reason, geo, np.ones((1, 1, 5, 5)))
    >>> method
    <Method.SEPARABLE: 'separable'>
    >>> print(reason)
    rank-1 5x5 kernel: two 1-D passes, 10 instead of 25 multiply-adds per output
    >>> method, reason = choose_method(geo)
    >>> with_weights(method, reason, geo, np.eye(5)[None, None], explain=True)[1]
    'one filter per group: direct row accumulation (kernel not of rank 1)'
    """
    from .algorithms.separable import is_rank_one

    kh, kw = geo.weight_shape[2:]
    # in the compute dtype, as the algorithm will see them (its analysis is then remembered)
    kernels = np.asarray(weight, dtype=geo.compute_dtype).reshape(-1, kh, kw)
    if is_rank_one(np.ascontiguousarray(kernels), geo.compute_dtype):
        return Method.SEPARABLE, (
            f"rank-1 {kh}x{kw} kernel: two 1-D passes, {kh + kw} instead of {kh * kw} "
            "multiply-adds per output"
        )
    return method, f"{reason} (kernel not of rank 1)" if explain else reason


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
