"""The Drops tab driven with Pilot against a scripted drops source (no root needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from netwatch.recording.file import RecordingWriter, create_new_file
from netwatch.tabs import codecs, replay_file
from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample
from netwatch.tabs.drops.screen import DropsView
from netwatch.tabs.drops.screen.detail import DropDetail
from netwatch.ui.app import NetwatchApp
from tests.helpers.screens import wait_for
from tests.screens.scripted import ScriptedSource

UDP = DropKey(0xFFFFFFFF81A00100, "NO_SOCKET", 0x0800)
NF = DropKey(0xFFFFFFFF81B00200, "NETFILTER_DROP", 0x0800)
NF6 = DropKey(0xFFFFFFFF81B00200, "NETFILTER_DROP", 0x86DD)
ARP = DropKey(0xFFFFFFFF81C00300, "OTHERHOST", 0x0806)


def sample(ts: float, *rows: tuple[DropKey, int]) -> DropsSample:
    symbols = {
        UDP: "__udp4_lib_rcv+0x4bc",
        NF: "nf_hook_slow+0x9a",
        NF6: "nf_hook_slow+0x9a",
        ARP: "arp_rcv+0x12",
    }
    return DropsSample(ts, 1.0, tuple(DropRow(k, symbols[k], n, "eth0", 0) for k, n in rows))


def drops_app(tmp_path: Path) -> tuple[NetwatchApp, ScriptedSource]:
    drops = ScriptedSource()
    app = NetwatchApp(
        {"traffic": ScriptedSource(), "drops": drops},
        initial_tab="drops",
        snapshot_dir=tmp_path,
        replay=True,
    )
    return app, drops


def shown(app: NetwatchApp) -> list[str]:
    return [g.name for g in app.query_one(DropsView).shown]


def heat(app: NetwatchApp, row: int) -> str:
    return str(app.query_one(DropsView).table.get_row_at(row)[0])


def banner(app: NetwatchApp) -> str:
    return str(app.query_one(DropsView).query_one(".tab-banner", Static).render())


async def feed(pilot, app: NetwatchApp, src: ScriptedSource, *samples: DropsSample) -> None:  # type: ignore[no-untyped-def]
    view = app.query_one(DropsView)
    target = view.state.samples + len(samples)
    for s in samples:
        src.push_sample(s)
    await wait_for(pilot, lambda: view.state.samples == target)


async def test_heatmap_rows_scroll_left_as_intervals_arrive(tmp_path: Path) -> None:
    app, src = drops_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await feed(pilot, app, src, sample(1.0, (UDP, 100), (NF, 1)))
        assert shown(app) == [f"0x{UDP.location:x}", f"0x{NF.location:x}"]
        first = heat(app, 0)
        assert first[-1] == "\u2588" and set(first[:-1]) == {" "}  # newest at the right
        await feed(pilot, app, src, sample(2.0, (NF, 1)), sample(3.0))
        row = heat(app, 0)
        assert row[-3] == "\u2588" and row[-2:] == "  "  # the burst moved two cells left
        assert "drops/s" in banner(app) and "monitoring since" in banner(app)
        legend = str(app.query_one("#drops-legend", Static).render())
        assert legend.startswith("log scale") and "100" in legend
        await pilot.press("l")
        assert str(app.query_one("#drops-legend", Static).render()).startswith("linear scale")


async def test_grouping_cycles_location_function_reason(tmp_path: Path) -> None:
    app, src = drops_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await feed(pilot, app, src, sample(1.0, (NF, 5), (NF6, 7), (UDP, 3)))
        assert len(shown(app)) == 2  # NF and NF6 share a location
        await pilot.press("g")
        assert set(shown(app)) == {"nf_hook_slow", "__udp4_lib_rcv"}
        await pilot.press("g")
        assert shown(app) == ["NETFILTER_DROP", "NO_SOCKET"]
        view = app.query_one(DropsView)
        assert view.shown[0].total == 12 and view.shown[0].protocols == {"ipv4": 5, "ipv6": 7}


async def test_filter_good_and_bad_and_sort(tmp_path: Path) -> None:
    app, src = drops_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await feed(pilot, app, src, sample(1.0, (NF, 5), (UDP, 30), (ARP, 2)))
        await pilot.press("slash", *"proto:arp", "enter")
        assert shown(app) == [f"0x{ARP.location:x}"]
        await pilot.press("slash")
        app.query_one(DropsView).query_one(Input).value = ""
        await pilot.press(*"port:1", "enter")
        assert any("unknown filter key 'port:'" in n.message for n in app._notifications)
        assert shown(app) == [f"0x{ARP.location:x}"]
        await pilot.press("escape", "slash")
        app.query_one(DropsView).query_one(Input).value = ""
        await pilot.press(*"reason:no_sock", "enter")
        assert shown(app) == [f"0x{UDP.location:x}"]
        await pilot.press("slash")
        app.query_one(DropsView).query_one(Input).value = ""
        await pilot.press("enter", "greater_than_sign", "greater_than_sign")  # sort by name
        assert [g.symbol for g in app.query_one(DropsView).shown] == [
            "__udp4_lib_rcv+0x4bc",
            "arp_rcv+0x12",
            "nf_hook_slow+0x9a",
        ]


async def test_pause_keeps_counting_and_detail_and_snapshot(tmp_path: Path) -> None:
    app, src = drops_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await feed(pilot, app, src, sample(1.0, (UDP, 4)))
        await pilot.press("p")
        assert "PAUSED" in banner(app)
        await feed(pilot, app, src, sample(2.0, (UDP, 6)))
        view = app.query_one(DropsView)
        assert str(view.table.get_row_at(0)[2]) == "4"  # frozen
        assert view.state.rows("location")[0].total == 10  # counted
        await pilot.press("p")
        assert str(view.table.get_row_at(0)[2]) == "10"
        await pilot.press("enter")
        assert isinstance(app.screen, DropDetail)
        text = str(app.screen.query_one("#drop-detail", Static).render())
        assert "NO_SOCKET" in text and "ipv4" in text and "total 10 drops" in text
        await pilot.press("escape", "s")
        await wait_for(pilot, lambda: bool(app.last_snapshot))
    paths = {p.suffix: p for p in app.last_snapshot}
    assert set(paths) == {".txt", ".json", ".svg"}
    lines = paths[".txt"].read_text().splitlines()
    assert lines[0].startswith("Monitoring for dropped packets")
    assert lines[1] == (
        f"10 packets dropped at location 0x{UDP.location:x} __udp4_lib_rcv+0x4bc NO_SOCKET"
    )
    assert json.loads(paths[".json"].read_text())["rows"][0]["total"] == 10
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in paths.values())


async def test_detail_says_plainly_when_the_kernel_has_no_rx_sk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netwatch.model.dropreasons import KfreeSkbFormat
    from netwatch.tabs.drops.screen import detail as drop_detail

    # Debian 12's 6.1: reasons, but no rx_sk (6.12+).
    monkeypatch.setattr(
        drop_detail, "load_drop_format", lambda: KfreeSkbFormat(True, False, True, {2: "NO_SOCKET"})
    )
    app, src = drops_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await feed(pilot, app, src, sample(1.0, (UDP, 4)))
        app.push_screen(DropDetail(app.query_one(DropsView).shown[0], "location", live=True))
        await pilot.pause(0.2)
        text = str(app.screen.query_one("#drop-detail", Static).render())
    assert "unknown on this kernel (its skb:kfree_skb has no rx_sk field" in text


async def test_detail_looks_up_port_owners_off_the_ui_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Who holds a port is a walk of every socket on the host: the detail opens at once saying
    it is looking, and shows the owners when the walk is done."""
    import threading

    from netwatch.tabs.drops.screen import detail as drop_detail

    walked_on: list[str] = []
    released = threading.Event()

    def slow_owners(ports: list[tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
        walked_on.append(threading.current_thread().name)
        released.wait(10)  # until the test has seen the detail drawn without it
        return {(netns, port): [f"nw-server({port * 10})"] for netns, port in ports}

    monkeypatch.setattr(drop_detail, "port_holders", slow_owners)
    app, src = drops_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        row = DropRow(UDP, "__udp4_lib_rcv+0x4bc", 4, port=5353)
        await feed(pilot, app, src, DropsSample(1.0, 1.0, (row,)))
        app.push_screen(DropDetail(app.query_one(DropsView).shown[0], "location", live=True))
        await pilot.pause(0.05)
        text = str(app.screen.query_one("#drop-detail", Static).render())
        # Drawn while the walk is still going (on the UI thread, nothing would be drawn yet).
        assert "port 5353: looking up who holds it..." in text
        released.set()
        await wait_for(pilot, lambda: "nw-server(53530)" in str(
            app.screen.query_one("#drop-detail", Static).render()))  # fmt: skip
    assert walked_on and walked_on[0] != threading.main_thread().name


async def test_at_80_columns_a_burst_stays_in_view_for_minutes(tmp_path: Path) -> None:
    app, _ = drops_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(DropsView)
        await pilot.pause(0.1)
        assert view.heat_width < 20  # a dozen cells: one interval each would be 12 s
        view.state.apply(sample(1.0, (UDP, 92_800)))
        for t in range(2, 240):  # four quiet minutes after the burst
            view.state.apply(sample(float(t), (NF, 1)))
        view.redraw()
        await pilot.pause()
        assert view.bucket * view.heat_width >= 239
        row = shown(app).index(f"0x{UDP.location:x}")
        assert heat(app, row).strip()  # the burst is still on screen
        legend = str(app.query_one("#drops-legend", Static).render())
        assert legend.startswith(f"1 cell = {view.bucket} x 1 s")


async def test_the_banner_says_how_many_of_the_matching_rows_are_drawn(tmp_path: Path) -> None:
    from netwatch.tabs.drops.screen import MAX_DRAWN_ROWS

    app, src = drops_app(tmp_path)
    places = [DropKey(0xFFFFFFFF81000000 + 16 * i, "NO_SOCKET", 0x0800) for i in range(210)]
    many = DropsSample(1.0, 1.0, tuple(DropRow(k, f"f{i}+0x1", i + 1, "eth0", 0)
                                       for i, k in enumerate(places)))  # fmt: skip
    async with app.run_test(size=(200, 30)) as pilot:
        await feed(pilot, app, src, many)
        assert len(shown(app)) == MAX_DRAWN_ROWS == 200
        assert "showing 200 of 210 rows" in banner(app)
        await pilot.press("slash")
        await pilot.press(*"f20", "enter")  # f20 and f200-f209 (and nothing else) match
        await pilot.pause()
        assert "| 11 rows" in banner(app)


async def test_a_recorded_hundred_million_drops_replay_and_quit_at_once(tmp_path: Path) -> None:
    # The legend once walked every count up to the peak: a recording with one count of 1e8
    # hung the replay UI, `q` ignored.
    path = tmp_path / "flood.nwrec"
    writer = RecordingWriter(create_new_file(path), codecs("drops"))
    writer.write("drops", sample(1.0, (UDP, 10**8), (NF, 3)))
    writer.close()
    app = NetwatchApp(
        {"traffic": ScriptedSource(), "drops": replay_file("drops", path)},
        initial_tab="drops",
        snapshot_dir=tmp_path,
        replay=True,
    )
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(DropsView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        legend = str(app.query_one("#drops-legend", Static).render())
        assert legend.endswith(f"-{10**8}")
        await pilot.press("q")
    assert app.return_code == 0


@pytest.mark.parametrize(("width", "whole"), [(160, True), (100, False)])
async def test_a_long_reason_is_whole_where_the_heatmap_can_spare_the_room(
    tmp_path: Path, width: int, whole: bool
) -> None:
    # #24: REASON cut TCP_LISTEN_OVERFLOW to TCP_LISTEN_OVERF at 160 columns beside 70 cells
    # of heatmap. Narrow, the heatmap keeps what it has (minutes of history at 80 columns).
    app, src = drops_app(tmp_path)
    overflow = DropKey(0xFFFFFFFF81C00300, "TCP_LISTEN_OVERFLOW", 0x0800)
    async with app.run_test(size=(width, 30)) as pilot:
        await pilot.pause()
        src.push_sample(DropsSample(1.0, 1.0, (DropRow(overflow, "tcp_v4_syn_recv_sock+0x1", 3,
                                                       "eth0", 0),)))  # fmt: skip
        await wait_for(pilot, lambda: app.query_one(DropsView).state.samples == 1)
        await pilot.pause()
        view = app.query_one(DropsView)
        drawn = app.export_screenshot()
    assert ("TCP_LISTEN_OVERFLOW" in drawn) == whole
    assert view.heat_width >= (60 if whole else 12)
