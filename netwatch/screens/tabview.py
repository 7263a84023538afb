"""What every tab's view shares: a banner, a table, the `/` filter box, pause and snapshot keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from netwatch.host.netns import this_machines_netns
from netwatch.model.filter import FilterError
from netwatch.model.sample import Catchup
from netwatch.screens.plain import PlainStatic, notify_plain
from netwatch.screens.sort_menu import SortMenu
from netwatch.screens.table import FilterableTable


def rows_text(shown: int, matching: int) -> str:
    """How much of what matches the table draws: all of it, or the first `shown` rows."""
    return f"showing {shown} of {matching} rows" if matching > shown else f"{matching} rows"


class TabState(Protocol):
    """A tab's model state: it takes samples and can start over with its settings."""

    def apply(self, sample: Any, /) -> object: ...

    lost: int  # events or counts its probe could not deliver

    def emptied(self) -> Any: ...


StateT = TypeVar("StateT", bound=TabState)


class TabView(Vertical, Generic[StateT]):
    """Subclasses fill the table (`redraw`), say what the banner shows (`banner_parts`), and
    parse filters (`set_filter`, raising FilterError). Collection goes on while paused."""

    DEFAULT_CSS = """
    TabView { height: 1fr; }
    TabView > .tab-banner { height: 1; padding: 0 1; }
    TabView > FilterableTable { height: 1fr; }
    TabView > Input { dock: bottom; display: none; }
    TabView.-paused > .tab-banner { text-style: reverse; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # First, so that the footer shows them at any width (the app binds them too).
        Binding("question_mark", "app.help", "Help"),
        Binding("q", "app.quit", "Quit"),
        Binding("slash", "filter", "Filter"),
        Binding("p,space", "pause", "Pause"),
        Binding("s", "snapshot", "Snapshot"),
        # Every tab sorts: F6 chooses from a list (htop's key), > and < step through it.
        Binding("f6", "sort_menu", "Sort", key_display="F6"),
        Binding("greater_than_sign", "sort_next", "Sort >", show=False),
        Binding("less_than_sign", "sort_prev", "Sort <", show=False),
    ]

    tab_name = ""
    filter_placeholder = ""
    state: StateT  # set by each tab's __init__

    class ViewChanged(Message):
        """Sort, filter, pause or row count changed: the status line may show these."""

    class ControlSource(Message):
        """The view asks something of its own source (the Calls filter chooses which threads
        the kernel traces); the app runs it off the UI thread, in the order asked."""

        def __init__(self, view: TabView[Any], action: Callable[[Any], None]) -> None:
            super().__init__()
            self.view = view
            self.action = action

    class ShowInTab(Message):
        """Open another tab on what this row is (Enter on a Traffic connection row: that
        connection on the Connections tab), as a filter that tab's language reads."""

        def __init__(self, tab: str, filter_text: str, fallback: Callable[[], None]) -> None:
            super().__init__()
            self.tab = tab
            self.filter_text = filter_text
            self.fallback = fallback  # run instead when there is no such tab

    class SnapshotRequested(Message):
        """`s`: the app writes the files, since the SVG is of the whole screen."""

        def __init__(self, view: TabView[Any]) -> None:
            super().__init__()
            self.view = view

    def __init__(self, *, live: bool = True, id: str | None = None) -> None:
        super().__init__(id=id or self.tab_name)
        self.live = live  # False: a recording is being replayed
        self.paused = False
        self.cut_items = 0  # replayed records' items past the cap (record_codec)
        self.status_text = "attaching..."

    def compose(self) -> ComposeResult:
        yield PlainStatic("attaching...", classes="tab-banner", fixed_height=True)
        table = FilterableTable(self, cursor_type="row", zebra_stripes=False)
        self.add_columns(table)
        yield table
        yield Input(placeholder=self.filter_placeholder)

    @property
    def table(self) -> FilterableTable:
        return self.query_one(FilterableTable)

    # ---- for subclasses -----------------------------------------------------------------------
    def add_columns(self, table: FilterableTable) -> None:
        raise NotImplementedError

    def add_sample(self, sample: Any) -> None:
        """One interval's sample from the tab's source (its own Sample subtype)."""
        raise NotImplementedError

    def absorb(self, sample: Any) -> None:
        """Take a sample into the state without drawing (a replay's catch-up)."""
        self.state.apply(sample)

    def reset_state(self) -> None:
        """Forget every sample (a replay went back): the state as at start, settings kept."""
        self.state = self.state.emptied()

    def deliver(self, item: Any) -> None:
        """What the tab's source read: a sample, or a replay's Catchup after a seek (every
        sample now due, drawn once; after a seek back, from a fresh state)."""
        if not isinstance(item, Catchup):
            self.cut_items += item.cut
            self.add_sample(item)
            return
        if item.reset:
            self.reset_state()
        for sample in item.samples:
            self.cut_items += sample.cut
            self.absorb(sample)
        self.redraw()

    def redraw(self) -> None:
        raise NotImplementedError

    def banner_parts(self) -> list[str]:
        raise NotImplementedError

    def filter_text(self) -> str:
        raise NotImplementedError

    def set_filter(self, text: str) -> None:
        """Apply a filter typed by the user (empty clears); raise FilterError to refuse it."""
        raise NotImplementedError

    def snapshot_contents(self) -> dict[str, str]:
        raise NotImplementedError

    def sort_choices(self) -> list[tuple[str, str]]:
        """(key, label) of each order the view can sort by now, in the order `>` steps."""
        raise NotImplementedError

    def current_sort(self) -> str:
        raise NotImplementedError

    def apply_sort(self, key: str) -> None:
        """Sort by `key` (one of sort_choices), in that key's natural direction, and redraw."""
        raise NotImplementedError

    def show_matching(self, text: str) -> None:
        """Another tab's ShowInTab: filter to `text` and draw (a tab may open the one match)."""
        self.set_filter(text)
        self.redraw()

    def lost_events(self) -> int:
        """Events or counts the probe could not deliver, for the status line."""
        return self.state.lost

    # ---- shared -------------------------------------------------------------------------------
    def set_banner(self, text: str) -> None:
        self.status_text = text
        self.update_banner()

    def update_banner(self) -> None:
        parts = (["PAUSED (collecting; p resumes)"] if self.paused else []) + self.banner_parts()
        if self.cut_items:
            parts.append(f"{self.cut_items:,} items of oversized records not replayed")
        # A probe's health can change while the app is leaving, after the view's children are
        # gone (seen in CI): there is no banner to update then, and no reason to crash.
        for banner in self.query(".tab-banner").results(PlainStatic):
            banner.update(" | ".join([*parts, self.status_text]))
        self.set_class(self.paused, "-paused")

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self.redraw()
        else:
            self.update_banner()
            self.post_message(self.ViewChanged())

    def action_sort_next(self) -> None:
        self._step_sort(1)

    def action_sort_prev(self) -> None:
        self._step_sort(-1)

    def cycle_choices(self) -> list[tuple[str, str]]:
        """What `>` and `<` step through: the sort choices, unless a tab offers fewer (only
        what is on screen, where F6 also offers what the width hides)."""
        return self.sort_choices()

    def _step_sort(self, step: int) -> None:
        keys = [key for key, _ in self.cycle_choices()]
        here = keys.index(self.current_sort()) if self.current_sort() in keys else -1
        self.apply_sort(keys[(here + step) % len(keys)])

    def action_sort_menu(self) -> None:
        def chosen(key: str | None) -> None:
            if key is not None:
                self.apply_sort(key)
            self.table.focus()

        self.app.push_screen(SortMenu(self.sort_choices(), self.current_sort()), chosen)

    def action_snapshot(self) -> None:
        self.post_message(self.SnapshotRequested(self))

    def action_filter(self) -> None:
        box = self.query_one(Input)
        box.value = self.filter_text()
        # Synchronously: keys typed or pasted right after '/' must land in the box, and
        # Widget.focus() would only take effect after they were dispatched to the table.
        box.display = True
        self.screen.set_focus(box)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            text = event.value.strip()
            self.set_filter(this_machines_netns(text) if self.live else text)
        except FilterError as exc:
            notify_plain(self.app, f"bad filter: {exc} (previous filter kept)", severity="error")
            return
        self._close_filter()
        self.redraw()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.query_one(Input).display:
            event.stop()
            self._close_filter()

    def _close_filter(self) -> None:
        self.query_one(Input).display = False
        self.screen.set_focus(self.table)
