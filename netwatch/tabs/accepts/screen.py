"""The Accepts tab: tcp_connections.stp as a live log, newest at the bottom, with a summary of
ports and sources beside it, and sources never seen before this session marked."""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from pathlib import Path
from typing import TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input

from netwatch.host.users import user_name
from netwatch.model.filter import PLACE_HINT
from netwatch.model.untrusted import csv_cell
from netwatch.screens.following import FollowingView
from netwatch.screens.plain import PlainStatic, shown
from netwatch.screens.table import FilterableTable
from netwatch.tabs.accepts.model import (
    DEFAULT_MAX_ROWS,
    FIELD_NAMES,
    SEED_HEADER,
    AcceptEvent,
    AcceptsSample,
    AcceptsState,
)
from netwatch.tabs.accepts.view_model import AcceptsFilter, parse_accepts_filter
from netwatch.tabs.tab import Screenshot, ViewOptions

K = TypeVar("K")

# The log keeps --max-rows events; the table draws the newest of those that match.
MAX_DRAWN_ROWS = 1000
TOP_N = 8
COLUMNS = (("time", "TIME", 12), ("uid", "UID", 6), ("user", "USER", 8), ("cmd", "CMD", 15),
           ("pid", "PID", 7), ("tid", "TID", 7), ("port", "PORT", 5), ("src", "IP_SOURCE", 24),
           ("sport", "SPORT", 5), ("fam", "FAMILY", 11), ("local", "LOCAL", 16),
           ("container", "CONTAINER", 14))  # fmt: skip
SUMMARY_WIDTH = 30


# Its part of the help screen (`?`): its heading, then its keys.
HELP = Path(__file__).with_name("help.txt").read_text(encoding="utf-8")


SCREENSHOT = Screenshot("traffic-demo.nwrec", (), (140, 26))


def columns_for(width: int) -> tuple[tuple[str, str, int], ...]:
    """What fits beside the summary: CONTAINER goes first, then TID and LOCAL, then USER and
    FAMILY."""
    if width >= 186:
        return COLUMNS
    dropped = {"container"} | ({"tid", "local"} if width < 170 else set())
    dropped |= {"user", "fam"} if width < 120 else set()
    return tuple(c for c in COLUMNS if c[0] not in dropped)


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


