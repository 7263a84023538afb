from __future__ import annotations

import os
from pathlib import Path

import pytest

from netwatch.recording.file import RecordingError, RecordingWriter, create_new_file, load_recording
from netwatch.tabs import codecs, replay, replay_file
from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample
from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow, TrafficSample
from tests.helpers.paths import DEMO

SAMPLES = [
    TrafficSample(100.0, 1.0, (TrafficRow(TrafficKey(7, 0, "lo", "a b"), Counters(1, 2, 3, 4)),)),
    TrafficSample(
        101.0,
        1.0,
        (
            TrafficRow(
                TrafficKey(-1, -1, "eth0", "[unattributed]", "tx-no-owner"), Counters(5, 0, 600, 0)
            ),
        ),
        lost=3,
    ),
]


def write(path: Path) -> None:
    writer = RecordingWriter(create_new_file(path), codecs("traffic"))
    for s in SAMPLES:
        writer.write("traffic", s)
    writer.close()


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "r.nwrec"
    write(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    rec = load_recording(path, codecs())
    assert rec.header["version"] == 1 and rec.header["tabs"] == ["traffic"]
    assert list(rec["traffic"]) == SAMPLES
    src = replay("traffic", rec["traffic"], path)
    src.open()
    assert [src.read(), src.read(), src.read()] == [*SAMPLES, None]
    assert src.health().state == "ended"


def test_committed_demo_recording_loads() -> None:
    rec = load_recording(DEMO, codecs())
    assert len(rec["traffic"]) >= 3
    assert any(r.key.comm == "backup-agent" for s in rec["traffic"] for r in s.rows)


def test_unknown_tabs_are_skipped_for_later_formats(tmp_path: Path) -> None:
    path = tmp_path / "r.nwrec"
    write(path)
    with path.open("a") as f:
        f.write('{"tab":"some-future-tab","ts":1,"whatever":[1,2]}\n')
    assert len(load_recording(path, codecs())["traffic"]) == 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.replace('"rows"', '"rowz"', 1), "corrupt traffic record at line 2"),
        (lambda t: t.replace("\n", "\n{oops\n", 1), "corrupt record at line 2"),
        (lambda t: '{"hello": "world"}\n', "not a netwatch recording"),
        (lambda t: t.replace('"version":1', '"version":9'), "format version 9 is not supported"),
        (lambda t: "", "empty file"),
    ],
)
def test_bad_files_give_one_line_naming_the_problem(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "r.nwrec"
    write(path)
    path.write_text(mutate(path.read_text()))
    with pytest.raises(RecordingError, match=message) as err:
        load_recording(path, codecs())
    assert "\n" not in str(err.value)


def test_binary_file_is_foreign(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(os.urandom(64) + b"\xff\xfe")
    with pytest.raises(RecordingError, match="not a netwatch recording"):
        load_recording(path, codecs())


def test_new_file_never_overwrites_or_follows_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep")
    with pytest.raises(FileExistsError):
        create_new_file(target)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FileExistsError):
        create_new_file(link)
    assert not (tmp_path / "elsewhere").exists() and target.read_text() == "keep"


def test_drops_round_trip_keeps_symbols_for_other_machines(tmp_path: Path) -> None:
    path = tmp_path / "d.nwrec"
    sample = DropsSample(
        5.0,
        1.0,
        (
            DropRow(
                DropKey(0xFFFFFFFF81234567, "NO_SOCKET", 0x0800),
                "__udp4_lib_rcv+0x4bc",
                7,
                "eth0",
                0,
            ),
        ),
        lost=1,
    )
    writer = RecordingWriter(create_new_file(path), codecs("traffic", "drops"))
    writer.write("traffic", SAMPLES[0])
    writer.write("drops", sample)
    writer.close()
    rec = load_recording(path, codecs())
    assert rec["traffic"] == (SAMPLES[0],) and rec["drops"] == (sample,)
    src = replay_file("drops", path)
    assert src.read() == sample and src.read() is None


def test_accepts_round_trip_and_a_corrupt_accepts_record(tmp_path: Path) -> None:
    from netwatch.tabs import replay_file
    from netwatch.tabs.accepts.model import AcceptEvent, AcceptsSample

    path = tmp_path / "a.nwrec"
    sample = AcceptsSample(
        9.0,
        1.0,
        (
            AcceptEvent(
                8.5,
                10,
                11,
                33,
                "nginx",
                "ipv4-mapped",
                "::ffff:10.0.0.1",
                443,
                "::ffff:10.0.0.2",
                50000,
            ),
        ),
        lost=2,
    )
    writer = RecordingWriter(create_new_file(path), codecs("accepts"))
    writer.write("accepts", sample)
    writer.close()
    assert load_recording(path, codecs())["accepts"] == (sample,)
    assert replay_file("accepts", path).read() == sample
    path.write_text(path.read_text().replace('"nginx",', ""))  # one field short
    with pytest.raises(RecordingError, match="corrupt accepts record at line 2"):
        load_recording(path, codecs())


def test_calls_round_trip_and_a_corrupt_calls_record(tmp_path: Path) -> None:
    from netwatch.tabs import replay_file
    from netwatch.tabs.calls.model import (
        ENTER,
        EXIT,
        FOLDED,
        FUNC_ENTER,
        FUNC_EXIT,
        CallEvent,
        CallsSample,
    )

    path = tmp_path / "c.nwrec"
    sample = CallsSample(
        9.0,
        1.0,
        (
            CallEvent(8.5, 10, 11, "curl", ENTER, "connect", (("fd", "3"), ("addr", "1.2.3.4:80"))),
            CallEvent(8.55, 10, 11, "curl", FUNC_ENTER, "__sys_connect"),
            CallEvent(
                8.58, 10, 11, "curl", FUNC_EXIT, "__sys_connect", (("result", "-111"),), -111, 9.0
            ),
            CallEvent(8.6, 10, 11, "curl", EXIT, "connect", (), -111, 100000.0),
            # A whole call the Calls tab's reader folded (a busy thread's older calls).
            CallEvent(8.7, 10, 11, "curl", FOLDED, "sendto", (), 78, 12.0),
        ),
        lost=4,
    )
    writer = RecordingWriter(create_new_file(path), codecs("calls"))
    writer.write("calls", sample)
    writer.close()
    assert load_recording(path, codecs())["calls"] == (sample,)  # function depth included
    source = replay_file("calls", path)
    assert source.read() == sample and source.read() is None
    path.write_text(path.read_text().replace('"exit"', '"leave"'))
    with pytest.raises(RecordingError, match="corrupt calls record at line 2"):
        load_recording(path, codecs())


def test_committed_calls_recording_loads() -> None:
    rec = load_recording(DEMO.with_name("calls-demo.nwrec"), codecs())
    assert rec["calls"] and rec.header["tabs"][-1] == "calls"
    names = {e.comm for s in rec["calls"] for e in s.events}
    assert names == {"web-client", "web-server", "dns-client", "dns-server"}
