"""The command line: ``fastconv demo``, ``--help``, ``bench --quick`` on one workload."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fastconv.cli import main


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


def test_help_lists_every_command_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "bench", "explain", "animate", "kernels"):
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
