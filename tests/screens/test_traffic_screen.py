"""The Traffic tab driven with Pilot against replayed and scripted sources (no root needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from textual.widgets import Input, Static, TabbedContent

from netwatch.screens.help import HelpScreen
from netwatch.tabs import replay_file
from netwatch.tabs.traffic.model import Counters, TrafficKey
from netwatch.tabs.traffic.screen import TrafficView
from netwatch.tabs.traffic.screen.detail import ProcessDetail
from netwatch.ui.app import NetwatchApp
from tests.helpers.paths import DEMO
from tests.helpers.screens import (
    CURL,
    NGINX,
    REDIS,
    banner,
    first_sample,
    scripted_app,
    shown_pids,
    status,
    traffic_shown,
    wait_for,
)
from tests.screens.scripted import ScriptedSource


async def test_rows_arrive_sorted_by_total_bytes_a_column_on_screen(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(80, 30)) as pilot:  # the narrowest layout has it too
        first_sample(source)
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        assert shown_pids(app) == [200, 100, 300]  # 9000, 2148 and 500 bytes
        assert "sort TOT_KB desc" in banner(app)
        assert str(view.table.columns["total_kb"].label) == "TOT_KB▼"  # type: ignore[index]


async def test_sort_keys_cycle_columns_and_reverse(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(130, 30)) as pilot:  # wide enough for UID
        first_sample(source)
        await wait_for(pilot, lambda: app.query_one(TrafficView).state.samples == 1)
        for _ in range(4):  # from TOT_KB back through RECV_KB, XMIT_KB, RECV_PK to XMIT_PK
            await pilot.press("less_than_sign")
        assert "sort XMIT_PK desc" in banner(app)
        assert shown_pids(app) == [200, 100, 300]
        await pilot.press("r")
        assert shown_pids(app) == [300, 100, 200]
        assert "sort XMIT_PK asc" in banner(app)
        await pilot.press("greater_than_sign")  # on to RECV_PK, most first again
        assert shown_pids(app) == [300, 100, 200] and "sort RECV_PK desc" in banner(app)
        table = app.query_one(TrafficView).table
        for _ in range(8):  # on past the last column (COMMAND), round to PID, then UID
            await pilot.press("greater_than_sign")
        label = table.columns["uid"].label  # type: ignore[index]
        assert "underline" in str(label.style) and "sort UID desc" in banner(app)


async def test_updates_keep_rows_in_place_and_the_cursor_on_its_process(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        first_sample(source)
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        table = view.table
        await pilot.press("down")  # cursor on curl (PID 100), second row
        assert str(table.get_row_at(table.cursor_row)[0]).strip() == "100"
        # curl becomes the busiest: it moves to the top and the cursor follows it.
        source.push((CURL, Counters(50, 50, 20000, 20000)), (NGINX, Counters(10, 0, 9000, 0)))
        await wait_for(pilot, lambda: view.state.samples == 2)
        assert shown_pids(app) == [100, 200]
        assert str(table.get_row_at(table.cursor_row)[0]).strip() == "100"


async def test_filter_good_and_bad(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        first_sample(source)
        await wait_for(pilot, lambda: app.query_one(TrafficView).state.samples == 1)
        await pilot.press("slash")
        box = app.query_one(TrafficView).query_one(Input)
        assert box.has_focus
        await pilot.press(*"dev:eth0", "enter")
        assert sorted(shown_pids(app)) == [100, 200]
        assert "filter 'dev:eth0'" in banner(app)
        # A bad filter: error shown, previous filter kept, box stays open to fix it.
        await pilot.press("slash")
        box.value = ""
        await pilot.press(*"port:80", "enter")
        assert sorted(shown_pids(app)) == [100, 200]
        assert "filter 'dev:eth0'" in banner(app)
        assert any("unknown filter key 'port:'" in n.message for n in app._notifications)
        assert box.display
        await pilot.press("escape")
        assert not box.display
        # Clearing.
        await pilot.press("slash")
        box.value = ""
        await pilot.press("enter")
        assert sorted(shown_pids(app)) == [100, 200, 300]


async def test_keys_typed_in_a_burst_after_slash_land_in_the_filter(tmp_path: Path) -> None:
    """As tmux send-keys or a paste over SSH delivers them: all queued before '/' is handled."""
    from textual import events

    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        first_sample(source)
        await wait_for(pilot, lambda: app.query_one(TrafficView).state.samples == 1)
        typed = [("colon", c) if c == ":" else (c, c) for c in "comm:redis"]
        for key, char in [("slash", "/"), *typed, ("enter", None)]:
            app.post_message(events.Key(key, char))
        await wait_for(pilot, lambda: "filter 'comm:redis'" in banner(app))
        assert shown_pids(app) == [300]
        assert not app.query_one(TrafficView).spec.cumulative  # 'c' was typed, not obeyed


async def test_pause_freezes_the_display_while_collection_goes_on(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        first_sample(source)
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        await pilot.press("p")
        assert "PAUSED" in banner(app) and status(app).startswith("PAUSED")
        source.push((REDIS, Counters(7, 7, 7, 7)))
        await wait_for(pilot, lambda: view.state.samples == 2)
        assert sorted(shown_pids(app)) == [100, 200, 300]  # frozen
        assert view.state.totals[REDIS] == Counters(7, 12, 7, 507)  # but counted
        await pilot.press("p")
        assert shown_pids(app) == [300]
        assert "PAUSED" not in banner(app)


async def test_cumulative_toggle(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        first_sample(source)
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.state.samples == 1)
        source.push((REDIS, Counters(1, 0, 10, 0)))
        await wait_for(pilot, lambda: view.state.samples == 2)
        assert shown_pids(app) == [300]
        await pilot.press("c")
        assert sorted(shown_pids(app)) == [100, 200, 300]
        assert "totals since start" in banner(app)


async def test_snapshot_writes_the_view_as_shown(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        first_sample(source)
        await wait_for(pilot, lambda: app.query_one(TrafficView).state.samples == 1)
        await pilot.press("slash", *"!pid:300", "enter", "s")
        await wait_for(pilot, lambda: bool(app.last_snapshot))
    paths = {p.suffix: p for p in app.last_snapshot}
    assert set(paths) == {".txt", ".json", ".svg"}
    for p in paths.values():
        assert p.parent == tmp_path and p.stat().st_mode & 0o777 == 0o600
    text = paths[".txt"].read_text().splitlines()
    assert text[0].startswith("  PID   UID DEV     XMIT_PK")
    assert [line.split()[0] for line in text[1:]] == ["200", "100"]
    data = json.loads(paths[".json"].read_text())
    assert data["filter"] == "!pid:300" and [r["pid"] for r in data["rows"]] == [200, 100]
    assert paths[".svg"].read_text().startswith("<svg")


async def test_snapshot_to_an_unwritable_place_is_an_error_not_a_crash() -> None:
    source = ScriptedSource()
    app = NetwatchApp({"traffic": source}, snapshot_dir=Path("/proc/self"), replay=True)
    async with app.run_test(size=(100, 30)) as pilot:
        first_sample(source)
        await wait_for(pilot, lambda: app.query_one(TrafficView).state.samples == 1)
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(app._notifications))
        assert any("cannot write snapshot" in n.message for n in app._notifications)
        assert app.is_running


async def test_enter_opens_the_process_detail_and_escape_returns(tmp_path: Path) -> None:
    # Live (a replay's detail reads no /proc): this process, as it runs now.
    source = ScriptedSource()
    app = NetwatchApp({"traffic": source}, snapshot_dir=tmp_path, replay=False)
    me = TrafficKey(os.getpid(), os.getuid(), "lo", "pytest")
    async with app.run_test(size=(120, 40)) as pilot:
        source.push((me, Counters(3, 3, 3000, 3000)))
        await wait_for(pilot, lambda: app.query_one(TrafficView).state.samples == 1)
        await pilot.press("enter")
        assert isinstance(app.screen, ProcessDetail)
        text = str(app.screen.query_one("#detail-process", Static).render())
        assert "pytest" in text and "user:" in text and "started:" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, ProcessDetail)


async def test_help_tabs_and_resize(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        first_sample(source)
        await wait_for(pilot, lambda: app.query_one(TrafficView).state.samples == 1)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("4")
        assert app.query_one(TabbedContent).active == "tab-drops"
        await pilot.press("1")
        assert app.query_one(TabbedContent).active == "tab-traffic"
        for size in ((60, 15), (200, 60), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            assert app.query_one(TrafficView).table.row_count == 3


@pytest.mark.parametrize("tab", ["calls", "accepts", "drops"])
async def test_tabs_without_a_source_say_so_honestly(tab: str, tmp_path: Path) -> None:
    app = NetwatchApp(
        {"traffic": ScriptedSource()}, initial_tab=tab, snapshot_dir=tmp_path, replay=True
    )
    async with app.run_test(size=(100, 30)):
        pane = app.query_one(f"#tab-{tab}")
        assert "no " + tab.capitalize() + " source" in str(pane.query_one(Static).render())


async def test_replay_plays_the_committed_recording_to_its_end(tmp_path: Path) -> None:
    source = replay_file("traffic", DEMO, speed=100)
    app = NetwatchApp({"traffic": source}, snapshot_dir=tmp_path, replay=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.health["traffic"].state == "ended")
        assert "end of recording" in banner(app)
        assert status(app).startswith("REPLAY")
        await pilot.press("c")
        comms = {
            str(app.query_one(TrafficView).table.get_row_at(i)[-1])
            for i in range(app.query_one(TrafficView).table.row_count)
        }
        assert {"backup-agent", "backup-server", "metrics-feed", "metrics-sink"} <= comms


async def test_no_color_keeps_state_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under NO_COLOR the meaning must survive: PAUSED is a word, the sorted column underlined."""
    monkeypatch.setenv("NO_COLOR", "1")
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.no_color
        first_sample(source)
        await wait_for(pilot, lambda: app.query_one(TrafficView).state.samples == 1)
        await pilot.press("p")
        assert "PAUSED" in banner(app) and status(app).startswith("PAUSED")
        label = app.query_one(TrafficView).table.columns["total_kb"].label  # type: ignore[index]
        assert "underline" in str(label.style)


