"""Probes compile one at a time: a hidden tab's source that is attached only while shown (Calls)
starts after the others are open, so the tabs that run from the start go live first (#13's
"every probe live within 3 s"); shown first, it starts at once."""

from __future__ import annotations

import time
from pathlib import Path

from netwatch.sources.base import Health
from netwatch.ui.app import NetwatchApp
from tests.helpers.screens import wait_for
from tests.screens.scripted import ScriptedSource


class SlowToOpen(ScriptedSource):
    """Opens as a compile does: it takes a while, and says when it began and ended."""

    def __init__(self, seconds: float, log: list[tuple[str, str, float]], name: str) -> None:
        super().__init__()
        self.seconds, self.log, self.name = seconds, log, name

    def open(self) -> None:
        self.log.append((self.name, "begin", time.monotonic()))
        time.sleep(self.seconds)
        self.log.append((self.name, "end", time.monotonic()))


class ShownOnly(SlowToOpen):
    def suspend(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def health(self) -> Health:
        return Health("attached", "scripted, attached while shown")


def opened(log: list[tuple[str, str, float]], name: str, what: str) -> float:
    return next(t for n, w, t in log if n == name and w == what)


async def test_the_shown_only_source_starts_after_the_others_are_open(tmp_path: Path) -> None:
    log: list[tuple[str, str, float]] = []
    sources = {
        "traffic": SlowToOpen(0.3, log, "traffic"),
        "calls": ShownOnly(0.05, log, "calls"),
        "drops": SlowToOpen(0.5, log, "drops"),
    }
    app = NetwatchApp(sources, snapshot_dir=tmp_path, replay=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(log) == 6)
        assert opened(log, "calls", "begin") >= opened(log, "drops", "end")
        assert opened(log, "calls", "begin") >= opened(log, "traffic", "end")


async def test_showing_its_tab_starts_it_at_once(tmp_path: Path) -> None:
    log: list[tuple[str, str, float]] = []
    sources = {
        "traffic": SlowToOpen(2.0, log, "traffic"),
        "calls": ShownOnly(0.05, log, "calls"),
    }
    app = NetwatchApp(sources, snapshot_dir=tmp_path, replay=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: any(n == "calls" and w == "end" for n, w, _ in log))
        assert opened(log, "calls", "end") < opened(log, "traffic", "begin") + 1.0
        assert not any(n == "traffic" and w == "end" for n, w, _ in log)


async def test_started_on_its_own_tab_it_does_not_wait(tmp_path: Path) -> None:
    log: list[tuple[str, str, float]] = []
    sources = {
        "traffic": SlowToOpen(2.0, log, "traffic"),
        "calls": ShownOnly(0.05, log, "calls"),
    }
    app = NetwatchApp(sources, snapshot_dir=tmp_path, replay=True, initial_tab="calls")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: any(n == "calls" and w == "end" for n, w, _ in log))
        assert not any(n == "traffic" and w == "end" for n, w, _ in log)
