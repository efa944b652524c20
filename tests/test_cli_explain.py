"""``fastconv explain``, ``fastconv animate`` and ``fastconv kernels`` through a subprocess."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fastconv
from fastconv._explain.schema import schema_errors

SEED = "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16"


def fastconv_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastconv", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=os.environ.copy(),
    )


def test_explain_defaults_to_the_tutorials_example() -> None:
    result = fastconv_cli("explain")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Cross-correlation of a 4×4 input with a 3×3 kernel")
    assert "multiply element-wise and sum: 1 + 0 + 3 + 0 + 6 + 0 + 9 + 0 + 11 = 30" in result.stdout
    assert result.stdout.endswith("    30 35\n    50 55\n")
    assert result.stderr == ""


def test_explain_json_with_a_named_kernel_and_geometry() -> None:
    image = "1 2 3 4 5 6; 1 2 3 4 5 6; 6 5 4 3 2 1; 0 0 1 1 0 0"
    result = fastconv_cli(
        "explain", "--image", image, "--kernel", "sobel-x", "--stride", "2",
        "--padding", "1", "--dilation", "1,2", "--format", "json", "--max-steps", "all",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert schema_errors(data) == []
    x = fastconv.kernels.parse_matrix(image)
    expected = fastconv.conv2d(x[None], fastconv.kernels.parse("sobel-x")[None, None], None, 2, 1,
                               (1, 2))[0]  # fmt: skip
    np.testing.assert_allclose(data["output"], expected)
    assert len(data["steps"]) == expected.size and data["shown"] is None


def test_explain_markdown_region_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "steps.md"
    result = fastconv_cli(
        "explain", "--image", SEED, "--kernel", "1 -1", "--padding", "0,1", "--convolve",
        "--format", "markdown", "--region", "1:3,0:2", "--max-steps", "3", "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Convolution of a 4×4 input with a 1×2 kernel")
    assert "Steps 6–7, 11 of 20 shown." in text
    assert "### Step 6 of 20: output[1, 0]" in text


def test_explain_reads_npy_csv_and_txt_files(tmp_path: Path) -> None:
    x = np.arange(20.0).reshape(4, 5)
    np.save(tmp_path / "image.npy", x)
    np.savetxt(tmp_path / "kernel.csv", np.array([[1.0, 2.0], [0.5, -1.0]]), delimiter=",")
    np.savetxt(tmp_path / "image.txt", x)
    for image in ("image.npy", "image.txt"):
        result = fastconv_cli(
            "explain", "--image", image, "--kernel", "kernel.csv", "--format", "json",
            "--max-steps", "0", cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["input_shape"] == [4, 5] and data["weight_shape"] == [2, 2]
        assert data["steps"] == [] and data["shown"] == "no step of 12 shown"


@pytest.mark.skipif(
    importlib.util.find_spec("fastconv.io") is None, reason="fastconv.io (image files) not merged"
)
def test_explain_reads_an_image_file(tmp_path: Path) -> None:
    Image.fromarray(np.arange(36, dtype=np.uint8).reshape(6, 6) * 7, "L").save(tmp_path / "a.png")
    result = fastconv_cli("explain", "--image", "a.png", "--kernel", "box:3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Cross-correlation of a 6×6 input with a 3×3 kernel" in result.stdout


def test_animate_writes_a_gif(tmp_path: Path) -> None:
    result = fastconv_cli(
        "animate", "--image", SEED, "--kernel", "1 0; 0 -1", "--padding", "1",
        "--dilation", "2", "-o", "w.gif", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote w.gif (16 frames, ")
    with Image.open(tmp_path / "w.gif") as im:
        assert im.n_frames == 16


def test_animate_transposed_and_frame_cap(tmp_path: Path) -> None:
    result = fastconv_cli(
        "animate", "--kernel", "1 2; 3 4", "--transposed", "--stride", "2",
        "--max-frames", "5", "--fps", "4", "-o", "t.gif", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "(5 frames of 16 steps" in result.stdout
    with Image.open(tmp_path / "t.gif") as im:
        assert im.n_frames == 5


def test_kernels_lists_every_name_with_values() -> None:
    result = fastconv_cli("kernels")
    assert result.returncode == 0, result.stderr
    for name in fastconv.kernels.names():
        assert f"\n{name}" in "\n" + result.stdout
    assert "values (sobel-x):" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("explain", "--image", "1 2 x; 3 4 5"), "matrix: could not read 'x' (row 1, column 3)"),
        (("explain", "--image", "1 2 3; 4 5"), "matrix: row 2 has 2 values, row 1 has 3"),
        (("explain", "--kernel", "box:5"), "explain: expected the dilated kernel (5, 5) to fit in"),
        (("animate", "--kernel", "1 1 1 1 1"), "animate: expected the dilated kernel (1, 5) to"),
        (("explain", "--image", "missing.npy"), "file: cannot read 'missing.npy'"),
        (("explain", "--image", "broken.npy"), "file: cannot read 'broken.npy'"),
        (("explain", "--kernel", "sobel"), "kernel: unknown kernel name 'sobel'; did you mean"),
        (("explain", "--stride", "two"), "--stride: expected an integer or comma-separated"),
        (("explain", "--region", "0-2"), "--region: expected START:STOP or a position per axis"),
        (("explain", "--format", "html"), "argument --format: invalid choice: 'html'"),
        (("animate", "-o", "conv.mp4"), "animate: expected path to end in .gif or .png"),
    ],
)
def test_bad_input_is_one_line_on_stderr(tmp_path: Path, args, message) -> None:
    (tmp_path / "broken.npy").write_bytes(b"not a numpy file")
    result = fastconv_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(("fastconv explain: error: ", "fastconv animate: error: ",
                                "fastconv: error: "))  # fmt: skip
    assert message in lines[0]


def test_unwritable_output_is_exit_status_1(tmp_path: Path) -> None:
    result = fastconv_cli("animate", "-o", str(tmp_path / "no" / "such" / "folder.gif"))
    assert result.returncode == 1
    assert result.stderr.strip().endswith("folder.gif': No such file or directory")
    assert len(result.stderr.splitlines()) == 1


def test_help_lists_every_command_with_an_example() -> None:
    result = fastconv_cli("--help")
    assert result.returncode == 0
    for command in ("demo", "bench", "explain", "animate", "kernels"):
        assert f"$ fastconv {command}" in result.stdout
