"""`netwatch accepts --batch`: accepted TCP connections as they happen, like tcp_connections.stp."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TextIO

from netwatch.batch import batch_command, replayed_or_live, warn_lost
from netwatch.cli_args import Parser, batch_parser, positive
from netwatch.tabs.accepts.live import live_source
from netwatch.tabs.accepts.model import SEED_HEADER, AcceptsSample
from netwatch.users import user_name


def parser() -> Parser:
    accepts = batch_parser(
        "accepts", "Accepted TCP connections as they happen, like tcp_connections.stp.", "accepts"
    )
    accepts.add_argument("--duration", type=positive, help="stop after S seconds")
    accepts.add_argument("--json", action="store_true", help="one JSON object per accept")
    return accepts


def printer(as_json: bool, out: TextIO = sys.stdout) -> Callable[[AcceptsSample], None]:
    """tcp_connections.stp's rows as connections arrive (the header is printed first)."""

    def emit(sample: AcceptsSample) -> None:
        for e in sample.events:
            if as_json:
                out.write(json.dumps(e.fields(user_name(e.uid)), separators=(",", ":")) + "\n")
            else:
                out.write(e.seed_line() + "\n")
        warn_lost(sample.lost, "accept events lost (ring buffer full)")
        out.flush()

    return emit


def command(args: argparse.Namespace) -> int:
    # Live: read five times a second, to print soon after each accept.
    source = replayed_or_live(args, "accepts", lambda: live_source(0.2))
    count = None
    if args.duration is not None:
        count = max(1, round(args.duration / source.interval)) if source.interval else None
    if not args.json:
        print(SEED_HEADER, flush=True)
    announce = "" if args.replay else "netwatch: watching accepted connections (Ctrl-C stops)"
    return batch_command(source, count, printer(args.json), announce)
