"""Batch output for pipes and scripts: `netwatch top --batch`, like `top -b`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from netwatch.model.formats import nettop_table, row_json
from netwatch.model.traffic import Counters, TrafficRow, TrafficSample
from netwatch.model.view import ViewRow, sort_rows
from netwatch.sources import TrafficSource
from netwatch.users import user_name


def seed_order(sample: TrafficSample) -> list[TrafficRow]:
    """nettop.stp's order: total packets, most first."""
    view = [ViewRow(r.key, r.counts, Counters(), "") for r in sample.rows]
    return [TrafficRow(v.key, v.shown) for v in sort_rows(view, "total_pk", True)]


def run_top_batch(
    source: TrafficSource,
    count: int | None,
    as_json: bool,
    out: TextIO = sys.stdout,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    done = 0
    next_tick = time.monotonic() + source.interval
    while count is None or done < count:
        while not should_stop() and time.monotonic() < next_tick:
            time.sleep(min(0.05, max(0.0, next_tick - time.monotonic())))
        if should_stop():
            return
        next_tick += source.interval
        sample = source.read()
        if sample is None:
            return
        rows = seed_order(sample)
        if as_json:
            for r in rows:
                out.write(row_json(r, sample.ts, sample.interval, user_name(r.key.uid)) + "\n")
        else:
            out.write("\n".join(nettop_table(rows)) + "\n\n")
        if sample.lost:
            print(f"netwatch: {sample.lost} packets not counted (map full)", file=sys.stderr)
        out.flush()
        done += 1
