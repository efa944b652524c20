"""fastconv.nn: the layers against PyTorch's, their gradients, state, and gradcheck itself."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from support import assert_close

from fastconv.nn import Conv2d, ConvTranspose2d, GradcheckError, gradcheck


def refused(exc, message: str):
    return pytest.raises(exc, match="^" + re.escape(message))


def layer_fn(layer):
    """``(x, weight, bias) -> (output, pullback)`` through the layer's forward and backward."""

    def fn(x, w, b):
        layer.weight, layer.bias = w, b
        layer.weight_grad, layer.bias_grad = np.zeros_like(w), np.zeros_like(b)
        out = layer.forward(x)

        def pullback(g):
            grad_x = layer.backward(g)
            return grad_x, layer.weight_grad, layer.bias_grad

        return out, pullback

    return fn


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(stride=2, padding="same", padding_mode="reflect"),
        dict(padding=(1, 2), dilation=2, groups=2, padding_mode="circular"),
        dict(stride=(1, 2), padding=((0, 2), (1, 0)), padding_mode="symmetric"),
    ],
)
def test_conv2d_layer_gradcheck(kwargs) -> None:
    layer = Conv2d(4, 6, (3, 2), dtype=np.float64, rng=1, **kwargs)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 7, 6))
    assert gradcheck(layer_fn(layer), x, layer.weight.copy(), layer.bias.copy()) < 1e-6


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(stride=2, padding=1, output_padding=1),
        dict(stride=1, output_padding=1, dilation=2, groups=2),  # output_padding >= stride
        dict(stride=(2, 1), padding=(0, 1), output_padding=(1, 2), dilation=(1, 3)),
    ],
)
def test_conv_transpose2d_layer_gradcheck(kwargs) -> None:
    layer = ConvTranspose2d(4, 6, 3, dtype=np.float64, rng=2, **kwargs)
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 5))
    assert gradcheck(layer_fn(layer), x, layer.weight.copy(), layer.bias.copy()) < 1e-6


def test_layers_match_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 9, 8))
    cases = [
        (Conv2d(4, 6, 3, stride=2, padding=1, groups=2, padding_mode="replicate",
                dtype=np.float64, rng=0),
         torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, padding_mode="replicate",
                         dtype=torch.float64)),
        (ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                         dtype=np.float64, rng=0),
         torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                                  dtype=torch.float64)),
    ]  # fmt: skip
    for ours, theirs in cases:
        assert tuple(theirs.weight.shape) == ours.weight.shape
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(ours.weight))
            theirs.bias.copy_(torch.from_numpy(ours.bias))
        tx = torch.tensor(x, requires_grad=True)
        ty = theirs(tx)
        g = rng.standard_normal(tuple(ty.shape))
        ty.backward(torch.from_numpy(g))
        y = ours.forward(x)
        assert_close(y, ty.detach().numpy())
        assert_close(ours.backward(g), tx.grad.numpy())
        assert_close(ours.weight_grad, theirs.weight.grad.numpy())
        assert_close(ours.bias_grad, theirs.bias.grad.numpy())


@pytest.mark.parametrize("cls", [Conv2d, ConvTranspose2d])
def test_init_like_torch(cls) -> None:
    """Kaiming-uniform with a = sqrt(5): uniform in +-1/sqrt(fan_in), the bias too."""
    layer = cls(16, 32, 3, groups=2, rng=0)
    fan_in = layer.weight.shape[1] * 9
    bound = 1 / np.sqrt(fan_in)
    for a in (layer.weight, layer.bias):
        assert a.dtype == np.float32
        assert np.abs(a).max() <= bound
    assert abs(layer.weight.std() - bound / np.sqrt(3)) < 0.05 * bound
    assert np.abs(layer.weight).max() > 0.95 * bound
    torch = pytest.importorskip("torch")
    twin = {Conv2d: torch.nn.Conv2d, ConvTranspose2d: torch.nn.ConvTranspose2d}[cls](
        16, 32, 3, groups=2
    )
    weight, bias = twin.weight.detach().numpy(), twin.bias.detach().numpy()
    assert weight.shape == layer.weight.shape
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
    assert np.abs(weight).max() > 0.95 * bound  # the same bound, filled


