"""The Connections probe's records, byte for byte (conns.bpf.c's struct conn_event_t), and the
short way a connect that never established takes through the decoder and the tracker: it must
give the very row the general way gives (a ConnEvent followed, held, then ended)."""

from __future__ import annotations

import errno
import socket
from dataclasses import asdict
from typing import Any

import pytest

from netwatch.tabs.conns.decode import (
    FLAG_REFUSED_BY_RESET,
    KIND_CLOSED,
    KIND_ESTABLISHED,
    RECORD,
    RECORD_SIZE,
    TCP_SYN_SENT,
    ConnEvent,
    FailedConnect,
    decode_all,
)
from netwatch.tabs.conns.probe.diag import DiagSock
from netwatch.tabs.conns.probe.tracker import HOLD_NS, Tracker
from tests.helpers.conns import NS

MS = 1_000_000
NAMES = ("ts_ns sk opened_ns established_ns start_ns cgroup_id bytes_acked bytes_received "
         "bytes_sent pid uid netns err srtt_us mdev_us min_rtt_us total_retrans busy rwnd "
         "sndbuf handshake_us resets_sent snd_cwnd segs_out family lport rport kind side "
         "oldstate state flags pad laddr raddr comm cgroup_name").split()  # fmt: skip


def record(**kw: Any) -> bytes:
    """One record as the ring buffer holds it: every field 0 but those given."""
    fields: dict[str, Any] = dict.fromkeys(NAMES, 0)
    for raw in ("laddr", "raddr", "comm", "cgroup_name"):
        fields[raw] = b""
    fields.update(kw)
    return RECORD.pack(*(fields[name] for name in NAMES))


def v4(text: str) -> bytes:
    return socket.inet_aton(text)


def refused(i: int, **kw: Any) -> bytes:
    base: dict[str, Any] = dict(
        kind=KIND_CLOSED, oldstate=TCP_SYN_SENT, state=7, sk=0xFFFF8880_0000_0000 + i * 2048,
        ts_ns=10_000 * MS + i, opened_ns=9_999 * MS + i, pid=4242, uid=1000, netns=NS,
        start_ns=77 * MS, cgroup_id=9, err=errno.ECONNREFUSED, family=socket.AF_INET,
        lport=40000 + i, rport=47999, side=1, laddr=v4("127.0.0.1"), raddr=v4("127.0.0.2"),
        comm=b"flood\0junk", flags=FLAG_REFUSED_BY_RESET,
    )  # fmt: skip
    base.update(kw)
    return record(**base)


def tracker() -> Tracker:
    return Tracker(wall_offset=1_000_000.0, boot_offset=500.0,
                   cgroup_path=lambda i, n: f"/system.slice/{i}.scope", jiffy=0.004)  # fmt: skip


def test_the_record_layout_is_the_c_structs() -> None:
    assert RECORD.size == RECORD_SIZE == 288


def test_a_connect_that_never_established_decodes_short_and_the_rest_in_full() -> None:
    v6 = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    raw = refused(0) + record(
        kind=KIND_ESTABLISHED, oldstate=TCP_SYN_SENT, state=1, sk=5, family=socket.AF_INET6,
        laddr=v6, raddr=socket.inet_pton(socket.AF_INET6, "::ffff:10.1.2.3"), lport=1, rport=2,
        comm=b"curl", cgroup_name=b"app.scope", side=1, srtt_us=1500, busy=3, rwnd=4, sndbuf=5,
    )  # fmt: skip
    failed, established = decode_all(raw)
    assert isinstance(failed, FailedConnect) and isinstance(established, ConnEvent)
    assert (failed.laddr, failed.raddr, failed.lport, failed.rport) == (
        "127.0.0.1", "127.0.0.2", 40000, 47999)  # fmt: skip
    assert (failed.comm, failed.side, failed.pid, failed.ending()) == (
        "flood", "out", 4242, "refused")  # fmt: skip
    assert (established.laddr, established.raddr) == ("2001:db8::1", "::ffff:10.1.2.3")
    assert (established.comm, established.cgroup_name, established.srtt_us) == (
        "curl", "app.scope", 1500)  # fmt: skip
    assert established.chrono_jiffies == (3, 4, 5)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"err": errno.ETIMEDOUT},
        {"err": errno.EHOSTUNREACH},
        {"err": 0},
        {"pid": 0, "uid": 0, "comm": b"", "side": 0, "opened_ns": 0, "start_ns": 0},
        {"start_ns": 0, "resets_sent": 1},
        {"flags": 0},  # refused by an ICMP error: no reset received
        {"family": socket.AF_INET6, "laddr": socket.inet_pton(socket.AF_INET6, "fd00::1"),
         "raddr": socket.inet_pton(socket.AF_INET6, "::ffff:127.0.0.1")},
    ],
)  # fmt: skip
def test_the_short_way_gives_the_row_the_general_way_gives(kw: dict[str, Any]) -> None:
    (short,) = decode_all(refused(3, **kw))
    assert isinstance(short, FailedConnect)
    quick, general = tracker(), tracker()
    quick_rows, _ = quick.step([short], [], short.ts_ns, 1.0)  # at once: no reset follows
    general.step([short.as_event()], [], short.ts_ns, 1.0)
    general_rows, _ = general.step([], [], short.ts_ns + HOLD_NS, 1.0)
    assert len(quick_rows) == len(general_rows) == 1
    assert asdict(quick_rows[0]) == asdict(general_rows[0])
    assert quick_rows[0].end == short.ending()


def test_a_failed_connects_record_is_read_only_where_the_kernel_writes_it() -> None:
    """conns.bpf.c does not zero a failed connect's record (it writes only what the short way
    reads): whatever the ring held before in the other fields must not reach its row."""
    unwritten = dict(established_ns=7, bytes_acked=7, bytes_received=7, bytes_sent=7,
                     srtt_us=7, mdev_us=7, min_rtt_us=7, total_retrans=7, busy=7, rwnd=7,
                     sndbuf=7, handshake_us=7, snd_cwnd=7, segs_out=7, pad=7,
                     cgroup_name=b"stale.scope")  # fmt: skip
    rows = []
    for junk in ({}, unwritten):
        (ev,) = decode_all(refused(5, **junk))
        (row,), _ = tracker().step([ev], [], ev.ts_ns, 1.0)
        rows.append(asdict(row))
    assert rows[0] == rows[1]
    assert rows[0]["resets_received"] == 1


def test_a_connect_sock_diag_saw_waiting_keeps_its_row_when_it_times_out() -> None:
    t = tracker()
    waiting = DiagSock(NS, 2, "127.0.0.1", 40003, "127.0.0.2", 47999, 2, 991, 1000,
                       {"tcpi_segs_out": 2, "tcpi_total_retrans": 1})  # fmt: skip
    (live,), _ = t.step([], [waiting], 9_000 * MS, 1.0)
    assert live.state == "SYN_SENT" and live.end is None
    (timed_out,) = decode_all(refused(3, err=errno.ETIMEDOUT))
    t.step([timed_out], [], timed_out.ts_ns, 1.0)
    (ended,), _ = t.step([], [], timed_out.ts_ns + HOLD_NS, 1.0)
    assert ended.cid == live.cid and ended.end == "timeout"
    assert ended.pid == 4242 and ended.comm == "flood"
