"""The Drops tab: dropwatch.stp as a live heatmap, one row per location, function or reason."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from netwatch.model.untrusted import printable
from netwatch.screens.plain import PlainStatic, shown
from netwatch.screens.table import FilterableTable, RankedCell, sync_rows
from netwatch.screens.tabview import TabView, rows_text
from netwatch.tabs.drops.model import GROUPINGS, DropsSample, DropsState, GroupStats
from netwatch.tabs.drops.screen.detail import DropDetail
from netwatch.tabs.drops.view_model import (
    GLYPHS,
    ONE_PER_CELL_MIN,
    SORT_LABELS,
    SORTS,
    DropsSpec,
    bucket_for,
    bucketed,
    legend,
    level,
    parse_drops_filter,
    sort_groups,
)
from netwatch.tabs.tab import Screenshot, ViewOptions

MAX_DRAWN_ROWS = 200
# Colours add to the glyphs (which alone carry the level under NO_COLOR).
LEVEL_STYLES = ("", "blue", "green", "yellow", "bold red")
MAX_HEAT = 120
MIN_HEAT = 12
# Fixed columns (id, label, width); ADDRESS only where it fits beside a useful heatmap.
FIXED_COLUMNS = (
    ("last", "LAST", 5),
    ("total", "TOTAL", 7),
    ("reason", "REASON", 16),  # REASON_MIN; wider where the heatmap can spare it
    ("symbol", "LOCATION", 30),
)
ADDRESS_COLUMN = ("address", "ADDRESS", 18)
REASON_MIN, REASON_MAX = 16, 26  # the longest reasons (TCP_INVALID_ACK_SEQUENCE) are 24
ADDRESS_MIN_WIDTH = 150


# Its part of the help screen (`?`): its heading, then its keys.
HELP = (Path(__file__).parents[1] / "help.txt").read_text(encoding="utf-8")  # the tab's folder


SCREENSHOT = Screenshot("traffic-demo.nwrec", (), (110, 22))


def layout(width: int) -> tuple[int, tuple[tuple[str, str, int], ...]]:
    """Heatmap width and the other columns for a terminal `width` columns wide. REASON takes
    what the heatmap can spare above one interval per cell (ONE_PER_CELL_MIN), up to
    REASON_MAX: 16 cut TCP_LISTEN_OVERFLOW at 160 columns beside 70 cells of heatmap."""
    columns = FIXED_COLUMNS + ((ADDRESS_COLUMN,) if width >= ADDRESS_MIN_WIDTH else ())
    used = sum(w for _, _, w in columns) + 2 * (len(columns) + 1) + 2  # cell padding, scrollbar
    free = width - used
    spare = min(REASON_MAX - REASON_MIN, max(0, free - ONE_PER_CELL_MIN))
    columns = tuple((c, label, w + spare if c == "reason" else w) for c, label, w in columns)
    return max(MIN_HEAT, min(MAX_HEAT, free - spare)), columns


_STYLES = tuple(Style.parse(name) if name else Style() for name in LEVEL_STYLES)


class HeatCell:
    """One heatmap row: a level per interval, drawn as runs of glyphs. A plain renderable that
    yields its segments directly: a Rich Text with 120 spans per row made a 200-row redraw take a
    third of a 1 s refresh (bench/drop_overhead.py)."""

    __slots__ = ("glyphs", "levels")

    def __init__(self, levels: list[int]) -> None:
        self.levels = levels
        self.glyphs = "".join(GLYPHS[lv] for lv in levels)

    def __str__(self) -> str:  # what sync_rows compares: the glyphs differ whenever levels do
        return self.glyphs

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        levels = self.levels
        start = 0
        for i in range(1, len(levels) + 1):
            if i == len(levels) or levels[i] != levels[start]:
                yield Segment(self.glyphs[start:i], _STYLES[levels[start]])
                start = i

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(len(self.levels), len(self.levels))


def heat_cell(cells: list[int], peak: int, log_scale: bool) -> HeatCell:
    """One row's cells (counts per cell, oldest left); time scrolls leftwards."""
    return HeatCell([level(count, peak, log_scale) for count in cells])


