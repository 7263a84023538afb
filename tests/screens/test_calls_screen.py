"""The Calls tab driven with Pilot against a scripted source and the committed recording."""

from __future__ import annotations

import errno
import json
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from netwatch.tabs import ViewOptions, replay_file
from netwatch.tabs.calls.model import (
    ENTER,
    EVENT,
    EXIT,
    FUNC_ENTER,
    FUNC_EXIT,
    OUTCOME,
    CallEvent,
    CallsSample,
    result_text,
)
from netwatch.tabs.calls.screen import CallsView
from netwatch.ui.app import NetwatchApp
from tests.helpers.calls import call
from tests.helpers.paths import CALLS_DEMO
from tests.helpers.screens import wait_for
from tests.screens.scripted import ScriptedSource

SEED_LINE = re.compile(r"^(\d+) (.+)\((\d+)\):( +)(->|<-|\*) (\w+)(.*)$")


class ScriptedCalls(ScriptedSource):
    """Also what the app asks of a Calls source: attach while shown, trace these threads."""

    def __init__(self) -> None:
        super().__init__()
        self.control: list[object] = []

    def suspend(self) -> None:
        self.control.append("suspend")

    def resume(self) -> None:
        self.control.append("resume")

    def set_threads(self, pids: Iterable[int], tids: Iterable[int], comms: Iterable[str]) -> None:
        self.control.append((tuple(pids), tuple(tids), tuple(comms)))


def calls_app(tmp_path: Path, tab: str = "calls", **kw: int) -> tuple[NetwatchApp, ScriptedCalls]:
    src = ScriptedCalls()
    app = NetwatchApp(
        {"traffic": ScriptedSource(), "calls": src},
        initial_tab=tab,
        snapshot_dir=tmp_path,
        replay=True,
        view_options=ViewOptions(settings=kw),
    )
    return app, src


def view(app: NetwatchApp) -> CallsView:
    return app.query_one(CallsView)


async def feed(pilot: Pilot[Any], app: NetwatchApp, src: ScriptedCalls, *events: CallEvent) -> None:
    v = view(app)
    target = v.state.samples + 1
    src.push_sample(CallsSample(2000.0, 1.0, tuple(events)))
    # Drawn at most once a second: wait for the picture, not just the data.
    await wait_for(pilot, lambda: v.drawn_samples == target)
    await pilot.pause()


def tree(app: NetwatchApp) -> list[str]:
    table = view(app).table
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


def keys(app: NetwatchApp) -> list[str]:
    return [str(k.value) for k in view(app).table.rows]


def cursor_key(app: NetwatchApp) -> str:
    table = view(app).table
    return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)


def banner(app: NetwatchApp) -> str:
    return str(view(app).query_one(".tab-banner", Static).render())


async def test_tree_of_threads_calls_and_the_events_inside_them(tmp_path: Path) -> None:
    app, src = calls_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(pilot, app, src, *call("connect", 1.0, fd="3", inside=("inet_sock_set_state",)),
                   *call("sendto", 1.1, fd="3", size="5"))  # fmt: skip
        rows = tree(app)
        assert rows[0].startswith("▾ client(7)  pid 7")
        assert rows[1].startswith("│ ▾ -> connect fd=3")
        assert rows[2].startswith("│ │   * inet_sock_set_state")
        assert rows[3].startswith("│ ▾ -> sendto fd=3 size=5")
        assert rows[4].startswith("│ │   * sock_send_length bytes=5")
        results = [str(view(app).table.get_row_at(i)[2]) for i in range(5)]
        assert results[1] == "0" and results[0] == "2 calls"


