"""The checks every live command makes first (root, BCC, headers, tracefs), and a batch
command's refusal when its tab cannot run here. Each tab's own source is its live.py."""

from __future__ import annotations

from typing import TypeVar

from netwatch.cli.types import CliError

T = TypeVar("T")


def require_live() -> None:
    """What every live probe needs: root, BCC, kernel headers, tracefs. Each tab then checks
    its own tracepoints, so one tab's needs never stop another."""
    from netwatch.probes.requirements import check_live_requirements

    problems = check_live_requirements(())
    if problems:
        raise CliError(f"netwatch: {problems[0].message}")


def available(source: T | str) -> T:
    """A batch command's own source, or its one-line refusal."""
    if isinstance(source, str):
        raise CliError(f"netwatch: {source}")
    return source
