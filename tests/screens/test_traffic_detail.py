"""The process detail (#13) updates live while open, states its window by the clock, shows
current and cumulative side by side with units, and `b` switches bytes/s and bits/s."""

from __future__ import annotations

import os
from pathlib import Path

from textual.widgets import Static

from netwatch.model.containers import ProcContext
from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow, TrafficSample
from netwatch.tabs.traffic.screen import TrafficView
from netwatch.tabs.traffic.screen.detail import ProcessDetail
from tests.helpers.screens import scripted_app, wait_for


def rates(app: object) -> str:
    screen = app.screen  # type: ignore[attr-defined]
    return str(screen.query_one("#detail-rates", Static).render())


async def test_the_detail_follows_new_samples_and_switches_to_bits(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    me = TrafficKey(os.getpid(), os.getuid(), "lo", "pytest")
    async with app.run_test(size=(140, 40)) as pilot:
        view = app.query_one(TrafficView)
        source.push((me, Counters(1, 1, 1024, 2048)), ts=100.0)
        await wait_for(pilot, lambda: view.state.samples == 1)
        await pilot.press("enter")
        assert isinstance(app.screen, ProcessDetail)
        first = rates(app)
        assert "1.0 KiB/s" in first and "2.0 KiB/s" in first and "since start" in first
        source.push((me, Counters(1, 1, 10 * 2**20, 0)), ts=103.0)  # two idle seconds between
        await wait_for(pilot, lambda: view.state.samples == 2)
        await wait_for(pilot, lambda: "10.0 MiB/s" in rates(app))  # live: no reopening
        text = rates(app)
        assert "average (4 s)" in text  # 100..103 by the clock, idle seconds included
        assert "10.0 MiB" in text and "since start" in text
        await pilot.press("b")
        assert "83.9 Mbit/s" in rates(app) and "MiB/s" not in rates(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, ProcessDetail)


async def test_the_detail_lists_the_processs_connections_busiest_first(tmp_path: Path) -> None:
    from netwatch.tabs.traffic.model import ConnKey, ConnRow, TrafficRow, TrafficSample

    app, source = scripted_app(tmp_path)
    me = TrafficKey(os.getpid(), os.getuid(), "lo", "pytest")
    quiet = ConnKey(me.pid, "udp", "127.0.0.1", 53, "*", 0)
    busy = ConnKey(me.pid, "tcp", "10.0.0.2", 80, "10.0.0.9", 5000)
    other = ConnKey(me.pid + 1, "tcp", "10.0.0.2", 22, "10.0.0.3", 6000)
    conns = (ConnRow(quiet, "pytest", Counters(0, 1, 0, 100)),
             ConnRow(busy, "pytest", Counters(1, 3, 100, 3 * 2**20), "ESTABLISHED", 28.0),
             ConnRow(other, "sshd", Counters(1, 1, 100, 100)))  # fmt: skip
    async with app.run_test(size=(140, 50)) as pilot:
        view = app.query_one(TrafficView)
        row = TrafficRow(me, Counters(1, 4, 100, 3 * 2**20 + 100))
        source.push_sample(TrafficSample(100.0, 1.0, (row,), 0, {}, conns))
        await wait_for(pilot, lambda: view.state.samples == 1)
        await pilot.press("enter")
        assert isinstance(app.screen, ProcessDetail)
        text = str(app.screen.query_one("#detail-connections", Static).render())
        lines = [line for line in text.splitlines() if line.startswith(("tcp", "udp"))]
        assert [line.split()[:3] for line in lines] == [
            ["tcp", "10.0.0.2:80", "10.0.0.9:5000"], ["udp", "127.0.0.1:53", "*:0"]]  # fmt: skip
        assert "3.0 MiB" in lines[0] and "10.0.0.3" not in text
        assert lines[0].split()[3:5] == ["ESTABLISHED", "1m12s"]  # first counted at 28.0


def detail_text(app: object) -> str:
    screen = app.screen  # type: ignore[attr-defined]
    return str(screen.query_one("#detail-process", Static).render())


async def test_a_replay_never_shows_the_live_process_that_has_the_pid_now(tmp_path: Path) -> None:
    # #24: a recorded curl row's Enter showed whatever runs as that PID here (nginx's command
    # line). This PID is pytest's, alive and running right now.
    app, source = scripted_app(tmp_path)
    recorded = TrafficKey(os.getpid(), 0, "eth0", "curl")
    async with app.run_test(size=(140, 40)) as pilot:
        view = app.query_one(TrafficView)
        context = {recorded.pid: ProcContext("", 4026531840, 99.5)}
        rows = (TrafficRow(recorded, Counters(1, 1, 9, 9)),)
        source.push_sample(TrafficSample(100.0, 1.0, rows, 0, context))
        await wait_for(pilot, lambda: view.state.samples == 1)
        await pilot.press("enter")
        text = detail_text(app)
    assert "a recorded process: not looked up on this machine" in text
    assert "netns: 4026531840" in text and "started:" in text
    assert "command:" not in text and "pytest" not in text


async def test_a_live_pid_now_naming_another_process_is_said_to_have_exited(
    tmp_path: Path,
) -> None:
    # The kernel saw a process start at 99.5 s past the epoch with this PID; what runs as it
    # now (pytest) started decades later: another process, never shown as the recorded one.
    from netwatch.host.procinfo import started_at

    app, source = scripted_app(tmp_path)
    gone = TrafficKey(os.getpid(), 0, "eth0", "curl")
    mine = TrafficKey(os.getpid(), os.getuid(), "lo", "pytest")
    async with app.run_test(size=(140, 40)) as pilot:
        view = app.query_one(TrafficView)
        texts = []
        # Then the same PID seen with its true start: the live process's details.
        for n, (key, started) in enumerate(((gone, 99.5), (mine, started_at(os.getpid())))):
            context = {key.pid: ProcContext("", 4026531840, started)}
            rows = (TrafficRow(key, Counters(1, 1, 9, 9)),)
            source.push_sample(TrafficSample(100.0 + n, 1.0, rows, 0, context))

            def fed(count: int = n + 1) -> bool:
                return view.state.samples == count

            await wait_for(pilot, fed)
            app.push_screen(ProcessDetail(key, view.state, live=True))
            await pilot.pause(0.05)
            texts.append(detail_text(app))
            await pilot.press("escape")
    replaced, same = texts
    assert f"process {os.getpid()} has exited; its PID now names another process" in replaced
    assert "command:" not in replaced
    assert "command:" in same and "sockets:" in same


async def test_the_detail_has_iftops_averages_and_a_plot_with_a_time_axis(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    me = TrafficKey(os.getpid(), os.getuid(), "lo", "pytest")
    async with app.run_test(size=(140, 50)) as pilot:
        view = app.query_one(TrafficView)
        # 50 one-second intervals: 1 KiB/s sent, the last 2 at 41 KiB/s; 2 KiB/s received.
        for i in range(50):
            sent = 41 * 1024 if i >= 48 else 1024
            source.push((me, Counters(1, 1, sent, 2048)), ts=100.0 + i)
        await wait_for(pilot, lambda: view.state.samples == 50)
        await pilot.press("enter")
        text = rates(app)
        lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
        assert lines["averages"].split() == ["averages", "2", "s", "10", "s", "40", "s"]
        sent_lines = [line for line in text.splitlines() if line.startswith("sent")]
        # 2 s: (41+41)/2; 10 s: (8*1+2*41)/10 = 9; 40 s: (38*1+2*41)/40 = 3 KiB/s.
        assert sent_lines[-1].split() == ["sent", "41.0", "KiB/s", "9.0", "KiB/s", "3.0", "KiB/s"]
        received = [line for line in text.splitlines() if line.startswith("received")][-1]
        assert received.split()[1:] == ["2.0", "KiB/s"] * 3
        screen = app.screen
        heading = str(screen.query_one("#detail-tx-heading", Static).render())
        assert heading == "Sent per second, last 50 s: 0 to 41.0 KiB/s"
        tx_axis = str(screen.query_one("#detail-tx-axis", Static).render())
        assert tx_axis.startswith("-50s") and "-25s" in tx_axis and tx_axis.endswith("now")