def test_gradients_accumulate_until_zero_grad() -> None:
    layer = Conv2d(1, 2, 3, rng=0)
    x = np.ones((1, 1, 4, 4), np.float32)
    g = np.ones((1, 2, 2, 2), np.float32)
    layer.forward(x)
    layer.backward(g)
    once = [grad.copy() for _, grad in layer.parameters()]
    layer.backward(g)
    for (_, grad), first in zip(layer.parameters(), once):
        np.testing.assert_array_equal(grad, 2 * first)
    layer.zero_grad()
    assert all(not grad.any() for _, grad in layer.parameters())
    values = [id(v) for v, _ in layer.parameters()]
    assert values == [id(layer.weight), id(layer.bias)]


def test_no_bias() -> None:
    layer = Conv2d(2, 3, 1, bias=False, rng=0)
    assert layer.bias is None and len(layer.parameters()) == 1
    layer.forward(np.ones((2, 3, 3)))
    assert layer.backward(np.ones((3, 3, 3))).shape == (2, 3, 3)
    assert set(layer.state_dict()) == {"weight"}


@pytest.mark.parametrize("cls", [Conv2d, ConvTranspose2d])
def test_state_dict_round_trips_through_savez(cls, tmp_path: Path) -> None:
    layer = cls(2, 4, 3, rng=0)
    path = tmp_path / "layer.npz"
    np.savez(path, **layer.state_dict())
    other = cls(2, 4, 3, rng=1)
    with np.load(path) as state:
        other.load_state_dict(state)
    np.testing.assert_array_equal(other.weight, layer.weight)
    np.testing.assert_array_equal(other.bias, layer.bias)
    state = layer.state_dict()
    state["weight"][...] = 0  # a copy: the layer is unchanged
    assert layer.weight.any()


def test_refusals() -> None:
    layer = Conv2d(2, 4, 3, rng=0)
    with refused(ValueError, "Conv2d.backward: expected a forward call before backward, got none"):
        layer.backward(np.ones((1, 4, 1, 1)))
    with refused(
        ValueError, "Conv2d.load_state_dict: expected the keys ['bias', 'weight'], got ['weight']"
    ):
        layer.load_state_dict({"weight": layer.weight})
    with refused(
        ValueError,
        "Conv2d.load_state_dict: expected weight of shape (4, 2, 3, 3), got weight of shape "
        "(4, 2, 2, 2)",
    ):
        layer.load_state_dict({"weight": np.ones((4, 2, 2, 2)), "bias": layer.bias})
    with refused(
        ValueError,
        "Conv2d: given groups=2, expected in_channels (3) and out_channels (4) to be "
        "divisible by 2",
    ):
        Conv2d(3, 4, 3, groups=2)
    with refused(
        TypeError, "ConvTranspose2d: expected kernel_size to be an integer, got kernel_size=2.5"
    ):
        ConvTranspose2d(3, 4, 2.5)
    with refused(
        ValueError,
        "Conv2d: expected kernel_size to be an int or a pair of ints, got kernel_size=(1, 2, 3)",
    ):
        Conv2d(3, 4, (1, 2, 3))
    with refused(ValueError, "Conv2d: expected out_channels to be positive, got out_channels=0"):
        Conv2d(3, 0, 3)
    with refused(ValueError, "conv2d: expected padding_mode to be one of"):
        Conv2d(3, 3, 3, padding_mode="mirror").forward(np.ones((3, 5, 5)))


def test_gradcheck_reports() -> None:
    with refused(GradcheckError, "gradcheck: gradient of array 1 is off by a relative 1 (> 1e-06)"):
        gradcheck(lambda a, b: (a * b, lambda g: (g * b, g * 0)), np.ones(2), np.ones(2))
    with refused(ValueError, "gradcheck: expected the pullback to return 2 gradients, got 1"):
        gradcheck(lambda a, b: (a * b, lambda g: (g * b,)), np.ones(2), np.ones(2))
    with refused(
        ValueError, "gradcheck: expected the gradient of array 0 to have shape (2,), got shape (1,)"
    ):
        gradcheck(lambda a: (a, lambda g: (g[:1],)), np.ones(2))
    x = np.array([1.0, 2.0], np.float32)
    # float32 input is checked in float64 and left as it was; None skips an array
    assert gradcheck(lambda a, b: (a * b, lambda g: (g * b, None)), x, x) < 1e-8
    np.testing.assert_array_equal(x, [1.0, 2.0])
