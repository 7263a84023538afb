"""`netwatch drops --batch`: where the kernel drops packets, printed like dropwatch.stp."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TextIO

from netwatch.batch import batch_command, replayed_or_live, warn_lost
from netwatch.cli_args import Parser, batch_parser, interval_options
from netwatch.tabs.drops.live import live_source
from netwatch.tabs.drops.model import DropsSample, dropwatch_lines, protocol_name


def parser() -> Parser:
    drops = batch_parser(
        "drops", "Where the kernel drops packets, printed like dropwatch.stp.", "drops"
    )
    interval_options(drops, "seconds per report (default 5, as dropwatch.stp)")
    drops.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per location, reason and protocol per interval",
    )
    return drops


def printer(as_json: bool, out: TextIO = sys.stdout) -> Callable[[DropsSample], None]:
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
        warn_lost(sample.lost, "drops not counted (map full)")
        out.flush()

    return emit


def command(args: argparse.Namespace) -> int:
    source = replayed_or_live(args, "drops", lambda: live_source(args.interval))
    text = not args.json
    if text:
        print("Monitoring for dropped packets", flush=True)
    try:
        return batch_command(source, args.count, printer(args.json))
    finally:
        if text:
            print("Stopping dropped packet monitor", flush=True)