async def test_help_lists_the_shown_tabs_keys_first(tmp_path: Path) -> None:
    # #24: the help screen began with the keys every tab shares, the shown tab's far below.
    async with traffic_shown(tmp_path, (100, 40)) as (app, pilot, _, _):
        texts = []
        for tab in ("1", "4"):
            await pilot.press(tab, "question_mark")
            texts.append(str(app.screen.query_one(Static).render()))
            await pilot.press("escape")
    traffic, drops = texts
    assert traffic.startswith("Traffic tab") and drops.startswith("Drops tab")
    assert "netwatch keys" in drops and drops.index("Traffic tab") > drops.index("netwatch keys")


async def test_b_shows_the_tables_rates_in_bits_as_the_detail_does(tmp_path: Path) -> None:
    async with traffic_shown(tmp_path, (140, 24)) as (_, pilot, _, view):

        def rates() -> list[str]:
            at = [c.id for c in view.columns].index("tx_rate")
            return [str(view.table.get_row_at(i)[at]) for i in range(view.table.row_count)]

        assert all(r.endswith("iB") for r in rates())  # each with its unit
        await pilot.press("b")
        await pilot.pause()
        assert all(r.endswith(("kb", "Mb", "Gb")) for r in rates()), rates()


async def test_a_live_filter_takes_a_namespace_by_name(tmp_path: Path) -> None:
    # #24: netns: took inodes only, which an operator had to look up by hand.
    from netwatch.model.containers import ProcContext
    from netwatch.tabs.traffic.model import TrafficRow, TrafficSample

    here = os.stat("/proc/self/ns/net").st_ino
    source = ScriptedSource()
    app = NetwatchApp({"traffic": source}, snapshot_dir=tmp_path, replay=False)
    async with app.run_test(size=(120, 30)) as pilot:
        rows = (TrafficRow(CURL, Counters(1, 1, 100, 100)), TrafficRow(NGINX, Counters(5, 5, 9, 9)))
        context = {CURL.pid: ProcContext("", here), NGINX.pid: ProcContext("", here + 1)}
        source.push_sample(TrafficSample(100.0, 1.0, rows, 0, context))
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.table.row_count == 2)
        await pilot.press("slash", *"netns:host", "enter")
        await wait_for(pilot, lambda: view.table.row_count == 1)
        assert shown_pids(app) == [CURL.pid]
        await pilot.press("slash", "ctrl+u", *"netns:nosuchname", "enter")
        await pilot.pause()
        assert shown_pids(app) == [CURL.pid]  # refused: the previous filter stays


