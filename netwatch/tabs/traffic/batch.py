"""`netwatch top --batch`: per-process traffic for pipes and scripts, like top -b (and
nettop.stp's table)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from netwatch.cli import batch as shared  # what every batch command shares
from netwatch.cli.args import batch_parser, interval_options, pid_option
from netwatch.cli.types import CliError, Parser
from netwatch.host.users import user_name
from netwatch.model.containers import NO_CONTEXT, ProcContext
from netwatch.tabs.traffic.formats import (
    CONN_HEADER,
    conn_line,
    conn_object,
    nettop_table,
    row_json,
)
from netwatch.tabs.traffic.live import live_source
from netwatch.tabs.traffic.model import (
    EXITED_MARK,
    MAX_EXITED,
    ConnRow,
    Counters,
    TrafficKey,
    TrafficRow,
    TrafficSample,
    TrafficState,
)
from netwatch.tabs.traffic.view_model import (
    GROUPINGS,
    ViewRow,
    grouped,
    parse_traffic_filter,
    sort_rows,
)

MAX_CONNECTION_LINES = 300  # connections printed per interval, the busiest

EXAMPLES = (
    ("netwatch top -b", "a table every 5 s, as nettop.stp printed it"),
    ("netwatch top -b --interval 1 --count 10 -T", "ten 1 s tables, each line timed"),
    ("netwatch top -b -p 1234 -p 5678", "two processes' rows only"),
    ("netwatch top -b --json | jq 'select(.recv_bytes > 100000)'", "one JSON object per row"),
    ("netwatch top -b --by container", "a row per container (or systemd unit), not process"),
    ("netwatch top -b --by connection --json", "each connection's packets and bytes, as JSON"),
    ("netwatch top -b --totals --interval 10", "totals since start, exited processes kept"),
    ("netwatch top -b --replay session.nwrec", "the tables of a recording (no root)"),
    ("netwatch top", "the full-screen UI on the Traffic tab"),
)


def parser() -> Parser:
    top = batch_parser("top", "Per-process traffic, printed like top -b.", "traffic", EXAMPLES)
    interval_options(top, "seconds per table (default 5, as nettop.stp)")
    pid_option(top, "the rows")
    top.add_argument(
        "--by",
        choices=GROUPINGS,
        default="process",
        help="a row per process (default), or per program, user or container (its short id, "
        "or its systemd unit), summing its processes (PID then counts them); or per "
        f"connection, the busiest {MAX_CONNECTION_LINES} each interval",
    )
    top.add_argument(
        "--totals",
        action="store_true",
        help="each table holds the totals since start, not the interval's (as the UI's c): "
        f"a process that exited keeps its row, marked '{EXITED_MARK}' (JSON: `exited`, when), the "
        f"busiest {MAX_EXITED:,} exited kept, the rest summed in [exited] rows",
    )
    return top


Keep = Callable[[TrafficKey, ProcContext], bool]


def keep_all(key: TrafficKey, context: ProcContext) -> bool:
    return True


def seed_order(
    sample: TrafficSample,
    by: str = "process",
    wants: Callable[[int], bool] = lambda pid: True,
    keep: Keep = keep_all,
) -> list[ViewRow]:
    """nettop.stp's order: total packets, most first. `wants`: the processes kept, `keep` the
    rows --filter shows (both before they are grouped)."""
    view = [
        ViewRow(r.key, r.counts, Counters(), user_name(r.key.uid), context=place)
        for r in sample.rows
        if wants(r.key.pid) and keep(r.key, place := sample.context.get(r.key.pid, NO_CONTEXT))
    ]
    return _nettop_order(view, by)


def _nettop_order(view: list[ViewRow], by: str) -> list[ViewRow]:
    """Grouped `by` (unless per process), then by total packets, most first."""
    return sort_rows(view if by == "process" else grouped(view, by), "total_pk", True)


def busiest_connections(
    sample: TrafficSample, wants: Callable[[int], bool] = lambda pid: True
) -> tuple[list[ConnRow], int]:
    """The interval's connections, most bytes first, at most MAX_CONNECTION_LINES; and how
    many more there were."""
    conns = sorted(
        (c for c in sample.connections if wants(c.key.pid)),
        key=lambda c: (-(c.counts.xmit_bytes + c.counts.recv_bytes), c.key.text()),
    )
    return conns[:MAX_CONNECTION_LINES], max(0, len(conns) - MAX_CONNECTION_LINES)


def print_connections(
    how: shared.Output, out: TextIO, sample: TrafficSample, keep: Keep = keep_all
) -> None:
    wants = how.wants
    if keep is not keep_all:  # --filter: a connection whose process has a row it shows
        context = sample.context
        shown = {r.key.pid for r in sample.rows if keep(r.key, context.get(r.key.pid, NO_CONTEXT))}
        wants = lambda pid: how.wants(pid) and pid in shown  # noqa: E731
    conns, more = busiest_connections(sample, wants)
    if how.json:
        for c in conns:
            place = sample.context.get(c.key.pid, NO_CONTEXT)
            obj = conn_object(c, sample.ts, sample.interval, place)
            out.write(json.dumps(obj, separators=(",", ":")) + "\n")
        if more:
            shared.warn_lost(more, "more connections this interval, not printed (the busiest are)")
        return
    lines = [CONN_HEADER, *(conn_line(c) for c in conns)]
    if more:
        lines.append(f"# {more} more connections, less busy")
    out.write(how.text(sample.ts, "\n".join(lines) + "\n\n"))


def totals_order(
    state: TrafficState,
    by: str = "process",
    wants: Callable[[int], bool] = lambda pid: True,
    keep: Keep = keep_all,
) -> list[ViewRow]:
    """Every row's totals since start, in nettop.stp's order; exited processes marked."""
    view = [
        ViewRow(k, c, Counters(), user_name(k.uid), context=place,
                exited=state.exited_at(k.pid) if k.attributed else None)
        for k, c in state.totals.items()
        if wants(k.pid) and keep(k, place := state.context_of(k.pid))
    ]  # fmt: skip
    return _nettop_order(view, by)


def printer(
    how: shared.Output,
    out: TextIO = sys.stdout,
    by: str = "process",
    keep: Keep = keep_all,
    totals: bool = False,
) -> Callable[[TrafficSample], None]:
    state = TrafficState()

    def emit(sample: TrafficSample) -> None:
        if by == "connection":
            print_connections(how, out, sample, keep)
            shared.warn_lost(
                sample.connections_lost, "packets not counted per connection (map full)"
            )
            out.flush()
            return
        if totals:
            state.apply(sample)
            rows = totals_order(state, by, how.wants, keep)
        else:
            rows = seed_order(sample, by, how.wants, keep)
        if how.json:
            for r in rows:
                out.write(row_json(r, sample.ts, sample.interval) + "\n")
        else:
            # Grouped, the PID column holds each row's count of processes, and says so first.
            table = nettop_table(_shown_key(r) for r in rows)
            heading = [] if by == "process" else [f"# by {by}: PID = processes"]
            if totals:
                heading.append("# totals since start")
            out.write(how.text(sample.ts, "\n".join([*heading, *table]) + "\n\n"))
        shared.warn_lost(sample.lost, "packets not counted (map full)")
        out.flush()

    return emit


def _shown_key(row: ViewRow) -> TrafficRow:
    key = row.key
    if row.grouped:
        key = replace(key, pid=row.processes)
    elif row.exited is not None:
        key = replace(key, comm=f"{key.comm} {EXITED_MARK}")
    return TrafficRow(key, row.shown)


def command(args: argparse.Namespace) -> int:
    if args.totals and args.by == "connection":
        raise CliError("netwatch top: --totals sums process rows; --by connection prints each "
                       "interval's connections")  # fmt: skip
    shown = shared.parsed_filter(args, parse_traffic_filter)
    keep: Keep = keep_all
    if shown is not None:
        keep = lambda key, place: shown.matches(key, user_name, place)  # noqa: E731
    source = shared.replayed_or_live(args, "traffic", lambda: live_source(args.interval))
    how = shared.Output.of(args, pids=args.pid)
    return shared.batch_command(
        source, shared.stop_after(args, source),
        printer(how, by=args.by, keep=keep, totals=args.totals),
    )  # fmt: skip
