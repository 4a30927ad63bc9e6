"""The quality gates run as tests, so the one test command checks everything.

mypy --strict over the package and the examples, ruff's lint and format checks, and
pyright in strict mode over code that uses the public API as a user would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_mypy_strict_is_clean() -> None:
    """mypy --strict (configured in pyproject.toml) finds no error in the package or examples."""
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "args",
    [("ruff", "check", "."), ("ruff", "format", "--check", ".")],
    ids=["lint", "format"],
)
def test_ruff_is_clean(args: tuple[str, ...]) -> None:
    """ruff's lint rules and formatter (configured in pyproject.toml) accept the whole tree."""
    result = _run(*args)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pyright_strict_accepts_public_api_use() -> None:
    """pyright in strict mode sees no unknown or wrong type in code using every export."""
    result = _run("pyright", "--project", "pyproject.toml", "--pythonpath", sys.executable)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout
