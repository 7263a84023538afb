"""`netwatch drops --batch`: where the kernel drops packets, printed like dropwatch.stp."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from netwatch.cli import batch as shared  # what every batch command shares
from netwatch.cli.args import batch_parser, interval_options
from netwatch.cli.types import Parser
from netwatch.tabs.drops.live import live_source
from netwatch.tabs.drops.model import DropRow, DropsSample, dropwatch_lines, protocol_name
from netwatch.tabs.drops.view_model import parse_drops_filter

EXAMPLES = (
    ("netwatch drops -b", "a report every 5 s, as dropwatch.stp printed it"),
    ("netwatch drops -b --interval 1 -T", "every second, each line timed"),
    (
        "netwatch drops -b --json | jq 'select(.reason == \"NETFILTER_DROP\")'",
        "one JSON object per location, reason and protocol",
    ),
    ("netwatch drops -b --replay session.nwrec", "the reports of a recording (no root)"),
    ("netwatch drops", "the full-screen UI on the Drops tab (a heatmap over time)"),
)


def parser() -> Parser:
    # No -p: the kernel drops a packet before (or without) knowing its process.
    drops = batch_parser(
        "drops", "Where the kernel drops packets, printed like dropwatch.stp.", "drops", EXAMPLES
    )
    interval_options(drops, "seconds per report (default 5, as dropwatch.stp)")
    return drops


def printer(
    how: shared.Output, out: TextIO = sys.stdout, keep: Callable[[DropRow], bool] | None = None
) -> Callable[[DropsSample], None]:
    """dropwatch.stp's lines, or JSON; `keep`: the rows --filter shows (each row is one
    device's or namespace's, so the counts printed are exactly the matching drops)."""

    def emit(sample: DropsSample) -> None:
        if keep is not None:
            sample = replace(sample, items=tuple(r for r in sample.rows if keep(r)))
        if how.json:
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
                            "netns": r.netns or None,
                        },
                        separators=(",", ":"),
                    )
                    + "\n"
                )
        else:
            lines = "".join(line + "\n" for line in dropwatch_lines(sample))
            out.write("\n" + how.text(sample.ts, lines))
        shared.warn_lost(sample.lost, "drops not counted (map full)")
        out.flush()

    return emit


def command(args: argparse.Namespace) -> int:
    shown = shared.parsed_filter(args, parse_drops_filter)
    source = shared.replayed_or_live(args, "drops", lambda: live_source(args.interval))
    how = shared.Output.of(args)
    text = not how.json
    if text:
        print("Monitoring for dropped packets", flush=True)
    try:
        keep = shown.matches_row if shown is not None else None
        return shared.batch_command(
            source, shared.stop_after(args, source), printer(how, keep=keep)
        )
    finally:
        if text:
            print("Stopping dropped packet monitor", flush=True)
