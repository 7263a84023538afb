"""The TUI's probe workers: one thread per tab that compiles its source and reads it each
interval, and one thread that attaches and detaches the sources shown only while their tab is.

Plain threads, not Textual's `@work(thread=True)`: those run in asyncio's default executor,
which `App.run()` joins before it returns, so a worker inside a BCC compile (seconds, and not
interruptible) would hold Ctrl-C's exit for as long as the compile takes. These are daemon
threads the exit path bounds (`wait`). Nothing here touches a widget: what a worker has to
say goes through the two callbacks, which post messages.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from netwatch.sources.base import AttachedWhileShown, Health, Source, SourceError
from netwatch.sources.runner import ENDED, run

SampleTo = Callable[[str, object], object]
HealthTo = Callable[[str, Health], object]
CONTROL_POLL_S = 0.1  # how soon the control thread ends once the workers are stopped


class ProbeWorkers:
    def __init__(
        self,
        sources: Mapping[str, Source[Any]],
        on_sample: SampleTo,
        on_health: HealthTo,
        *,
        replay: bool,
    ) -> None:
        self.sources = dict(sources)
        self._on_sample = on_sample
        self._on_health = on_health
        self._replay = replay
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._consumed = {tab: threading.Event() for tab in self.sources}
        self._starting: set[str] = set()  # workers whose source is not open yet
        self._deferred: dict[str, Source[Any]] = {}  # workers not started yet
        self._starting_lock = threading.Lock()
        self._control: queue.SimpleQueue[tuple[str, Callable[[], None]]] | None = None

    def start(self, initial_tab: str) -> None:
        """Probes compile one at a time. A hidden tab's source that is attached only while
        shown (Calls) compiles after the others are live, unless its tab is shown first: it
        must not make the tabs that run from the start wait a second more."""
        for tab, source in self.sources.items():
            if isinstance(source, AttachedWhileShown) and tab != initial_tab:
                self._deferred[tab] = source
            else:
                self._starting.add(tab)
        for tab in list(self._starting):
            self._start_worker(tab, self.sources[tab])
        if not self._starting:
            self.start_deferred()

    def start_deferred(self, only: str | None = None) -> None:
        if self.stop_event.is_set():
            return
        with self._starting_lock:
            tabs = [only] if only is not None else list(self._deferred)
            chosen = {t: self._deferred.pop(t) for t in tabs if t in self._deferred}
        for tab, source in chosen.items():
            self._start_worker(tab, source)

    def consumed(self, tab: str) -> None:
        """The UI has shown the tab's last sample: its worker may hand over the next."""
        self._consumed[tab].set()

    def stop(self) -> None:
        self.stop_event.set()

    def wait(self, seconds: float) -> bool:
        """True if every worker has finished within `seconds`: one still compiling cannot be
        interrupted, and the process must not finalize under it (LLVM aborts)."""
        deadline = time.monotonic() + seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def control(self, tab: str, action: Callable[[], None]) -> None:
        """Attaching tracepoints takes a moment the UI should not wait for; one thread does
        these in the order asked, so a quick tab switch back and forth ends attached."""
        if self._control is None:
            self._control = queue.SimpleQueue()
            threading.Thread(target=self._run_control, name="netwatch-source-control",
                             daemon=True).start()  # fmt: skip
        self._control.put((tab, action))

    def _opened(self, tab: str) -> None:
        """A worker's source is open (or failed to): the deferred ones start once all are."""
        with self._starting_lock:
            self._starting.discard(tab)
            done = not self._starting
        if done:
            self.start_deferred()

    def _start_worker(self, tab: str, source: Source[Any]) -> None:
        thread = threading.Thread(
            target=self._poll, args=(tab, source), name=f"netwatch-{tab}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _poll(self, tab: str, source: Source[Any]) -> None:
        """Compiles, then reads once per interval."""
        try:
            source.open()
        except SourceError as exc:
            if self.stop_event.is_set():
                return  # leaving: a compile not started is not a failure
            self._on_health(tab, Health("failed", str(exc)))
            return
        except Exception as exc:  # a probe must never take the UI down with a traceback
            self._on_health(tab, Health("failed", f"{exc!r}"))
            return
        finally:
            self._opened(tab)
        consumed = self._consumed[tab]

        def deliver(tab: str, sample: object) -> None:
            consumed.clear()
            self._on_sample(tab, sample)
            if self._replay:
                self._on_health(tab, source.health())

        def taken(tab: str) -> bool:
            # One sample in flight per tab: when the UI is slower than the probe (a Calls
            # tab on a busy host), reads come less often and each holds more, instead of a
            # queue of samples that grows without bound while keys wait behind it. What a
            # probe cannot hold meanwhile, it counts as lost. Waited for outside the read's
            # pause of the cycle collector, which a slow UI would otherwise hold off for good.
            while not consumed.wait(0.1):
                if self.stop_event.is_set():
                    return False
            return True

        try:
            self._on_health(tab, source.health())
            ended = run({tab: source}, deliver, interval=source.interval,
                        stop=self.stop_event, handed_on=taken)  # fmt: skip
            if ended == ENDED:
                self._on_health(tab, source.health())
        except SourceError as exc:  # a corrupt record deep in a recording: its own words
            self._on_health(tab, Health("failed", str(exc)))
        except Exception as exc:
            self._on_health(tab, Health("failed", f"read failed: {exc!r}"))
        finally:
            source.close()

    def _run_control(self) -> None:
        """Until the app stops the workers: what is still asked then is not done (leaving
        detaches every source anyway)."""
        assert self._control is not None
        while not self.stop_event.is_set():
            try:
                tab, action = self._control.get(timeout=CONTROL_POLL_S)
            except queue.Empty:
                continue
            try:
                action()
            except Exception as exc:  # BCC raises bare Exception when a tracepoint won't attach
                self._on_health(tab, Health("failed", f"attach: {exc}"))
                continue
            if not self._replay:
                self._on_health(tab, self.sources[tab].health())
