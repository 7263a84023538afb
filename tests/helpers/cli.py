"""Running the command line as a user would, and what a bad input must look like."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from netwatch.cli import main as cli
from netwatch.tabs import Tab


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netwatch", *args], capture_output=True, text=True, timeout=60
    )


def one_line_error(p: subprocess.CompletedProcess[str], pattern: str) -> None:
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert re.search(pattern, lines[0]), lines[0]


def opened_tabs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tabs `cli.main` opens the UI on from here, with no UI and no probe."""
    opened: list[str] = []
    # Each tab's live source comes through the tab registry (netwatch/tabs/NAME/live.py).
    monkeypatch.setattr(Tab, "live", lambda self, args: object())

    def cmd_ui(tab: str, *a: object, **k: object) -> int:
        opened.append(tab)
        return 0

    monkeypatch.setattr(cli, "cmd_ui", cmd_ui)
    return opened
