"""A request to leave (a signal, a lost terminal) that comes while the app is still building
its screen is kept until the first frame is up, then honoured. Acted on at once, Textual
pruned the tabs while TabbedContent's tab bar was still mounting, which raised "No Tab with
id": a SIGTERM 0.3 s into a replay ended as a crash with exit 1 (CI on 40df633)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import ComposeResult
from textual.widgets._tabs import Tabs

from netwatch.ui.app import NetwatchApp
from tests.screens.scripted import ScriptedSource


async def test_a_request_while_the_tabs_mount_ends_the_app_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = {"traffic": ScriptedSource(), "drops": ScriptedSource()}
    app = NetwatchApp(sources, snapshot_dir=tmp_path, replay=True)
    compose_tabs = Tabs.compose

    def asked_to_leave_meanwhile(tabs: Tabs) -> ComposeResult:
        app.request_exit()  # as the signal handler does, at that moment
        yield from compose_tabs(tabs)

    monkeypatch.setattr(Tabs, "compose", asked_to_leave_meanwhile)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(50):
            if app._exit:
                break
            await pilot.pause(0.02)
    assert app._exit, "the request was never honoured"
    assert app.return_code == 0
