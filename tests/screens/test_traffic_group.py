"""`g` on the Traffic tab (#13): process, program, user in turn; the PID column counts the
processes of a grouped row, the banner says which grouping, and a snapshot holds what is shown."""

from __future__ import annotations

import json
from pathlib import Path

from netwatch.tabs.traffic.model import Counters, TrafficKey
from netwatch.tabs.traffic.screen import TrafficView
from tests.screens.test_traffic_screen import banner, scripted_app, wait_for

CURL_1 = TrafficKey(101, 0, "eth0", "curl")
CURL_2 = TrafficKey(102, 0, "eth0", "curl")
CURL_3 = TrafficKey(103, 0, "eth0", "curl")
NGINX = TrafficKey(200, 33, "eth0", "nginx")


def cells(view: TrafficView, column: str) -> list[str]:
    t = view.table
    index = [k.value for k in t.columns].index(column)
    return [str(t.get_row_at(i)[index]).strip() for i in range(t.row_count)]


async def test_g_groups_by_program_then_user_then_back(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        source.push(
            (CURL_1, Counters(1, 1, 100, 100)),
            (CURL_2, Counters(1, 1, 100, 100)),
            (CURL_3, Counters(1, 1, 100, 100)),
            (NGINX, Counters(2, 2, 200, 200)),
        )
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        assert view.table.row_count == 4
        await pilot.press("g")
        assert "by program" in banner(app) and view.table.row_count == 2
        assert str(view.table.columns["pid"].label) == "PROCS"  # type: ignore[index]
        assert dict(zip(cells(view, "comm"), cells(view, "pid"), strict=True)) == {
            "curl": "3", "nginx": "1"}  # fmt: skip
        assert dict(zip(cells(view, "comm"), cells(view, "xmit_pk"), strict=True)) == {
            "curl": "3", "nginx": "2"}  # fmt: skip
        await pilot.press("enter")  # no one process behind a program's row
        assert len(app.screen_stack) == 1
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(app.last_snapshot))
        snap = next(p for p in app.last_snapshot if p.suffix == ".json")
        data = json.loads(snap.read_text())
        assert data["group"] == "program"
        assert {r["comm"]: (r["pid"], r["processes"]) for r in data["rows"]} == {
            "curl": (None, 3), "nginx": (None, 1)}  # fmt: skip
        await pilot.press("g")
        assert "by user" in banner(app)
        assert sorted(cells(view, "user")) == ["root", "www-data"]
        await pilot.press("g")
        assert "by " not in banner(app) and view.table.row_count == 4
        assert str(view.table.columns["pid"].label).startswith("PID")  # type: ignore[index]


async def test_a_program_run_by_several_users_shows_star_for_its_uid_everywhere(
    tmp_path: Path,
) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(130, 30)) as pilot:  # wide enough for UID
        source.push((CURL_1, Counters(1, 1, 100, 100)), (TrafficKey(104, 33, "eth0", "curl"),
                                                          Counters(1, 1, 100, 100)))  # fmt: skip
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        await pilot.press("g")
        assert cells(view, "uid") == ["*"] and cells(view, "user") == ["*"]
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(app.last_snapshot))
        text = next(p for p in app.last_snapshot if p.suffix == ".txt").read_text()
        row = text.splitlines()[-1].split()
        assert row[:2] == ["2", "*"] and row[-1] == "curl", text  # two processes, no one UID
        assert "-1" not in text
        data = json.loads(next(p for p in app.last_snapshot if p.suffix == ".json").read_text())
        assert (data["rows"][0]["uid"], data["rows"][0]["user"]) == (None, None)
