"""`netwatch accepts --batch`: accepted TCP connections as they happen, like tcp_connections.stp."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TextIO

from netwatch.cli import batch as shared  # what every batch command shares
from netwatch.cli.args import batch_parser, pid_option
from netwatch.cli.types import Parser
from netwatch.host.users import user_name
from netwatch.tabs.accepts.live import live_source
from netwatch.tabs.accepts.model import SEED_HEADER, AcceptEvent, AcceptsSample
from netwatch.tabs.accepts.view_model import parse_accepts_filter

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
    return accepts


def printer(
    how: shared.Output, out: TextIO = sys.stdout, keep: Callable[[AcceptEvent], bool] | None = None
) -> Callable[[AcceptsSample], None]:
    """tcp_connections.stp's rows as connections arrive (the header is printed first); `keep`:
    the accepts --filter shows."""

    def emit(sample: AcceptsSample) -> None:
        for e in sample.events:
            if not how.wants(e.pid) or (keep is not None and not keep(e)):
                continue
            if how.json:
                out.write(json.dumps(e.fields(user_name(e.uid)), separators=(",", ":")) + "\n")
            else:
                out.write(how.text(e.ts, e.seed_line() + "\n"))
        shared.warn_lost(sample.lost, "accept events lost (ring buffer full)")
        out.flush()

    return emit


def command(args: argparse.Namespace) -> int:
    # Live: read five times a second, to print soon after each accept.
    shown = shared.parsed_filter(args, parse_accepts_filter)
    source = shared.replayed_or_live(args, "accepts", lambda: live_source(0.2))
    count = shared.stop_after(args, source)
    how = shared.Output.of(args, pids=args.pid)
    if not how.json:
        print(how.header(SEED_HEADER), flush=True)
    announce = "" if args.replay else "netwatch: watching accepted connections (Ctrl-C stops)"
    keep = None if shown is None else lambda e: shown.matches(e, user_name)
    return shared.batch_command(source, count, printer(how, keep=keep), announce)
