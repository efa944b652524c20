"""Pure integer shape rules of convolution: no arrays, no validation.

The public API and the execution layer (and later the explain and Dask edges) derive sizes from
these few functions, so the geometry is defined once. The reference oracle deliberately does its
own arithmetic, so that the tests check these rules rather than reuse them.
"""

from __future__ import annotations

from collections.abc import Sequence

Pads = tuple[tuple[int, int], ...]


def dilated_size(kernel: int, dilation: int) -> int:
    """Extent of a kernel of ``kernel`` taps spread ``dilation`` apart.

    >>> dilated_size(3, 2)
    5
    """
    return dilation * (kernel - 1) + 1


def output_size(
    size: int, kernel: int, stride: int, pad_lo: int, pad_hi: int, dilation: int
) -> int:
    """Number of window positions along one axis.

    ``floor((size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) / stride) + 1``; zero or
    negative means the dilated kernel does not fit in the padded input.

    >>> output_size(4, 3, 1, 0, 0, 1)   # the seed: 4x4 image, 3x3 kernel
    2
    >>> output_size(56, 3, 2, 1, 1, 1)
    28
    """
    return (size + pad_lo + pad_hi - dilated_size(kernel, dilation)) // stride + 1


def output_shape(
    spatial: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Pads,
    dilation: Sequence[int],
) -> tuple[int, ...]:
    """Output spatial shape for every axis (see :func:`output_size`).

    >>> output_shape((224, 224), (7, 7), (2, 2), ((3, 3), (3, 3)), (1, 1))
    (112, 112)
    """
    return tuple(
        output_size(n, k, s, lo, hi, d)
        for n, k, s, (lo, hi), d in zip(spatial, kernel, stride, padding, dilation, strict=True)
    )


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """Per-side padding for ``padding="same"``: TensorFlow's rule, ``out = ceil(size / stride)``.

    The total padding is ``max((out - 1) * stride + dilated_kernel - size, 0)``; the odd unit
    goes at the end (bottom/right), as in TensorFlow and in PyTorch's stride-1 ``"same"``.

    >>> same_padding(5, 3, 1, 1)
    (1, 1)
    >>> same_padding(5, 4, 1, 1)   # even kernel: the extra pixel at the end
    (1, 2)
    >>> same_padding(7, 3, 2, 1)   # out = ceil(7 / 2) = 4
    (1, 1)
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + dilated_size(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def padded_shape(spatial: Sequence[int], padding: Pads) -> tuple[int, ...]:
    """Spatial shape after padding.

    >>> padded_shape((4, 5), ((1, 1), (0, 2)))
    (6, 7)
    """
    return tuple(n + lo + hi for n, (lo, hi) in zip(spatial, padding, strict=True))


def transposed_output_size(
    size: int,
    kernel: int,
    stride: int,
    pad_lo: int,
    pad_hi: int,
    dilation: int,
    output_padding: int,
) -> int:
    """Output length of a transposed convolution along one axis.

    ``(size - 1) * stride - pad_lo - pad_hi + dilation * (kernel - 1) + output_padding + 1``:
    every input element scatters the dilated kernel at ``i * stride``; the padding crops the
    ends and ``output_padding`` adds room at the end. It is the input size of the forward
    convolution whose gradient this is, which :func:`output_size` alone cannot recover
    (``floor`` loses up to ``stride - 1``).

    >>> transposed_output_size(2, 3, 1, 0, 0, 1, 0)   # back from the seed's 2x2 output
    4
    >>> transposed_output_size(28, 3, 2, 1, 1, 1, 1)   # W5's 28 -> 56 needs output_padding 1
    56
    """
    return (size - 1) * stride - pad_lo - pad_hi + dilated_size(kernel, dilation) + output_padding


def transposed_output_shape(
    spatial: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Pads,
    dilation: Sequence[int],
    output_padding: Sequence[int],
) -> tuple[int, ...]:
    """Output spatial shape of a transposed convolution (see :func:`transposed_output_size`).

    >>> transposed_output_shape((3, 3), (3, 3), (2, 2), ((1, 1), (0, 0)), (1, 1), (0, 1))
    (5, 8)
    """
    return tuple(
        transposed_output_size(n, k, s, lo, hi, d, op)
        for n, k, s, (lo, hi), d, op in zip(
            spatial, kernel, stride, padding, dilation, output_padding, strict=True
        )
    )


def halo(kernel: int, dilation: int, pad_lo: int) -> tuple[int, int]:
    """Input positions a block of outputs reads beyond its own region, before and after.

    Output ``j`` reads the input positions ``j * stride - pad_lo + dilation * t`` for the taps
    ``t = 0 .. kernel - 1``: with outputs ``j0 .. j1 - 1`` anchored at ``j0 * stride ..
    (j1 - 1) * stride``, the block reads ``pad_lo`` positions before its first anchor and
    ``dilated_size - 1 - pad_lo`` after its last (negative: it stops short of it). Asymmetric
    for even kernels; the halo of a chunked (Dask) convolution.

    >>> halo(3, 1, 1)      # 3-tap kernel, 'same': one on each side
    (1, 1)
    >>> halo(4, 1, 2)      # even kernel centred as ndimage centres it: two before, one after
    (2, 1)
    >>> halo(3, 2, 2)      # dilated 3-tap kernel spans 5
    (2, 2)
    """
    return pad_lo, dilated_size(kernel, dilation) - 1 - pad_lo


def input_span(
    out_start: int, out_stop: int, kernel: int, stride: int, pad_lo: int, dilation: int
) -> tuple[int, int]:
    """Input positions ``[start, stop)`` read by outputs ``out_start .. out_stop - 1``.

    Positions below 0 or past the input's end are padding. ``stop - start`` is
    ``(out_stop - out_start - 1) * stride + dilated_size``: exactly what a 'valid'
    convolution with this stride needs to give ``out_stop - out_start`` outputs.

    >>> input_span(0, 4, 3, 1, 1, 1)     # 'same' 3-tap: one position of padding each side
    (-1, 5)
    >>> input_span(2, 4, 3, 2, 1, 1)     # stride 2: outputs 2 and 3 read 3..7
    (3, 8)
    """
    before, after = halo(kernel, dilation, pad_lo)
    return out_start * stride - before, (out_stop - 1) * stride + 1 + after
