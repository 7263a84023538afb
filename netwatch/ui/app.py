"""The netwatch TUI: the tabs of netwatch.tabs, a status line, and one probe worker per tab that
has a source (netwatch.ui.probe_workers). Nothing here is particular to one tab."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, TabbedContent, TabPane

from netwatch.model.sample import Catchup, Sample
from netwatch.probes.requirements import degraded_features
from netwatch.recording.clock import ReplayClock
from netwatch.recording.flight import save_samples
from netwatch.recording.ring import RecordRing
from netwatch.screens.help import HelpScreen, help_text
from netwatch.screens.messages import HealthChanged, SampleArrived
from netwatch.screens.plain import PlainStatic, notify_plain
from netwatch.screens.replay_bar import ReplayBar
from netwatch.screens.table import FilterableTable
from netwatch.screens.tabview import TabView
from netwatch.sources.base import AttachedWhileShown, Health, Source
from netwatch.tabs import TABS, ViewOptions, codecs
from netwatch.ui.probe_workers import ProbeWorkers
from netwatch.ui.snapshot import SnapshotError, write_snapshot
from netwatch.ui.terminal import ExitGuard, finished_within, start_closing

# Short words for the status line, which must fit 110 columns with every tab in it.
STATUS_WORDS = {
    "attached": "on",
    "suspended": "off",
    "detached": "off",
    "attaching": "starting",
    "unavailable": "n/a",
}
# How long leaving may take once asked for (q, a signal, a lost terminal) before the process
# ends regardless, releasing its probes with its descriptors. 4 s, so that with the kernel's
# release of the probes' descriptors the whole exit stays within the 5 s promised.
EXIT_GRACE_S = 4.0
# Detaching takes milliseconds; a close that takes longer waits on a compile, which the CLI
# deals with once the terminal is back.
UNMOUNT_CLOSE_S = 0.2

DEFAULT_VIEW_OPTIONS = ViewOptions()


WINDOW_S = 300.0  # what `W` saves: the last 5 minutes,
WINDOW_MAX_ITEMS = 1_000_000  # or fewer where the tabs brought more rows and events than this


class NetwatchApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "netwatch"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("W", "save_window", "Save window", show=False),
        *(Binding(t.key, f"tab('{t.name}')", t.title, show=False) for t in TABS),
        # Tab moves between tabs, as the number keys do, instead of moving the focus off the
        # table (where the view's keys stop working and the footer loses them).
        Binding("tab", "next_tab(1)", "Next tab", show=False, priority=True),
        Binding("shift+tab", "next_tab(-1)", "Previous tab", show=False, priority=True),
        # A replay's clock (all tabs at once); the replay bar lists them. Ahead of the views' own
        # keys (`p` and Space pause a view's display when live), but never while typing a filter.
        *(
            Binding(key, f"replay('{what}')", show=False, priority=True)
            for key, what in (
                ("space,p", "pause"),
                ("full_stop", "step"),
                ("comma", "back"),
                ("right_square_bracket", "+10"),
                ("left_square_bracket", "-10"),
                ("right_curly_bracket", "+60"),
                ("left_curly_bracket", "-60"),
                ("right_parenthesis", "faster"),
                ("left_parenthesis", "slower"),
            )
        ),
    ]

    def __init__(
        self,
        sources: Mapping[str, Source[Any]],
        *,
        view_options: ViewOptions = DEFAULT_VIEW_OPTIONS,
        initial_tab: str = TABS[0].name,
        snapshot_dir: Path = Path("."),
        replay: bool = False,
        unavailable: dict[str, str] | None = None,
        replay_clock: ReplayClock | None = None,
        notes: Sequence[str] = (),
    ) -> None:
        # NO_COLOR: Textual's answer is greys (its Monochrome filter, 256-colour codes) unless
        # the app paints in the terminal's own ANSI colours, which it then strips entirely
        # (its NoColor filter). no-color.org asks for no colour at all; the cursor row and the
        # heatmap's levels are reverse, bold and glyphs, so nothing is lost.
        super().__init__(ansi_color=True if os.environ.get("NO_COLOR") is not None else None)
        self.replay_clock = replay_clock
        # In the tab bar's order; a tab without a source shows why in its pane.
        self.sources: dict[str, Source[Any]] = {
            t.name: sources[t.name] for t in TABS if sources.get(t.name) is not None
        }
        # Tabs this kernel cannot serve, and why: each says so in its own pane.
        self.unavailable = dict(unavailable or {})
        self._shown: dict[str, bool] = {}  # of sources attached only while shown
        self._last_interval: dict[str, float] = {}
        self.view_options = dataclasses.replace(view_options, live=not replay)
        self.initial_tab = initial_tab
        self.snapshot_dir = snapshot_dir
        self.replay = replay
        self.fatal_error: str | None = None
        self.last_snapshot: list[Path] = []
        self.last_window: Path | None = None
        self.health: dict[str, Health] = {
            tab: Health("attaching", "compiling BPF") for tab in self.sources
        }
        self.health.update(
            {tab: Health("unavailable", why) for tab, why in self.unavailable.items()}
        )
        self.probe_workers = ProbeWorkers(
            self.sources,
            lambda tab, sample: self.post_message(SampleArrived(tab, sample)),
            lambda tab, health: self.post_message(HealthChanged(tab, health)),
            replay=replay,
        )
        # Set by the CLI on a real terminal: ends the process if leaving takes too long.
        self.exit_guard: ExitGuard | None = None
        # Told once the app is leaving: the CLI stops the compiles queued (no-op in tests).
        self.leaving: Callable[[], None] = lambda: None
        self._exit_loop: asyncio.AbstractEventLoop | None = None
        self._exit_asked = False
        self._probe_closes: list[threading.Thread] | None = None  # the probes' closes, once leaving
        # What the status line says beside the tabs: what this kernel lacks, or what made the
        # recording replayed (a flight recorder's trigger).
        self._kernel_notes = [*notes, *([] if replay else degraded_features())]
        self._views: dict[str, TabView[Any]] = {}
        self._status: PlainStatic | None = None
        # Every tab's samples of the last minutes, kept as they came (encoded only if saved):
        # `W` writes them as a recording, so what was just seen can be kept.
        self.window: RecordRing[Sample[Any]] = RecordRing(
            WINDOW_S, lambda s: len(s.items) + 1, WINDOW_MAX_ITEMS
        )

    # ---- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with TabbedContent(initial=f"tab-{self.initial_tab}", id="tabs"):
            for tab in TABS:
                with TabPane(tab.title, id=f"tab-{tab.name}"):
                    if tab.name in self.sources:
                        yield tab.view(self.view_options)
                    else:
                        yield PlainStatic(
                            f"{tab.title} is not available: {self.unavailable[tab.name]}"
                            if tab.name in self.unavailable
                            else f"This session has no {tab.title} source: the recording "
                            "holds none.",
                            classes="not-built",
                        )
        if self.replay_clock is not None:
            yield ReplayBar(self.replay_clock, id="replay-bar")
        yield PlainStatic("", id="status", fixed_height=True)
        # Ctrl-P still opens the palette; its footer entry took the room of `? Help` at 80 columns.
        yield Footer(show_command_palette=False)

    def on_ready(self) -> None:
        # Exit requests are acted on only from here, when the first frame is up. Textual
        # tears the DOM down as it mounts it if asked to exit before: TabbedContent's tabs then
        # raise "No Tab with id" and a SIGTERM 0.3 s in ended as a crash (CI, 40df633).
        self._exit_loop = asyncio.get_running_loop()
        if self._exit_asked:  # a signal came before the first frame
            self.exit()

    def request_exit(self) -> None:
        """Leave as soon as possible: safe from a signal handler, any thread, any moment."""
        self._exit_asked = True
        if self.exit_guard is not None:
            self.exit_guard.arm(EXIT_GRACE_S)
        if self._exit_loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._exit_loop.call_soon_threadsafe(self.exit)

    def exit(self, *args: Any, **kwargs: Any) -> None:
        if self.exit_guard is not None:
            self.exit_guard.arm(EXIT_GRACE_S)
        self._start_closing()
        super().exit(*args, **kwargs)

    def _start_closing(self) -> list[threading.Thread]:
        """Detach every probe from now on, while Textual takes its own 0.2 s to stop reading
        the terminal: the kernel waits out a grace period for each perf-event tracepoint
        closed, and a Ctrl-C during the compiles took a second to leave (CI, 8529d5e). The
        workers stop first; returns the closes under way (begun once, whoever asks first)."""
        if self._probe_closes is None:
            self.leaving()
            self.probe_workers.stop()
            self._probe_closes = start_closing([s.close for s in self.sources.values()])
        return self._probe_closes

    def on_mount(self) -> None:
        self._views = {v.tab_name: v for v in self.query(TabView)}
        self._status = self.query_one("#status", PlainStatic)
        self.probe_workers.start(self.initial_tab)
        self._attach_while_shown(self.initial_tab)
        self._update_status()
        view = self.view(self.initial_tab)
        if view is not None:
            view.table.focus()

    def view(self, tab: str) -> TabView[Any] | None:
        """The tab's view; None for a tab without a source, and for all while tearing down
        (a message from a worker can arrive after the views are gone). Kept by name: a query
        walks the DOM, and this runs for every sample of every tab."""
        view = self._views.get(tab)
        return view if view is not None and view.is_attached else None

    # ---- probe workers ------------------------------------------------------------------------
    def wait_workers(self, seconds: float) -> bool:
        return self.probe_workers.wait(seconds)

    def on_unmount(self) -> None:
        self._views = {}
        self._status = None
        # The closes (begun by exit(), or now) detach the probes and wake a worker blocked in
        # read(). A probe still compiling holds the compiler's lock, which detaching needs too:
        # the terminal is not kept waiting for it (the CLI deals with what is left once it is
        # restored).
        finished_within(self._start_closing(), UNMOUNT_CLOSE_S)

    # ---- messages from workers ----------------------------------------------------------------
    def on_sample_arrived(self, message: SampleArrived) -> None:
        try:
            self._show_sample(message)
        finally:
            self.probe_workers.consumed(message.tab)

    def _show_sample(self, message: SampleArrived) -> None:
        sample = message.sample
        self._keep(message.tab, sample)
        if isinstance(sample, Sample):
            self._last_interval[message.tab] = sample.interval
        # view() is None for a tab without a source, and for all of them while tearing down.
        view = self.view(message.tab)
        if view is not None:
            view.deliver(sample)
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

    def on_tab_view_show_in_tab(self, message: TabView.ShowInTab) -> None:
        views = [v for v in self.query(TabView) if v.tab_name == message.tab]
        if not views:
            message.fallback()  # not a tab of this session (a recording without it)
            return
        self.action_tab(message.tab)
        views[0].show_matching(message.filter_text)

    # ---- sources that cost enough to be attached only while their tab is shown ------------
    def on_tabbed_content_tab_activated(self, message: TabbedContent.TabActivated) -> None:
        self._attach_while_shown((message.pane.id or "").removeprefix("tab-"))

    def _attach_while_shown(self, active: str) -> None:
        self.probe_workers.start_deferred(only=active)
        for tab, source in self.sources.items():
            if not isinstance(source, AttachedWhileShown):
                continue
            shown = tab == active
            if self._shown.get(tab) == shown:
                continue
            self._shown[tab] = shown
            self.probe_workers.control(tab, source.resume if shown else source.suspend)

    def on_tab_view_control_source(self, message: TabView.ControlSource) -> None:
        source = self.sources.get(message.view.tab_name)
        if source is not None:
            action = message.action
            self.probe_workers.control(message.view.tab_name, lambda: action(source))

    def _update_status(self) -> None:
        if self._status is None:  # before mounting, or a message that arrives while tearing down
            return
        # The first tab's interval (the one --interval sets); a replay shows the recorded one,
        # not how fast it is being played.
        first = next(iter(self.sources), None)
        interval = self.sources[first].interval if first else 1.0
        if self.replay and first in self._last_interval:
            interval = self._last_interval[first]
        active = self.view(self._active_tab())
        clock_paused = self.replay_clock is not None and self.replay_clock.paused
        mode = (
            "PAUSED"
            if clock_paused or (active is not None and active.paused)
            else ("REPLAY" if self.replay else "LIVE")
        )
        lost = sum(v.lost_events() for v in self._views.values())
        parts = [
            f"{mode}",
            f"interval {interval:g}s",
            *(f"{tab} {STATUS_WORDS.get(h.state, h.state)}" for tab, h in self.health.items()),
            f"lost {lost}",
            *self._kernel_notes,
        ]
        self._status.update(" | ".join(parts))

    # ---- actions ------------------------------------------------------------------------------
    def _active_tab(self) -> str:
        try:
            active = self.query_one(TabbedContent).active
            return active.removeprefix("tab-") if active else self.initial_tab
        except Exception:  # before the tabs are mounted
            return self.initial_tab

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"
        view = self.view(tab)
        if view is not None:
            view.table.focus()
        self._update_status()

    def _on_main_screen(self) -> bool:
        """Not under the help screen or a detail screen, which keep their own keys and focus."""
        return self.screen is self.screen_stack[0]

    def action_next_tab(self, step: int) -> None:
        if isinstance(self.focused, Input) or not self._on_main_screen():
            return  # typing a filter, or in the help or a detail: Tab does nothing there
        names = [t.name for t in TABS]
        active = self._active_tab()
        here = names.index(active) if active in names else 0
        self.action_tab(names[(here + step) % len(names)])

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The focus belongs on the shown view's table (or its filter box): a click on the tab
        bar or a pane without a source must not leave the view's keys dead."""
        widget = event.widget
        if isinstance(widget, Input | FilterableTable):
            return
        if not self._on_main_screen():
            return
        view = self.view(self._active_tab())
        if view is not None:
            self.call_after_refresh(view.table.focus)

    # ---- a replay's clock ---------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "replay":
            # Declined, the key goes on to the view or the filter box as if unbound.
            return (
                self.replay_clock is not None
                and not isinstance(self.focused, Input)
                and self._on_main_screen()
            )
        return True

    def action_replay(self, what: str) -> None:
        clock = self.replay_clock
        if clock is None:
            return
        if what == "pause":
            clock.toggle_pause()
        elif what in ("step", "back"):
            clock.step(1 if what == "step" else -1)
        elif what in ("faster", "slower"):
            clock.faster(1 if what == "faster" else -1)
        else:
            clock.seek(float(what))
        self.query_one(ReplayBar).show_position()
        self._update_status()

    def action_help(self) -> None:
        active = self.query_one(TabbedContent).active.removeprefix("tab-")
        shown = next((t.title for t in TABS if t.name == active), "")
        self.push_screen(HelpScreen(help_text([(t.key, t.title, t.help()) for t in TABS], shown)))

    # ---- the window kept, saved as a recording ------------------------------------------------
    def _keep(self, tab: str, sample: object) -> None:
        now = time.monotonic()
        if isinstance(sample, Catchup):  # a replay's seek: what it hands over is now the past
            if sample.reset:
                self.window.clear()
            for s in sample.samples:
                self.window.add(tab, s, now)
        elif isinstance(sample, Sample):
            self.window.add(tab, sample, now)

    def action_save_window(self) -> None:
        held = list(self.window.items())
        if not held:
            notify_plain(self, "save window: nothing has arrived yet", severity="warning")
            return
        tabs = list(dict.fromkeys(h.tab for h in held))
        output = self.snapshot_dir / "netwatch-window.nwrec"

        def save() -> None:
            try:
                written = save_samples(output, codecs(*tabs), held, "the W key", WINDOW_S)
            except OSError as exc:
                text = f"save window: cannot write in {self.snapshot_dir}: {exc.strerror or exc}"
                self.call_from_thread(notify_plain, self, text, severity="error", timeout=8)
                return
            self.last_window = written.path
            text = (f"saved the last {written.seconds:.0f} s ({written.records} samples) to "
                    f"{written.path}")  # fmt: skip
            self.call_from_thread(notify_plain, self, text, timeout=8)

        # Encoding minutes of samples takes a moment: never on the screen's thread.
        self.run_worker(save, thread=True, group="save-window")

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
