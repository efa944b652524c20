"""Layers that learn their filters: ``Conv2d`` and ``ConvTranspose2d``, and ``gradcheck``.

Plain NumPy objects, no autograd: ``forward(x)`` computes the output and remembers ``x``;
``backward(grad_output)`` returns the gradient with respect to ``x`` and *adds* the gradients
of the parameters to ``weight_grad`` and ``bias_grad`` (so a batch may be split over several
calls); ``zero_grad()`` clears them. An optimiser step is a loop over ``parameters()``, pairs
of arrays updated in place::

    for value, grad in layer.parameters():
        value -= learning_rate * grad

Weights start as in PyTorch (Kaiming-uniform with ``a = sqrt(5)``: uniform in
``±1/sqrt(fan_in)``, the bias too), so a network converges like its PyTorch twin.
:func:`gradcheck` checks the backward pass of a layer of your own against finite differences.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .functional import conv2d, conv_transpose2d
from .grad import conv2d_backward, conv2d_weight

Pair = tuple[np.ndarray, np.ndarray]


def _positive(cls: str, name: str, value: Any) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{cls}: expected {name} to be an integer, got {name}={value!r}") from None
    if v < 1:
        raise ValueError(f"{cls}: expected {name} to be positive, got {name}={value!r}")
    return v


def _pair(cls: str, name: str, value: Any) -> tuple[int, int]:
    items = tuple(value) if isinstance(value, Sequence | np.ndarray) else (value, value)
    if len(items) != 2:
        raise ValueError(
            f"{cls}: expected {name} to be an int or a pair of ints, got {name}={value!r}"
        )
    return _positive(cls, name, items[0]), _positive(cls, name, items[1])


class _Layer:
    """What both layers share: parameters, gradients, state and the forward input."""

    weight: np.ndarray
    bias: np.ndarray | None
    weight_grad: np.ndarray
    bias_grad: np.ndarray | None
    _input: np.ndarray | None

    def _init_parameters(self, shape: tuple[int, ...], n_bias: int, fan_in: int, bias: bool,
                         dtype: Any, rng: Any) -> None:  # fmt: skip
        gen = np.random.default_rng(rng)
        bound = 1.0 / math.sqrt(fan_in)  # Kaiming-uniform with a = sqrt(5): gain sqrt(1/3)
        self.weight = gen.uniform(-bound, bound, shape).astype(dtype)
        self.bias = gen.uniform(-bound, bound, n_bias).astype(dtype) if bias else None
        self.weight_grad = np.zeros_like(self.weight)
        self.bias_grad = None if self.bias is None else np.zeros_like(self.bias)
        self._input = None

    def __call__(self, x: Any) -> np.ndarray:
        return self.forward(x)  # type: ignore[attr-defined]

    def _take_input(self, name: str) -> np.ndarray:
        if self._input is None:
            raise ValueError(
                f"{type(self).__name__}.{name}: expected a forward call before backward, got none"
            )
        return self._input

    def parameters(self) -> list[Pair]:
        """``(value, gradient)`` pairs: the weight, then the bias if there is one.

        The arrays are the layer's own, so an optimiser updates ``value`` in place.
        """
        pairs = [(self.weight, self.weight_grad)]
        if self.bias is not None:
            pairs.append((self.bias, self.bias_grad))  # type: ignore[arg-type]
        return pairs

    def zero_grad(self) -> None:
        """Set ``weight_grad`` and ``bias_grad`` to zero (in place)."""
        for _, grad in self.parameters():
            grad.fill(0)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters by name (``"weight"``, ``"bias"``): ``np.savez(f, **d)``."""
        state = {"weight": self.weight.copy()}
        if self.bias is not None:
            state["bias"] = self.bias.copy()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy parameters saved by :meth:`state_dict` (a dict, or ``np.load`` of an ``.npz``).

        The names and shapes must match this layer's; values are cast to its dtype.
        """
        cls = type(self).__name__
        own = {"weight": self.weight, **({"bias": self.bias} if self.bias is not None else {})}
        keys = set(state.keys())
        if keys != set(own):
            raise ValueError(
                f"{cls}.load_state_dict: expected the keys {sorted(own)}, got {sorted(keys)}"
            )
        for name, target in own.items():
            value = np.asarray(state[name])
            if value.shape != target.shape:
                raise ValueError(
                    f"{cls}.load_state_dict: expected {name} of shape {target.shape}, got "
                    f"{name} of shape {value.shape}"
                )
            target[...] = value


class Conv2d(_Layer):
    """A 2-D convolution layer (PyTorch's ``torch.nn.Conv2d``) with a hand-written backward.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output; both divisible by ``groups``.
    kernel_size : int or (int, int)
        Height and width of the filters.
    stride, padding, dilation, groups, padding_mode
        As in :func:`fastconv.conv2d` (every padding form, also ``"same"``, and every mode).
    bias : bool, default True
        Whether the layer adds a learned bias per output channel.
    dtype : dtype, default float32
        Of the parameters.
    rng : numpy.random.Generator or int, optional
        Source (or seed) of the initial values.

    Attributes
    ----------
    weight : ndarray
        ``(out_channels, in_channels / groups, kH, kW)``, uniform in ``±1/sqrt(fan_in)`` with
        ``fan_in = in_channels / groups * kH * kW`` (PyTorch's default).
    bias : ndarray or None
        ``(out_channels,)``, same distribution.
    weight_grad, bias_grad : ndarray
        Gradients summed by :meth:`backward` since the last :meth:`zero_grad`.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv2d(1, 2, 3, padding=1, rng=0)
    >>> layer.weight.shape, layer.bias.shape, layer.weight.dtype
    ((2, 1, 3, 3), (2,), dtype('float32'))
    >>> x = np.ones((4, 1, 5, 5), np.float32)
    >>> y = layer(x)
    >>> y.shape
    (4, 2, 5, 5)
    >>> grad_x = layer.backward(np.ones_like(y))    # d(sum of y)/dx, weight_grad, bias_grad
    >>> grad_x.shape, layer.bias_grad              # each bias feeds 4 images x 25 positions
    ((4, 1, 5, 5), array([100., 100.], dtype=float32))
    >>> for value, grad in layer.parameters():     # one step of gradient descent
    ...     value -= 0.01 * grad
    >>> layer.zero_grad()
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        *,
        dtype: Any = np.float32,
        rng: Any = None,
    ) -> None:
        cls = "Conv2d"
        cin = _positive(cls, "in_channels", in_channels)
        cout = _positive(cls, "out_channels", out_channels)
        g = _positive(cls, "groups", groups)
        if cin % g or cout % g:
            raise ValueError(
                f"{cls}: given groups={g}, expected in_channels ({cin}) and out_channels "
                f"({cout}) to be divisible by {g}"
            )
        kernel = _pair(cls, "kernel_size", kernel_size)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, g
        self.padding_mode = padding_mode
        self._init_parameters((cout, cin // g, *kernel), cout, cin // g * math.prod(kernel),
                              bias, dtype, rng)  # fmt: skip

    def _geometry(self) -> dict[str, Any]:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, padding_mode=self.padding_mode)  # fmt: skip

    def forward(self, x: Any) -> np.ndarray:
        """``conv2d(x, weight, bias, ...)``; ``x`` is kept for :meth:`backward`."""
        out = conv2d(x, self.weight, self.bias, **self._geometry())
        self._input = np.asarray(x)
        return out

    def backward(self, grad_output: Any) -> np.ndarray:
        """Return dL/dx for the last :meth:`forward`; add dL/dweight and dL/dbias to the grads."""
        needs = ("input", "weight", "bias") if self.bias is not None else ("input", "weight")
        gi, gw, gb = conv2d_backward(grad_output, self._take_input("backward"), self.weight,
                                     needs=needs, **self._geometry())  # fmt: skip
        self.weight_grad += gw
        if self.bias_grad is not None:
            self.bias_grad += gb
        return gi


class ConvTranspose2d(_Layer):
    """A 2-D transposed convolution layer (PyTorch's ``torch.nn.ConvTranspose2d``).

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output; both divisible by ``groups``.
    kernel_size : int or (int, int)
        Height and width of the filters.
    stride, padding, output_padding, groups, dilation
        As in :func:`fastconv.conv_transpose2d`.
    bias : bool, default True
        Whether the layer adds a learned bias per output channel.
    dtype : dtype, default float32
        Of the parameters.
    rng : numpy.random.Generator or int, optional
        Source (or seed) of the initial values.

    Attributes
    ----------
    weight : ndarray
        ``(in_channels, out_channels / groups, kH, kW)``, uniform in ``±1/sqrt(fan_in)`` with
        PyTorch's ``fan_in = out_channels / groups * kH * kW`` for this layout.
    bias : ndarray or None
        ``(out_channels,)``, same distribution.
    weight_grad, bias_grad : ndarray
        Gradients summed by :meth:`backward` since the last :meth:`zero_grad`.

    Examples
    --------
    >>> import numpy as np
    >>> up = ConvTranspose2d(4, 2, 2, stride=2, rng=0)      # learned 2x upsampling
    >>> y = up(np.ones((1, 4, 3, 3), np.float32))
    >>> y.shape
    (1, 2, 6, 6)
    >>> up.backward(np.ones_like(y)).shape, up.weight_grad[0, 0]
    ((1, 4, 3, 3), array([[9., 9.],
           [9., 9.]], dtype=float32))
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        *,
        dtype: Any = np.float32,
        rng: Any = None,
    ) -> None:
        cls = "ConvTranspose2d"
        cin = _positive(cls, "in_channels", in_channels)
        cout = _positive(cls, "out_channels", out_channels)
        g = _positive(cls, "groups", groups)
        if cin % g or cout % g:
            raise ValueError(
                f"{cls}: given groups={g}, expected in_channels ({cin}) and out_channels "
                f"({cout}) to be divisible by {g}"
            )
        kernel = _pair(cls, "kernel_size", kernel_size)
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        self.groups, self.dilation = g, dilation
        self._init_parameters((cin, cout // g, *kernel), cout, cout // g * math.prod(kernel),
                              bias, dtype, rng)  # fmt: skip

    def forward(self, x: Any) -> np.ndarray:
        """``conv_transpose2d(x, weight, bias, ...)``; ``x`` is kept for :meth:`backward`."""
        out = conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                               self.output_padding, self.groups, self.dilation)  # fmt: skip
        self._input = np.asarray(x)
        return out

    def backward(self, grad_output: Any) -> np.ndarray:
        """Return dL/dx for the last :meth:`forward`; add dL/dweight and dL/dbias to the grads.

        A transposed convolution is the adjoint of the convolution with the same weight, so
        dL/dx is that convolution of ``grad_output``, and dL/dweight its weight gradient with
        ``x`` in the role of the output gradient.
        """
        x = self._take_input("backward")
        g = np.asarray(grad_output)
        geometry = dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                        groups=self.groups)  # fmt: skip
        grad_x = conv2d(g, self.weight, **geometry)
        # output_padding >= stride (allowed when < dilation) gives the convolution of g more
        # positions than x has; they received nothing from x: crop them, pad x with zeros
        extra = [a - b for a, b in zip(grad_x.shape[-2:], x.shape[-2:])]
        grad_x = grad_x[..., : x.shape[-2], : x.shape[-1]]
        x_as_grad = (
            np.pad(x, [(0, 0)] * (x.ndim - 2) + [(0, e) for e in extra]) if any(extra) else x
        )
        self.weight_grad += conv2d_weight(g, self.weight.shape, x_as_grad, **geometry)
        if self.bias_grad is not None:
            self.bias_grad += g.sum(axis=(0, 2, 3) if g.ndim == 4 else (1, 2))
        return grad_x


# --------------------------------------------------------------------------------------------
# gradcheck


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with finite differences (raised by :func:`gradcheck`)."""


def gradcheck(
    fn: Callable[..., tuple[np.ndarray, Callable[[np.ndarray], Sequence[np.ndarray | None]]]],
    *arrays: Any,
    eps: float = 1e-6,
    tol: float = 1e-6,
    seed: int = 0,
) -> float:
    """Check a hand-written backward pass against central finite differences in float64.

    ``fn(*arrays)`` must return ``(output, pullback)``, where ``pullback(grad_output)`` returns
    one gradient per array (``None`` to skip one): the gradient of ``sum(output *
    grad_output)``. ``gradcheck`` draws a random ``grad_output`` and, for every element of every
    array, compares the analytic gradient with ``(L(a + eps) - L(a - eps)) / (2 eps)`` where
    ``L = sum(fn(...)[0] * grad_output)``. The arrays are copied to float64 first and never
    modified.

    Parameters
    ----------
    fn : callable
        ``fn(*arrays) -> (output, pullback)``.
    *arrays : array_like
        The point at which the gradients are checked.
    eps : float, default 1e-6
        Finite-difference step.
    tol : float, default 1e-6
        Largest allowed relative error: ``max|analytic - numeric|`` over
        ``max(max|numeric|, max|analytic|)``, per array.
    seed : int, default 0
        Seed of ``grad_output``.

    Returns
    -------
    float
        The largest relative error over all arrays.

    Raises
    ------
    GradcheckError
        If some array's relative error exceeds ``tol`` (the message names the array).

    Examples
    --------
    A layer of one's own: ``y = relu(conv2d(x, w))``.

    >>> import numpy as np, fastconv
    >>> def conv_relu(x, w):
    ...     z = fastconv.conv2d(x, w, padding=1)
    ...     def pullback(g):
    ...         gz = g * (z > 0)
    ...         gx, gw, _ = fastconv.conv2d_backward(gz, x, w, padding=1, needs=("input", "weight"))
    ...         return gx, gw
    ...     return np.maximum(z, 0), pullback
    >>> rng = np.random.default_rng(0)
    >>> err = gradcheck(conv_relu, rng.standard_normal((2, 3, 5, 5)),
    ...                 rng.standard_normal((4, 3, 3, 3)))
    >>> err < 1e-6
    True
    >>> gradcheck(lambda x: (x ** 2, lambda g: (g * x,)), np.ones(3))   # should be 2 * g * x
    Traceback (most recent call last):
    ...
    fastconv.nn.GradcheckError: gradcheck: gradient of array 0 is off by a relative 0.5 (> 1e-06)
    """
    values = [np.array(a, dtype=np.float64) for a in arrays]
    out, pullback = fn(*values)
    grad_output = np.random.default_rng(seed).standard_normal(np.shape(out))
    analytic = list(pullback(grad_output))
    if len(analytic) != len(values):
        raise ValueError(
            f"gradcheck: expected the pullback to return {len(values)} gradients, "
            f"got {len(analytic)}"
        )

    def loss() -> float:
        return float(np.sum(np.asarray(fn(*values)[0], dtype=np.float64) * grad_output))

    worst = 0.0
    for index, (value, grad) in enumerate(zip(values, analytic)):
        if grad is None:
            continue
        grad = np.asarray(grad, dtype=np.float64)
        if grad.shape != value.shape:
            raise ValueError(
                f"gradcheck: expected the gradient of array {index} to have shape "
                f"{value.shape}, got shape {grad.shape}"
            )
        numeric = np.empty_like(value)
        flat, nflat = value.reshape(-1), numeric.reshape(-1)
        for j in range(flat.size):
            keep = flat[j]
            flat[j] = keep + eps
            up = loss()
            flat[j] = keep - eps
            down = loss()
            flat[j] = keep
            nflat[j] = (up - down) / (2 * eps)
        scale = max(
            float(np.max(np.abs(numeric), initial=0)), float(np.max(np.abs(grad), initial=0))
        )
        err = float(np.max(np.abs(grad - numeric), initial=0)) / scale if scale else 0.0
        if err > tol:
            raise GradcheckError(
                f"gradcheck: gradient of array {index} is off by a relative {err:.3g} (> {tol:g})"
            )
        worst = max(worst, err)
    return worst
