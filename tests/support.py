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


def relative_error(result: np.ndarray, reference: np.ndarray) -> float:
    """``max|result - reference| / max|reference|`` (0 for empty arrays)."""
    if reference.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(reference))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(np.asarray(result, np.float64) - reference))) / scale


def assert_close(result: np.ndarray, reference: np.ndarray, dtype: np.dtype = np.float64) -> None:
    """Shapes equal and the relative error within the table's tolerance for ``dtype``."""
    result = np.asarray(result)
    reference = np.asarray(reference, dtype=np.float64)
    assert result.shape == reference.shape, (result.shape, reference.shape)
    err = relative_error(result, reference)
    tol = RELATIVE_TOLERANCE[np.dtype(dtype)]
    assert err <= tol, f"relative error {err:.3g} > {tol:g} for {np.dtype(dtype)}"


def tf_same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's 'same' rule, written independently of ``fastconv._shapes``."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2
