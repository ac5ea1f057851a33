"""The tree stays ruff-clean (the configuration is in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    if not ruff and subprocess.run([*cmd, "--version"], capture_output=True).returncode:
        pytest.fail("ruff is not installed: python3 -m pip install -e '.[test]'")
    paths = [p for p in ("src", "tests", "bench", "examples", "docs") if (ROOT / p).is_dir()]
    proc = subprocess.run([*cmd, "check", *paths], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
