"""The Calls tab: socket-trace.stp as a live tree. Threads (under their process) hold their
recent socket calls; each call holds the socket-layer events that fired inside it. A summary
view folds each thread's calls by name: count, total and longest time, errors."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import DataTable

from netwatch.host.netns import NetnsNames
from netwatch.model.filter import PLACE_HINT
from netwatch.screens.following import FollowingView
from netwatch.screens.table import FilterableTable, sync_rows
from netwatch.tabs.calls.formats import ThreadIndent
from netwatch.tabs.calls.model import (
    DEFAULT_MAX_CALLS,
    DEFAULT_MAX_THREADS,
    CallEvent,
    CallNode,
    CallsSample,
    CallsState,
    ThreadCalls,
)
from netwatch.tabs.calls.screen.detail import CallDetail
from netwatch.tabs.calls.screen.rows import (
    PAD,
    call_key,
    fold_rows,
    process_row,
    thread_key,
    tree_rows,
)
from netwatch.tabs.calls.view_model import (
    THREAD_SORT_LABELS,
    THREAD_SORTS,
    CallsFilter,
    KernelThreads,
    parse_calls_filter,
    sort_threads,
)
from netwatch.tabs.tab import Screenshot, ViewOptions

MAX_DRAWN_ROWS = 1500
REDRAW_EVERY_S = 1.0
CALLS_DRAWN_PER_THREAD = 40
TREE_COLUMNS = (("time", "TIME", 12), ("tree", "CALL TREE", 0), ("result", "RESULT", 16),
                ("dur", "DURATION", 10))  # fmt: skip
FOLD_COLUMNS = (("tree", "THREAD / CALL", 0), ("count", "COUNT", 8), ("total", "TOTAL", 10),
                ("max", "MAX", 10), ("errors", "ERRORS", 7))  # fmt: skip


# Its part of the help screen (`?`): its heading, then its keys.
HELP = (Path(__file__).parents[1] / "help.txt").read_text(encoding="utf-8")  # the tab's folder


# The first thread, from its first call.
SCREENSHOT = Screenshot("calls-demo.nwrec", ("home",), (140, 34))


class CallsView(FollowingView[CallsState]):
    """Owns the Calls state and draws it as a tree or as the folded summary."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "fold", "Tree/summary"),
        Binding("plus", "expand_all", "Expand all"),
        Binding("minus", "collapse_all", "Collapse all"),
        Binding("r", "reverse", "Reverse"),
        Binding("i", "inspect", "Whole call"),
    ]
    # In the tree the newest call can be anywhere: any move away from it stops following.
    leave_keys = ("up", "down", "pageup", "pagedown", "home", "ctrl+home")
    tab_name = "calls"
    filter_placeholder = (
        f"filter: pid:N tid:N comm:NAME call:NAME|PREFIX* {PLACE_HINT} free text (!term negates)"
    )

    def __init__(
        self,
        *,
        max_calls: int = DEFAULT_MAX_CALLS,
        max_threads: int = DEFAULT_MAX_THREADS,
        live: bool = True,
        id: str | None = None,
    ) -> None:
        super().__init__(live=live, id=id)
        self.netns_names = NetnsNames(walk=False)  # ip netns names, "host": a few stats
        self.state = CallsState(max_calls=max_calls, max_threads=max_threads)
        self.filter: CallsFilter | None = None
        self.folded = False
        self.sort_by = "recent"
        self.reverse = False
        self.expand_default = True
        self.toggled: set[str] = set()  # row keys whose expansion differs from the default
        self._drawn_threads: list[ThreadCalls] = []
        self._drawn_calls: dict[int, list[CallNode]] = {}
        self._tree_width = 60
        self._last_redraw = 0.0
        self.drawn_samples = 0  # how many samples the drawn tree includes
        self._pending_redraw: Timer | None = None

    # ---- table --------------------------------------------------------------------------------
    def _columns(self) -> tuple[tuple[str, str, int], ...]:
        return FOLD_COLUMNS if self.folded else TREE_COLUMNS

    def add_columns(self, table: FilterableTable) -> None:
        fixed = sum(w + 2 for _, _, w in self._columns() if w)
        self._tree_width = max(30, self.app.size.width - fixed - 4)
        for key, label, width in self._columns():
            table.add_column(label, key=key, width=width or self._tree_width)

    def _reset_columns(self) -> None:
        self.table.clear(columns=True)
        self.add_columns(self.table)

    def on_resize(self) -> None:
        fixed = sum(w + 2 for _, _, w in self._columns() if w)
        if max(30, self.app.size.width - fixed - 4) != self._tree_width:
            self._reset_columns()
            self.redraw()

    # ---- data in ------------------------------------------------------------------------------
    def add_sample(self, sample: CallsSample) -> None:
        self.state.apply(sample)  # tracing goes on while paused, into the bounded state
        if self.paused:
            return
        # Samples come several times a second; the tree is redrawn at most once a second.
        now = time.monotonic()
        if now - self._last_redraw >= REDRAW_EVERY_S:
            self.redraw()
        elif self._pending_redraw is None:
            delay = REDRAW_EVERY_S - (now - self._last_redraw)
            self._pending_redraw = self.set_timer(delay, self._redraw_later)

    def _redraw_later(self) -> None:
        self._pending_redraw = None
        if not self.paused:
            self.redraw()

    def expanded(self, key: str) -> bool:
        return self.expand_default != (key in self.toggled)

    # ---- drawing ------------------------------------------------------------------------------
    def _threads(self) -> list[ThreadCalls]:
        shown = [t for t in self.state.threads.values() if self._thread_shown(t)]
        return sort_threads(shown, self.sort_by, self.reverse)

    def _thread_shown(self, t: ThreadCalls) -> bool:
        if self.filter is None:
            return True
        if not self.filter.matches_thread(t, self.state.context_of(t.pid)):
            return False
        return any(self.filter.matches_call(t, c) for c in t.calls) or not t.calls

    def _calls(self, t: ThreadCalls) -> list[CallNode]:
        calls = list(t.calls)
        if self.filter is not None:
            calls = [c for c in calls if self.filter.matches_call(t, c)]
        return calls[-CALLS_DRAWN_PER_THREAD:]

    def redraw(self) -> None:
        self._last_redraw = time.monotonic()
        self.drawn_samples = self.state.samples
        threads = self._threads()
        rows: list[tuple[str, dict[str, object]]] = []
        self._drawn_threads = []
        self._drawn_calls = {}
        per_process: dict[int, int] = {}
        for t in threads:
            per_process[t.pid] = per_process.get(t.pid, 0) + 1
        last_pid = -1
        for t in threads:
            if len(rows) >= MAX_DRAWN_ROWS:
                break
            grouped = per_process[t.pid] > 1 and not self.folded
            if grouped and t.pid != last_pid:
                rows.append(process_row(t, per_process[t.pid], len(rows), self.expanded))
            last_pid = t.pid
            if grouped and not self.expanded(f"p{t.pid}"):
                continue
            self._drawn_threads.append(t)
            calls = self._calls(t)
            self._drawn_calls[t.tid] = calls
            if self.folded:
                rows += fold_rows(t, len(rows), self.filter)
            else:
                place = self.state.context_of(t.pid)
                # Live, a namespace `ip netns` named shows by that name (a replay's are another
                # machine's: by inode).
                name = self.netns_names.name(place.netns) if self.live else ""
                rows += tree_rows(t, calls, len(rows), self.expanded, PAD if grouped else "",
                                  place, name)  # fmt: skip
        table = self.table
        column_ids = [c[0] for c in self._columns()]
        with self.app.batch_update():
            sync_rows(table, column_ids, rows[:MAX_DRAWN_ROWS], "tree")
            self.follow_cursor()
        self.update_banner()
        self.post_message(self.ViewChanged())

    def newest_call(self) -> CallNode | None:
        newest: CallNode | None = None
        for calls in self._drawn_calls.values():
            if calls and (newest is None or calls[-1].id > newest.id):
                newest = calls[-1]
        return newest

    def follow_cursor(self) -> None:
        if not self.follow or not self.table.row_count:
            return
        target = None
        node = self.newest_call()
        if node is not None and not self.folded:
            owner = next((t for t in self._drawn_threads if t.tid == node.enter.tid), None)
            if owner is not None and self.expanded(thread_key(owner)):
                target = call_key(node)
        if target is not None and target in self.table.rows:
            self.table.move_cursor(row=self.table.get_row_index(target), animate=False)
        else:
            self.table.move_cursor(row=0, animate=False)

    # ---- keys ---------------------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter: open or close the thread or call under the cursor."""
        event.stop()
        key = event.row_key.value
        if key is None or key.startswith("f") or "." in key:
            return
        self.toggled ^= {key}
        self.follow = False  # the user is looking at this node: keep it where it is
        self.redraw()

    def action_inspect(self) -> None:
        """The call under the cursor (or the call of the line under it), in full."""
        if not self.table.row_count:
            return
        key = self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key.value
        call = (key or "").split(".", 1)[0]
        for thread in self.state.threads.values():
            for node in thread.calls:
                if call_key(node) == call:
                    self.app.push_screen(CallDetail(thread, node))
                    return

    def action_fold(self) -> None:
        self.folded = not self.folded
        self._reset_columns()
        self.redraw()

    def action_expand_all(self) -> None:
        self.expand_default = True
        self.toggled.clear()
        self.redraw()

    def action_collapse_all(self) -> None:
        """Calls fold up to one line each; threads stay open."""
        self.expand_default = False
        self.toggled = {thread_key(t) for t in self.state.threads.values()}
        self.redraw()

    def sort_choices(self) -> list[tuple[str, str]]:
        return [(key, THREAD_SORT_LABELS[key]) for key in THREAD_SORTS]

    def current_sort(self) -> str:
        return self.sort_by

    def apply_sort(self, key: str) -> None:
        self.sort_by = key
        self.redraw()

    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self.redraw()

    # ---- banner, filter, snapshot -------------------------------------------------------------
    def banner_parts(self) -> list[str]:
        s = self.state
        parts = [
            self.follow_text(),
            "summary" if self.folded else "tree",
            f"threads by {self.sort_by}{' (reversed)' if self.reverse else ''}",
        ]
        if self.filter:
            parts.append(f"filter '{self.filter.text}'")
        kept = sum(len(t.calls) for t in s.threads.values())
        parts.append(f"{len(s.threads)} threads, {kept} calls kept")
        if s.calls_dropped or s.threads_dropped:
            parts.append(
                f"dropped {s.calls_dropped} calls, {s.threads_dropped} threads "
                f"(--max-calls {s.max_calls}, --max-threads {s.max_threads})"
            )
        if s.lost:
            parts.append(f"LOST {s.lost}")
        return parts

    def filter_text(self) -> str:
        return self.filter.text if self.filter else ""

    def set_filter(self, text: str) -> None:
        self.filter = parse_calls_filter(text) if text else None
        t = self.filter.kernel_threads() if self.filter else KernelThreads()
        # Threads nobody asked for cost nothing: the kernel is told which to trace.
        self.post_message(
            self.ControlSource(self, lambda s: s.set_threads(t.pids, t.tids, t.comms))
        )

    def shown_events(self) -> list[CallEvent]:
        """The drawn calls as the event stream they came from, oldest first."""
        out: list[CallEvent] = []
        for calls in self._drawn_calls.values():
            for node in calls:
                out.append(node.enter)
                out += node.events
                if node.exit is not None:
                    out.append(node.exit)
        out.sort(key=lambda e: e.ts)
        return out

    def snapshot_contents(self) -> dict[str, str]:
        """What is drawn: socket-trace.stp's lines, and JSON (the batch mode's objects)."""
        stream = self.shown_events()
        indent = ThreadIndent()
        text = "".join(indent.line(ev) + "\n" for ev in stream)
        indent = ThreadIndent()
        data = {
            "tab": "calls",
            "filter": self.filter_text(),
            "paused": self.paused,
            "lost": self.state.lost,
            "calls_dropped": self.state.calls_dropped,
            "threads_dropped": self.state.threads_dropped,
            "events": [indent.record(ev) for ev in stream],
        }
        return {"txt": text, "json": json.dumps(data, indent=1) + "\n"}


def view(options: ViewOptions) -> CallsView:
    return CallsView(
        max_calls=options.settings.get("max_calls", DEFAULT_MAX_CALLS),
        max_threads=options.settings.get("max_threads", DEFAULT_MAX_THREADS),
        live=options.live,
    )
