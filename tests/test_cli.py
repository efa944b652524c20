"""The command line: ``fastconv demo``, ``apply``, ``--help``, ``bench --quick`` on one
workload. ``apply`` runs as a subprocess (``python -m fastconv``), errors included: every bad
argument or unreadable file is one line on stderr, a non-zero status, and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fastconv import kernels
from fastconv.cli import main
from fastconv.image import filter_image
from fastconv.io import read_image, write_image


def test_demo_prints_the_worked_example(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo writes into ./fastconv-demo
    assert main(["demo", "--size", "64"]) == 0
    out = capsys.readouterr().out
    assert "30 35\n    50 55" in out
    assert "select the window at rows 0–2, columns 0–2" in out
    assert "1 + 0 + 3 + 0 + 6 + 0 + 9 + 0 + 11 = 30" in out
    assert "64×64 image, 3×3 kernel" in out and "ms per call" in out
    gif = Path("fastconv-demo") / "conv.gif"
    assert f"animation of the 4×4 example: {gif}" in out
    assert (tmp_path / gif).stat().st_size > 0
    assert (tmp_path / "fastconv-demo" / "sample.png").is_file()  # and the filtered images


def test_demo_writes_the_filtered_sample_images(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from fastconv.demo import DEMO_KERNELS, sample_image

    folder = tmp_path / "gallery"
    for _ in range(2):  # a second run replaces the demo's own files
        assert main(["demo", "--size", "16", "--out", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"written to {folder}{os.sep}" in out
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["conv.gif", "sample.png", *(f"{n}.png" for n in DEMO_KERNELS)])
    sample = read_image(folder / "sample.png")
    np.testing.assert_array_equal(sample, sample_image())
    blur = filter_image(sample, kernels.parse(DEMO_KERNELS["blur"]))
    np.testing.assert_array_equal(read_image(folder / "blur.png"), blur)
    for name, spec in DEMO_KERNELS.items():
        assert f"{name}.png" in out and spec in out


def test_help_lists_every_command_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "apply", "bench", "explain", "animate", "kernels"):
        assert f"$ fastconv {command}" in out


def test_bad_option_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--size", "2"])
    assert exc.value.code == 2
    assert "--size: expected an integer >= 3, got 2" in capsys.readouterr().err


def test_console_script_runs_as_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fastconv", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.startswith("fastconv ")


def test_bench_quick_single_workload(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--workloads", "W0", "--quick", "--gap", "0"]) == 0
    out = capsys.readouterr().out
    assert "W0" in out and "fastconv" in out and "ratio" in out


def test_bench_filtering_workload(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--workloads", "w1s", "--quick", "--gap", "0"]) == 0
    out = capsys.readouterr().out
    assert "W1s filter_image" in out and "ndimage.correlate" in out  # SciPy: always there
    assert "fastconv.filter_image" in out and "FAIL" not in out


# ------------------------------------------------------------------------------ fastconv apply


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastconv", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=os.environ.copy(),
    )


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fastconv.demo import sample_image

    path = tmp_path_factory.mktemp("apply") / "photo.png"
    write_image(path, sample_image(48))
    return path


def test_apply_filters_writes_and_reports(photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "blurred.png"
    result = run_cli("apply", str(photo), "-k", "gaussian:7,1.5", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"read   {photo}: 48×48 RGB, uint8 (")
    assert lines[1].startswith("filter gaussian:7,1.5 (7×7), border reflect, mode same, stride 1:")
    assert "separable (rank-1 7x7 kernel" in lines[1] and "ms loading the compiled" in lines[1]
    assert lines[2].startswith(f"wrote  {out}: 48×48 RGB, uint8 (")
    expected = filter_image(read_image(photo), kernels.parse("gaussian:7,1.5"))
    np.testing.assert_array_equal(read_image(out), expected)


def test_apply_method_fft(photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "fft.png"
    result = run_cli("apply", str(photo), "-k", "box:9", "--method", "fft", "-o", str(out),
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "forced by method='fft'" in result.stdout.splitlines()[1]
    expected = filter_image(read_image(photo), kernels.parse("box:9"), method="fft")
    np.testing.assert_array_equal(read_image(out), expected)


def test_apply_options_and_default_output_name(photo: Path, tmp_path: Path) -> None:
    local = tmp_path / "photo.png"
    local.write_bytes(photo.read_bytes())
    result = run_cli("apply", "photo.png", "-k", "1 0 -1; 2 0 -2; 1 0 -1", "--border", "wrap",
                     "--stride", "2,3", "--mode", "valid", "--gray", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = tmp_path / "photo-filtered.png"  # an inline matrix has no name to use
    expected = filter_image(read_image(local, mode="L"), -kernels.sobel_x(), border="wrap",
                            stride=(2, 3), mode="valid")  # fmt: skip
    np.testing.assert_array_equal(read_image(out), expected)
    result = run_cli("apply", "photo.png", "-k", "sobel-x", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "photo-sobel-x.png").is_file()


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["-k", "sobel"], 2, "-k/--kernel: kernel: unknown kernel name 'sobel'; did you mean"),
        (["-k", "gaussian:7,wide"], 2, "could not read parameter 2 'wide'"),
        (["-k", "box:3", "--border", "symmetric"], 2, "argument --border: invalid choice"),
        (["-k", "box:3", "--stride", "0"], 2, "--stride: expected S or SY,SX"),
        (["-k", "box:3", "-o", "out.gif"], 2, "-o/--output: expected a file name ending in"),
        (["-k", "box:3", "--mode", "valid", "-k", "box:99"], 2, "mode='valid' needs the kernel"),
        (["-k", "laplacian", "--method", "separable"], 2, "needs a kernel of rank 1"),
        (["-k", "box:3", "-o", "photo.png", "--overwrite"], 2, "refusing to write onto the input"),
        (["-k", "box:3", "-o", "taken.png"], 2, "'taken.png' exists; pass --overwrite"),
        (["-k", "box:3", "-o", "no/such/dir.png"], 1, "cannot write 'no/such/dir.png'"),
        (["-k"], 2, "argument -k/--kernel: expected one argument"),
    ],
)
def test_apply_errors_are_one_line(photo, tmp_path, args, status, message) -> None:
    (tmp_path / "photo.png").write_bytes(photo.read_bytes())
    (tmp_path / "taken.png").write_bytes(b"keep me")
    result = run_cli("apply", "photo.png", *args, cwd=tmp_path)
    assert result.returncode == status, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("fastconv apply: error: ") and message in result.stderr
    assert (tmp_path / "taken.png").read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png", "taken.png"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.png", None, "cannot read 'missing.png': no such file"),
        ("notes.png", b"not an image", "'notes.png' is not an image Pillow can read"),
        ("folder.png", "dir", "cannot read 'folder.png': not a file"),
    ],
)
def test_apply_unreadable_input_is_status_1(tmp_path, name, content, message) -> None:
    if content == "dir":
        (tmp_path / name).mkdir()
    elif content is not None:
        (tmp_path / name).write_bytes(content)
    result = run_cli("apply", name, "-k", "box:3", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr
