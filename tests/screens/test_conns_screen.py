"""The Connections tab driven with Pilot against a scripted source (no root needed): its keys,
sort, filter, grouping, detail, and what an 80-column screen over SSH keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from netwatch.tabs.conns.model import ConnsSample
from netwatch.tabs.conns.screen import ConnsView
from netwatch.tabs.conns.screen.detail import ConnDetail
from netwatch.ui.app import NetwatchApp
from tests.helpers.conns import row
from tests.helpers.screens import wait_for
from tests.screens.scripted import ScriptedSource

V6 = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1"
ROWS = (
    row(cid=1, pid=10, comm="replica-sync", raddr="10.213.7.2", rport=7022, retrans=4687,
        srtt_ms=0.06, xmit_bytes=374_000_000),
    row(cid=2, pid=11, comm="health-check", raddr="10.213.7.2", rport=7020, retrans=0,
        srtt_ms=None, end="refused", state="CLOSE", ended_at=1000.0, connect_ms=None),
    row(cid=3, pid=12, comm="log-shipper", raddr="255.255.255.255", rport=65535, retrans=0,
        srtt_ms=10.1, busy_ms=1000.0, rwnd_limited_ms=900.0),
    row(cid=4, pid=13, comm="api-client", family="ipv6", raddr=V6, rport=443, retrans=1,
        srtt_ms=2.0, end="reset_received", state="CLOSE", ended_at=1000.0),
)  # fmt: skip


def conns_app(tmp_path: Path) -> tuple[NetwatchApp, ScriptedSource]:
    src = ScriptedSource()
    app = NetwatchApp({"traffic": ScriptedSource(), "conns": src}, initial_tab="conns",
                      snapshot_dir=tmp_path, replay=True)  # fmt: skip
    return app, src


async def fed(pilot: Pilot[Any], app: NetwatchApp, src: ScriptedSource) -> ConnsView:
    view = app.query_one(ConnsView)
    src.push_sample(ConnsSample(1000.5, 1.0, ROWS))
    await wait_for(pilot, lambda: view.state.samples == 1 and view.table.row_count == 4)
    return view


def column(view: ConnsView, key: str) -> list[str]:
    index = [k for k, _, _ in view._shown_columns()].index(key)
    return [str(view.table.get_row_at(i)[index]) for i in range(view.table.row_count)]


def banner(view: ConnsView) -> str:
    return str(view.query_one(".tab-banner", Static).render())


async def test_rows_sort_by_retransmits_first_and_by_any_column_with_the_sort_keys(
    tmp_path: Path,
) -> None:
    app, src = conns_app(tmp_path)
    async with app.run_test(size=(160, 30)) as pilot:
        view = await fed(pilot, app, src)
        assert column(view, "comm") == ["replica-sync", "api-client", "health-check",
                                        "log-shipper"]  # fmt: skip
        view.apply_sort("rtt")
        await pilot.pause()
        assert column(view, "comm")[0] == "log-shipper"
        await pilot.press("r")
        assert column(view, "comm")[-1] == "log-shipper"
        await pilot.press("greater_than_sign")  # the next sort key: bytes
        assert view.sort == "bytes" and column(view, "comm")[0] == "replica-sync"
        assert "sort bytes desc" in banner(view)


async def test_the_filter_keeps_failed_connects_and_e_hides_ended_ones(tmp_path: Path) -> None:
    app, src = conns_app(tmp_path)
    async with app.run_test(size=(160, 30)) as pilot:
        view = await fed(pilot, app, src)
        await pilot.press("slash", *"end:refused,timeout", "enter")
        assert column(view, "comm") == ["health-check"]
        assert column(view, "state") == ["refused"]
        await pilot.press("slash", *"addr:2001:db8::/32", "enter")
        assert column(view, "comm") == ["api-client"]
        await pilot.press("slash", *"end:exploded", "enter")  # refused: the last one stays
        assert column(view, "comm") == ["api-client"]
        await pilot.press("escape", "slash", "ctrl+u", "enter")
        await pilot.press("e")
        assert sorted(column(view, "comm")) == ["log-shipper", "replica-sync"]
        assert "ended hidden" in banner(view)


async def test_grouping_by_process_then_enter_shows_that_process_connections(
    tmp_path: Path,
) -> None:
    app, src = conns_app(tmp_path)
    async with app.run_test(size=(160, 30)) as pilot:
        view = await fed(pilot, app, src)
        await pilot.press("g")
        assert view.grouping == "process"
        assert column(view, "group")[0] == "replica-sync(10)"
        assert column(view, "retr")[0] == "4687"
        await pilot.press("g", "g")
        assert view.grouping == "remote"
        assert column(view, "group")[0] == "10.213.7.2"
        assert column(view, "conns")[0] == "2" and column(view, "failed")[0] == "1"
        await pilot.press("enter")
        assert view.grouping == "connection"
        assert view.filter_text() == "addr:10.213.7.2"
        assert sorted(column(view, "comm")) == ["health-check", "replica-sync"]


async def test_enter_opens_the_connection_with_its_tcp_info_and_history(tmp_path: Path) -> None:
    app, src = conns_app(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        view = await fed(pilot, app, src)
        view.apply_sort("rtt")
        await pilot.pause()
        view.table.move_cursor(row=0)  # the cursor followed its row; the top one is wanted
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConnDetail))
        assert isinstance(app.screen, ConnDetail)
        text = "\n".join(app.screen.lines)
        assert "10.0.0.1:40000 -> 255.255.255.255:65535" in text
        assert "process log-shipper pid 12" in text
        assert "rwnd 90%" in text
        assert "rtt      " in text and "max 10.1 ms" in text
        await pilot.press("escape")
        assert app.screen is not None and not isinstance(app.screen, ConnDetail)


async def test_at_80_columns_the_remote_end_is_whole_and_an_ipv6_one_keeps_its_port(
    tmp_path: Path,
) -> None:
    app, src = conns_app(tmp_path)
    async with app.run_test(size=(80, 30)) as pilot:
        view = await fed(pilot, app, src)
        shown = [k for k, _, _ in view._shown_columns()]
        assert shown[:4] == ["pid", "comm", "remote", "state"]
        assert "local" not in shown and "container" not in shown and "tx" not in shown
        remotes = column(view, "remote")
        assert "255.255.255.255:65535" in remotes
        assert "10.213.7.2:7022" in remotes
        (v6,) = [r for r in remotes if r.startswith("[")]
        assert v6.endswith(":1]:443")
        # Nothing drawn past the screen: the table fits its width.
        widths = sum(w + 2 for _, _, w in view._shown_columns()) + 2
        assert widths <= 80


def traffic_with_a_connection(remote: str, lport: int) -> Any:
    from netwatch.tabs.traffic.model import (
        ConnKey,
        Counters,
        TrafficKey,
        TrafficRow,
        TrafficSample,
    )
    from netwatch.tabs.traffic.model import ConnRow as TrafficConn

    owner = TrafficKey(12, 0, "eth0", "log-shipper")
    conn = ConnKey(12, "tcp", "10.0.0.1", lport, remote, 65535)
    counts = Counters(3, 3, 3000, 300)
    return TrafficSample(1000.5, 1.0, (TrafficRow(owner, counts),), 0, {},
                         (TrafficConn(conn, "log-shipper", counts),))  # fmt: skip


async def test_enter_on_a_traffic_connection_row_opens_it_on_the_connections_tab(
    tmp_path: Path,
) -> None:
    from netwatch.tabs.traffic.screen import TrafficView

    traffic, conns = ScriptedSource(), ScriptedSource()
    app = NetwatchApp({"traffic": traffic, "conns": conns}, initial_tab="traffic",
                      snapshot_dir=tmp_path, replay=True)  # fmt: skip
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(ConnsView)
        conns.push_sample(ConnsSample(1000.5, 1.0, ROWS))
        traffic.push_sample(traffic_with_a_connection("255.255.255.255", 40000))
        top = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1 and top.state.samples == 1)
        for _ in range(4):
            await pilot.press("g")
        assert top.spec.group == "connection"
        assert str(top.table.columns[next(iter(top.table.columns))].label) == "PID"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConnDetail))
        assert isinstance(app.screen, ConnDetail)
        assert "process log-shipper pid 12" in app.screen.lines[1]
        assert "pid:12" in view.filter_text() and "addr:255.255.255.255" in view.filter_text()


async def test_traffic_connection_rows_keep_the_remote_end_whole_at_80_columns(
    tmp_path: Path,
) -> None:
    from netwatch.tabs.traffic.screen import TrafficView

    traffic = ScriptedSource()
    app = NetwatchApp({"traffic": traffic}, initial_tab="traffic", snapshot_dir=tmp_path,
                      replay=True)  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        traffic.push_sample(traffic_with_a_connection("2001:db8:aaaa:bbbb:cccc:dddd:eeee:1", 1))
        top = app.query_one(TrafficView)
        await wait_for(pilot, lambda: top.state.samples == 1)
        for _ in range(4):
            await pilot.press("g")
        await pilot.pause()
        table = top.table
        comm = table.columns[next(k for k in table.columns if k.value == "comm")]
        text = str(table.get_row_at(0)[list(table.columns).index(comm.key)])
        assert text.startswith("log-shipper tcp [2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:65535")
        assert comm.width >= len("log-shipper tcp [2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:65535")
        widths = sum(c.width + 2 for c in table.columns.values()) + 2
        assert widths <= 80


async def test_history_shows_a_connections_rate_over_its_intervals_from_180_columns(
    tmp_path: Path,
) -> None:
    app, src = conns_app(tmp_path)
    async with app.run_test(size=(260, 30)) as pilot:
        view = app.query_one(ConnsView)
        for i in range(6):  # connection 1 moves 0, 1, ..., 5 KB an interval
            src.push_sample(ConnsSample(1000.0 + i, 1.0, (
                row(cid=1, pid=10, comm="replica-sync", xmit_bytes=1000 * i, recv_bytes=0),
            )))  # fmt: skip
        await wait_for(pilot, lambda: view.state.samples == 6)
        assert "history" in [c for c, _, _ in view.columns]
        (cell,) = column(view, "history")
        assert cell.endswith(" ▂▄▅▇█") and len(cell.strip()) == 5
        await pilot.resize_terminal(160, 30)
        await wait_for(pilot, lambda: "history" not in [c for c, _, _ in view.columns])
