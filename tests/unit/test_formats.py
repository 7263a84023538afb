from __future__ import annotations

import json
import re

from netwatch.model.containers import ProcContext
from netwatch.tabs.traffic.formats import NETTOP_HEADER, human_rate, kb, nettop_line, row_json
from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow
from netwatch.tabs.traffic.view_model import ViewRow

# Verbatim from nettop.stp's sample output (shared/seeds, SystemTap Beginners Guide 4.1.1),
# trailing spaces included: COMMAND is %-15s.
SEED_HEADER = "  PID   UID DEV     XMIT_PK RECV_PK XMIT_KB RECV_KB COMMAND        "
SEED_ROWS = [
    (
        "    0     0 eth0          3      32       0       3 swapper        ",
        TrafficRow(TrafficKey(0, 0, "eth0", "swapper"), Counters(3, 32, 180, 3 * 1024 + 17)),
    ),
    (
        " 2886     4 eth0         79       0       5       0 cups-polld     ",
        TrafficRow(TrafficKey(2886, 4, "eth0", "cups-polld"), Counters(79, 0, 5 * 1024 + 900, 0)),
    ),
    (
        " 3897     0 eth0          0       1       0       0 multiload-apple",
        TrafficRow(TrafficKey(3897, 0, "eth0", "multiload-apple"), Counters(0, 1, 0, 60)),
    ),
]


def test_header_is_the_seeds() -> None:
    assert NETTOP_HEADER == SEED_HEADER


def test_rows_match_the_seeds_sample_output_byte_for_byte() -> None:
    for expected, row in SEED_ROWS:
        assert nettop_line(row) == expected


def test_kb_is_whole_kib_and_zero_without_packets() -> None:
    assert kb(1023, 1) == 0 and kb(1024, 1) == 1 and kb(5000, 0) == 0


def test_unattributed_row_names_its_reason_and_no_pid() -> None:
    row = TrafficRow(
        TrafficKey(-1, -1, "eth0", "[unattributed]", "rx-not-delivered"), Counters(0, 7, 0, 4096)
    )
    line = nettop_line(row)
    assert re.fullmatch(
        r"    -     - eth0          0       7       0       4 \[rx-not-delivered\]", line
    )


def test_json_row_has_the_documented_keys() -> None:
    docker = "/system.slice/docker-" + "ab" * 32 + ".scope"
    row = ViewRow(
        TrafficKey(42, 1000, "lo", "iperf"),
        Counters(1, 2, 3, 4),
        Counters(),
        "alice",
        context=ProcContext(docker, 4026532177, 1699999000.25),
    )
    obj = json.loads(row_json(row, 1700000000.5, 1.0))
    assert obj == {
        "ts": 1700000000.5,
        "interval": 1.0,
        "pid": 42,
        "uid": 1000,
        "user": "alice",
        "dev": "lo",
        "comm": "iperf",
        "cgroup": docker,
        "container": "abababababab",
        "netns": 4026532177,
        "started": 1699999000.25,  # a PID names a process only with its start (#24)
        "xmit_pk": 1,
        "recv_pk": 2,
        "xmit_bytes": 3,
        "recv_bytes": 4,
        "unattributed_reason": None,
        "exited": None,  # runs (#26)
    }


def test_json_row_of_a_process_whose_place_is_unknown_has_nulls() -> None:
    row = ViewRow(TrafficKey(42, 1000, "lo", "iperf"), Counters(1, 2, 3, 4), Counters(), "alice")
    obj = json.loads(row_json(row, 1.0, 1.0))
    assert (obj["cgroup"], obj["container"], obj["netns"]) == (None, None, None)


def test_human_rate() -> None:
    # Each with its unit (#24: a bare "23.9M" beside whole KiB), in the column's 7 cells.
    assert human_rate(0) == "0.0KiB"
    assert human_rate(2560) == "2.5KiB"
    assert human_rate(5 * 1024 * 1024) == "5.0MiB"
    assert human_rate(25_000_000, bits=True) == "200Mb" and human_rate(1250, bits=True) == "10.0kb"
    assert (
        max(len(human_rate(n, b)) for n in range(0, 2**40, 2**29 + 12345) for b in (False, True))
        <= 7
    )
