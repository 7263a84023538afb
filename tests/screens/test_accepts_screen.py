"""The Accepts tab driven with Pilot against a scripted source (no root needed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from textual.widgets import Input, Static

from netwatch.tabs import ViewOptions
from netwatch.tabs.accepts.model import AcceptEvent, AcceptsSample
from netwatch.tabs.accepts.screen import AcceptsView
from netwatch.ui.app import NetwatchApp
from tests.helpers.screens import wait_for
from tests.screens.scripted import ScriptedSource


def ev(i: int, src: str = "10.1.2.3", port: int = 443, family: str = "ipv4") -> AcceptEvent:
    return AcceptEvent(
        1000.0 + i, 4000, 4000, 33, "nginx", family, "10.9.9.9", port, src, 50000 + i
    )


def accepts_app(tmp_path: Path, max_rows: int = 10_000) -> tuple[NetwatchApp, ScriptedSource]:
    src = ScriptedSource()
    app = NetwatchApp(
        {"traffic": ScriptedSource(), "accepts": src},
        initial_tab="accepts",
        snapshot_dir=tmp_path,
        replay=True,
        view_options=ViewOptions(settings={"max_rows": max_rows}),
    )
    return app, src


async def feed(pilot, app: NetwatchApp, src: ScriptedSource, *events: AcceptEvent) -> None:  # type: ignore[no-untyped-def]
    view = app.query_one(AcceptsView)
    target = view.state.samples + 1
    src.push_sample(AcceptsSample(2000.0, 1.0, tuple(events)))
    await wait_for(pilot, lambda: view.state.samples == target)


def column(app: NetwatchApp, key: str) -> list[str]:
    view = app.query_one(AcceptsView)
    index = [k for k, _, _ in view.columns].index(key)
    return [str(view.table.get_row_at(i)[index]) for i in range(view.table.row_count)]


def sources_shown(app: NetwatchApp) -> list[str]:
    return column(app, "src")


def banner(app: NetwatchApp) -> str:
    return str(app.query_one(AcceptsView).query_one(".tab-banner", Static).render())


async def test_follow_mode_keeps_the_newest_in_view_until_the_user_scrolls_back(
    tmp_path: Path,
) -> None:
    app, src = accepts_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(pilot, app, src, *(ev(i) for i in range(40)))
        table = app.query_one(AcceptsView).table
        assert table.cursor_row == 39 and "following newest" in banner(app)
        await pilot.press("up", "up")
        assert "browsing" in banner(app)
        await feed(pilot, app, src, ev(40), ev(41))
        assert table.cursor_row == 37  # browse mode stays put while rows arrive
        await pilot.press("f")
        assert table.cursor_row == 41 and "following newest" in banner(app)


async def test_new_sources_are_marked_and_summary_counts(tmp_path: Path) -> None:
    app, src = accepts_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(pilot, app, src, ev(0), ev(1), ev(2, "192.0.2.7", 22))
        assert sources_shown(app) == ["10.1.2.3 NEW", "10.1.2.3", "192.0.2.7 NEW"]
        summary = str(app.query_one("#accepts-summary", Static).render())
        assert "total 3" in summary and "2  443" in summary and "1  192.0.2.7" in summary


async def test_filter_with_cidr_good_and_bad(tmp_path: Path) -> None:
    app, src = accepts_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(
            pilot,
            app,
            src,
            ev(0, "10.1.2.3"),
            ev(1, "192.0.2.7"),
            ev(2, "::ffff:10.1.9.9", family="ipv4-mapped"),
            ev(3, "2001:db8::5", 80, "ipv6"),
        )
        await pilot.press("slash", *"src:10.0.0.0/8", "enter")
        assert sources_shown(app) == ["10.1.2.3 NEW", "::ffff:10.1.9.9 NEW"]
        box = app.query_one(AcceptsView).query_one(Input)
        await pilot.press("slash")
        box.value = ""
        await pilot.press(*"src:10.0.0.0/33", "enter")
        assert any("src: needs an address or CIDR" in n.message for n in app._notifications)
        assert len(sources_shown(app)) == 2
        await pilot.press("escape", "slash")
        box.value = ""
        await pilot.press(*"family:6 port:80", "enter")
        assert sources_shown(app) == ["2001:db8::5 NEW"]


async def test_pause_loses_nothing_and_history_is_bounded(tmp_path: Path) -> None:
    app, src = accepts_app(tmp_path, max_rows=50)
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(pilot, app, src, *(ev(i) for i in range(30)))
        await pilot.press("p")
        await feed(pilot, app, src, *(ev(i) for i in range(30, 60)))
        view = app.query_one(AcceptsView)
        assert view.table.row_count == 30  # frozen
        assert view.state.total == 60 and len(view.state.log) == 50  # kept, bounded
        assert view.state.dropped_oldest == 10
        await pilot.press("p")
        assert view.table.row_count == 50 and "10 oldest dropped" in banner(app)
        assert column(app, "sport")[0] == str(50010)  # the oldest went first


async def test_snapshot_in_the_seeds_format_json_csv_svg(tmp_path: Path) -> None:
    app, src = accepts_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(pilot, app, src, ev(0), ev(1, "192.0.2.7", 22))
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(app.last_snapshot))
    paths = {p.suffix: p for p in app.last_snapshot}
    assert set(paths) == {".txt", ".json", ".csv", ".svg"}
    assert paths[".txt"].read_text().splitlines() == [
        "   UID              CMD    PID   PORT        IP_SOURCE",
        "    33            nginx   4000    443         10.1.2.3",
        "    33            nginx   4000     22        192.0.2.7",
    ]
    rows = list(csv.DictReader(paths[".csv"].open()))
    assert [r["ip_source"] for r in rows] == ["10.1.2.3", "192.0.2.7"]
    assert json.loads(paths[".json"].read_text())["rows"][1]["src_port"] == 50001
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in paths.values())
