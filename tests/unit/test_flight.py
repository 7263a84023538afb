"""The flight recorder's logic (netwatch/recording/flight.py), driven by hand: samples in with
the time they came, files out when asked or triggered, each a recording that replays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netwatch.recording.file import load_recording
from netwatch.recording.flight import FlightOptions, FlightRecorder, flight_note
from netwatch.recording.triggers import TriggerError, parse_trigger
from netwatch.tabs import codecs, trigger_measures
from netwatch.tabs.accepts.model import AcceptsSample
from netwatch.tabs.conns.model import ConnsSample
from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample
from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow, TrafficSample
from tests.helpers.conns import row as conn_row

MEASURES = trigger_measures()
T0 = 1_800_000_000.0


def traffic(ts: float, nbytes: int = 100) -> TrafficSample:
    key = TrafficKey(7, 0, "lo", "curl")
    return TrafficSample(ts, 1.0, (TrafficRow(key, Counters(1, 1, nbytes, nbytes)),))


def drops(ts: float, **by_reason: int) -> DropsSample:
    rows = tuple(DropRow(DropKey(1, reason, 0x800), "f+0x1", n) for reason, n in by_reason.items())
    return DropsSample(ts, 1.0, rows)


def recorder(tmp_path: Path, *triggers: str, **kw: float) -> FlightRecorder:
    options = FlightOptions(
        window=kw.pop("window", 30.0),
        output=tmp_path / "flight.nwrec",
        triggers=[parse_trigger(t, MEASURES) for t in triggers],
        **kw,  # type: ignore[arg-type]
    )
    return FlightRecorder(options, codecs("traffic", "drops"), wall=lambda: T0)


def feed(r: FlightRecorder, seconds: range, **drops_at: int) -> None:
    """One traffic and one drops sample a second; `drops_at` maps "tN" to NETFILTER drops."""
    for t in seconds:
        r.take("traffic", traffic(T0 + t), float(t))
        r.take("drops", drops(T0 + t, NETFILTER_DROP=drops_at.get(f"t{t}", 0)), float(t))


def test_asked_it_writes_the_last_window_only_and_the_file_replays(tmp_path: Path) -> None:
    r = recorder(tmp_path, window=30.0)
    feed(r, range(0, 75))
    assert len(r.ring) == 2 * 31  # 30 s back from t=74: t=44..74, two tabs
    r.ask(74.0)
    assert r.due(74.0)
    written = r.write(74.0)
    assert written.why == "SIGUSR1" and written.records == 62
    rec = load_recording(written.path, codecs("traffic", "drops"))
    ts = [s.ts - T0 for s in rec["traffic"]]
    assert ts == [float(t) for t in range(44, 75)]
    assert rec.header["flight"]["trigger"] == "SIGUSR1"
    assert flight_note(rec.header) is not None and "SIGUSR1" in str(flight_note(rec.header))
    assert oct(os.stat(written.path).st_mode & 0o777) == "0o600"
    assert written.path.name.startswith("flight-") and written.path.suffix == ".nwrec"


def test_a_trigger_waits_its_after_then_writes_once_and_rests_its_cooldown(tmp_path: Path) -> None:
    r = recorder(tmp_path, "drops:NETFILTER_DROP>50/s", after=5.0, cooldown=20.0)
    feed(r, range(0, 10), t8=40)  # 40/s: under the threshold
    assert r.pending is None
    feed(r, range(10, 11), t10=500)
    assert r.pending is not None and "drops:NETFILTER_DROP>50/s" in r.pending
    feed(r, range(11, 15))
    assert not r.due(14.0)
    feed(r, range(15, 16))
    assert r.due(15.0)
    first = r.write(15.0)
    rec = load_recording(first.path, codecs("traffic", "drops"))
    burst = [s for s in rec["drops"] if s.total == 500]
    assert len(burst) == 1 and burst[0].ts == T0 + 10  # the file holds the burst
    assert max(s.ts for s in rec["drops"]) == T0 + 15  # and the seconds after it
    feed(r, range(16, 30), t20=900)  # inside the cooldown: no new trigger
    assert r.pending is None
    feed(r, range(36, 37), t36=900)  # after it
    assert r.pending is not None


def test_other_reasons_and_other_tabs_do_not_fire_a_reason_trigger(tmp_path: Path) -> None:
    r = recorder(tmp_path, "drops:NETFILTER_DROP>10/s")
    r.take("drops", drops(T0, TCP_INVALID_SEQUENCE=1000), 0.0)
    r.take("traffic", traffic(T0, 10**9), 0.0)
    assert r.pending is None
    r.take("drops", drops(T0 + 1, NETFILTER_DROP=11), 1.0)
    assert r.pending is not None


def test_keep_removes_only_this_runs_oldest_files_and_names_never_collide(tmp_path: Path) -> None:
    other = tmp_path / "flight-mine.nwrec"
    other.write_text("not the recorder's")
    r = recorder(tmp_path, keep=2)
    feed(r, range(0, 3))
    paths = []
    for t in (3.0, 4.0, 5.0):
        r.ask(t)
        paths.append(r.write(t).path)  # the same wall second: -2, -3 after the first
    assert len(set(paths)) == 3
    assert not paths[0].exists() and paths[1].exists() and paths[2].exists()
    assert other.read_text() == "not the recorder's"


def test_a_symlink_where_the_file_would_go_is_not_followed(tmp_path: Path) -> None:
    r = recorder(tmp_path)
    feed(r, range(0, 2))
    target = tmp_path / "precious"
    target.write_text("keep me")
    stamp = __import__("time").strftime("%Y%m%dT%H%M%S", __import__("time").localtime(T0))
    (tmp_path / f"flight-{stamp}.nwrec").symlink_to(target)
    r.ask(2.0)
    written = r.write(2.0)
    assert written.path.name == f"flight-{stamp}-2.nwrec"
    assert target.read_text() == "keep me"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("drops>", "expected NAME>N/s"),
        ("drop>5/s", "unknown trigger 'drop'"),
        ("bytes:eth0>5/s", "takes no ':eth0'"),
        ("drops>5", "expected NAME>N/s"),
        ("drops>-5/s", "expected NAME>N/s"),
    ],
)
def test_a_bad_trigger_is_one_line_naming_what_is_wrong(expr: str, message: str) -> None:
    with pytest.raises(TriggerError, match=message):
        parse_trigger(expr, MEASURES)


def test_each_tabs_measure_counts_its_own_sample() -> None:
    def rate(expr: str, tab: str, sample: object) -> float | None:
        return parse_trigger(expr, MEASURES).rate(tab, sample)

    assert rate("bytes>1M/s", "traffic", traffic(T0, 1000)) == 2000
    assert parse_trigger("bytes>1M/s", MEASURES).per_second == 1e6
    assert rate("drops>1/s", "drops", drops(T0, A=3, B=4)) == 7
    assert rate("drops:B>1/s", "drops", drops(T0, A=3, B=4)) == 4
    accepts = AcceptsSample(T0, 2.0, (object(),) * 6)  # type: ignore[arg-type]
    assert rate("accepts>1/s", "accepts", accepts) == 3
    conns = ConnsSample(T0, 1.0, (
        conn_row(cid=1, retrans=5, resets_sent=1, resets_received=0, end=None),
        conn_row(cid=2, retrans=None, resets_sent=0, resets_received=1, end="refused"),
        conn_row(cid=3, retrans=2, end="closed"),
    ))  # fmt: skip
    assert rate("retrans>1/s", "conns", conns) == 7
    assert rate("resets>1/s", "conns", conns) == 2
    assert rate("refused>1/s", "conns", conns) == 1
    assert rate("refused>1/s", "drops", conns) is None  # another tab's sample


def test_a_hostile_header_gives_an_escaped_bounded_note() -> None:
    note = flight_note({"flight": {"trigger": "\x1b[2J" + "x" * 500, "fired": "soon"}})
    assert note is not None and "\x1b" not in note and len(note) <= 160
    assert flight_note({"flight": "no"}) is None and flight_note({}) is None
