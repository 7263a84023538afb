"""`netwatch conns --batch`: every TCP connection per interval (like `ss -ti` for every
namespace at once), or with --ended each one as it ends (like BCC's tcplife)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

from netwatch.cli import batch as shared  # what every batch command shares
from netwatch.cli.args import batch_parser, interval_options, pid_option
from netwatch.cli.types import Parser
from netwatch.host.users import user_name
from netwatch.model.gcpause import cycles_not_collected
from netwatch.model.untrusted import printable
from netwatch.tabs.conns.formats import ENDED_HEADER, HEADER, ended_line, text_line
from netwatch.tabs.conns.formats.json_lines import json_lines
from netwatch.tabs.conns.live import live_source
from netwatch.tabs.conns.model import ConnRow, ConnsSample
from netwatch.tabs.conns.view_model import parse_conns_filter

EXAMPLES = (
    ("netwatch conns -b", "every TCP connection each second: RTT, retransmits, what limits it"),
    ("netwatch conns -b --ended", "one line per connection as it ends, and how (like tcplife)"),
    ("netwatch conns -b --json --filter 'end:refused,timeout'", "failed connects as JSON"),
    ('netwatch conns -b -p "$(pgrep -o nginx)" --count 10', "nginx's connections, ten times"),
    ("netwatch conns -b --replay session.nwrec", "the connections of a recording (no root)"),
    ("netwatch conns", "the full-screen UI on the Connections tab"),
)


def parser() -> Parser:
    conns = batch_parser(
        "conns",
        "TCP connections in every network namespace: RTT, retransmits, resets, failed "
        "connects, and what limits each.",
        "connections",
        EXAMPLES,
    )
    interval_options(conns, "seconds per report (default 1)")
    conns.set_defaults(interval=1.0)
    pid_option(conns, "the connections")
    conns.add_argument(
        "--ended",
        action="store_true",
        help="only connections as they end, one line each (how it ended, bytes, life)",
    )
    return conns


def _user(row: ConnRow) -> str:
    return user_name(row.uid) if row.uid is not None else ""


# Rows formatted and written at a time. A host refusing 60,000 connects a second has each
# interval print 60 MB of JSON; formed, joined and written whole, it went through memory three
# times, and that memory traffic cost the churning host more than the formatting did
# (docs/benchmarks.md). Half a megabyte at a time stays in the CPU's cache between the steps.
ROWS_PER_WRITE = 512


def printer(
    how: shared.Output,
    ended_only: bool,
    out: TextIO = sys.stdout,
    keep: Callable[[ConnRow], bool] | None = None,
) -> Callable[[ConnsSample], None]:
    def emit(sample: ConnsSample) -> None:
        with cycles_not_collected():
            rows = [
                row
                for row in sample.rows
                if (row.end is not None or not ended_only)
                and how.wants(row.pid)
                and (keep is None or keep(row))
            ]
            for at in range(0, len(rows), ROWS_PER_WRITE):
                text = "\n".join(_lines(rows[at : at + ROWS_PER_WRITE], sample)) + "\n"
                out.write(text if how.json else how.text(sample.ts, text))
        shared.warn_lost(sample.lost, "connection records lost (ring buffer or table full)")
        if sample.more:
            print(f"netwatch: {sample.more} connections past the cap not reported", file=sys.stderr)
        out.flush()

    def _lines(rows: list[ConnRow], sample: ConnsSample) -> list[str]:
        if how.json:
            return json_lines(rows, _user, sample.ts, sample.interval)
        if ended_only:
            return [printable(ended_line(row)) for row in rows]
        return [printable(text_line(row, sample.interval)) for row in rows]

    return emit


def command(args: argparse.Namespace) -> int:
    shown = shared.parsed_filter(args, parse_conns_filter)
    source = shared.replayed_or_live(args, "conns", lambda: live_source(args.interval))
    count = shared.stop_after(args, source)
    how = shared.Output.of(args, pids=args.pid)
    if not how.json:
        print(how.header(ENDED_HEADER if args.ended else HEADER), flush=True)
    announce = "" if args.replay else "netwatch: watching TCP connections (Ctrl-C stops)"
    keep = None if shown is None else lambda r: shown.matches(r, user_name)
    return shared.batch_command(source, count, printer(how, args.ended, keep=keep), announce)
