"""Each tab's live source, or the one line that says why this kernel cannot run it; and the
checks every live command makes first (root, BCC, headers, tracefs)."""

from __future__ import annotations

from typing import TypeVar

from netwatch.cli_args import CliError
from netwatch.probes.calls import DEFAULT_RINGBUF_MB
from netwatch.sources import (
    AcceptsSource,
    CallsSource,
    DropsSource,
    TrafficSource,
)

T = TypeVar("T")


def require_live() -> None:
    """What every live probe needs: root, BCC, kernel headers, tracefs. Each tab then checks
    its own tracepoints, so one tab's needs never stop another."""
    from netwatch.probes.requirements import check_live_requirements

    problems = check_live_requirements(())
    if problems:
        raise CliError(f"netwatch: {problems[0].message}")


def _lacking(tab: str, tracepoints: tuple[str, ...]) -> str | None:
    from netwatch.probes.requirements import missing_tracepoints

    missing = missing_tracepoints(tracepoints)
    if not missing:
        return None
    return f"this kernel lacks the tracepoint(s) {', '.join(missing)} that the {tab} tab needs"


def live_traffic_source(interval: float) -> TrafficSource | str:
    """The probe, or why this kernel cannot run it (the other tabs still run)."""
    from netwatch.probes.traffic import TRACEPOINTS, TrafficProbe

    return _lacking("Traffic", TRACEPOINTS) or TrafficProbe(interval)


def live_drops_source(interval: float) -> DropsSource | str:
    from netwatch.probes.drops import TRACEPOINTS, DropsProbe

    return _lacking("Drops", TRACEPOINTS) or DropsProbe(interval)


def live_accepts_source(interval: float) -> AcceptsSource | str:
    from netwatch.probes.accepts import TRACEPOINTS, AcceptsProbe

    return _lacking("Accepts", TRACEPOINTS) or AcceptsProbe(interval)


def available(source: T | str) -> T:
    """A batch command's own source, or its one-line refusal."""
    if isinstance(source, str):
        raise CliError(f"netwatch: {source}")
    return source


def live_calls_source(
    interval: float,
    *,
    pids: tuple[int, ...] = (),
    tids: tuple[int, ...] = (),
    comms: tuple[str, ...] = (),
    ringbuf_mb: int = DEFAULT_RINGBUF_MB,
    start_suspended: bool = False,
    keep_last: int | None = None,
    functions: str = "auto",
) -> CallsSource | str:
    """The probe, or why this kernel cannot run it (the other tabs still run)."""
    from netwatch.probes.calls import TRACEPOINTS, CallsProbe

    lacking = _lacking("Calls", TRACEPOINTS)
    if lacking:
        return lacking
    return CallsProbe(
        interval,
        pids=pids,
        tids=tids,
        comms=comms,
        ringbuf_mb=ringbuf_mb,
        start_suspended=start_suspended,
        keep_last=keep_last,
        functions=functions,
    )