class AcceptsView(FollowingView[AcceptsState]):
    """Owns the Accepts state, the log table and the summary panel."""

    DEFAULT_CSS = """
    AcceptsView > Horizontal { height: 1fr; }
    AcceptsView FilterableTable { width: 1fr; height: 1fr; }
    AcceptsView #accepts-summary { width: 30; height: 1fr; padding: 0 1;
                                   border-left: solid $panel-lighten-2; }
    """
    tab_name = "accepts"
    filter_placeholder = (
        "filter: port:N src:ADDR|CIDR comm:NAME pid:N uid:N|name family:4|6|mapped " + PLACE_HINT
    )

    def __init__(
        self, *, max_rows: int = DEFAULT_MAX_ROWS, live: bool = True, id: str | None = None
    ) -> None:
        super().__init__(live=live, id=id)
        self.state = AcceptsState(max_rows=max_rows)
        self.filter: AcceptsFilter | None = None
        self.summary_by_count = True
        self._drawn: list[AcceptEvent] = []
        self.columns = columns_for(80)

    def compose(self) -> ComposeResult:
        yield PlainStatic("attaching...", classes="tab-banner")
        with Horizontal():
            table = FilterableTable(self, cursor_type="row", zebra_stripes=False)
            self.add_columns(table)
            yield table
            yield PlainStatic("", id="accepts-summary")
        yield Input(placeholder=self.filter_placeholder)

    def add_columns(self, table: FilterableTable) -> None:
        for key, label, width in self.columns:
            table.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        width = self.app.size.width
        # Under 100 columns the log needs the room more than the summary does.
        self.query_one("#accepts-summary", PlainStatic).display = width >= 100
        wanted = columns_for(width)
        if wanted != self.columns:
            self.columns = wanted
            self.table.clear(columns=True)
            self.add_columns(self.table)
            self.redraw()

    # ---- data in ------------------------------------------------------------------------------
    def add_sample(self, sample: AcceptsSample) -> None:
        self.state.apply(sample)  # collection goes on while paused; drawing does not
        if self.paused:
            return
        fresh = [e for e in sample.events if self._matches(e)]
        if fresh:
            self._append(fresh)
        self._update_summary()
        self.update_banner()

    def _matches(self, ev: AcceptEvent) -> bool:
        return self.filter is None or self.filter.matches(ev, user_name)

    # ---- drawing ------------------------------------------------------------------------------
    def _cells(self, ev: AcceptEvent) -> list[object]:
        new = self.state.is_first(ev)
        cells = {
            "time": Text(_clock(ev.ts)),
            "uid": Text(str(ev.uid), justify="right"),
            "user": shown(user_name(ev.uid)),
            "cmd": shown(ev.comm),
            "pid": Text(str(ev.pid), justify="right"),
            "tid": Text(str(ev.tid), justify="right"),
            "port": Text(str(ev.lport), justify="right"),
            "src": shown(ev.raddr + (" NEW" if new else ""), style="bold" if new else ""),
            "sport": Text(str(ev.rport), justify="right"),
            "fam": shown(ev.family),
            "local": shown(ev.laddr),
            "container": shown(ev.container or "-"),
        }
        return [cells[key] for key, _, _ in self.columns]

    def _append(self, events: list[AcceptEvent]) -> None:
        """Rows only ever join at the bottom: add them, drop the oldest past the cap."""
        table = self.table
        with self.app.batch_update():
            for ev in events:
                table.add_row(*self._cells(ev))
                self._drawn.append(ev)
            excess = len(self._drawn) - MAX_DRAWN_ROWS
            if excess > 0:
                for key in list(table.rows)[:excess]:
                    table.remove_row(key)
                del self._drawn[:excess]
            self.follow_cursor()

    def redraw(self) -> None:
        """From the log: after a filter change, or when the display resumes."""
        events = [e for e in self.state.log if self._matches(e)][-MAX_DRAWN_ROWS:]
        self._drawn = []
        self.table.clear()
        self._append(events)
        self._update_summary()
        self.update_banner()
        self.post_message(self.ViewChanged())

    def follow_cursor(self) -> None:
        if self.follow and self.table.row_count:
            self.table.move_cursor(row=self.table.row_count - 1, animate=False)

    def _update_summary(self) -> None:
        def top(counter: Counter[K]) -> list[tuple[K, int]]:
            if self.summary_by_count:
                return sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[:TOP_N]
            # Ports sort as numbers, addresses as text.
            return sorted(counter.items(), key=lambda kv: (str(kv[0]).zfill(5), str(kv[0])))[:TOP_N]

        lines = [f"accepts/s {self.state.rate():.1f}   total {self.state.total}"]
        if self.state.lost:
            lines.append(f"LOST {self.state.lost} (ring buffer full)")
        lines.append(f"sources {len(self.state.first_seen)} seen this session")
        lines.append("")
        lines.append("top local ports" + ("" if self.summary_by_count else " (by port)"))
        lines += [f"  {n:>7}  {port}" for port, n in top(self.state.per_port)]
        lines.append("")
        lines.append("top sources" + ("" if self.summary_by_count else " (by address)"))
        lines += [f"  {n:>7}  {src}" for src, n in top(self.state.per_source)]
        self.query_one("#accepts-summary", PlainStatic).update(lines)

    def banner_parts(self) -> list[str]:
        parts = [self.follow_text()]
        if self.filter:
            parts.append(f"filter '{self.filter.text}'")
        parts.append(f"{len(self._drawn)} shown, {len(self.state.log)} kept")
        if self.state.dropped_oldest:
            parts.append(f"{self.state.dropped_oldest} oldest dropped (--max-rows)")
        return parts

    # ---- keys ---------------------------------------------------------------------------------
    # The log is in arrival order; what sorts is the summary beside it (ports and sources).
    def sort_choices(self) -> list[tuple[str, str]]:
        return [("count", "summary by count"), ("key", "summary by port/address")]

    def current_sort(self) -> str:
        return "count" if self.summary_by_count else "key"

    def apply_sort(self, key: str) -> None:
        self.summary_by_count = key == "count"
        self._update_summary()

    def filter_text(self) -> str:
        return self.filter.text if self.filter else ""

    def set_filter(self, text: str) -> None:
        self.filter = parse_accepts_filter(text) if text else None

    # ---- snapshot -----------------------------------------------------------------------------
    def snapshot_contents(self) -> dict[str, str]:
        """The rows shown: tcp_connections.stp's format, JSON, and CSV."""
        rows = self._drawn
        text = "\n".join([SEED_HEADER, *(e.seed_line() for e in rows)]) + "\n"
        # The batch command's fields, and whether the source was new in this session.
        records = [
            {**e.fields(user_name(e.uid)), "first_seen_source": self.state.is_first(e)}
            for e in rows
        ]
        fields = [*FIELD_NAMES, "first_seen_source"]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=fields)
        writer.writeheader()
        # Spreadsheets run cells that start like a formula: comm and user are a local user's.
        writer.writerows(
            {k: csv_cell(v) if isinstance(v, str) else v for k, v in r.items()} for r in records
        )
        data = {
            "tab": "accepts",
            "filter": self.filter_text(),
            "paused": self.paused,
            "lost": self.state.lost,
            "rows": records,
        }
        return {"txt": text, "json": json.dumps(data, indent=1) + "\n", "csv": buf.getvalue()}


def view(options: ViewOptions) -> AcceptsView:
    return AcceptsView(
        max_rows=options.settings.get("max_rows", DEFAULT_MAX_ROWS), live=options.live
    )
