"""Text a local user controls is shown, never obeyed: terminal escapes, newlines, bidi overrides
and Textual markup in process names, command lines, filters and snapshots (issue #10)."""

from __future__ import annotations

import csv
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from textual.widgets import Static

from netwatch.host.procinfo import started_at
from netwatch.model.containers import ProcContext
from netwatch.model.untrusted import name_text, printable
from netwatch.tabs.accepts.model import AcceptEvent, AcceptsSample
from netwatch.tabs.accepts.screen import AcceptsView
from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow, TrafficSample
from netwatch.tabs.traffic.screen import TrafficView
from netwatch.tabs.traffic.screen.detail import ProcessDetail
from netwatch.ui.app import NetwatchApp
from tests.helpers.screens import wait_for
from tests.screens.scripted import ScriptedSource

# Each as a process could name itself (comm is at most 15 bytes; these fit or are cut there).
HOSTILE_NAMES = (
    "\x1b[2J\x1b[H",
    "\x1b]0;pwn\x07",
    "\x1b[31mRED",
    "\x9b2J",
    "a\nb\tc\rd",
    "[/x]",
    "[@click=app.quit]",
    "=1+cmd|A1",
    "evil\u202etxt",
)
MARKUP_CMDLINE = "[@click=app.quit][reverse]CLICK-ME[/]"
FORBIDDEN = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))] + ["\u202e"]


def assert_clean(text: str) -> None:
    bad = sorted({repr(ch) for ch in text if ch in FORBIDDEN and ch != "\n"})
    assert not bad, f"raw control characters reached the output: {bad}"


def svg_text(svg: str) -> str:
    root = ET.fromstring(svg)  # raises on a document that is not well-formed XML
    return "".join(root.itertext()).replace("\xa0", " ")


async def test_traffic_rows_detail_filter_and_snapshots_show_names_escaped(
    tmp_path: Path,
) -> None:
    # A real process whose command line is Textual markup, so the detail screen reads it.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", MARKUP_CMDLINE],
        stdout=subprocess.DEVNULL,
    )
    try:
        source = ScriptedSource()
        app = NetwatchApp({"traffic": source}, snapshot_dir=tmp_path, replay=True)
        keys = [TrafficKey(holder.pid, 0, "lo", "[/x]")]
        keys += [TrafficKey(1000 + i, 0, "lo", n) for i, n in enumerate(HOSTILE_NAMES)]
        async with app.run_test(size=(160, 40)) as pilot:
            rows = tuple(
                TrafficRow(k, Counters(10 - i, 1, 1000 - i, 100)) for i, k in enumerate(keys)
            )
            # The holder as the kernel saw it, with its start: the live detail may read it.
            context = {holder.pid: ProcContext("", 0, started_at(holder.pid))}
            source.push_sample(TrafficSample(100.0, 1.0, rows, 0, context))
            view = app.query_one(TrafficView)
            await wait_for(pilot, lambda: view.table.row_count == len(keys))
            shown = {str(view.table.get_row_at(i)[-1]) for i in range(view.table.row_count)}
            # A name that starts like netwatch's own bracketed rows is marked as a process's.
            assert {name_text(n) for n in HOSTILE_NAMES} <= shown
            assert "\\x5b/x]" in shown and "[/x]" not in shown
            assert "\\x1b[2J\\x1b[H" in shown and "a\\nb\\tc\\rd" in shown
            screen = svg_text(app.export_screenshot())
            assert_clean(screen)
            assert "\\x5b/x]" in screen and "\\x1b]0;pwn\\x07" in screen

            # The "[/x]" row's detail, live (a replay's reads no /proc): the markup command line
            # shows literally.
            app.push_screen(ProcessDetail(keys[0], view.state, live=True))
            await wait_for(pilot, lambda: bool(app.screen.query("#detail-process")))
            detail = str(app.screen.query_one("#detail-process", Static).render())
            assert MARKUP_CMDLINE in detail
            await pilot.press("escape")

            # A filter that is broken markup is shown in the banner, not parsed.
            await pilot.press("slash", *"[/", "enter")
            await wait_for(pilot, lambda: "[/" in str(view.query_one(".tab-banner").render()))
            await pilot.press("slash", "ctrl+u", "enter")  # clear it again
            await wait_for(pilot, lambda: view.table.row_count == len(keys))

            await pilot.press("s")
            await wait_for(pilot, lambda: bool(app.last_snapshot))
        assert app.return_code in (0, None)
    finally:
        holder.kill()
        holder.wait()
    files = {p.suffix: p.read_text() for p in app.last_snapshot}
    assert_clean(files[".txt"])
    assert "\\x1b[2J\\x1b[H" in files[".txt"]
    assert_clean(svg_text(files[".svg"]))
    assert "a\nb\tc\rd" in files[".json"] or "a\\nb\\tc\\rd" in files[".json"]  # exact in JSON


async def test_accepts_csv_neutralizes_formulas_and_escapes_names(tmp_path: Path) -> None:
    src = ScriptedSource()
    app = NetwatchApp(
        {"traffic": ScriptedSource(), "accepts": src},
        initial_tab="accepts",
        snapshot_dir=tmp_path,
        replay=True,
    )
    events = tuple(
        AcceptEvent(1000.0 + i, 50 + i, 50 + i, 0, n, "ipv4", "10.0.0.1", 80, "10.0.0.2", 4000)
        for i, n in enumerate(HOSTILE_NAMES)
    )
    async with app.run_test(size=(160, 40)) as pilot:
        src.push_sample(AcceptsSample(2000.0, 1.0, events))
        view = app.query_one(AcceptsView)
        await wait_for(pilot, lambda: view.table.row_count == len(events))
        assert_clean(svg_text(app.export_screenshot()))
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(app.last_snapshot))
    files = {p.suffix: p for p in app.last_snapshot}
    with files[".csv"].open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["comm"] for r in rows] == [
        "'" + printable(n) if n.startswith("=") else printable(n) for n in HOSTILE_NAMES
    ]
    assert_clean(files[".csv"].read_text())
    assert_clean(files[".txt"].read_text())
    assert_clean(svg_text(files[".svg"].read_text()))