async def test_net_socket_c_functions_nest_under_their_call_with_their_results(
    tmp_path: Path,
) -> None:
    def at(ts: float, kind: str, name: str, ret: int = 0, dur: float = 0.0) -> CallEvent:
        args = (("result", result_text(ret)),) if kind == FUNC_EXIT else ()
        return CallEvent(ts, 7, 7, "client", kind, name, args, ret, dur)

    app, src = calls_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(
            pilot, app, src,
            CallEvent(1.0, 7, 7, "client", ENTER, "write", (("fd", "3"),)),
            at(1.000001, FUNC_ENTER, "sock_write_iter"),
            at(1.000002, FUNC_ENTER, "sock_sendmsg"),
            CallEvent(1.000003, 7, 7, "client", EVENT, "net_dev_queue", (("dev", "lo"),)),
            at(1.000008, FUNC_EXIT, "sock_sendmsg", 5, 6.0),
            at(1.000009, FUNC_EXIT, "sock_write_iter", -32, 8.0),
            CallEvent(1.00001, 7, 7, "client", EXIT, "write", (), 5, 10.0),
        )  # fmt: skip
        rows = tree(app)
        assert rows[1].startswith("│ ▾ -> write fd=3")
        assert rows[2:7] == [
            "│ │   -> sock_write_iter",
            "│ │     -> sock_sendmsg",
            "│ │       * net_dev_queue dev=lo",
            "│ │     <- sock_sendmsg",
            "│ │   <- sock_write_iter",
        ]
        table = view(app).table
        assert [str(table.get_row_at(i)[2]) for i in (5, 6)] == ["5", "-EPIPE"]
        assert [str(table.get_row_at(i)[3]) for i in (5, 6)] == ["6 us", "8 us"]


async def test_collapsed_nodes_stay_collapsed_as_calls_arrive(tmp_path: Path) -> None:
    app, src = calls_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        first = call("write", 1.0, fd="3")
        await feed(pilot, app, src, *first)
        table = view(app).table
        table.move_cursor(row=keys(app).index("c1"))
        await pilot.press("enter")  # collapse the first call
        assert "c1.0" not in keys(app) and "[1 events]" in tree(app)[1]
        await feed(pilot, app, src, *call("write", 2.0, fd="3"), *call("read", 3.0, fd="3"))
        assert "c1.0" not in keys(app)  # still collapsed
        assert {"c2.0", "c3.0"} <= set(keys(app))  # the new ones open
        table.move_cursor(row=keys(app).index("t7"))
        await pilot.press("enter")  # collapse the thread
        await feed(pilot, app, src, *call("read", 4.0, fd="3"))
        assert keys(app) == ["t7"] and tree(app)[0].startswith("▸ client(7)")
        await pilot.press("plus")
        assert "c4.0" in keys(app) and "c1.0" in keys(app)


async def test_follow_then_browse_then_follow_again(tmp_path: Path) -> None:
    app, src = calls_app(tmp_path)
    async with app.run_test(size=(140, 20)) as pilot:
        await feed(pilot, app, src, *(e for i in range(10) for e in call("read", 1.0 + i)))
        assert cursor_key(app) == "c10" and "following newest" in banner(app)
        await pilot.press("up", "up")
        held = cursor_key(app)
        assert "browsing" in banner(app)
        await feed(pilot, app, src, *call("read", 20.0), *call("read", 21.0))
        assert cursor_key(app) == held  # browse mode stays on its node
        await pilot.press("end")
        assert cursor_key(app) == "c12" and "following newest" in banner(app)


async def test_summary_folds_repeated_calls(tmp_path: Path) -> None:
    app, src = calls_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(pilot, app, src, *call("read", 1.0), *call("read", 2.0),
                   *call("connect", 3.0, ret=-111))  # fmt: skip
        await pilot.press("v")
        table = view(app).table
        rows = {str(table.get_row_at(i)[0]).strip("│ "): [str(c) for c in table.get_row_at(i)[1:]]
                for i in range(table.row_count)}  # fmt: skip
        assert rows["read"] == ["2", "200 us", "100 us", "0"]
        assert rows["connect"] == ["1", "100 us", "100 us", "1"]
        assert "summary" in banner(app)
        await pilot.press("v")
        assert "tree" in banner(app) and tree(app)[0].startswith("▾ client(7)")


async def test_filter_narrows_the_view_and_tells_the_probe_which_threads(tmp_path: Path) -> None:
    app, src = calls_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(pilot, app, src, *call("read", 1.0, tid=7, pid=7),
                   *call("connect", 2.0, tid=8, pid=8, comm="server"))  # fmt: skip
        await pilot.press("slash", *"pid:8", "enter")
        await pilot.pause()
        assert [r.split("  ")[0] for r in tree(app) if r.startswith("▾")] == ["▾ server(8)"]
        await wait_for(pilot, lambda: ((8,), (), ()) in src.control)
        # A bad filter is refused and the previous one stays.
        await pilot.press("slash", *"port:80", "enter")
        await pilot.pause()
        shown_filter = view(app).filter
        assert shown_filter is not None and shown_filter.text == "pid:8"
        assert app.query_one(CallsView).query_one(Input).display  # still open to fix
        await pilot.press("escape")
        await pilot.press("slash", "ctrl+u", *"call:read", "enter")
        await pilot.pause()
        assert [r for r in tree(app) if "->" in r] == [tree(app)[1]] and "read" in tree(app)[1]
        await wait_for(pilot, lambda: src.control[-1] == ((), (), ()))


