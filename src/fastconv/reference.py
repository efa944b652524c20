"""The reference oracle: the tutorial's algorithm, written plainly.

For every output position take the window of the (padded) input — its taps ``dilation`` apart —
multiply it element-wise with the kernel and sum. Any number of spatial axes, stride, per-side
padding with every padding mode, dilation, groups and bias; float64 throughout. Slow and
obvious on purpose: every fast path in fastconv is tested against it, and it shares no code
with them (it does its own padding and shape arithmetic).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

_NP_MODES = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
    "symmetric": "symmetric",
}


def conv_reference(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: Sequence[int] | int = 1,
    padding: Sequence[tuple[int, int]] | int = 0,
    dilation: Sequence[int] | int = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """Cross-correlate batched ``x`` ``(N, C, *S)`` with ``weight`` ``(O, C/groups, *K)``.

    ``padding`` is an int or one ``(before, after)`` pair per spatial axis. Returns float64
    of shape ``(N, O, *out)``.

    >>> x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    >>> conv_reference(x, np.ones((1, 1, 3, 3)))
    array([[[[54., 63.],
             [90., 99.]]]])
    """
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    nd = x.ndim - 2
    stride = (stride,) * nd if np.isscalar(stride) else tuple(stride)
    dilation = (dilation,) * nd if np.isscalar(dilation) else tuple(dilation)
    padding = ((padding, padding),) * nd if np.isscalar(padding) else tuple(map(tuple, padding))

    xp = np.pad(x, [(0, 0), (0, 0), *padding], mode=_NP_MODES[padding_mode])
    n_batch, _, *padded = xp.shape
    n_out, c_group, *kernel = weight.shape
    out_spatial = [
        (p - d * (k - 1) - 1) // s + 1 for p, k, s, d in zip(padded, kernel, stride, dilation)
    ]
    out = np.zeros((n_batch, n_out, *out_spatial))
    per_group = n_out // groups
    for n, o in itertools.product(range(n_batch), range(n_out)):
        first_channel = (o // per_group) * c_group
        channels = xp[n, first_channel : first_channel + c_group]
        for pos in itertools.product(*map(range, out_spatial)):
            taps = (
                slice(i * s, i * s + d * (k - 1) + 1, d)
                for i, s, d, k in zip(pos, stride, dilation, kernel)
            )
            window = channels[(slice(None), *taps)]
            out[(n, o, *pos)] = np.sum(window * weight[o])
    if bias is not None:
        out += np.asarray(bias, dtype=np.float64).reshape(1, -1, *[1] * nd)
    return out


def conv_transpose_reference(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: Sequence[int] | int = 1,
    padding: Sequence[tuple[int, int]] | int = 0,
    output_padding: Sequence[int] | int = 0,
    groups: int = 1,
    dilation: Sequence[int] | int = 1,
) -> np.ndarray:
    """Transposed convolution of batched ``x`` ``(N, C_in, *S)`` with ``weight``
    ``(C_in, C_out/groups, *K)``, written as the scatter it is.

    Every input element adds itself times the kernel (its taps ``dilation`` apart) into the
    output at ``stride`` times its position; ``output_padding`` adds room at the end, then
    ``padding`` (an int or one ``(before, after)`` pair per axis) crops both ends. float64.

    >>> conv_transpose_reference(np.array([[[1.0, 10.0]]]), np.array([[[1.0, 2.0, 3.0]]]), stride=2)
    array([[[ 1.,  2., 13., 20., 30.]]])
    """
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    nd = x.ndim - 2
    stride = (stride,) * nd if np.isscalar(stride) else tuple(stride)
    dilation = (dilation,) * nd if np.isscalar(dilation) else tuple(dilation)
    output_padding = (
        (output_padding,) * nd if np.isscalar(output_padding) else tuple(output_padding)
    )
    padding = ((padding, padding),) * nd if np.isscalar(padding) else tuple(map(tuple, padding))

    n_batch, c_in, *size = x.shape
    _, per_group, *kernel = weight.shape
    full = [
        (n - 1) * s + d * (k - 1) + 1 + op
        for n, s, d, k, op in zip(size, stride, dilation, kernel, output_padding)
    ]
    out = np.zeros((n_batch, groups * per_group, *full))
    c_group = c_in // groups
    for n, c in itertools.product(range(n_batch), range(c_in)):
        first = (c // c_group) * per_group  # the output channels of this input channel's group
        for pos in itertools.product(*map(range, size)):
            taps = (
                slice(i * s, i * s + d * (k - 1) + 1, d)
                for i, s, d, k in zip(pos, stride, dilation, kernel)
            )
            out[(n, slice(first, first + per_group), *taps)] += x[(n, c, *pos)] * weight[c]
    crop = tuple(slice(lo, f - hi) for (lo, hi), f in zip(padding, full))
    out = out[(slice(None), slice(None), *crop)]
    if bias is not None:
        out = out + np.asarray(bias, dtype=np.float64).reshape(1, -1, *[1] * nd)
    return out
