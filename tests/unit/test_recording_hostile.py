"""Recordings are files anyone can hand the operator: the reader streams them, checks every
field, and answers anything else with one line (issue #10)."""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Callable
from pathlib import Path

import pytest

from netwatch.recording.file import (
    RecordingError,
    RecordingWriteError,
    RecordingWriter,
    create_new_file,
    load_recording,
    open_recording,
)
from netwatch.tabs import codecs, replay
from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow, TrafficSample

HEADER = json.dumps(
    {"format": "netwatch-recording", "version": 1, "created": 1.0, "tabs": ["traffic"]}
)
GOOD_TRAFFIC = '{"tab":"traffic","ts":100.0,"interval":1.0,"lost":0,"rows":[[7,0,"lo","a",""' + (
    ",1,2,3,4]]}"
)
GOOD_ACCEPT = [1.5, 10, 10, 0, "nginx", "ipv4", "10.0.0.1", 80, "10.0.0.2", 5000]
GOOD_CALL = [1.5, 10, 10, "curl", "enter", "connect", [["fd", "3"]], 0, 0.0]


def recording(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "r.nwrec"
    path.write_text("".join(line + "\n" for line in (HEADER, *lines)))
    return path


def one_line_error(path: Path, match: str) -> None:
    with pytest.raises(RecordingError, match=match) as err:
        load_recording(path, codecs())
    assert "\n" not in str(err.value)


def accepts(*events: object) -> str:
    return json.dumps({"tab": "accepts", "ts": 2.0, "interval": 1.0, "events": list(events)})


def calls(*events: object) -> str:
    return json.dumps({"tab": "calls", "ts": 2.0, "interval": 1.0, "events": list(events)})


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("[" * 100_000, "nested too deeply"),
        ('{"tab":"traffic","ts":' + "9" * 5000 + "}", "a number of 5000 digits"),
        ('{"tab": ["traffic"]}', None),  # a tab that is no name: skipped like an unknown tab
        ('{"tab":"traffic","ts":NaN,"interval":1,"rows":[]}', "NaN is not a number"),
        ('{"tab":"traffic","ts":1e300,"interval":1,"rows":[]}', "ts is not a finite number"),
        ('{"tab":"traffic","ts":-1e18,"interval":1,"rows":[]}', "ts is not a finite number"),
        ('{"tab":"traffic","ts":1,"interval":1,"rows":{"a":1}}', "no 'rows' list"),
        (GOOD_TRAFFIC.replace("[7,", "[true,"), "pid is not a whole number"),
        (GOOD_TRAFFIC.replace('"a"', "[1]"), "comm is not text"),
        (GOOD_TRAFFIC.replace(",4]", ",-4]"), "a counter is not a whole number"),
        (accepts([float("nan"), *GOOD_ACCEPT[1:]]).replace("NaN", "NaN"), "NaN"),
        (accepts([1e300, *GOOD_ACCEPT[1:]]), "ts is not a finite number"),
        (accepts([-1e18, *GOOD_ACCEPT[1:]]), "ts is not a finite number"),
        (accepts([*GOOD_ACCEPT[:8], "not-an-ip", 5000]), "source address is not an IP address"),
        (accepts([*GOOD_ACCEPT[:5], "ipx", *GOOD_ACCEPT[6:]]), "family is not one of"),
        (accepts([*GOOD_ACCEPT[:7], 70000, *GOOD_ACCEPT[8:]]), "port is not a whole number"),
        (calls([float("nan"), *GOOD_CALL[1:]]), "NaN"),
        (calls([*GOOD_CALL[:6], [["fd"]], 0, 0.0]), "a call argument is not a list of 2"),
        (calls([*GOOD_CALL[:7], 2**64, 0.0]), "ret is not a whole number"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_hostile_records_are_one_line_errors(tmp_path: Path, line: str, match: str | None) -> None:
    path = recording(tmp_path, GOOD_TRAFFIC, line)
    if match is None:
        assert len(load_recording(path, codecs())["traffic"]) == 1
    else:
        one_line_error(path, match)


def test_good_records_of_every_tab_still_read(tmp_path: Path) -> None:
    rec = load_recording(
        recording(tmp_path, GOOD_TRAFFIC, accepts(GOOD_ACCEPT), calls(GOOD_CALL)), codecs()
    )
    assert len(rec["traffic"]) == len(rec["accepts"]) == len(rec["calls"]) == 1
    assert rec["accepts"][0].events[0].raddr == "10.0.0.2"


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_and_links_to_them_are_refused_at_once(tmp_path: Path, target: str) -> None:
    one_line_error(Path(target), "is a device")
    link = tmp_path / "link.nwrec"
    link.symlink_to(target)
    one_line_error(link, "is a device")


def test_a_fifo_and_a_directory_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.nwrec"
    os.mkfifo(fifo)
    one_line_error(fifo, "is a FIFO")
    one_line_error(tmp_path, "is a directory")


def test_an_overlong_line_is_refused_without_reading_it_into_memory(tmp_path: Path) -> None:
    path = tmp_path / "long.nwrec"
    with path.open("w") as f:
        f.write(HEADER + "\n" + GOOD_TRAFFIC + "\n")
        f.write('{"tab":"traffic","x":"' + "A" * (200 << 20))  # 200 MiB, one line
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    one_line_error(path, "line 3 is longer than 32 MiB")
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 100, f"reading a 200 MiB line grew the process by {grown_mib:.0f} MiB"


def test_a_recording_cut_short_replays_its_complete_records_with_a_warning(
    tmp_path: Path,
) -> None:
    path = recording(tmp_path, GOOD_TRAFFIC, GOOD_TRAFFIC.replace("100.0", "101.0"))
    with path.open("a") as f:
        f.write(GOOD_TRAFFIC[:30])  # the record being written when the disk filled
    rec = load_recording(path, codecs())
    assert [s.ts for s in rec["traffic"]] == [100.0, 101.0]
    assert rec.warnings == (f"{path}: the last record (line 4) is incomplete and was left out",)


def test_replay_streams_so_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """A ~300 MiB recording: opening it and playing its first samples must not read it all
    into memory (before, a 2 GB recording took 8 GB)."""
    path = tmp_path / "big.nwrec"
    rows = [[i, 0, "eth0", f"proc-{i}", "", i, i, i * 100, i * 100] for i in range(3000)]
    line = json.dumps({"tab": "traffic", "ts": 1.0, "interval": 1.0, "lost": 0, "rows": rows})
    with path.open("w") as f:
        f.write(HEADER + "\n")
        for _ in range((300 << 20) // len(line)):
            f.write(line + "\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rec = open_recording(path, codecs())
    source = replay("traffic", rec.samples("traffic"), path, speed=1000)
    source.open()
    assert [len(source.read().rows) for _ in range(3)] == [3000] * 3  # type: ignore[union-attr]
    assert source.health().detail.endswith(f"3/{rec.count('traffic')}")
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 100, f"replaying grew the process by {grown_mib:.0f} MiB"
    rec.close()


def test_record_on_a_full_disk_stops_with_one_line_and_leaves_a_replayable_file(
    small_disk: Callable[[str], Path],
) -> None:
    path = small_disk("64k") / "full.nwrec"
    writer = RecordingWriter(create_new_file(path), codecs("traffic"))
    row = TrafficRow(TrafficKey(7, 0, "lo", "x" * 200), Counters(1, 2, 3, 4))
    written = 0
    with pytest.raises(RecordingWriteError, match="No space left on device") as err:
        for i in range(10_000):
            writer.write("traffic", TrafficSample(100.0 + i, 1.0, (row,) * 20))
            written += 1
    assert "\n" not in str(err.value)
    writer.close()
    rec = load_recording(path, codecs())
    assert written > 0 and len(rec["traffic"]) == written and not rec.warnings
