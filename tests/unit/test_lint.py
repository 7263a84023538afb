"""ruff and `mypy --strict` over netwatch/, tests/ and bench/, as tests, so CI runs them (#23)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import ROOT

BIN = Path(sys.executable).parent


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    done = run(str(BIN / "ruff"), "check", "netwatch", "tests", "bench")
    assert done.returncode == 0, done.stdout[-4000:]


def test_ruff_format_leaves_the_code_as_it_is() -> None:
    done = run(str(BIN / "ruff"), "format", "--check", "netwatch", "tests", "bench")
    assert done.returncode == 0, done.stdout[-4000:]


def test_mypy_strict_finds_nothing() -> None:
    # pyproject.toml's [tool.mypy]: strict, over netwatch, tests and bench.
    done = run(str(BIN / "mypy"))
    assert done.returncode == 0, done.stdout[-4000:]
