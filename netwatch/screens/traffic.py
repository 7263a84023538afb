"""The Traffic tab: nettop.stp's table, updated in place by row key, sorted, filtered, pausable."""

from __future__ import annotations

import json
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from netwatch.model.filter import FilterError, parse_filter
from netwatch.model.formats import NETTOP_HEADER, human_rate, kb, nettop_line, row_json
from netwatch.model.traffic import TrafficKey, TrafficRow, TrafficSample, TrafficState
from netwatch.model.view import (
    COLUMNS,
    COMPACT_COLUMNS,
    SORT_KEYS,
    SORT_LABELS,
    WIDE_LAYOUT_MIN_WIDTH,
    Column,
    ViewRow,
    ViewSpec,
    build_view,
    row_id,
)
from netwatch.users import user_name

# Drawing thousands of rows costs hundreds of ms a refresh (DESIGN.md §3); nobody reads past this.
MAX_DRAWN_ROWS = 300


class RankedCell(Text):
    """A PID cell that also carries its row's place in the current sort, for DataTable.sort."""

    def __init__(self, text: str, rank: int) -> None:
        super().__init__(text, justify="right")
        self.rank = rank


class TrafficTable(DataTable[object]):
    """A DataTable that hands on keys queued to it before focus moved elsewhere.

    Textual posts each key to the widget focused when the key arrives, and bindings run only once
    a key has bubbled up to the app. In a burst (a paste, tmux send-keys, fast typing over SSH)
    the keys after '/' are already queued here by then, and would run as table commands instead
    of being typed. So '/' opens the filter right here, before the next key is taken, and keys
    that arrive after focus has moved on are handed to the widget that has it now.
    """

    def on_key(self, event: events.Key) -> None:
        focused = self.app.focused
        if focused is not None and focused is not self:
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
        elif event.key == "slash":
            event.stop()
            event.prevent_default()
            self.query_ancestor(TrafficView).action_filter()


def _num(value: int) -> Text:
    return Text(str(value), justify="right")


def cells_for(row: ViewRow, rank: int) -> dict[str, object]:
    """Cells as Text, never str: DataTable parses str as markup, and a process may be named
    "[red]" or, like our own unattributed rows, "[tx-no-owner]"."""
    k, c = row.key, row.shown
    attributed = k.attributed
    return {
        "pid": RankedCell(str(k.pid) if attributed else "-", rank),
        "uid": _num(k.uid) if attributed else Text("-", justify="right"),
        "user": Text(row.user if attributed else "-"),
        "dev": Text(k.dev),
        "xmit_pk": _num(c.xmit_pk),
        "recv_pk": _num(c.recv_pk),
        "xmit_kb": _num(kb(c.xmit_bytes, c.xmit_pk)),
        "recv_kb": _num(kb(c.recv_bytes, c.recv_pk)),
        "tx_rate": Text(human_rate(row.rate.xmit_bytes), justify="right"),
        "rx_rate": Text(human_rate(row.rate.recv_bytes), justify="right"),
        "comm": Text(k.comm if attributed else f"[{k.reason}]"),
    }


