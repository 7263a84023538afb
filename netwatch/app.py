"""The netwatch TUI: four tabs, a status line, and one probe worker per built tab."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static, TabbedContent, TabPane

from netwatch.probes.requirements import degraded_features
from netwatch.screens.detail import ProcessDetail
from netwatch.screens.help import HelpScreen
from netwatch.screens.messages import HealthChanged, TrafficArrived
from netwatch.screens.traffic import TrafficView
from netwatch.snapshot import SnapshotError, write_snapshot
from netwatch.sources import Health, SourceError, TrafficSource

TAB_TITLES = {"traffic": "Traffic", "calls": "Calls", "accepts": "Accepts", "drops": "Drops"}
NOT_BUILT = {
    "calls": "The Calls tab (socket-trace.stp: per-thread call tree of the socket layer) is not "
    "built yet. It is tracked as issue #5.",
    "accepts": "The Accepts tab (tcp_connections.stp: live log of accepted TCP connections) is "
    "not built yet. It is tracked as issue #3.",
    "drops": "The Drops tab (dropwatch.stp: where and why the kernel drops packets) is not built "
    "yet. It is tracked as issue #4.",
}


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
        traffic_source: TrafficSource,
        *,
        initial_tab: str = "traffic",
        snapshot_dir: Path = Path("."),
        replay: bool = False,
    ) -> None:
        super().__init__()
        self.traffic_source = traffic_source
        self.initial_tab = initial_tab
        self.snapshot_dir = snapshot_dir
        self.replay = replay
        self.fatal_error: str | None = None
        self.last_snapshot: list[Path] = []
        self.health: dict[str, Health] = {"traffic": Health("attaching", "compiling BPF")}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._kernel_notes = [] if replay else degraded_features()

    # ---- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with TabbedContent(initial=f"tab-{self.initial_tab}", id="tabs"):
            with TabPane(TAB_TITLES["traffic"], id="tab-traffic"):
                yield TrafficView(id="traffic")
            for tab, text in NOT_BUILT.items():
                with TabPane(TAB_TITLES[tab], id=f"tab-{tab}"):
                    yield Static(text, classes="not-built")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self._install_signal_handlers()
        self._start_worker("traffic", self._poll_traffic)
        self._update_status()
        if self.initial_tab == "traffic":
            self.query_one(TrafficView).table.focus()

    def _install_signal_handlers(self) -> None:
        # SIGTERM and SIGHUP (an SSH drop) leave like 'q': probes detached, terminal restored.
        import asyncio

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(sig, self.exit)
            except (NotImplementedError, RuntimeError):
                pass

    # ---- probe workers ------------------------------------------------------------------------
    def _start_worker(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"netwatch-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _poll_traffic(self) -> None:
        """Own thread: compiles, then reads once per interval; never touches a widget."""
        source = self.traffic_source
        try:
            source.open()
        except SourceError as exc:
            self.post_message(HealthChanged("traffic", Health("failed", str(exc))))
            return
        except Exception as exc:  # a probe must never take the UI down with a traceback
            self.post_message(HealthChanged("traffic", Health("failed", f"{exc!r}")))
            return
        try:
            self.post_message(HealthChanged("traffic", source.health()))
            next_tick = time.monotonic() + source.interval
            while not self._stop.wait(max(0.0, next_tick - time.monotonic())):
                next_tick += source.interval
                sample = source.read()
                if sample is None:
                    self.post_message(HealthChanged("traffic", source.health()))
                    return
                self.post_message(TrafficArrived(sample))
                if self.replay:
                    self.post_message(HealthChanged("traffic", source.health()))
        except Exception as exc:
            self.post_message(HealthChanged("traffic", Health("failed", f"read failed: {exc!r}")))
        finally:
            source.close()

    def on_unmount(self) -> None:
        self._stop.set()
        # Close first: detaches the probes now, and wakes a worker blocked in read().
        self.traffic_source.close()
        for thread in self._threads:
            thread.join(timeout=15)

    # ---- messages from workers ----------------------------------------------------------------
    def on_traffic_arrived(self, message: TrafficArrived) -> None:
        self.query_one(TrafficView).add_sample(message.sample)
        self._update_status()

    def on_health_changed(self, message: HealthChanged) -> None:
        self.health[message.tab] = message.health
        h = message.health
        if h.state == "failed":
            self.fatal_error = h.detail
        view = self.query_one(TrafficView)
        if h.state in ("attached", "degraded"):
            prefix = "live" if h.state == "attached" else "degraded"
            view.set_banner(f"{prefix}: {h.detail}")
        elif h.state == "failed":
            view.set_banner(f"FAILED: {h.detail}")
        else:
            view.set_banner(h.detail)
        self._update_status()

    def on_traffic_view_view_changed(self, message: TrafficView.ViewChanged) -> None:
        self._update_status()

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
        view = self.query_one(TrafficView)
        h = self.health["traffic"]
        # A replay shows the recorded interval, not how fast it is being played.
        last = view.state.last
        interval = last.interval if self.replay and last else self.traffic_source.interval
        mode = "PAUSED" if view.paused else ("REPLAY" if self.replay else "LIVE")
        parts = [
            f"{mode}",
            f"interval {interval:g}s",
            f"traffic: {h.state}",
            f"lost {view.state.lost}",
            *self._kernel_notes,
        ]
        self.query_one("#status", Static).update(" | ".join(parts))

    # ---- actions ------------------------------------------------------------------------------
    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"
        if tab == "traffic":
            self.query_one(TrafficView).table.focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def on_traffic_view_snapshot_requested(self, message: TrafficView.SnapshotRequested) -> None:
        view = self.query_one(TrafficView)
        contents = view.snapshot_contents()
        contents["svg"] = self.export_screenshot(title="netwatch traffic")
        try:
            written = write_snapshot(self.snapshot_dir, "traffic", contents)
        except SnapshotError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.last_snapshot = list(written.paths)
        self.notify("snapshot: " + ", ".join(str(p) for p in written.paths), timeout=8)