def history_cell(view: TrafficView, key: TrafficKey) -> str:
    from netwatch.tabs.traffic.view_model import row_id

    return str(view.table.get_cell(row_id(key), "history"))


async def push_rates(pilot: object, source: ScriptedSource, view: TrafficView) -> None:
    """Eight intervals: curl's bytes 0, 100, ..., 700 a second; nginx a burst in the third."""
    for i in range(8):
        source.push((CURL, Counters(1, 0, i * 100, 0)),
                    (NGINX, Counters(1, 0, 5000 if i == 2 else 10, 0)), ts=1.0 + i)  # fmt: skip
    await wait_for(pilot, lambda: view.state.samples == 8)  # type: ignore[arg-type]


async def test_history_shows_each_rows_rates_as_glyphs_from_180_columns(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(200, 30)) as pilot:
        view = app.query_one(TrafficView)
        await push_rates(pilot, source, view)
        width = view.table.columns["history"].width  # type: ignore[index]
        assert 20 <= width <= 60
        # Idle before it was first seen: blanks, then its rates scaled to its own peak.
        assert history_cell(view, CURL).endswith(" ▂▃▄▅▆▇█")
        assert history_cell(view, CURL) == " " * (width - 7) + "▂▃▄▅▆▇█"
        assert history_cell(view, NGINX).endswith("▁▁█▁▁▁▁▁")
        await pilot.resize_terminal(179, 30)  # narrower than HISTORY_FROM: no column
        await wait_for(pilot, lambda: "history" not in [c.id for c in view.columns])
        assert "history" not in [str(c.value) for c in view.table.columns]


