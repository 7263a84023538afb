"""Batch output for pipes and scripts: `netwatch top --batch` (like top -b), `netwatch drops
--batch` (like dropwatch.stp)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TextIO, TypeVar

from netwatch.model.accepts import SEED_HEADER, AcceptsSample
from netwatch.model.calls import CallsSample, ThreadIndent
from netwatch.model.drops import DropsSample, dropwatch_lines, protocol_name
from netwatch.model.formats import nettop_table, row_json
from netwatch.model.traffic import Counters, TrafficRow, TrafficSample
from netwatch.model.view import ViewRow, sort_rows
from netwatch.runner import run
from netwatch.sources import Source
from netwatch.users import user_name

T = TypeVar("T")


def seed_order(sample: TrafficSample) -> list[TrafficRow]:
    """nettop.stp's order: total packets, most first."""
    view = [ViewRow(r.key, r.counts, Counters(), "") for r in sample.rows]
    return [TrafficRow(v.key, v.shown) for v in sort_rows(view, "total_pk", True)]


def run_batch(
    source: Source[T],
    count: int | None,
    emit: Callable[[T], None],
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Read once per interval and hand each sample to `emit`, until `count`, the source's end,
    or `should_stop` (a signal)."""
    run({"batch": source}, lambda _, sample: emit(sample), interval=source.interval,
        should_stop=should_stop, count=count)  # fmt: skip


def traffic_printer(as_json: bool, out: TextIO = sys.stdout) -> Callable[[TrafficSample], None]:
    def emit(sample: TrafficSample) -> None:
        rows = seed_order(sample)
        if as_json:
            for r in rows:
                out.write(row_json(r, sample.ts, sample.interval, user_name(r.key.uid)) + "\n")
        else:
            out.write("\n".join(nettop_table(rows)) + "\n\n")
        if sample.lost:
            print(f"netwatch: {sample.lost} packets not counted (map full)", file=sys.stderr)
        out.flush()

    return emit


def drops_printer(as_json: bool, out: TextIO = sys.stdout) -> Callable[[DropsSample], None]:
    def emit(sample: DropsSample) -> None:
        if as_json:
            for r in sorted(sample.rows, key=lambda r: -r.count):
                out.write(
                    json.dumps(
                        {
                            "ts": round(sample.ts, 6),
                            "interval": sample.interval,
                            "location": f"0x{r.key.location:x}",
                            "symbol": r.symbol,
                            "reason": r.key.reason,
                            "protocol": protocol_name(r.key.protocol),
                            "count": r.count,
                            "dev": r.dev or None,
                            "port": r.port or None,
                        },
                        separators=(",", ":"),
                    )
                    + "\n"
                )
        else:
            out.write("\n" + "".join(line + "\n" for line in dropwatch_lines(sample)))
        if sample.lost:
            print(f"netwatch: {sample.lost} drops not counted (map full)", file=sys.stderr)
        out.flush()

    return emit


def accepts_printer(as_json: bool, out: TextIO = sys.stdout) -> Callable[[AcceptsSample], None]:
    """tcp_connections.stp's rows as connections arrive (the header is printed first)."""

    def emit(sample: AcceptsSample) -> None:
        for e in sample.events:
            if as_json:
                out.write(
                    json.dumps(
                        {
                            "ts": round(e.ts, 6),
                            "uid": e.uid,
                            "user": user_name(e.uid),
                            "comm": e.comm,
                            "pid": e.pid,
                            "tid": e.tid,
                            "port": e.lport,
                            "local_addr": e.laddr,
                            "ip_source": e.raddr,
                            "src_port": e.rport,
                            "family": e.family,
                        },
                        separators=(",", ":"),
                    )
                    + "\n"
                )
            else:
                out.write(e.seed_line() + "\n")
        if sample.lost:
            print(f"netwatch: {sample.lost} accept events lost (ring buffer full)", file=sys.stderr)
        out.flush()

    return emit


ACCEPTS_HEADER = SEED_HEADER


def calls_printer(as_json: bool, out: TextIO = sys.stdout) -> Callable[[CallsSample], None]:
    """socket-trace.stp's lines (`thread_indent` style), or one JSON object per line."""
    indent = ThreadIndent()

    def emit(sample: CallsSample) -> None:
        for ev in sample.events:
            if as_json:
                out.write(json.dumps(indent.record(ev), separators=(",", ":")) + "\n")
            else:
                out.write(indent.line(ev) + "\n")
        if sample.lost:
            print(f"netwatch: {sample.lost} call events lost (ring buffer full)", file=sys.stderr)
        out.flush()

    return emit
