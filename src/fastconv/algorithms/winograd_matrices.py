"""The Winograd matrices ``B^T``, ``G`` and ``A^T`` of ``F(2×2, 3×3)`` and ``F(4×4, 3×3)``.

From Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016
(arXiv:1509.09308): §4.1 gives ``F(2×2, 3×3)``, §4.2 ``F(4×4, 3×3)`` (interpolation points
0, ±1, ±2 and ∞). An ``m×m`` output tile of the correlation of an ``(m+2)×(m+2)`` patch ``d``
with a 3×3 kernel ``g`` is ``A^T [(G g G^T) ⊙ (B^T d B)] A``.

>>> import numpy as np
>>> d, g = np.arange(36.0).reshape(6, 6), np.arange(9.0).reshape(3, 3)
>>> bt, gm, at = MATRICES[4]
>>> y = at @ ((gm @ g @ gm.T) * (bt @ d @ bt.T)) @ at.T
>>> direct = [[(d[i:i + 3, j:j + 3] * g).sum() for j in range(4)] for i in range(4)]
>>> bool(np.allclose(y, direct))
True
"""

from __future__ import annotations

import numpy as np

# Lavin & Gray 2016, §4.1: F(2x2, 3x3)
BT_2 = np.array(
    [[1, 0, -1, 0],
     [0, 1, 1, 0],
     [0, -1, 1, 0],
     [0, 1, 0, -1]], dtype=np.float64)  # fmt: skip
G_2 = np.array(
    [[1, 0, 0],
     [1 / 2, 1 / 2, 1 / 2],
     [1 / 2, -1 / 2, 1 / 2],
     [0, 0, 1]], dtype=np.float64)  # fmt: skip
AT_2 = np.array(
    [[1, 1, 1, 0],
     [0, 1, -1, -1]], dtype=np.float64)  # fmt: skip

# Lavin & Gray 2016, §4.2: F(4x4, 3x3)
BT_4 = np.array(
    [[4, 0, -5, 0, 1, 0],
     [0, -4, -4, 1, 1, 0],
     [0, 4, -4, -1, 1, 0],
     [0, -2, -1, 2, 1, 0],
     [0, 2, -1, -2, 1, 0],
     [0, 4, 0, -5, 0, 1]], dtype=np.float64)  # fmt: skip
G_4 = np.array(
    [[1 / 4, 0, 0],
     [-1 / 6, -1 / 6, -1 / 6],
     [-1 / 6, 1 / 6, -1 / 6],
     [1 / 24, 1 / 12, 1 / 6],
     [1 / 24, -1 / 12, 1 / 6],
     [0, 0, 1]], dtype=np.float64)  # fmt: skip
AT_4 = np.array(
    [[1, 1, 1, 1, 1, 0],
     [0, 1, -1, 2, -2, 0],
     [0, 1, 1, 4, 4, 0],
     [0, 1, -1, 8, -8, 1]], dtype=np.float64)  # fmt: skip

MATRICES = {4: (BT_4, G_4, AT_4), 2: (BT_2, G_2, AT_2)}
