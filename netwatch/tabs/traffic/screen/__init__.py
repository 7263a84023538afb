"""The Traffic tab: nettop.stp's table, updated in place by row key, sorted, filtered, pausable."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from netwatch.host.users import user_name
from netwatch.model.filter import PLACE_HINT
from netwatch.model.sparkline import spark, utf8_terminal
from netwatch.model.untrusted import name_text
from netwatch.screens.plain import shown
from netwatch.screens.table import FilterableTable, RankedCell, sync_rows
from netwatch.screens.tabview import TabView, rows_text
from netwatch.tabs.tab import Screenshot, ViewOptions
from netwatch.tabs.traffic.formats import (
    NETTOP_HEADER,
    human_rate,
    kb,
    nettop_line,
    reason_text,
    row_object,
    uid_text,
)
from netwatch.tabs.traffic.model import EXITED_MARK, TrafficRow, TrafficSample, TrafficState
from netwatch.tabs.traffic.screen.detail import ProcessDetail
from netwatch.tabs.traffic.view_model import (
    COLUMNS,
    GROUPINGS,
    SORT_LABELS,
    WIDE_COLUMNS,
    Column,
    ViewRow,
    ViewSpec,
    build_view,
    connection_layout,
    histories,
    layout_for,
    parse_traffic_filter,
    row_id,
)

# Drawing thousands of rows costs hundreds of ms a refresh (DESIGN.md §3); nobody reads past this.
MAX_DRAWN_ROWS = 300


# Its part of the help screen (`?`): its heading, then its keys.
HELP = (Path(__file__).parents[1] / "help.txt").read_text(encoding="utf-8")  # the tab's folder


SCREENSHOT = Screenshot("traffic-demo.nwrec", ("c",), (120, 26))  # totals over the whole recording


def _num(value: int) -> Text:
    return Text(str(value), justify="right")


def cells_for(row: ViewRow, rank: int, bits: bool = False, history: str = "") -> dict[str, object]:
    """Cells as Text, never str: DataTable parses str as markup, and a process may be named
    "[red]" or, like our own unattributed rows, "[tx-no-owner]"."""
    k, c = row.key, row.shown
    attributed = k.attributed
    pid = str(row.processes) if row.grouped else str(k.pid) if attributed else "-"
    return {
        "pid": RankedCell(pid, rank),
        "uid": Text(uid_text(k), justify="right"),
        "user": shown(row.user if attributed else "-"),
        "dev": shown(k.dev),
        "xmit_pk": _num(c.xmit_pk),
        "recv_pk": _num(c.recv_pk),
        "xmit_kb": _num(kb(c.xmit_bytes, c.xmit_pk)),
        "recv_kb": _num(kb(c.recv_bytes, c.recv_pk)),
        "total_kb": _num(kb(c.xmit_bytes + c.recv_bytes, c.total_pk)),
        "tx_rate": Text(human_rate(row.rate.xmit_bytes, bits), justify="right"),
        "rx_rate": Text(human_rate(row.rate.recv_bytes, bits), justify="right"),
        "comm": _command(row),
        "container": shown(str(row.value("container")) or "-" if attributed else "-"),
        "history": Text(history, no_wrap=True),
    }


def _command(row: ViewRow) -> Text:
    k = row.key
    if not k.attributed:
        return Text(reason_text(k.reason))
    text = Text(name_text(k.comm))
    if row.exited is not None:  # its totals stay; it sends nothing more
        text.append(f" {EXITED_MARK}", style="dim italic")
    return text


class TrafficView(TabView[TrafficState]):
    """Owns the Traffic state and its table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reverse", "Reverse"),
        Binding("c", "cumulative", "Totals"),
        Binding("g", "group", "Group"),
        Binding("b", "bits", "Bits/bytes"),  # as the detail's, and iftop's
    ]
    tab_name = "traffic"
    filter_placeholder = (
        f"filter: pid:N uid:N|name comm:TEXT dev:NAME[*] {PLACE_HINT} text  (!term negates)"
    )

    def __init__(self, *, live: bool = True, id: str | None = None) -> None:
        super().__init__(live=live, id=id)
        self.state = TrafficState()
        self.spec = ViewSpec()
        self.shown: list[ViewRow] = []
        self.total_matching = 0
        self.columns: tuple[Column, ...] = COLUMNS
        self.bits = False  # b: the rates in bits per second
        self.utf8 = utf8_terminal()  # HISTORY's glyphs: blocks, or ASCII where it is not UTF-8
        self._history_near = range(0)  # the ranks whose HISTORY the last redraw drew

    def add_columns(self, table: FilterableTable) -> None:
        for col in self.columns:
            table.add_column(col.label, key=col.id, width=col.width)

    # ---- data in ------------------------------------------------------------------------------
    def add_sample(self, sample: TrafficSample) -> None:
        self.state.apply(sample)
        if not self.paused:
            self.redraw()

    def banner_parts(self) -> list[str]:
        """The view's own state, most useful first so an 80-column terminal keeps it."""
        parts = []
        if self.spec.filter:
            parts.append(f"filter '{self.spec.filter.text}'")
        parts.append(f"sort {self.sort_label()}")
        parts.append(rows_text(len(self.shown), self.total_matching))
        if self.spec.cumulative:
            parts.append("totals since start")
            exited = sum(1 for r in self.shown if r.exited is not None)
            if exited:
                parts.append(f"{exited} exited")
            if self.state.exited_folded:
                parts.append(f"{self.state.exited_folded:,} exited folded into [exited]")
            if self.state.folded:
                parts.append(f"{self.state.folded:,} quieter rows folded into [folded]")
        if self.spec.group != "process":
            parts.append(f"by {self.spec.group}")
        if self.spec.group == "connection" and self.state.connections_lost:
            parts.append(f"{self.state.connections_lost} packets not counted per connection")
        return parts

    # ---- drawing ------------------------------------------------------------------------------
    def _layout(self) -> tuple[Column, ...]:
        table = self.table
        width, pad = self.app.size.width, table.cell_padding
        scrollbar = table.styles.scrollbar_size_vertical
        if self.spec.group != "connection":
            return layout_for(width, pad, scrollbar)
        # What must stay whole: the command, the protocol and the remote end (cut before " <-").
        need = max((len(r.key.comm.split(" <- ")[0]) for r in self.shown), default=0)
        return connection_layout(width, pad, scrollbar, need)

    def on_resize(self) -> None:
        wanted = self._layout()
        if wanted == self.columns:
            self._fit_command()
            self.table.refresh()
            return
        self.columns = wanted
        self.table.clear(columns=True)
        self.add_columns(self.table)
        self.redraw()

    def redraw(self) -> None:
        rows = build_view(self.state, self.spec, user_name)
        self.total_matching = len(rows)
        self.shown = rows[:MAX_DRAWN_ROWS]
        wanted = self._layout() if self.is_mounted and self.app.size.width else self.columns
        if wanted != self.columns:
            self.columns = wanted
            self.table.clear(columns=True)
            self.add_columns(self.table)
        points = next((c.width for c in self.columns if c.id == "history"), 0)
        # Only for the rows on screen, and a screen's worth either side (scrolling further
        # redraws): every HISTORY cell changes each interval, and a table of 300 would
        # update all of them.
        near = self._near_rows()
        self._history_near = near
        drawn = self.shown[near.start : near.stop]
        series = histories(drawn, self.state, self.spec, user_name, points) if points else {}

        def glyphs(row: ViewRow) -> str:
            values = series.get(row.key)
            return "" if values is None else spark(values, ascii_only=not self.utf8)

        with self.app.batch_update():
            sync_rows(
                self.table,
                [c.id for c in self.columns],
                [
                    (row_id(r.key), cells_for(r, rank, self.bits, glyphs(r)))
                    for rank, r in enumerate(self.shown)
                ],
                rank_column="pid",
            )
            self._relabel_columns()
        self.update_banner()
        self.post_message(self.ViewChanged())

    def _near_rows(self) -> range:
        """The ranks on screen (by the table's scroll), and a screen's worth either side."""
        if not self.is_mounted:
            return range(0, MAX_DRAWN_ROWS)
        top, height = int(self.table.scroll_offset.y), max(1, self.table.size.height)
        return range(max(0, top - height), top + 2 * height)

    def on_mount(self) -> None:
        self.watch(self.table, "scroll_y", self._scrolled, init=False)

    def _scrolled(self) -> None:
        """Scrolled past the rows whose HISTORY was drawn: draw it for these (live only: a
        paused table keeps what it showed)."""
        near, top = self._history_near, int(self.table.scroll_offset.y)
        visible = range(top, top + self.table.size.height)
        if self.paused or not any(c.id == "history" for c in self.columns):
            return
        if visible.start < near.start or visible.stop > near.stop:
            self.redraw()

    def _relabel_columns(self) -> None:
        # The sorted column: an arrow for its direction (as htop marks it), and bold+underline,
        # which survive NO_COLOR. It widens by the arrow's cell so the label is never cut.
        for col in self.columns:
            column = self.table.columns[ColumnKey(col.id)]
            # Grouped rows count the processes they sum where a row's PID would be.
            summed = self.spec.group not in ("process", "connection")
            label = "PROCS" if col.id == "pid" and summed else col.label
            if col.id == self.spec.sort:
                arrow = "▼" if self.spec.descending else "▲"
                column.label = Text(label, style="bold underline") + arrow
                column.width = max(col.width, len(label) + 1)
            else:
                column.label = Text(label)
                column.width = col.width
        self._fit_command()

    def _fit_command(self) -> None:
        """COMMAND takes the width the other columns leave (never under its own), so a long
        name is not cut while the terminal has room for it; the detail has the command line."""
        table = self.table
        pad = 2 * table.cell_padding
        widths = [table.columns[ColumnKey(c.id)].width for c in self.columns if c.id != "comm"]
        others = sum(w + pad for w in widths)
        # The vertical scrollbar's cells are kept free, so rows never shift when it appears.
        room = table.size.width - others - pad - table.styles.scrollbar_size_vertical
        comm = next(c for c in self.columns if c.id == "comm")
        table.columns[ColumnKey("comm")].width = max(comm.width, room)

    # ---- keys ---------------------------------------------------------------------------------
    def sort_choices(self) -> list[tuple[str, str]]:
        # Every column, those the width hides too (#24: at 80 columns the rates could not be
        # sorted by at all), marked so that the order on screen is not a puzzle.
        shown = {c.id for c in self.columns}
        return [
            (c.id, c.label if c.id in shown else f"{c.label} (not shown at this width)")
            for c in WIDE_COLUMNS
        ]

    def cycle_choices(self) -> list[tuple[str, str]]:
        # > and <: the columns on screen that sort (HISTORY is a picture, not a number).
        return [(c.id, c.label) for c in self.columns if c.sortable]

    def current_sort(self) -> str:
        return self.spec.sort

    def apply_sort(self, key: str) -> None:
        # Names read best A-Z; numbers most first.
        descending = key not in ("user", "dev", "comm", "container")
        self.spec = replace(self.spec, sort=key, descending=descending)
        self.redraw()

    def action_bits(self) -> None:
        """TX/s and RX/s in bits per second, or back in bytes."""
        self.bits = not self.bits
        self.redraw()

    def action_group(self) -> None:
        """A row per process, per program, per user, per container, or per connection, in
        turn."""
        at = GROUPINGS.index(self.spec.group)
        self.spec = replace(self.spec, group=GROUPINGS[(at + 1) % len(GROUPINGS)])
        self.redraw()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by that column; on the sorted one, reverses it."""
        event.stop()
        column = str(event.column_key.value)
        if column not in SORT_LABELS:
            return  # HISTORY
        if column == self.spec.sort:
            self.action_reverse()
        else:
            self.apply_sort(column)

    def action_reverse(self) -> None:
        s = self.spec
        self.spec = replace(s, descending=not s.descending)
        self.redraw()

    def action_cumulative(self) -> None:
        s = self.spec
        self.spec = replace(s, cumulative=not s.cumulative)
        self.redraw()

    def filter_text(self) -> str:
        return self.spec.filter.text if self.spec.filter else ""

    def set_filter(self, text: str) -> None:
        new_filter = parse_traffic_filter(text) if text else None
        s = self.spec
        self.spec = replace(s, filter=new_filter)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        rank = self.table.get_row_index(event.row_key)
        if not 0 <= rank < len(self.shown):
            return
        row = self.shown[rank]
        key = row.key
        if row.grouped:
            self.notify(f"a {self.spec.group}'s row: press g for one row per process")
            return
        conn = row.conn
        if conn is not None and conn.proto == "tcp":
            # The connection itself, on the tab that knows its RTT, retransmits and resets.
            def detail() -> None:
                self.app.push_screen(ProcessDetail(key, self.state, live=self.live))

            wanted = f"pid:{conn.pid} port:{conn.lport} port:{conn.rport} addr:{conn.raddr}"
            self.post_message(self.ShowInTab("conns", wanted, detail))
            return
        if not key.attributed:
            self.notify("unattributed traffic has no process to show")
            return
        self.app.push_screen(ProcessDetail(key, self.state, live=self.live))

    # ---- snapshot -----------------------------------------------------------------------------
    def snapshot_contents(self) -> dict[str, str]:
        """The view as shown (sorted, filtered, paused or not): the seed's text format, and JSON."""
        ts = self.state.last.ts if self.state.last else 0.0
        interval = self.state.last.interval if self.state.last else 0.0
        # Grouped, the PID column holds each row's count of processes, and says so first.
        rows = [
            TrafficRow(replace(r.key, pid=r.processes) if r.grouped else r.key, r.shown)
            for r in self.shown
        ]  # fmt: skip
        by = self.spec.group
        heading = {
            "process": [],
            "connection": ["# by connection: COMMAND = command, protocol, local and remote end"],
        }.get(by, [f"# by {by}: PID = processes"])
        text = "\n".join([*heading, NETTOP_HEADER] + [nettop_line(r) for r in rows]) + "\n"
        meta = {
            "tab": "traffic",
            "ts": ts,
            "interval": interval,
            "cumulative": self.spec.cumulative,
            "sort": self.spec.sort,
            "descending": self.spec.descending,
            "filter": self.spec.filter.text if self.spec.filter else "",
            "paused": self.paused,
            "group": self.spec.group,
            "rows": [row_object(v, ts, interval) for v in self.shown],
        }
        return {"txt": text, "json": json.dumps(meta, indent=1) + "\n"}

    def sort_label(self) -> str:
        return f"{SORT_LABELS[self.spec.sort]} {'desc' if self.spec.descending else 'asc'}"


def view(options: ViewOptions) -> TrafficView:
    return TrafficView(live=options.live)