async def test_pause_keeps_collecting_and_resume_draws_it(tmp_path: Path) -> None:
    app, src = calls_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(pilot, app, src, *call("read", 1.0))
        await pilot.press("p")
        src.push_sample(CallsSample(2000.0, 1.0, tuple(call("write", 2.0))))
        await wait_for(pilot, lambda: view(app).state.total_calls == 2)
        await pilot.pause(1.2)  # longer than a redraw period: nothing may be drawn
        assert not any("write" in r for r in tree(app)) and "PAUSED" in banner(app)
        await pilot.press("p")
        assert any("write" in r for r in tree(app))


async def test_bounds_are_shown(tmp_path: Path) -> None:
    app, src = calls_app(tmp_path, max_calls=3)
    async with app.run_test(size=(160, 30)) as pilot:
        await feed(pilot, app, src, *(e for i in range(5) for e in call("read", 1.0 + i)))
        assert "dropped 2 calls, 0 threads" in banner(app)
        assert "(2 older dropped)" in tree(app)[0]


async def test_snapshot_writes_seed_text_json_and_svg_privately(tmp_path: Path) -> None:
    app, src = calls_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(pilot, app, src, *call("connect", 1.0, fd="3"), *call("read", 2.0, fd="3"))
        await pilot.press("s")
        await wait_for(pilot, lambda: len(app.last_snapshot) == 3)
        by_ext = {p.suffix: p for p in app.last_snapshot}
        assert set(by_ext) == {".txt", ".json", ".svg"}
        for p in by_ext.values():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600
        lines = by_ext[".txt"].read_text().splitlines()
        assert lines[0] == "0 client(7): -> connect fd=3"
        assert all(SEED_LINE.match(line) for line in lines) and len(lines) == 6
        data = json.loads(by_ext[".json"].read_text())
        assert [e["kind"] for e in data["events"]][:3] == ["enter", "event", "exit"]


async def test_the_probe_is_attached_only_while_the_tab_is_shown(tmp_path: Path) -> None:
    app, src = calls_app(tmp_path, tab="traffic")
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for(pilot, lambda: src.control == ["suspend"])
        await pilot.press("2")
        await wait_for(pilot, lambda: src.control[-1] == "resume")
        await pilot.press("1")
        await wait_for(pilot, lambda: src.control[-1] == "suspend")
        assert src.control == ["suspend", "resume", "suspend"]


async def test_replayed_recording_draws_every_thread(tmp_path: Path) -> None:
    calls = replay_file("calls", CALLS_DEMO, speed=100)
    traffic = replay_file("traffic", CALLS_DEMO, speed=100)
    app = NetwatchApp({"traffic": traffic, "calls": calls}, initial_tab="calls",
                      snapshot_dir=tmp_path, replay=True)  # fmt: skip
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.health["calls"].state == "ended")
        await wait_for(pilot, lambda: view(app).drawn_samples == view(app).state.samples)
        threads = {r.split("(")[0].lstrip("▾│ ") for r in tree(app) if "pid" in r}
        assert threads == {"web-client", "web-server", "dns-client", "dns-server"}
        assert view(app).state.orphans == 0


async def test_thread_headers_name_their_container_and_filter_by_it(tmp_path: Path) -> None:
    from netwatch.model.containers import ProcContext

    docker = "/system.slice/docker-" + "3f" * 32 + ".scope"
    app, src = calls_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        v = view(app)
        events = (*call("sendto", 1.0, tid=7, pid=7), *call("recvfrom", 1.1, tid=8, pid=8))
        src.push_sample(CallsSample(2000.0, 1.0, events, 0,
                                    {7: ProcContext(docker, 4026532001)}))  # fmt: skip
        await wait_for(pilot, lambda: v.drawn_samples == 1)
        await pilot.pause()
        heads = [line for line in tree(app) if "pid " in line]
        assert any("client(7)" in h and "container 3f3f3f3f3f3f  netns 4026532001" in h
                   for h in heads), heads  # fmt: skip
        assert any("client(8)" in h and "container" not in h for h in heads), heads
        await pilot.press("slash")
        v.query_one(Input).value = ""
        await pilot.press(*"netns:4026532001", "enter")
        await pilot.pause()
        assert [h for h in tree(app) if "pid " in h and "client(8)" in h] == []
        assert any("client(7)" in h for h in tree(app))


