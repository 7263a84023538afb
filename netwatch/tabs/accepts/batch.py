"""`netwatch accepts --batch`: accepted TCP connections as they happen, like tcp_connections.stp."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TextIO

from netwatch.cli.args import batch_parser, pid_option
from netwatch.cli.batch import Output, batch_command, intervals_in, replayed_or_live, warn_lost
from netwatch.cli.types import Parser, positive
from netwatch.host.users import user_name
from netwatch.tabs.accepts.live import live_source
from netwatch.tabs.accepts.model import SEED_HEADER, AcceptsSample

EXAMPLES = (
    ("netwatch accepts -b", "one line per accepted TCP connection, as tcp_connections.stp"),
    ('netwatch accepts -b -T -p "$(pgrep -o nginx)"', "nginx's accepts, each line timed"),
    ("netwatch accepts -b --json --duration 60 > accepts.jsonl", "a minute of them as JSON"),
    ("netwatch accepts -b --replay session.nwrec", "the accepts of a recording (no root)"),
    ("netwatch accepts", "the full-screen UI on the Accepts tab"),
)


def parser() -> Parser:
    accepts = batch_parser(
        "accepts",
        "Accepted TCP connections as they happen, like tcp_connections.stp.",
        "accepts",
        EXAMPLES,
    )
    pid_option(accepts, "the connections accepted")
    accepts.add_argument("--duration", type=positive, help="stop after S seconds")
    accepts.add_argument("--json", action="store_true", help="one JSON object per accept")
    return accepts


def printer(how: Output, out: TextIO = sys.stdout) -> Callable[[AcceptsSample], None]:
    """tcp_connections.stp's rows as connections arrive (the header is printed first)."""

    def emit(sample: AcceptsSample) -> None:
        for e in sample.events:
            if not how.wants(e.pid):
                continue
            if how.json:
                out.write(json.dumps(e.fields(user_name(e.uid)), separators=(",", ":")) + "\n")
            else:
                out.write(how.text(e.ts, e.seed_line() + "\n"))
        warn_lost(sample.lost, "accept events lost (ring buffer full)")
        out.flush()

    return emit


def command(args: argparse.Namespace) -> int:
    # Live: read five times a second, to print soon after each accept.
    source = replayed_or_live(args, "accepts", lambda: live_source(0.2))
    count = intervals_in(args.duration, source)
    how = Output.of(args, pids=args.pid)
    if not how.json:
        print(how.header(SEED_HEADER), flush=True)
    announce = "" if args.replay else "netwatch: watching accepted connections (Ctrl-C stops)"
    return batch_command(source, count, printer(how), announce)
