"""`netwatch top --batch`: per-process traffic for pipes and scripts, like top -b (and
nettop.stp's table)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

from netwatch.batch import batch_command, replayed_or_live, warn_lost
from netwatch.cli_args import Parser, batch_parser, interval_options
from netwatch.tabs.traffic.formats import nettop_table, row_json
from netwatch.tabs.traffic.live import live_source
from netwatch.tabs.traffic.model import Counters, TrafficRow, TrafficSample
from netwatch.tabs.traffic.view_model import ViewRow, sort_rows
from netwatch.users import user_name


def parser() -> Parser:
    top = batch_parser("top", "Per-process traffic, printed like top -b.", "traffic")
    interval_options(top, "seconds per table (default 5, as nettop.stp)")
    top.add_argument("--json", action="store_true", help="one JSON object per row per interval")
    return top


def seed_order(sample: TrafficSample) -> list[TrafficRow]:
    """nettop.stp's order: total packets, most first."""
    view = [ViewRow(r.key, r.counts, Counters(), "") for r in sample.rows]
    return [TrafficRow(v.key, v.shown) for v in sort_rows(view, "total_pk", True)]


def printer(as_json: bool, out: TextIO = sys.stdout) -> Callable[[TrafficSample], None]:
    def emit(sample: TrafficSample) -> None:
        rows = seed_order(sample)
        if as_json:
            for r in rows:
                out.write(row_json(r, sample.ts, sample.interval, user_name(r.key.uid)) + "\n")
        else:
            out.write("\n".join(nettop_table(rows)) + "\n\n")
        warn_lost(sample.lost, "packets not counted (map full)")
        out.flush()

    return emit


def command(args: argparse.Namespace) -> int:
    source = replayed_or_live(args, "traffic", lambda: live_source(args.interval))
    return batch_command(source, args.count, printer(args.json))
