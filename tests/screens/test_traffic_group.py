"""`g` on the Traffic tab (#13, #14): process, program, user, container, connection in turn;
the PID column counts the processes of a grouped row, the banner says which grouping, and a
snapshot holds what is shown."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input

from netwatch.model.containers import ProcContext
from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow, TrafficSample
from netwatch.tabs.traffic.screen import TrafficView
from tests.helpers.screens import banner, scripted_app, wait_for

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
        await pilot.press("g")  # none of them runs in a container: one row for all four
        assert "by container" in banner(app)
        assert cells(view, "comm") == ["(no container)"] and cells(view, "pid") == ["4"]
        await pilot.press("g")  # the sample has no connections: an empty table
        assert "by connection" in banner(app) and view.table.row_count == 0
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


DOCKER = "/system.slice/docker-" + "3f" * 32 + ".scope"
POD = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
CRI = POD + "cri-containerd-" + "c0" * 32 + ".scope"


async def test_container_column_grouping_and_filters(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(150, 30)) as pilot:  # wide enough for CONTAINER
        rows = ((CURL_1, Counters(1, 1, 100, 100)), (CURL_2, Counters(1, 1, 100, 100)),
                (NGINX, Counters(2, 2, 200, 200)), (CURL_3, Counters(5, 5, 500, 500)))  # fmt: skip
        context = {
            101: ProcContext(DOCKER, 4026532001),
            102: ProcContext(DOCKER, 4026532001),
            200: ProcContext(CRI, 4026532002),
            103: ProcContext("/user.slice/user-0.slice/session-3.scope", 4026531833),
        }
        source.push_sample(
            TrafficSample(1.0, 1.0, tuple(TrafficRow(k, c) for k, c in rows), 0, context)
        )
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        assert dict(zip(cells(view, "pid"), cells(view, "container"), strict=True)) == {
            "101": "3f3f3f3f3f3f", "102": "3f3f3f3f3f3f", "200": "c0c0c0c0c0c0",
            "103": "session-3.scope"}  # fmt: skip
        for _ in range(3):
            await pilot.press("g")
        assert "by container" in banner(app)
        assert dict(zip(cells(view, "comm"), cells(view, "pid"), strict=True)) == {
            "3f3f3f3f3f3f": "2", "c0c0c0c0c0c0": "1", "session-3.scope": "1"}  # fmt: skip
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(app.last_snapshot))
        data = json.loads(next(p for p in app.last_snapshot if p.suffix == ".json").read_text())
        assert {r["container"]: (r["processes"], r["xmit_pk"], r["netns"])
                for r in data["rows"]} == {
            "3f3f3f3f3f3f": (2, 2, 4026532001), "c0c0c0c0c0c0": (1, 2, 4026532002),
            "session-3.scope": (1, 5, 4026531833)}  # fmt: skip
        await pilot.press("g", "g")  # by connection, then per process again
        for typed, pids in (
            ("container:3f3f3f3f3f3f", ["101", "102"]),
            ("cgroup:/kubepods.slice*", ["200"]),
            ("netns:4026531833", ["103"]),
            ("!container:*", []),
            ("c0c0c0", ["200"]),
        ):
            await pilot.press("slash")
            view.query_one(Input).value = ""
            await pilot.press(*typed, "enter")
            assert sorted(cells(view, "pid")) == pids, typed


async def test_g_by_connection_shows_every_connection_with_its_owner(tmp_path: Path) -> None:
    from netwatch.tabs.traffic.model import ConnKey, ConnRow

    app, source = scripted_app(tmp_path)
    web = ConnKey(200, "tcp", "10.0.0.2", 80, "10.0.0.9", 5000)
    dns = ConnKey(101, "udp", "10.0.0.2", 40000, "10.0.0.53", 53)
    async with app.run_test(size=(150, 30)) as pilot:
        source.push_sample(TrafficSample(
            1.0, 1.0,
            (TrafficRow(NGINX, Counters(3, 3, 3000, 300)),
             TrafficRow(CURL_1, Counters(1, 1, 60, 90))),
            0, {},
            (ConnRow(web, "nginx", Counters(3, 3, 3000, 300)),
             ConnRow(dns, "curl", Counters(1, 1, 60, 90))),
        ))  # fmt: skip
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        for _ in range(4):
            await pilot.press("g")
        assert "by connection" in banner(app)
        assert cells(view, "comm") == ["nginx tcp 10.0.0.9:5000 <- 10.0.0.2:80",
                                       "curl udp 10.0.0.53:53 <- 10.0.0.2:40000"]  # fmt: skip
        assert cells(view, "pid") == ["200", "101"] and cells(view, "user") == ["www-data", "root"]
        await pilot.press("enter")  # its process's detail, with the connection in it
        await wait_for(pilot, lambda: len(app.screen_stack) == 2)
