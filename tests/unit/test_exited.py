"""Totals that outlive processes (#26): which processes exited (by /proc), how the Traffic
state keeps their rows marked and bounded, how a recording carries it, and `top -b --totals`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netwatch.cli.batch import Output
from netwatch.host.exits import ExitWatch
from netwatch.host.procinfo import running, started_at
from netwatch.recording.file import RecordingWriter, create_new_file, load_recording
from netwatch.tabs import codecs
from netwatch.tabs.traffic import model
from netwatch.tabs.traffic.batch import printer
from netwatch.tabs.traffic.model import (
    Counters,
    TrafficKey,
    TrafficRow,
    TrafficSample,
    TrafficState,
)
from netwatch.tabs.traffic.view_model import ViewSpec, build_view

CURL = TrafficKey(4001, 0, "eth0", "curl")
NGINX = TrafficKey(4002, 0, "eth0", "nginx")


def sample(
    ts: float, *keys: TrafficKey, exited: tuple[tuple[int, float], ...] = ()
) -> TrafficSample:
    rows = tuple(TrafficRow(k, Counters(1, 1, 100 * k.pid, 0)) for k in keys)
    return TrafficSample(ts, 1.0, rows, exited=exited)


def test_running_tells_a_live_process_from_a_zombie_a_gone_one_and_a_pid_reused() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = 0.0
        for _ in range(50):
            started = started_at(child.pid)
            if started:
                break
            time.sleep(0.02)
        assert running(child.pid, started) and running(child.pid, 0.0)
        assert not running(child.pid, started - 3600)  # another process's start: reused PID
        child.kill()
        deadline = time.monotonic() + 5
        while running(child.pid, started) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not running(child.pid, started)  # a zombie until waited for: exited
    finally:
        child.wait()
    assert not running(child.pid, started)  # reaped: gone


def test_the_watch_looks_at_the_processes_that_went_quiet_first_and_the_rest_in_turn() -> None:
    alive = {1: True, 2: True, 3: True}
    asked: list[int] = []

    def is_alive(pid: int, started: float) -> bool:
        asked.append(pid)
        return alive[pid]

    watch = ExitWatch(is_alive)
    assert watch.read([(1, 10.0), (2, 20.0), (3, 30.0)], 100.0) == []
    assert asked == []  # every one active: nothing to look at
    alive[2] = False
    assert watch.read([(1, 10.0), (3, 30.0)], 101.0) == [(2, 101.0)]  # went quiet: looked at
    asked.clear()
    alive[3] = False
    assert watch.read([(1, 10.0)], 102.0) == [(3, 102.0)]
    asked.clear()
    assert watch.read([(1, 10.0)], 103.0) == []
    assert 2 not in asked and 3 not in asked  # found exited once, then let go


def test_the_state_marks_exited_rows_unmarks_a_reused_pid_and_folds_past_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = TrafficState()
    state.apply(sample(100.0, CURL, NGINX))
    state.apply(sample(101.0, NGINX, exited=((CURL.pid, 101.0),)))
    totals = {r.key: r for r in build_view(state, ViewSpec(cumulative=True), str)}
    assert totals[CURL].exited == 101.0 and totals[NGINX].exited is None
    assert totals[CURL].shown.xmit_bytes == 100 * CURL.pid  # its totals stay
    state.apply(sample(110.0, CURL))  # the PID sends again, long after: another process
    assert state.exited_at(CURL.pid) is None
    monkeypatch.setattr(model, "MAX_EXITED", 2)
    many = [TrafficKey(5000 + i, 0, "eth0", f"p{i}") for i in range(5)]
    state.apply(sample(120.0, *many))
    state.apply(sample(121.0, exited=tuple((k.pid, 121.0) for k in many)))
    assert len(state.exited) == 2 and state.exited_folded == 3
    kept = sorted(state.exited)
    assert kept == [5003, 5004]  # the busiest (most bytes) stay
    (folded,) = [k for k in state.totals if k.reason == model.REASON_EXITED]
    assert folded.comm == "[exited]"
    assert state.totals[folded].xmit_bytes == 100 * (5000 + 5001 + 5002)


def test_a_recording_keeps_the_exits_and_older_records_read_without_them(tmp_path: Path) -> None:
    path = tmp_path / "r.nwrec"
    writer = RecordingWriter(create_new_file(path), codecs("traffic"))
    writer.write("traffic", sample(100.0, CURL))
    writer.write("traffic", sample(101.0, exited=((CURL.pid, 100.75),)))
    writer.close()
    got = load_recording(path, codecs("traffic"))["traffic"]
    assert got[0].exited == () and got[1].exited == ((CURL.pid, 100.75),)
    lines = path.read_text().splitlines()
    assert '"exited"' not in lines[1] and '"exited":[[4001,100.75]]' in lines[2]


def test_top_batch_totals_keeps_an_exited_process_marked_in_text_and_json() -> None:
    text, js = io.StringIO(), io.StringIO()
    emit_text = printer(Output(), text, totals=True)
    emit_json = printer(Output(json=True), js, totals=True)
    for s in (sample(100.0, CURL, NGINX), sample(101.0, NGINX, exited=((CURL.pid, 101.0),))):
        emit_text(s)
        emit_json(s)
    last_table = text.getvalue().strip().split("\n\n")[-1]
    assert "# totals since start" in last_table
    assert any(line.endswith("curl (exited)") for line in last_table.splitlines())
    rows = [json.loads(x) for x in js.getvalue().splitlines()]
    last = {r["comm"]: r for r in rows if r["ts"] == 101.0}
    assert last["curl"]["exited"] == 101.0 and last["nginx"]["exited"] is None
    assert last["curl"]["xmit_bytes"] == 100 * CURL.pid
