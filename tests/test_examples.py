"""The two examples that learn, in a reduced form: fewer images, steps and epochs, fixed seeds.

The full runs (``python examples/learn_kernel.py``, ``python examples/digits_cnn.py``) and
their figures are in the README.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` by path (registered, so its dataclasses resolve)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_learn_kernel_recovers_sobel_x(tmp_path: Path, capsys) -> None:
    pytest.importorskip("PIL")
    example = load("learn_kernel")
    gif = tmp_path / "k.gif"
    status = example.main(["--images", "4", "--size", "16", "--steps", "60", "--every", "20",
                           "--gif", str(gif)])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    final = float(out.split("final max error ")[1].split()[0])
    assert final <= 1e-3
    assert "step   20" in out and "hidden kernel (sobel-x)" in out

    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames == 61


@pytest.mark.parametrize("spec", ["laplacian", "gaussian:5,1.0", "1 2; 3 4"])
def test_learn_kernel_other_kernels(spec: str) -> None:
    from fastconv import kernels

    example = load("learn_kernel")
    target = kernels.parse(spec)
    learned, history = example.learn(target, images=4, size=16, steps=60)
    assert np.max(np.abs(learned - target)) <= 1e-3
    assert len(history.filters) == 61 and history.losses[-1] < history.losses[0]


def test_digits_cnn_reduced(tmp_path: Path, capsys) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("PIL")
    example = load("digits_cnn")
    png = tmp_path / "filters.png"
    assert example.main(["--epochs", "6", "--lr", "0.01", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    losses = [float(line.split("loss ")[1].split()[0]) for line in out.splitlines()
              if line.startswith("epoch")]  # fmt: skip
    accuracy = float(out.split("final test accuracy ")[1].split("%")[0]) / 100
    assert len(losses) == 6 and losses[-1] < losses[0] / 5
    assert accuracy >= 0.95, out

    from PIL import Image

    with Image.open(png) as im:
        assert im.size[0] > im.size[1] > 0


def test_digits_layers_gradcheck() -> None:
    """The example's plain-NumPy layers have correct gradients too (fastconv.nn.gradcheck)."""
    from fastconv.nn import gradcheck

    example = load("digits_cnn")
    rng = np.random.default_rng(0)
    pool = example.MaxPool2()

    def pooled(x):
        out = pool.forward(x)
        return out, lambda g: (pool.backward(g),)

    gradcheck(pooled, rng.standard_normal((2, 3, 4, 6)))
    labels = np.array([1, 0, 2])

    def loss(logits):
        value, grad = example.softmax_cross_entropy(logits, labels)
        return np.array(value), lambda g: (g * grad,)

    gradcheck(loss, rng.standard_normal((3, 4)))
