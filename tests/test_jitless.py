"""Run the ``jitless`` subset again with Numba's JIT disabled.

With ``NUMBA_DISABLE_JIT=1`` the kernels in ``fastconv._numba`` run as plain Python, so the
same tests check their source line by line (and coverage can see the kernel lines).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already jitless")
def test_jitless_subset_passes() -> None:
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-m",
            "jitless",
            "-p",
            "no:cacheprovider",
            str(TESTS / "test_methods.py"),
            str(TESTS / "test_depthwise.py"),
            str(TESTS / "test_separable.py"),
            str(TESTS / "test_image.py"),
            str(TESTS / "test_grad.py"),
            str(TESTS / "test_signal_extras.py"),
            str(TESTS / "test_png16.py"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=TESTS.parent,
    )
    summary = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in summary[0] and "failed" not in summary[0], summary
