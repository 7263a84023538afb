"""Per-connection counts (#14): the kernel's per-CPU values by socket to per-interval rows
(addresses per CPU, a reused socket, idle removal), the totals a process's detail shows,
`top -b --by connection` and recordings."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from netwatch.cli.batch import Output
from netwatch.model.containers import ProcContext
from netwatch.tabs.traffic.batch import printer
from netwatch.tabs.traffic.decode.connections import ConnectionDeltas, read_conns
from netwatch.tabs.traffic.model import (
    ConnKey,
    ConnRow,
    Counters,
    TrafficKey,
    TrafficRow,
    TrafficSample,
    TrafficState,
)
from tests.recordings import round_trip

SK = 0xFFFF888100000000


def v4(addr: str) -> list[int]:
    return list(socket.inet_aton(addr) + bytes(12))


def copy(tgid: int = 0, lport: int = 0, rport: int = 0, raddr: str = "0.0.0.0",
         counts: tuple[int, int, int, int] = (0, 0, 0, 0), state: int = 1,
         first_ns: int = 0) -> Any:  # fmt: skip
    xp, rp, xb, rb = counts
    return SimpleNamespace(family=2 if tgid else 0, protocol=6, tgid=tgid, lport=lport,
                           rport=rport, laddr=v4("10.0.0.2"), raddr=v4(raddr), xmit_pk=xp,
                           recv_pk=rp, xmit_bytes=xb, recv_bytes=rb, state=state,
                           first_ns=first_ns)  # fmt: skip


class Table(dict[Any, list[Any]]):
    """Enough of a BCC per-CPU hash: items() of (key with .value, per-CPU values); del."""

    def items(self) -> Any:
        return [(SimpleNamespace(value=k), v) for k, v in super().items()]

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key.value)


def test_a_sockets_copies_on_each_cpu_add_up_and_the_owner_is_the_busiest_copys() -> None:
    table = Table({SK: [copy(40, 80, 5000, "10.0.0.9", (2, 3, 200, 300), 1, 7 * 10**9),
                        copy(41, 80, 5000, "10.0.0.9", (1, 0, 100, 0), 8, 5 * 10**9),
                        copy()]})  # fmt: skip
    deltas = ConnectionDeltas(idle_reads=3, wall_offset=1000.0)
    (row,) = deltas.update(read_conns(table), {40: "nginx"})
    assert row.key == ConnKey(40, "tcp", "10.0.0.2", 80, "10.0.0.9", 5000)
    assert (row.comm, row.counts) == ("nginx", Counters(3, 3, 300, 300))
    # The state the busiest CPU saw; the start the earliest CPU saw, in wall-clock time.
    assert (row.state, row.since) == ("ESTABLISHED", 1005.0)
    table[SK][0] = copy(40, 80, 5000, "10.0.0.9", (2, 13, 200, 1300), 8, 7 * 10**9)
    (row,) = deltas.update(read_conns(table), {40: "nginx"})
    assert (row.counts, row.state) == (Counters(0, 10, 0, 1000), "CLOSE_WAIT")


def test_a_reused_socket_is_a_new_connection_and_idle_ones_leave_the_kernels_map() -> None:
    table = Table({SK: [copy(40, 80, 5000, "10.0.0.9", (1, 1, 100, 100))]})
    deltas = ConnectionDeltas(idle_reads=2)
    deltas.update(read_conns(table), {})
    # The memory now holds another socket: the kernel re-read its ports and started over.
    table[SK] = [copy(42, 443, 6000, "10.0.0.7", (4, 0, 400, 0))]
    (row,) = deltas.update(read_conns(table), {42: "curl"})
    assert (row.key.lport, row.key.raddr, row.counts) == (443, "10.0.0.7", Counters(4, 0, 400, 0))
    for _ in range(2):
        assert deltas.update(read_conns(table), {}) == []
        deltas.prune(table)
    assert SK not in table


def test_an_unconnected_udp_socket_has_no_remote() -> None:
    table = Table({SK: [copy(40, 53, 0, "0.0.0.0", (0, 9, 0, 900), state=7)]})
    table[SK][0].protocol = 17
    (row,) = ConnectionDeltas(3).update(read_conns(table), {})
    assert (row.key.proto, row.key.raddr, row.key.text()) == ("udp", "*", "udp 10.0.0.2:53 *:0")
    assert row.state == ""  # the state is TCP's


WEB = ConnKey(10, "tcp", "10.0.0.2", 80, "10.0.0.9", 5000)
WEB2 = ConnKey(10, "tcp", "10.0.0.2", 80, "10.0.0.8", 5001)
SAMPLE = TrafficSample(
    5.0, 1.0, (TrafficRow(TrafficKey(10, 0, "eth0", "nginx"), Counters(5, 6, 500, 600)),), 0,
    {10: ProcContext("/system.slice/docker-" + "3f" * 32 + ".scope", 4026532001)},
    (ConnRow(WEB, "nginx", Counters(4, 5, 400, 500), "ESTABLISHED", 1.5),
     ConnRow(WEB2, "nginx", Counters(1, 1, 100, 100))),
)  # fmt: skip


def test_a_processs_connections_busiest_first_with_totals() -> None:
    state = TrafficState()
    state.apply(SAMPLE)
    state.apply(
        TrafficSample(6.0, 1.0, (), 0, {}, (ConnRow(WEB2, "nginx", Counters(0, 9, 0, 900)),))
    )
    shown = [
        (c.key, now.recv_bytes, total.recv_bytes) for c, now, total in state.connections_of(10)
    ]
    assert shown == [(WEB2, 900, 1000), (WEB, 0, 500)]
    assert state.connections_of(11) == []


def test_top_batch_by_connection_prints_the_documented_keys_and_a_table() -> None:
    out = io.StringIO()
    printer(Output(json=True), out, by="connection")(SAMPLE)
    first, second = map(json.loads, out.getvalue().splitlines())
    assert list(first) == ["ts", "interval", "pid", "comm", "container", "netns", "proto",
                           "laddr", "lport", "raddr", "rport", "xmit_pk", "recv_pk",
                           "xmit_bytes", "recv_bytes", "state", "since"]  # fmt: skip
    assert (first["state"], first["since"], second["state"]) == ("ESTABLISHED", 1.5, None)
    assert (first["raddr"], first["rport"], first["recv_bytes"], first["container"]) == (
        "10.0.0.9", 5000, 500, "3f3f3f3f3f3f")  # fmt: skip
    assert second["raddr"] == "10.0.0.8"
    text = io.StringIO()
    printer(Output(), text, by="connection")(SAMPLE)
    lines = text.getvalue().splitlines()
    assert lines[0].split() == ["PROTO", "LOCAL", "REMOTE", "STATE", "PID", "XMIT_PK",
                                "RECV_PK", "XMIT_KB", "RECV_KB", "COMMAND"]  # fmt: skip
    assert lines[1].split()[:5] == ["tcp", "10.0.0.2:80", "10.0.0.9:5000", "ESTABLISHED", "10"]


def test_recordings_carry_connections(tmp_path: Path) -> None:
    path = tmp_path / "r.nwrec"
    assert round_trip(path, "traffic", SAMPLE) == [SAMPLE]


def test_packets_not_counted_per_connection_are_said_and_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = TrafficSample(7.0, 1.0, (), 0, {}, (), 12)
    printer(Output(json=True), io.StringIO(), by="connection")(full)
    assert "12 packets not counted per connection (map full)" in capsys.readouterr().err
    path = tmp_path / "r.nwrec"
    (read,) = round_trip(path, "traffic", full)
    assert read.connections_lost == 12
    state = TrafficState()
    state.apply(full)
    state.apply(full)
    assert state.connections_lost == 24
