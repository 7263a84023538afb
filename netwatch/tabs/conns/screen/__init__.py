"""The Connections tab: one row per TCP connection (open, or ended within the window), why it is
slow or failing; or its connections grouped by process, container or remote host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from netwatch.host.users import user_name
from netwatch.model.sparkline import spark, utf8_terminal
from netwatch.model.untrusted import printable
from netwatch.screens.plain import PlainStatic, notify_plain
from netwatch.screens.table import FilterableTable, sync_rows
from netwatch.screens.tabview import TabView, rows_text
from netwatch.tabs.conns.formats import text_line
from netwatch.tabs.conns.model import ConnRow, ConnsSample, ConnsState
from netwatch.tabs.conns.screen.columns import (
    Column,
    cells,
    group_cells,
    group_layout,
    layout,
)
from netwatch.tabs.conns.screen.detail import ConnDetail
from netwatch.tabs.conns.view_model import (
    FILTER_HINT,
    GROUPINGS,
    SORTS,
    ConnsFilter,
    Group,
    endpoint,
    grouped,
    now_for,
    parse_conns_filter,
    sorted_rows,
    summary,
)
from netwatch.tabs.tab import Screenshot, ViewOptions

MAX_DRAWN_ROWS = 500
HELP = (Path(__file__).parents[1] / "help.txt").read_text(encoding="utf-8")
SCREENSHOT = Screenshot("traffic-demo.nwrec", (), (120, 26))


class ConnsView(TabView[ConnsState]):
    DEFAULT_CSS = """
    ConnsView > #conns-summary { height: 1; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "group", "Group"),
        Binding("r", "reverse", "Reverse"),
        Binding("e", "ended", "Ended"),
    ]
    tab_name = "conns"
    filter_placeholder = FILTER_HINT

    def __init__(self, *, live: bool = True, ended_window: float = 60.0) -> None:
        super().__init__(live=live)
        self.state = ConnsState(ended_window=ended_window)
        self.sort = "retrans"
        self.descending = True
        self.grouping = "connection"
        self.show_ended = True
        self.filter: ConnsFilter | None = None
        self.shown: list[ConnRow] = []
        self.shown_groups: list[Group] = []
        self.matching = 0
        self.columns: tuple[Column, ...] = layout(80, 21)
        self.utf8 = utf8_terminal()  # HISTORY's glyphs: blocks, or ASCII where it is not UTF-8

    def compose(self) -> ComposeResult:
        yield PlainStatic("", id="conns-summary", fixed_height=True)
        yield from super().compose()

    def add_columns(self, table: FilterableTable) -> None:
        for key, label, width in self._shown_columns():
            table.add_column(label, key=key, width=width)

    def _shown_columns(self) -> tuple[Column, ...]:
        if self.grouping == "connection":
            return self.columns
        return group_layout(self.app.size.width if self.is_mounted else 80)

    def _relayout(self, rows: list[ConnRow]) -> None:
        need = max((len(endpoint(r.raddr, r.rport)) for r in rows), default=21)
        wanted = layout(self.app.size.width, need)
        if wanted != self.columns:
            self.columns = wanted
            if self.grouping == "connection":
                self._rebuild_columns()

    def _rebuild_columns(self) -> None:
        self.table.clear(columns=True)
        self.add_columns(self.table)

    def on_resize(self) -> None:
        if self.grouping != "connection":
            self._rebuild_columns()
        self.redraw()

    # ---- data in --------------------------------------------------------------------------
    def add_sample(self, sample: ConnsSample) -> None:
        self.state.apply(sample)
        if not self.paused:
            self.redraw()

    def _matching(self) -> list[ConnRow]:
        rows = list(self.state.rows.values())
        if not self.show_ended:
            rows = [r for r in rows if r.end is None]
        if self.filter is not None:
            keep = self.filter
            rows = [r for r in rows if keep.matches(r, user_name)]
        return rows

    def redraw(self) -> None:
        rows = self._matching()
        self.matching = len(rows)
        interval = self.state.last.interval if self.state.last else 1.0
        if self.grouping == "connection":
            now = now_for(self.state, self.live)
            self.shown = sorted_rows(rows, self.sort, self.descending, now)[:MAX_DRAWN_ROWS]
            self._relayout(self.shown)
            remote = next(w for c, _, w in self.columns if c == "remote")
            points = next((w for c, _, w in self.columns if c == "history"), 0)

            def glyphs(row: ConnRow) -> str:
                kept = self.state.history.get(row.cid) if points else None
                if kept is None:
                    return ""
                rates = [v or 0.0 for v in kept.rate[-points:]]
                return spark([0.0] * (points - len(rates)) + rates, ascii_only=not self.utf8)

            drawn = [(r.key, cells(r, rank, interval, now, remote, glyphs(r)))
                     for rank, r in enumerate(self.shown)]  # fmt: skip
            column_ids = [c for c, _, _ in self.columns]
        else:
            groups = grouped(rows, self.grouping)
            if not self.descending:
                groups.reverse()
            self.shown_groups = groups[:MAX_DRAWN_ROWS]
            self.matching = len(groups)
            drawn = [(g.name, group_cells(g, rank, interval))
                     for rank, g in enumerate(self.shown_groups)]  # fmt: skip
            column_ids = [c for c, _, _ in self._shown_columns()]
        with self.app.batch_update():
            sync_rows(self.table, column_ids, drawn,
                      rank_column="pid" if self.grouping == "connection" else "group")  # fmt: skip
            self.query_one("#conns-summary", PlainStatic).update(summary(self.state))
        self.update_banner()
        self.post_message(self.ViewChanged())

    def banner_parts(self) -> list[str]:
        parts = [f"{self.state.open_count()} open"]
        ended = len(self.state.rows) - self.state.open_count()
        parts.append(f"{ended} ended in {self.state.ended_window:g}s" if self.show_ended
                     else "ended hidden")  # fmt: skip
        if self.filter is not None:
            parts.append(f"filter '{self.filter.text}'")
        if self.grouping != "connection":
            parts.append(f"by {self.grouping}")
        parts.append(f"sort {self.sort} {'desc' if self.descending else 'asc'}")
        parts.append(rows_text(len(self.shown if self.grouping == "connection"
                                   else self.shown_groups), self.matching))  # fmt: skip
        if self.state.more:
            parts.append(f"{self.state.more} more connections not read (cap)")
        if self.state.forgotten:
            parts.append(f"{self.state.forgotten} ended forgotten early (cap)")
        return parts

    # ---- keys -----------------------------------------------------------------------------
    def action_group(self) -> None:
        i = GROUPINGS.index(self.grouping)
        self.grouping = GROUPINGS[(i + 1) % len(GROUPINGS)]
        self._rebuild_columns()
        self.redraw()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.redraw()

    def action_ended(self) -> None:
        self.show_ended = not self.show_ended
        self.redraw()

    def sort_choices(self) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in SORTS.items()]

    def current_sort(self) -> str:
        return self.sort

    def apply_sort(self, key: str) -> None:
        self.sort = key
        self.descending = SORTS[key][1]
        self.redraw()

    def filter_text(self) -> str:
        return self.filter.text if self.filter else ""

    def set_filter(self, text: str) -> None:
        self.filter = parse_conns_filter(text) if text else None

    def on_data_table_row_selected(self, event: FilterableTable.RowSelected) -> None:
        event.stop()
        rank = self.table.get_row_index(event.row_key)
        if self.grouping != "connection":
            if 0 <= rank < len(self.shown_groups):
                self.open_group(self.shown_groups[rank])
            return
        if 0 <= rank < len(self.shown):
            self.open_detail(self.shown[rank])

    def open_group(self, group: Group) -> None:
        """Enter on a group: its connections, one row each (the filter says which)."""
        first = group.rows[0]
        term = {"process": f"pid:{first.pid}", "container": f"container:{first.container}",
                "remote": f"addr:{first.raddr}"}[self.grouping]  # fmt: skip
        if self.grouping == "container" and not first.container:
            term = "!container:*"
        self.filter = parse_conns_filter(term)
        self.grouping = "connection"
        self._rebuild_columns()
        self.redraw()

    def show_matching(self, text: str) -> None:
        """Traffic's Enter on a connection: this one, and its detail when it is the only one."""
        self.set_filter(text)
        if self.grouping != "connection":
            self.grouping = "connection"
            self._rebuild_columns()
        self.redraw()
        if len(self.shown) == 1:
            self.open_detail(self.shown[0])
        elif not self.shown:
            notify_plain(self.app, "no such TCP connection here (yet): the filter stays",
                         severity="warning")  # fmt: skip

    def open_detail(self, row: ConnRow) -> None:
        interval = self.state.last.interval if self.state.last else 1.0
        user = user_name(row.uid) if row.uid is not None else ""
        self.app.push_screen(ConnDetail(row, self.state.history.get(row.cid), interval, user))

    # ---- snapshot ---------------------------------------------------------------------------
    def snapshot_contents(self) -> dict[str, str]:
        last = self.state.last
        ts, interval = (last.ts, last.interval) if last else (0.0, 0.0)
        lines = [summary(self.state)] + [text_line(r, interval) for r in self.shown]
        data: dict[str, Any] = {
            "tab": "conns",
            "sort": self.sort,
            "grouping": self.grouping,
            "filter": self.filter_text(),
            "paused": self.paused,
            "rows": [
                r.fields(user_name(r.uid) if r.uid is not None else "", ts, interval)
                for r in self.shown
            ],
        }
        text = "".join(printable(line) + "\n" for line in lines)
        return {"txt": text, "json": json.dumps(data, indent=1) + "\n"}


def view(options: ViewOptions) -> ConnsView:
    return ConnsView(live=options.live,
                     ended_window=float(options.settings.get("ended_window", 60.0)))  # fmt: skip