async def test_history_falls_back_to_ascii_without_a_utf8_locale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LC_ALL", "C")
    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(200, 30)) as pilot:
        view = app.query_one(TrafficView)
        await push_rates(pilot, source, view)
        assert history_cell(view, CURL).endswith(" :-=+*#@")
        assert all(ord(c) < 128 for c in history_cell(view, NGINX))


async def test_a_grouped_rows_history_sums_its_processes(tmp_path: Path) -> None:
    app, source = scripted_app(tmp_path)
    other_curl = TrafficKey(101, 0, "eth0", "curl")
    async with app.run_test(size=(200, 30)) as pilot:
        view = app.query_one(TrafficView)
        for i in range(4):  # pid 100 sends in the first two intervals, pid 101 in the last two
            rows = [(CURL if i < 2 else other_curl, Counters(1, 0, 700, 0))]
            source.push(*rows, ts=1.0 + i)
        await wait_for(pilot, lambda: view.state.samples == 4)
        await pilot.press("g")
        await wait_for(pilot, lambda: "by program" in banner(app))
        (row,) = [r for r in view.shown if r.key.comm == "curl"]
        from netwatch.tabs.traffic.view_model import row_id

        cell = str(view.table.get_cell(row_id(row.key), "history"))
        assert cell.endswith("████")  # two processes, one line: busy all four intervals


async def test_totals_keep_an_exited_process_marked_and_its_detail_says_when(
    tmp_path: Path,
) -> None:
    from netwatch.tabs.traffic.model import TrafficRow, TrafficSample
    from netwatch.tabs.traffic.view_model import row_id

    app, source = scripted_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        view = app.query_one(TrafficView)
        first_sample(source)
        source.push_sample(TrafficSample(2.0, 1.0, (TrafficRow(NGINX, Counters(1, 0, 10, 0)),),
                                         exited=((CURL.pid, 1700000002.0),)))  # fmt: skip
        await wait_for(pilot, lambda: view.state.samples == 2)
        await pilot.press("c")
        await wait_for(pilot, lambda: "totals since start" in banner(app))
        assert "1 exited" in banner(app)
        comm = str(view.table.get_cell(row_id(CURL), "comm"))
        assert comm == "curl (exited)"
        assert str(view.table.get_cell(row_id(NGINX), "comm")) == "nginx"
        view.table.move_cursor(row=shown_pids(app).index(CURL.pid))
        await pilot.press("enter")
        assert isinstance(app.screen, ProcessDetail)
        text = str(app.screen.query_one("#detail-process", Static).render())
        assert text.startswith("exited: by ") and "its totals stay" in text


async def test_history_is_drawn_for_the_rows_near_the_screen_and_follows_a_scroll(
    tmp_path: Path,
) -> None:
    from netwatch.tabs.traffic.view_model import row_id

    app, source = scripted_app(tmp_path)
    keys = [TrafficKey(1000 + i, 0, "eth0", f"p{i:03d}") for i in range(150)]
    async with app.run_test(size=(200, 30)) as pilot:
        view = app.query_one(TrafficView)
        for t in range(3):  # bytes fall with the rank: the order is the keys' order
            source.push(*((k, Counters(1, 0, 100_000 - 100 * i, 0)) for i, k in enumerate(keys)),
                        ts=1.0 + t)  # fmt: skip
        await wait_for(pilot, lambda: view.state.samples == 3 and view.table.row_count == 150)

        def drawn(i: int) -> str:
            return str(view.table.get_cell(row_id(view.shown[i].key), "history")).strip()

        assert drawn(0) == "███" and drawn(149) == ""  # far below the screen: not drawn
        view.table.move_cursor(row=149)  # the cursor to the last row: the table scrolls there
        await wait_for(pilot, lambda: drawn(149) == "███")
