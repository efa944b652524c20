"""What the tests share: one per-dtype tolerance table, and TensorFlow's 'same' rule.

Errors are measured as ``max|result - reference| / max|reference|``: the sums of up to a few
hundred products that these tests draw lose a few units of the last place in float32.
"""

from __future__ import annotations

import math

import numpy as np

RELATIVE_TOLERANCE = {
    np.dtype(np.float16): 2e-3,
    np.dtype(np.float32): 1e-5,
    np.dtype(np.float64): 1e-12,
}


def relative_error(result: np.ndarray, reference: np.ndarray, floor: float = 0.0) -> float:
    """``max|result - reference| / max(max|reference|, floor)`` (0 for empty arrays)."""
    if reference.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(reference))), floor, np.finfo(np.float64).tiny)
    return float(np.max(np.abs(np.asarray(result, np.float64) - reference))) / scale


def assert_close(
    result: np.ndarray,
    reference: np.ndarray,
    dtype: np.dtype = np.float64,
    typical: float = 0.0,
) -> None:
    """Shapes equal and the relative error within the table's tolerance for ``dtype``.

    The error is relative to ``max|reference|``, or to ``typical`` where that is larger: the
    size an output of these products usually has (see :func:`typical_magnitude`). It matters
    only when every output happens to cancel far below its terms — Hypothesis found a single
    1×1 output summing 75 products of size ~1 to 0.074, where any float32 summation order
    (PyTorch's gave 1.5e-5) misses 1e-5 of max|reference| by rounding alone.
    """
    result = np.asarray(result)
    reference = np.asarray(reference, dtype=np.float64)
    assert result.shape == reference.shape, (result.shape, reference.shape)
    err = relative_error(result, reference, typical)
    tol = RELATIVE_TOLERANCE[np.dtype(dtype)]
    assert err <= tol, f"relative error {err:.3g} > {tol:g} for {np.dtype(dtype)}"


def typical_magnitude(abs_products_sum: np.ndarray, n_terms: int) -> float:
    """``max Σ|x·w| / √n``: the size of a sum of ``n`` random-sign terms of these sizes."""
    if abs_products_sum.size == 0 or n_terms == 0:
        return 0.0
    return float(np.max(abs_products_sum)) / math.sqrt(n_terms)


def tf_same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's 'same' rule, written independently of ``fastconv._shapes``."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2
