"""Tables shared by the tabs: burst-safe filter keys, and in-place row updates in rank order."""

from __future__ import annotations

from typing import Protocol

from rich.console import JustifyMethod
from rich.style import Style
from rich.text import Text, TextType
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey

from netwatch.model.untrusted import printable
from netwatch.screens.plain import safe_text, shown


class HasFilter(Protocol):
    def action_filter(self) -> None: ...


class FilterableTable(DataTable[object]):
    """Textual posts each key to the widget focused when the key arrives, and bindings run only
    once a key has bubbled up to the app. In a burst (a paste, tmux send-keys, fast typing over
    SSH) the keys after '/' are already queued here by then, and would run as table commands
    instead of being typed. So '/' opens the owner's filter right here, before the next key is
    taken, and keys that arrive after focus has moved on go to the widget that has it now.
    """

    # The row under the cursor must be unmistakable, focused or not and under NO_COLOR (which
    # keeps reverse and bold): it is the row Enter opens, and it follows its process when the
    # order changes.
    DEFAULT_CSS = """
    FilterableTable > .datatable--cursor { text-style: bold reverse; }
    FilterableTable:focus > .datatable--cursor { text-style: bold reverse; }
    """

    def __init__(self, owner: HasFilter, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._owner = owner

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        # Textual moves a scrollbar's thumb only while the scrollbar shows. Rows that arrive
        # while the view follows the newest can scroll it before the layout shows the bar, and
        # the thumb then sat at the top, over the oldest rows, until the next scroll.
        if shown:
            self.vertical_scrollbar.position = self.scroll_y

    # Every cell of every tab comes in through these two: the one place a table makes sure that
    # a process name or a recording's text is shown, not obeyed (markup, terminal escapes).
    def add_row(
        self,
        *cells: CellType,
        height: int | None = 1,
        key: str | None = None,
        label: TextType | None = None,
    ) -> RowKey:
        return super().add_row(
            *(safe_cell(c) for c in cells),
            height=height,
            key=key,
            label=None if label is None else shown(str(label)),
        )

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: CellType,
        *,
        update_width: bool = False,
    ) -> None:
        super().update_cell(row_key, column_key, safe_cell(value), update_width=update_width)

    def on_key(self, event: events.Key) -> None:
        focused = self.app.focused
        if focused is not None and focused is not self:
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
        elif event.key == "slash":
            event.stop()
            event.prevent_default()
            self._owner.action_filter()
        elif event.key == "end" and hasattr(self._owner, "action_follow"):
            # The table's own End (jump to the last row) would beat the owner's binding, and
            # on a log or a tree "End" means: follow the newest again.
            event.stop()
            event.prevent_default()
            self._owner.action_follow()


class RankedCell(Text):
    """A cell that also carries its row's place in the current order, for DataTable.sort. Its
    text is escaped here: Text itself would silently drop CR and BEL and keep ESC."""

    def __init__(
        self, text: str, rank: int, justify: JustifyMethod = "right", style: str | Style = ""
    ) -> None:
        super().__init__(printable(text), justify=justify, style=style)
        self.rank = rank


def safe_cell(cell: object) -> object:
    """A cell as it may be drawn: Text with its characters escaped (a RankedCell keeps its
    rank), a str as plain Text (DataTable would parse it as markup); anything else as is."""
    if isinstance(cell, RankedCell):  # escaped when made
        return cell
    if isinstance(cell, Text):
        return safe_text(cell)
    if isinstance(cell, str):
        return shown(cell)
    return cell


def sync_rows(
    table: DataTable[object],
    column_ids: list[str],
    rows: list[tuple[str, dict[str, object]]],
    rank_column: str,
) -> None:
    """Make `table` show `rows` (key, cells by column id) in this order, touching only what
    changed: updating by key keeps the cursor and scroll, and costs a third of a rebuild.
    The cell in `rank_column` must be a RankedCell. Call inside App.batch_update()."""
    selected: str | None = None
    if table.row_count:
        try:
            selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # the cursor can sit past the last row while rows are removed
            selected = None
    wanted = dict(rows)
    gone = [k.value for k in table.rows if k.value not in wanted]
    if len(gone) > table.row_count // 2:
        # Mostly new rows (the Calls tree under load): removing one by one costs far more than
        # starting over; the cursor is put back on its row by key below.
        table.clear()
    else:
        for key in gone:
            if key is not None:
                table.remove_row(key)
    for key, cells in rows:
        if key in table.rows:
            for col, old in zip(column_ids, table.get_row(key), strict=True):
                new = safe_cell(cells[col])
                if str(new) != str(old) or _style_changed(new, old) or _rank_changed(new, old):
                    table.update_cell(key, col, new)
        else:
            table.add_row(*(cells[c] for c in column_ids), key=key)
    # Any change makes DataTable draw every visible row again: an interval that changed
    # nothing (an idle host) must change nothing, sorting included.
    if [row.key.value for row in table.ordered_rows] != [key for key, _ in rows]:
        table.sort(rank_column, key=lambda cell: cell.rank)
    if selected is not None and selected in table.rows:
        table.move_cursor(row=table.get_row_index(selected), animate=False)


def _rank_changed(new: object, old: object) -> bool:
    return isinstance(new, RankedCell) and getattr(old, "rank", None) != new.rank


def _style_changed(new: object, old: object) -> bool:
    # Heatmap cells keep their glyphs while their colours change with the scale.
    return isinstance(new, Text) and isinstance(old, Text) and new.spans != old.spans