class DropsView(TabView[DropsState]):
    """Owns the Drops state and its heatmap table."""

    DEFAULT_CSS = """
    DropsView > #drops-legend { height: 1; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "group", "Group"),
        Binding("l", "scale", "Log/lin"),
        Binding("r", "reverse", "Reverse"),
    ]
    tab_name = "drops"
    filter_placeholder = "filter: reason:NAME func:NAME proto:ipv4|ipv6|arp dev:NAME netns:N text"

    def __init__(self, *, live: bool = True, id: str | None = None) -> None:
        super().__init__(live=live, id=id)
        self.state = DropsState()
        self.spec = DropsSpec()
        self.shown: list[GroupStats] = []
        self.total_matching = 0
        self.heat_width, self.columns = layout(80)
        self.peak = 0
        self.bucket = 1  # intervals per heatmap cell

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield PlainStatic("", id="drops-legend", fixed_height=True)

    def add_columns(self, table: FilterableTable) -> None:
        table.add_column("HISTORY, NOW RIGHT", key="heat", width=self.heat_width)
        for key, label, width in self.columns:
            table.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        wanted = layout(self.app.size.width)
        if wanted != (self.heat_width, self.columns):
            self.heat_width, self.columns = wanted
            self.table.clear(columns=True)
            self.add_columns(self.table)
            self.redraw()

    # ---- data in ------------------------------------------------------------------------------
    def add_sample(self, sample: DropsSample) -> None:
        self.state.apply(sample)
        if not self.paused:
            self.redraw()

    def banner_parts(self) -> list[str]:
        since = (
            time.strftime("%H:%M:%S", time.localtime(self.state.started))
            if self.state.samples
            else "-"
        )
        parts = [f"monitoring since {since}", f"{self.state.drops_per_second():.1f} drops/s"]
        if self.spec.filter:
            parts.append(f"filter '{self.spec.filter.text}'")
        parts.append(f"by {self.spec.grouping}")
        parts.append(f"sort {self.spec.sort} {'desc' if self.spec.descending else 'asc'}")
        parts.append(rows_text(len(self.shown), self.total_matching))
        return parts

    # ---- drawing ------------------------------------------------------------------------------
    def redraw(self) -> None:
        # The state counts only the drops the filter matches: a group with none is not there.
        groups = [g for g in self.state.rows(self.spec.grouping) if g.total]
        groups = sort_groups(groups, self.spec.sort, self.spec.descending)
        self.total_matching = len(groups)
        self.shown = groups[:MAX_DRAWN_ROWS]
        width, samples = self.heat_width, self.state.samples
        self.bucket = bucket_for(width, min(samples, self.state.columns))
        cells = {g.name: bucketed(list(g.history), samples, width, self.bucket) for g in self.shown}
        self.peak = max((max(c, default=0) for c in cells.values()), default=0)
        rows = [(g.name, self._cells(g, rank, cells[g.name])) for rank, g in enumerate(self.shown)]
        with self.app.batch_update():
            sync_rows(
                self.table,
                ["heat", *(key for key, _, _ in self.columns)],
                rows,
                rank_column="total",
            )
        interval = self.state.last.interval if self.state.last else 1.0
        self.query_one("#drops-legend", PlainStatic).update(
            legend(self.peak, self.spec.log_scale, self.bucket, interval)
        )
        self.update_banner()
        self.post_message(self.ViewChanged())

    def _cells(self, g: GroupStats, rank: int, heat: list[int]) -> dict[str, object]:
        grouping = self.spec.grouping
        reasons = sorted(g.reasons, key=lambda r: -g.reasons[r])
        return {
            "heat": heat_cell(heat, self.peak, self.spec.log_scale),
            "last": Text(str(g.last), justify="right"),
            "total": RankedCell(str(g.total), rank),
            "reason": shown(",".join(reasons)),
            "symbol": shown(g.symbol if grouping == "location" else g.name),
            "address": Text(f"0x{g.location:x}" if grouping == "location" else "-"),
        }

    # ---- keys ---------------------------------------------------------------------------------
    def _respec(self, **changes: object) -> None:
        fields = {
            "grouping": self.spec.grouping,
            "sort": self.spec.sort,
            "descending": self.spec.descending,
            "log_scale": self.spec.log_scale,
            "filter": self.spec.filter,
            **changes,
        }
        self.spec = DropsSpec(**fields)  # type: ignore[arg-type]
        self.redraw()

    def action_group(self) -> None:
        i = GROUPINGS.index(self.spec.grouping)
        self._respec(grouping=GROUPINGS[(i + 1) % len(GROUPINGS)])

    def action_scale(self) -> None:
        self._respec(log_scale=not self.spec.log_scale)

    def sort_choices(self) -> list[tuple[str, str]]:
        return [(key, SORT_LABELS[key]) for key in SORTS]

    def current_sort(self) -> str:
        return self.spec.sort

    def apply_sort(self, key: str) -> None:
        self._respec(sort=key, descending=key != "name")

    def action_reverse(self) -> None:
        self._respec(descending=not self.spec.descending)

    def filter_text(self) -> str:
        return self.spec.filter.text if self.spec.filter else ""

    def set_filter(self, text: str) -> None:
        new = parse_drops_filter(text) if text else None
        self.spec = DropsSpec(
            self.spec.grouping, self.spec.sort, self.spec.descending, self.spec.log_scale, new
        )
        self.state.set_filter(new.matches_row if new is not None else None)

    def on_data_table_row_selected(self, event: FilterableTable.RowSelected) -> None:
        event.stop()
        rank = self.table.get_row_index(event.row_key)
        if 0 <= rank < len(self.shown):
            self.app.push_screen(DropDetail(self.shown[rank], self.spec.grouping, live=self.live))

    # ---- snapshot -----------------------------------------------------------------------------
    def snapshot_contents(self) -> dict[str, str]:
        """dropwatch.stp's line per row shown, with symbol and reasons appended; and JSON."""
        lines = [
            f"Monitoring for dropped packets (since {time.ctime(self.state.started)}; "
            f"totals, grouped by {self.spec.grouping})"
        ]
        for g in self.shown:
            lines.append(
                "%d packets dropped at location 0x%x %s %s"
                % (
                    g.total,
                    g.location,
                    g.symbol if self.spec.grouping == "location" else g.name,
                    ",".join(sorted(g.reasons)),
                )
            )
        data = {
            "tab": "drops",
            "grouping": self.spec.grouping,
            "sort": self.spec.sort,
            "filter": self.filter_text(),
            "paused": self.paused,
            "rows": [
                {
                    "name": g.name,
                    "symbol": g.symbol,
                    "location": f"0x{g.location:x}",
                    "total": g.total,
                    "last": g.last,
                    "reasons": g.reasons,
                    "protocols": g.protocols,
                    # JSON keys are text: the namespaces' inodes as strings.
                    "namespaces": {str(n): c for n, c in g.namespaces.items()},
                    "history": list(g.history),
                }
                for g in self.shown
            ],
        }
        text = "".join(printable(line) + "\n" for line in lines)
        return {"txt": text, "json": json.dumps(data, indent=1) + "\n"}


def view(options: ViewOptions) -> DropsView:
    return DropsView(live=options.live)
