"""The netwatch TUI: four tabs, a status line, and one probe worker per built tab."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, TabbedContent, TabPane

from netwatch.model.accepts import AcceptsSample
from netwatch.model.calls import DEFAULT_MAX_CALLS, DEFAULT_MAX_THREADS, CallsSample
from netwatch.model.drops import DropsSample
from netwatch.model.traffic import TrafficSample
from netwatch.probes.requirements import degraded_features
from netwatch.screens.accepts import AcceptsView
from netwatch.screens.calls import CallsView
from netwatch.screens.detail import ProcessDetail
from netwatch.screens.drop_detail import DropDetail
from netwatch.screens.drops import DropsView
from netwatch.screens.help import HelpScreen
from netwatch.screens.messages import HealthChanged, SampleArrived
from netwatch.screens.plain import PlainStatic, notify_plain
from netwatch.screens.tabview import TabView
from netwatch.screens.traffic import TrafficView
from netwatch.snapshot import SnapshotError, write_snapshot
from netwatch.sources import (
    AcceptsSource,
    CallsSource,
    DropsSource,
    Health,
    Source,
    SourceError,
    TrafficSource,
)
from netwatch.terminal import ExitGuard, close_within

# Short words for the status line, which must fit 110 columns with every tab in it.
STATUS_WORDS = {
    "attached": "on",
    "suspended": "off",
    "detached": "off",
    "attaching": "starting",
    "unavailable": "n/a",
}
# How long leaving may take once asked for (q, a signal, a lost terminal) before the process
# ends regardless, releasing its probes with its descriptors.
EXIT_GRACE_S = 5.0
TAB_TITLES = {"traffic": "Traffic", "calls": "Calls", "accepts": "Accepts", "drops": "Drops"}


class NetwatchApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "netwatch"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("1", "tab('traffic')", "Traffic", show=False),
        Binding("2", "tab('calls')", "Calls", show=False),
        Binding("3", "tab('accepts')", "Accepts", show=False),
        Binding("4", "tab('drops')", "Drops", show=False),
    ]

    def __init__(
        self,
        traffic_source: TrafficSource | None,
        drops_source: DropsSource | None = None,
        accepts_source: AcceptsSource | None = None,
        calls_source: CallsSource | None = None,
        *,
        max_rows: int = 10_000,
        max_calls: int = DEFAULT_MAX_CALLS,
        max_threads: int = DEFAULT_MAX_THREADS,
        initial_tab: str = "traffic",
        snapshot_dir: Path = Path("."),
        replay: bool = False,
        unavailable: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.traffic_source = traffic_source
        self.sources: dict[str, Source[object]] = {}
        if traffic_source is not None:
            self.sources["traffic"] = traffic_source
        # Tabs this kernel cannot serve, and why: each says so in its own pane.
        self.unavailable = dict(unavailable or {})
        if drops_source is not None:
            self.sources["drops"] = drops_source
        if accepts_source is not None:
            self.sources["accepts"] = accepts_source
        self.calls_source = calls_source
        self._calls_shown: bool | None = None  # None: not decided yet
        self._calls_actions: queue.SimpleQueue[Callable[[], None]] | None = None
        if calls_source is not None:
            self.sources["calls"] = calls_source
        self.max_rows = max_rows
        self.max_calls = max_calls
        self.max_threads = max_threads
        self.initial_tab = initial_tab
        self.snapshot_dir = snapshot_dir
        self.replay = replay
        self.fatal_error: str | None = None
        self.last_snapshot: list[Path] = []
        self.health: dict[str, Health] = {
            tab: Health("attaching", "compiling BPF") for tab in self.sources
        }
        self.health.update(
            {tab: Health("unavailable", why) for tab, why in self.unavailable.items()}
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._consumed = {tab: threading.Event() for tab in self.sources}
        # Set by the CLI on a real terminal: ends the process if leaving takes too long.
        self.exit_guard: ExitGuard | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit_asked = False
        self._kernel_notes = [] if replay else degraded_features()

    # ---- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with TabbedContent(initial=f"tab-{self.initial_tab}", id="tabs"):
            for tab in TAB_TITLES:
                with TabPane(TAB_TITLES[tab], id=f"tab-{tab}"):
                    if tab == "traffic" and "traffic" in self.sources:
                        yield TrafficView(id="traffic")
                    elif tab == "drops" and "drops" in self.sources:
                        yield DropsView(id="drops")
                    elif tab == "accepts" and "accepts" in self.sources:
                        yield AcceptsView(max_rows=self.max_rows, id="accepts")
                    elif tab == "calls" and "calls" in self.sources:
                        yield CallsView(
                            max_calls=self.max_calls, max_threads=self.max_threads, id="calls"
                        )
                    else:
                        yield PlainStatic(
                            f"{TAB_TITLES[tab]} is not available: {self.unavailable[tab]}"
                            if tab in self.unavailable
                            else f"This session has no {TAB_TITLES[tab]} source: the recording "
                            "holds none.",
                            classes="not-built",
                        )
        yield PlainStatic("", id="status")
        yield Footer()

    def on_load(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._exit_asked:  # a signal came before the event loop ran
            self.exit()

    def request_exit(self) -> None:
        """Leave as soon as possible: safe from a signal handler, any thread, any moment."""
        self._exit_asked = True
        if self.exit_guard is not None:
            self.exit_guard.arm(EXIT_GRACE_S)
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self.exit)

    def exit(self, *args: Any, **kwargs: Any) -> None:
        if self.exit_guard is not None:
            self.exit_guard.arm(EXIT_GRACE_S)
        super().exit(*args, **kwargs)

    def on_mount(self) -> None:
        for tab, source in self.sources.items():
            self._start_worker(tab, source)
        self._attach_calls_if_shown(self.initial_tab)
        self._update_status()
        view = self.view(self.initial_tab)
        if view is not None:
            view.table.focus()

    def view(self, tab: str) -> TabView | None:
        found = self.query(f"#{tab}")
        return found.first(TabView) if found and isinstance(found.first(), TabView) else None

    # ---- probe workers ------------------------------------------------------------------------
    def _start_worker(self, tab: str, source: Source[object]) -> None:
        thread = threading.Thread(
            target=self._poll, args=(tab, source), name=f"netwatch-{tab}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _poll(self, tab: str, source: Source[object]) -> None:
        """One per tab, in its own thread: compiles, then reads once per interval; never touches
        a widget (messages only), so the UI never waits on a probe."""
        try:
            source.open()
        except SourceError as exc:
            self.post_message(HealthChanged(tab, Health("failed", str(exc))))
            return
        except Exception as exc:  # a probe must never take the UI down with a traceback
            self.post_message(HealthChanged(tab, Health("failed", f"{exc!r}")))
            return
        consumed = self._consumed[tab]
        try:
            self.post_message(HealthChanged(tab, source.health()))
            next_tick = time.monotonic() + source.interval
            while not self._stop.wait(max(0.0, next_tick - time.monotonic())):
                next_tick += source.interval
                sample = source.read()
                if sample is None:
                    self.post_message(HealthChanged(tab, source.health()))
                    return
                consumed.clear()
                self.post_message(SampleArrived(tab, sample))
                if self.replay:
                    self.post_message(HealthChanged(tab, source.health()))
                # One sample in flight per tab: when the UI is slower than the probe (the Calls
                # tab on a busy host), reads come less often and each holds more, instead of a
                # queue of samples that grows without bound while keys wait behind it. What a
                # probe cannot hold meanwhile, it counts as lost.
                while not consumed.wait(0.1):
                    if self._stop.is_set():
                        return
                next_tick = max(next_tick, time.monotonic())
        except SourceError as exc:  # a corrupt record deep in a recording: its own words
            self.post_message(HealthChanged(tab, Health("failed", str(exc))))
        except Exception as exc:
            self.post_message(HealthChanged(tab, Health("failed", f"read failed: {exc!r}")))
        finally:
            source.close()

    def wait_workers(self, seconds: float) -> bool:
        """True if every probe worker has finished within `seconds`: one still compiling
        cannot be interrupted, and the process must not finalize under it (LLVM aborts)."""
        deadline = time.monotonic() + seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def on_unmount(self) -> None:
        self._stop.set()
        # Close first: detaches the probes now, and wakes a worker blocked in read(). A probe
        # still compiling holds its lock: the terminal is not kept waiting for it (the CLI
        # closes what is left, within a bound, once the terminal is restored).
        close_within([s.close for s in self.sources.values()], 1.0)

    # ---- messages from workers ----------------------------------------------------------------
    def on_sample_arrived(self, message: SampleArrived) -> None:
        try:
            self._show_sample(message)
        finally:
            self._consumed[message.tab].set()

    def _show_sample(self, message: SampleArrived) -> None:
        sample = message.sample
        # view() is None for a tab without a source, and for all of them while tearing down.
        view = self.view(message.tab)
        if isinstance(sample, TrafficSample) and isinstance(view, TrafficView):
            view.add_sample(sample)
        elif isinstance(sample, DropsSample) and isinstance(view, DropsView):
            view.add_sample(sample)
        elif isinstance(sample, AcceptsSample) and isinstance(view, AcceptsView):
            view.add_sample(sample)
        elif isinstance(sample, CallsSample) and isinstance(view, CallsView):
            view.add_sample(sample)
        self._update_status()

    def on_health_changed(self, message: HealthChanged) -> None:
        self.health[message.tab] = message.health
        h = message.health
        if h.state == "failed":
            self.fatal_error = "; ".join(
                f"{tab}: {hh.detail}" for tab, hh in self.health.items() if hh.state == "failed"
            )
        view = self.view(message.tab)
        if view is None:
            self._update_status()
            return
        if h.state in ("attached", "degraded"):
            prefix = "live" if h.state == "attached" else "degraded"
            view.set_banner(f"{prefix}: {h.detail}")
        elif h.state == "failed":
            view.set_banner(f"FAILED: {h.detail}")
        else:
            view.set_banner(h.detail)
        self._update_status()

    def on_tab_view_view_changed(self, message: TabView.ViewChanged) -> None:
        self._update_status()

    # ---- the Calls probe streams per call: attached only while its tab is shown -------------
    def on_tabbed_content_tab_activated(self, message: TabbedContent.TabActivated) -> None:
        self._attach_calls_if_shown((message.pane.id or "").removeprefix("tab-"))

    def _attach_calls_if_shown(self, tab: str) -> None:
        source = self.calls_source
        shown = tab == "calls"
        if source is None or shown == self._calls_shown:
            return
        self._calls_shown = shown
        self._calls_control(source.resume if shown else source.suspend)

    def _calls_control(self, action: Callable[[], None]) -> None:
        """Attaching a dozen tracepoints takes a moment the UI should not wait for; one thread
        does these in the order asked, so a quick tab switch back and forth ends attached."""
        if self._calls_actions is None:
            self._calls_actions = queue.SimpleQueue()
            threading.Thread(target=self._run_calls_actions, name="netwatch-calls-control",
                             daemon=True).start()  # fmt: skip
        self._calls_actions.put(action)

    def _run_calls_actions(self) -> None:
        assert self._calls_actions is not None
        while True:
            action = self._calls_actions.get()
            try:
                action()
            except Exception as exc:  # BCC raises bare Exception when a tracepoint won't attach
                self.post_message(HealthChanged("calls", Health("failed", f"attach: {exc}")))
                continue
            if self.calls_source is not None and not self.replay:
                self.post_message(HealthChanged("calls", self.calls_source.health()))

    def on_calls_view_threads_changed(self, message: CallsView.ThreadsChanged) -> None:
        source = self.calls_source
        if source is None:
            return
        t = message.threads
        self._calls_control(lambda: source.set_threads(t.pids, t.tids, t.comms))

    def on_drops_view_selected_group(self, message: DropsView.SelectedGroup) -> None:
        self.push_screen(DropDetail(message.group, message.grouping, live=not self.replay))

    def on_traffic_view_selected_process(self, message: TrafficView.SelectedProcess) -> None:
        key = message.key
        if not key.attributed:
            self.notify("unattributed traffic has no process to show")
            return
        view = self.query_one(TrafficView)
        interval = view.state.last.interval if view.state.last else 1.0
        history = view.state.history.get(key.pid, ())
        self.push_screen(ProcessDetail(key, history, interval))

    def _update_status(self) -> None:
        found = self.query("#status")
        if not found:  # a message that arrives while the app is being torn down
            return
        # A replay shows the recorded interval, not how fast it is being played.
        traffic = self.query(TrafficView)
        last = traffic.first().state.last if traffic else None
        source = self.traffic_source
        interval = last.interval if self.replay and last else (source.interval if source else 1.0)
        active = self.view(self._active_tab())
        mode = (
            "PAUSED"
            if active is not None and active.paused
            else ("REPLAY" if self.replay else "LIVE")
        )
        lost = sum(v.lost_events() for v in self.query(TabView))
        parts = [
            f"{mode}",
            f"interval {interval:g}s",
            *(f"{tab} {STATUS_WORDS.get(h.state, h.state)}" for tab, h in self.health.items()),
            f"lost {lost}",
            *self._kernel_notes,
        ]
        self.query_one("#status", PlainStatic).update(" | ".join(parts))

    # ---- actions ------------------------------------------------------------------------------
    def _active_tab(self) -> str:
        try:
            return (self.query_one(TabbedContent).active or "tab-traffic").removeprefix("tab-")
        except Exception:  # before the tabs are mounted
            return self.initial_tab

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"
        view = self.view(tab)
        if view is not None:
            view.table.focus()
        self._update_status()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def on_tab_view_snapshot_requested(self, message: TabView.SnapshotRequested) -> None:
        view = message.view
        contents = view.snapshot_contents()
        contents["svg"] = self.export_screenshot(title=f"netwatch {view.tab_name}")
        try:
            written = write_snapshot(self.snapshot_dir, view.tab_name, contents)
        except SnapshotError as exc:
            notify_plain(self, str(exc), severity="error", timeout=8)
            return
        self.last_snapshot = list(written.paths)
        notify_plain(self, "snapshot: " + ", ".join(str(p) for p in written.paths), timeout=8)
