"""A small CNN learns the 8×8 hand-written digits, with fastconv doing the convolutions.

conv (1 -> 16, 3×3) -> ReLU -> max-pool 2 -> conv (16 -> 32, 3×3) -> ReLU -> max-pool 2 ->
linear (128 -> 10), trained with Adam (cosine learning-rate schedule) on the softmax
cross-entropy. The two convolutions are
``fastconv.nn.Conv2d`` layers (forward and backward by fastconv); ReLU, pooling, the linear
layer, the loss and Adam are written below in plain NumPy. The data are the 1,797 digits that
scikit-learn ships inside its package (``sklearn.datasets.load_digits``: nothing is
downloaded), split 75 % / 25 % into training and test images.

    pip install -e ".[examples]"      # scikit-learn
    python examples/digits_cnn.py     # ~98 % test accuracy; writes digits_filters.png
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fastconv.nn import Conv2d

Pair = tuple[np.ndarray, np.ndarray]


# --------------------------------------------------------------------------------------------
# the layers that are not convolutions, in plain NumPy


class ReLU:
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return x * self.mask

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g * self.mask


class MaxPool2:
    """2×2 max pooling, stride 2 (even height and width); the gradient goes to the maximum."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, c, h, w = x.shape
        windows = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5)
        windows = windows.reshape(n, c, h // 2, w // 2, 4)
        self.shape = x.shape
        self.argmax = windows.argmax(axis=-1)
        return np.take_along_axis(windows, self.argmax[..., None], axis=-1)[..., 0]

    def backward(self, g: np.ndarray) -> np.ndarray:
        n, c, h, w = self.shape
        windows = np.zeros((n, c, h // 2, w // 2, 4), dtype=g.dtype)
        np.put_along_axis(windows, self.argmax[..., None], g[..., None], axis=-1)
        windows = windows.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
        return windows.reshape(n, c, h, w)


class Linear:
    """``x @ weight.T + bias``, initialised like PyTorch's ``nn.Linear``."""

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator) -> None:
        bound = 1 / np.sqrt(n_in)
        self.weight = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
        self.bias = rng.uniform(-bound, bound, n_out).astype(np.float32)
        self.weight_grad = np.zeros_like(self.weight)
        self.bias_grad = np.zeros_like(self.bias)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x @ self.weight.T + self.bias

    def backward(self, g: np.ndarray) -> np.ndarray:
        self.weight_grad += g.T @ self.x
        self.bias_grad += g.sum(axis=0)
        return g @ self.weight

    def parameters(self) -> list[Pair]:
        return [(self.weight, self.weight_grad), (self.bias, self.bias_grad)]

    def zero_grad(self) -> None:
        for _, grad in self.parameters():
            grad.fill(0)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``softmax(logits)`` and its gradient with respect to ``logits``."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(labels)
    loss = -float(log_p[np.arange(n), labels].mean())
    grad = np.exp(log_p)
    grad[np.arange(n), labels] -= 1
    return loss, grad / n


class Adam:
    """Adam (Kingma & Ba) over ``(value, gradient)`` pairs, updating the values in place."""

    def __init__(self, params: list[Pair], lr: float, betas=(0.9, 0.999), eps=1e-8) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [np.zeros_like(v) for v, _ in params]
        self.v = [np.zeros_like(v) for v, _ in params]
        self.t = 0

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        for (value, grad), m, v in zip(self.params, self.m, self.v):
            m *= b1
            m += (1 - b1) * grad
            v *= b2
            v += (1 - b2) * grad**2
            m_hat = m / (1 - b1**self.t)
            v_hat = v / (1 - b2**self.t)
            value -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# --------------------------------------------------------------------------------------------
# the network


class DigitsCNN:
    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.conv1 = Conv2d(1, 16, 3, padding=1, rng=rng)
        self.conv2 = Conv2d(16, 32, 3, padding=1, rng=rng)
        self.fc = Linear(32 * 2 * 2, 10, rng)
        self.layers = [self.conv1, ReLU(), MaxPool2(), self.conv2, ReLU(), MaxPool2()]

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        self.features_shape = x.shape
        return self.fc.forward(x.reshape(len(x), -1))

    def backward(self, g: np.ndarray) -> None:
        g = self.fc.backward(g).reshape(self.features_shape)
        for layer in reversed(self.layers):
            g = layer.backward(g)

    def parameters(self) -> list[Pair]:
        return self.conv1.parameters() + self.conv2.parameters() + self.fc.parameters()

    def zero_grad(self) -> None:
        for _, grad in self.parameters():
            grad.fill(0)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x).argmax(axis=1)


# --------------------------------------------------------------------------------------------
# data, training, the filters as a picture


def load_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits as ``(N, 1, 8, 8)`` float32 in [0, 1]: train and test images and labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    return train_test_split(x, digits.target, test_size=0.25, stratify=digits.target,
                            random_state=seed)  # fmt: skip


@dataclass
class Result:
    model: DigitsCNN
    losses: list[float] = field(default_factory=list)  # mean training loss per epoch
    accuracies: list[float] = field(default_factory=list)  # test accuracy after each epoch
    seconds: float = 0.0

    @property
    def accuracy(self) -> float:
        return self.accuracies[-1]


def train(
    epochs: int = 40,
    batch: int = 32,
    lr: float = 0.005,
    seed: int = 0,
    report: Callable[[int, float, float], None] | None = None,
) -> Result:
    """Train on the training split; ``report(epoch, loss, test_accuracy)`` after each epoch."""
    x_train, x_test, y_train, y_test = load_data(seed)
    model = DigitsCNN(seed)
    optimiser = Adam(model.parameters(), lr)
    rng = np.random.default_rng(seed)
    result = Result(model)
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        # cosine schedule: the last epochs take small steps and settle in a minimum
        optimiser.lr = lr * 0.5 * (1 + np.cos(np.pi * (epoch - 1) / epochs))
        order = rng.permutation(len(x_train))
        total = 0.0
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            model.zero_grad()
            loss, grad = softmax_cross_entropy(model.forward(x_train[idx]), y_train[idx])
            model.backward(grad)
            optimiser.step()
            total += loss * len(idx)
        result.losses.append(total / len(order))
        result.accuracies.append(float(np.mean(model.predict(x_test) == y_test)))
        if report is not None:
            report(epoch, result.losses[-1], result.accuracies[-1])
    result.seconds = time.perf_counter() - t0
    return result


def save_filters(path: Path, weight: np.ndarray, zoom: int = 24) -> None:
    """The first layer's 3×3 filters side by side, each scaled to black (min) .. white (max)."""
    from PIL import Image

    n = len(weight)
    cols = 8
    rows = -(-n // cols)
    k = weight.shape[-1]
    gap = zoom // 3
    canvas = np.full((rows * (k * zoom + gap) + gap, cols * (k * zoom + gap) + gap), 255, np.uint8)
    for i, f in enumerate(weight[:, 0]):
        lo, hi = float(f.min()), float(f.max())
        tile = np.round(255 * (f - lo) / (hi - lo or 1.0)).astype(np.uint8)
        tile = np.kron(tile, np.ones((zoom, zoom), np.uint8))
        r, c = divmod(i, cols)
        y, x = gap + r * (k * zoom + gap), gap + c * (k * zoom + gap)
        canvas[y : y + k * zoom, x : x + k * zoom] = tile
    Image.fromarray(canvas).save(path)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=40, help="passes over the training set (40)")
    p.add_argument("--batch", type=int, default=32, help="images per step (32)")
    p.add_argument("--lr", type=float, default=0.005, help="peak Adam learning rate (0.005)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, init and order (0)")
    p.add_argument("--png", default="digits_filters.png",
                   help="picture of the learned first-layer filters ('' for none)")  # fmt: skip
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def report(epoch: int, loss: float, accuracy: float) -> None:
        print(f"epoch {epoch:3d}  loss {loss:.4f}  test accuracy {accuracy:.2%}", flush=True)

    result = train(args.epochs, args.batch, args.lr, args.seed, report)
    print(f"\nfinal test accuracy {result.accuracy:.2%} after {args.epochs} epochs "
          f"({result.seconds:.1f} s of training)")  # fmt: skip
    if args.png:
        save_filters(Path(args.png), result.model.conv1.weight)
        print(f"wrote {args.png} (the {len(result.model.conv1.weight)} first-layer filters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