class TrafficView(Vertical):
    """Owns the Traffic state and its table. Collection goes on while paused; drawing does not."""

    DEFAULT_CSS = """
    TrafficView { height: 1fr; }
    TrafficView > #traffic-banner { height: 1; padding: 0 1; }
    TrafficView > DataTable { height: 1fr; }
    TrafficView > #traffic-filter { dock: bottom; display: none; }
    TrafficView.-paused > #traffic-banner { text-style: reverse; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("greater_than_sign", "sort_next", "Sort >"),
        Binding("less_than_sign", "sort_prev", "Sort <", show=False),
        Binding("r", "reverse", "Reverse"),
        Binding("c", "cumulative", "Totals"),
        Binding("p,space", "pause", "Pause"),
        Binding("s", "snapshot", "Snapshot"),
    ]

    class SelectedProcess(Message):
        def __init__(self, key: TrafficKey) -> None:
            super().__init__()
            self.key = key

    class ViewChanged(Message):
        """Sort, filter, pause or row count changed: the status line shows these."""

    class SnapshotRequested(Message):
        """`s`: the app writes the files, since the SVG is of the whole screen."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = TrafficState()
        self.spec = ViewSpec()
        self.paused = False
        self.shown: list[ViewRow] = []
        self.total_matching = 0
        self.status_text = "attaching..."
        self.columns: tuple[Column, ...] = COLUMNS

    def compose(self) -> ComposeResult:
        yield Static("attaching...", id="traffic-banner")
        table = TrafficTable(id="traffic-table", cursor_type="row", zebra_stripes=False)
        for col in self.columns:
            table.add_column(col.label, key=col.id, width=col.width)
        yield table
        yield Input(
            placeholder="filter: pid:N uid:N|name comm:TEXT dev:NAME[*] text  (!term negates)",
            id="traffic-filter",
        )

    @property
    def table(self) -> DataTable[object]:
        return self.query_one("#traffic-table", DataTable)

    # ---- data in ------------------------------------------------------------------------------
    def add_sample(self, sample: TrafficSample) -> None:
        self.state.apply(sample)
        if not self.paused:
            self.redraw()

    def set_banner(self, text: str) -> None:
        self.status_text = text
        self._update_banner()

    def _update_banner(self) -> None:
        """The view's own state, most useful first so an 80-column terminal keeps it."""
        parts = []
        if self.paused:
            parts.append("PAUSED (collecting; p resumes)")
        if self.spec.filter:
            parts.append(f"filter '{self.spec.filter.text}'")
        parts.append(f"sort {self.sort_label()}")
        if self.total_matching > len(self.shown):
            parts.append(f"showing {len(self.shown)} of {self.total_matching} rows")
        else:
            parts.append(f"{self.total_matching} rows")
        if self.spec.cumulative:
            parts.append("totals since start")
        parts.append(self.status_text)
        self.query_one("#traffic-banner", Static).update(" | ".join(parts))
        self.set_class(self.paused, "-paused")

    # ---- drawing ------------------------------------------------------------------------------
    def on_resize(self) -> None:
        wanted = COLUMNS if self.app.size.width >= WIDE_LAYOUT_MIN_WIDTH else COMPACT_COLUMNS
        if wanted == self.columns:
            return
        self.columns = wanted
        table = self.table
        table.clear(columns=True)
        for col in wanted:
            table.add_column(col.label, key=col.id, width=col.width)
        self.redraw()

    def redraw(self) -> None:
        rows = build_view(self.state, self.spec, user_name)
        self.total_matching = len(rows)
        self.shown = rows[:MAX_DRAWN_ROWS]
        table = self.table
        selected = self._selected_row_key()
        wanted = {row_id(r.key): (r, rank) for rank, r in enumerate(self.shown)}
        with self.app.batch_update():
            for key in [k.value for k in table.rows if k.value not in wanted]:
                if key is not None:
                    table.remove_row(key)
            for key, (row, rank) in wanted.items():
                cells = cells_for(row, rank)
                if key in table.rows:
                    current = table.get_row(key)
                    for col, old in zip(self.columns, current, strict=True):
                        new = cells[col.id]
                        if str(new) != str(old) or col.id == "pid":
                            table.update_cell(key, col.id, new)
                else:
                    table.add_row(*(cells[c.id] for c in self.columns), key=key)
            table.sort("pid", key=lambda cell: cell.rank)
            self._relabel_columns()
            if selected is not None and selected in table.rows:
                table.move_cursor(row=table.get_row_index(selected), animate=False)
        self._update_banner()
        self.post_message(self.ViewChanged())

    def _selected_row_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # the cursor can sit past the last row while rows are removed
            return None

    def _relabel_columns(self) -> None:
        # Underlined rather than an arrow: an extra character would not fit the column, and
        # bold+underline survive NO_COLOR. The direction is in the status line.
        for col in self.columns:
            style = "bold underline" if col.id == self.spec.sort else ""
            self.table.columns[col.id].label = Text(col.label, style=style)  # type: ignore[index]

    # ---- keys ---------------------------------------------------------------------------------
    def action_sort_next(self) -> None:
        self._move_sort(1)

    def action_sort_prev(self) -> None:
        self._move_sort(-1)

    def _move_sort(self, step: int) -> None:
        # Only columns on screen (and the seed's total): sorting by a hidden one would puzzle.
        keys = [k for k in SORT_KEYS if k == "total_pk" or any(c.id == k for c in self.columns)]
        current = keys.index(self.spec.sort) if self.spec.sort in keys else 0
        column = keys[(current + step) % len(keys)]
        # Names read best A-Z; numbers most first.
        descending = column not in ("user", "dev", "comm")
        self.spec = ViewSpec(column, descending, self.spec.cumulative, self.spec.filter)
        self.redraw()

    def action_reverse(self) -> None:
        s = self.spec
        self.spec = ViewSpec(s.sort, not s.descending, s.cumulative, s.filter)
        self.redraw()

    def action_cumulative(self) -> None:
        s = self.spec
        self.spec = ViewSpec(s.sort, s.descending, not s.cumulative, s.filter)
        self.redraw()

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self.redraw()
        else:
            self._update_banner()
            self.post_message(self.ViewChanged())

    def action_filter(self) -> None:
        box = self.query_one("#traffic-filter", Input)
        box.value = self.spec.filter.text if self.spec.filter else ""
        # Synchronously: keys typed or pasted right after '/' must land in the box, and
        # Widget.focus() would only take effect after they were dispatched to the table.
        box.display = True
        self.screen.set_focus(box)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box = event.input
        try:
            new_filter = parse_filter(event.value) if event.value.strip() else None
        except FilterError as exc:
            self.app.notify(f"bad filter: {exc} (previous filter kept)", severity="error")
            return
        s = self.spec
        self.spec = ViewSpec(s.sort, s.descending, s.cumulative, new_filter)
        self._close_filter(box)
        self.redraw()

    def on_key(self, event: events.Key) -> None:
        box = self.query_one("#traffic-filter", Input)
        if event.key == "escape" and box.display:
            event.stop()
            self._close_filter(box)

    def _close_filter(self, box: Input) -> None:
        box.display = False
        self.screen.set_focus(self.table)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        rank = self.table.get_row_index(event.row_key)
        if 0 <= rank < len(self.shown):
            self.post_message(self.SelectedProcess(self.shown[rank].key))

    # ---- snapshot -----------------------------------------------------------------------------
    def action_snapshot(self) -> None:
        self.post_message(self.SnapshotRequested())

    def snapshot_contents(self) -> dict[str, str]:
        """The view as shown (sorted, filtered, paused or not): the seed's text format, and JSON."""
        ts = self.state.last.ts if self.state.last else 0.0
        interval = self.state.last.interval if self.state.last else 0.0
        rows = [TrafficRow(r.key, r.shown) for r in self.shown]
        text = "\n".join([NETTOP_HEADER] + [nettop_line(r) for r in rows]) + "\n"
        meta = {
            "tab": "traffic",
            "ts": ts,
            "interval": interval,
            "cumulative": self.spec.cumulative,
            "sort": self.spec.sort,
            "descending": self.spec.descending,
            "filter": self.spec.filter.text if self.spec.filter else "",
            "paused": self.paused,
            "rows": [json.loads(row_json(r, ts, interval, user_name(r.key.uid))) for r in rows],
        }
        return {"txt": text, "json": json.dumps(meta, indent=1) + "\n"}

    def sort_label(self) -> str:
        return f"{SORT_LABELS[self.spec.sort]} {'desc' if self.spec.descending else 'asc'}"