async def test_a_connects_outcome_shows_on_it_and_the_summary_breaks_errors_down(
    tmp_path: Path,
) -> None:
    app, src = calls_app(tmp_path)
    async with app.run_test(size=(160, 30)) as pilot:
        refused = CallEvent(3.5, 7, 7, "client", OUTCOME, "connect", (("outcome", "refused"),),
                            -errno.ECONNREFUSED, 500_000)  # fmt: skip
        pending = -errno.EINPROGRESS
        calls = [*call("connect", 2.0, ret=pending), *call("connect", 3.0, ret=pending)]
        await feed(pilot, app, src, *calls, *call("read", 4.0, ret=-errno.EAGAIN))
        await feed(pilot, app, src, refused)
        table = view(app).table
        results = [str(table.get_row_at(i)[2]) for i in range(table.row_count)]
        assert "refused" in results  # the second connect's result: how it ended
        assert "-EINPROGRESS" in results  # the first: still waiting, not red, not an error
        await pilot.press("v")
        rows = [[str(c).strip("│ ") for c in table.get_row_at(i)] for i in range(table.row_count)]
        at = [r[0] for r in rows].index("connect")
        not_yet = "not yet (EINPROGRESS, EAGAIN, ...): not errors"
        # connect: 2 calls, 1 error (the refusal), listed by errno; both returns were "not yet"
        assert [r[0] for r in rows[at : at + 3]] == ["connect", "-ECONNREFUSED", not_yet]
        assert (rows[at][1], rows[at][-1], rows[at + 1][-1], rows[at + 2][1]) == (
            "2",
            "1",
            "1",
            "2",
        )
        read = [r[0] for r in rows].index("read")
        assert rows[read][-1] == "0" and rows[read + 1][:2] == [not_yet, "1"]


async def test_i_shows_the_whole_call_at_80_columns(tmp_path: Path) -> None:
    # #24: a tree line is cut near 30 characters of arguments at 80 columns: a connect's peer
    # address was lost. `i` shows the call under the cursor with every argument in full.
    app, src = calls_app(tmp_path)
    peer = "[2001:db8:1234:5678:9abc:def0:1234:5678]:443"
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot, app, src, *call("connect", 1.0, ret=-errno.EINPROGRESS, fd="5",
                                          proto="tcp", lport="40000", addr=peer))  # fmt: skip
        assert peer not in app.export_screenshot()  # the line is cut at the screen's edge
        table = view(app).table
        table.move_cursor(row=[str(k) for k in keys(app)].index(keys(app)[1]))
        await pilot.press("i")
        await wait_for(pilot, lambda: bool(app.screen.query("#call-detail")))
        text = str(app.screen.query_one("#call-detail", Static).render())
        await pilot.press("escape")
    assert f"addr = {peer}" in text and "-EINPROGRESS" in text and "sock_send_length" in text


async def test_a_threads_namespace_shows_by_name_live_and_by_inode_in_a_replay(
    tmp_path: Path,
) -> None:
    # #24: namespaces were inode numbers only. Live, this machine's names apply ("host": the
    # namespace netwatch runs in); a replay's namespaces are another machine's: their inodes.
    import os

    from netwatch.model.containers import ProcContext

    here = os.stat("/proc/self/ns/net").st_ino
    heads = []
    for replaying in (False, True):
        src = ScriptedCalls()
        app = NetwatchApp({"traffic": ScriptedSource(), "calls": src}, initial_tab="calls",
                          snapshot_dir=tmp_path, replay=replaying)  # fmt: skip
        async with app.run_test(size=(140, 30)) as pilot:
            v = view(app)
            src.push_sample(CallsSample(2000.0, 1.0, tuple(call("read", 1.0)),
                                        context={7: ProcContext("", here)}))  # fmt: skip
            await wait_for(pilot, lambda: v.drawn_samples == 1)  # noqa: B023
            heads.append(tree(app)[0])
    live, replayed = heads
    assert "netns host" in live and f"netns {here}" in replayed
