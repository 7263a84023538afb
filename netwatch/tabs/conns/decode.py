"""Connections: one ring buffer record (conns.bpf.c) to a ConnEvent, and how a connection
ended from what the kernel said at its CLOSE."""

from __future__ import annotations

import ctypes
import errno
import struct
from dataclasses import dataclass

from netwatch.model.addresses import address
from netwatch.model.cdata import c_string

CGROUP_NAME_LEN = 96  # conns.bpf.c's
KIND_ESTABLISHED, KIND_ACCEPTED, KIND_CLOSED, KIND_RESET_SENT = 2, 3, 4, 5
SIDE_NAMES = {1: "out", 2: "in"}
FLAG_ESTABLISHED = 2
TCP_SYN_SENT, TCP_SYN_RECV = 2, 3
AF_INET6 = 10
UNREACHABLE = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN,
                         errno.ENETDOWN, errno.EPROTO, errno.EACCES, errno.EPERM})  # fmt: skip


class ConnRecord(ctypes.Structure):
    """conns.bpf.c's struct conn_event_t, as the ring buffer holds it."""

    _fields_ = (
        ("ts_ns", ctypes.c_uint64),
        ("sk", ctypes.c_uint64),
        ("opened_ns", ctypes.c_uint64),
        ("established_ns", ctypes.c_uint64),
        ("start_ns", ctypes.c_uint64),
        ("cgroup_id", ctypes.c_uint64),
        ("bytes_acked", ctypes.c_uint64),
        ("bytes_received", ctypes.c_uint64),
        ("bytes_sent", ctypes.c_uint64),
        ("pid", ctypes.c_uint32),
        ("uid", ctypes.c_uint32),
        ("netns", ctypes.c_uint32),
        ("err", ctypes.c_int32),
        ("srtt_us", ctypes.c_uint32),
        ("mdev_us", ctypes.c_uint32),
        ("min_rtt_us", ctypes.c_uint32),
        ("total_retrans", ctypes.c_uint32),
        ("chrono", ctypes.c_uint32 * 3),
        ("handshake_us", ctypes.c_uint32),
        ("resets_sent", ctypes.c_uint32),
        ("snd_cwnd", ctypes.c_uint32),
        ("segs_out", ctypes.c_uint32),
        ("family", ctypes.c_uint16),
        ("lport", ctypes.c_uint16),
        ("rport", ctypes.c_uint16),
        ("kind", ctypes.c_uint8),
        ("side", ctypes.c_uint8),
        ("oldstate", ctypes.c_uint8),
        ("state", ctypes.c_uint8),
        ("flags", ctypes.c_uint8),
        ("pad", ctypes.c_uint8),
        ("laddr", ctypes.c_uint8 * 16),
        ("raddr", ctypes.c_uint8 * 16),
        ("comm", ctypes.c_char * 16),
        ("cgroup_name", ctypes.c_char * CGROUP_NAME_LEN),
    )


RECORD_SIZE = ctypes.sizeof(ConnRecord)


@dataclass(slots=True)  # not frozen: a frozen one's __init__ costs twice as much
class ConnEvent:
    """What the kernel said of one connection at one step of its life. Times are monotonic
    nanoseconds (bpf_ktime_get_ns), 0 where not known."""

    kind: int
    sk: int
    ts_ns: int
    opened_ns: int
    established_ns: int
    netns: int
    family: int
    laddr: str
    lport: int
    raddr: str
    rport: int
    pid: int
    uid: int
    comm: str
    start_ns: int
    cgroup_id: int
    cgroup_name: str
    side: str
    flags: int
    oldstate: int
    err: int
    handshake_us: int
    resets_sent: int
    # At CLOSE, tcp_sock's last counters:
    srtt_us: int
    mdev_us: int
    min_rtt_us: int
    total_retrans: int
    bytes_acked: int
    bytes_received: int
    bytes_sent: int
    chrono_jiffies: tuple[int, int, int]  # busy, rwnd-limited, sndbuf-limited
    snd_cwnd: int
    segs_out: int

    def ending(self) -> str:
        """How a connection that reached CLOSE ended (model.ENDS); a reset it sent right after
        (an abortive close) is told by a record of its own."""
        if self.oldstate == TCP_SYN_SENT:  # a connect that never established
            if self.err == errno.ECONNREFUSED:
                return "refused"
            if self.err == errno.ETIMEDOUT:
                return "timeout"
            if self.err in UNREACHABLE:
                return "unreachable"
            return "aborted"  # its process closed it (sk_err 0) or gave up
        # tcp_reset() sets these before it closes the sock: ECONNRESET, or EPIPE in CLOSE_WAIT.
        if self.err in (errno.ECONNRESET, errno.EPIPE):
            return "reset_received"
        return "closed"

    @property
    def established(self) -> bool:
        return bool(self.flags & FLAG_ESTABLISHED) or self.established_ns > 0


def family_name(family: int, raddr: str) -> str:
    if family != AF_INET6:
        return "ipv4"
    return "ipv4-mapped" if raddr.startswith("::ffff:") and "." in raddr else "ipv6"


# conns.bpf.c's struct conn_event_t as struct unpacks it: a connection-churning host hands over
# tens of thousands a second, and ctypes' per-field reads cost three times as much.
RECORD = struct.Struct("<9Q 3I i 4I 3I 4I 3H 6B 16s 16s 16s 96s")
_ADDRESSES: dict[tuple[int, bytes], str] = {}  # hosts repeat: a dict beats ipaddress's parse
MAX_ADDRESSES = 65536


def _address(raw: bytes, family: int) -> str:
    key = (family, raw)
    text = _ADDRESSES.get(key)
    if text is None:
        if len(_ADDRESSES) >= MAX_ADDRESSES:
            _ADDRESSES.clear()
        text = _ADDRESSES[key] = address(raw, family)[0]
    return text


def decode_all(raw: bytes) -> list[ConnEvent]:
    """Every record in `raw` (whole records, as the ring buffer's drain hands them over)."""
    events = []
    for (ts_ns, sk, opened_ns, established_ns, start_ns, cgroup_id, _acked, bytes_received,
         bytes_sent, pid, uid, netns, err, srtt_us, mdev_us, min_rtt_us, total_retrans, busy,
         rwnd, sndbuf, handshake_us, resets_sent, snd_cwnd, segs_out, family, lport, rport,
         kind, side, oldstate, _state, flags, _pad, laddr, raddr, comm,
         cgroup_name) in RECORD.iter_unpack(raw):  # fmt: skip
        ev = ConnEvent(kind, sk, ts_ns, opened_ns, established_ns, netns, family,
                       _address(laddr, family), lport, _address(raddr, family), rport, pid, uid,
                       c_string(comm), start_ns, cgroup_id,
                       c_string(cgroup_name) if cgroup_name[0] else "",
                       SIDE_NAMES.get(side, ""), flags, oldstate, err, handshake_us,
                       resets_sent, srtt_us, mdev_us, min_rtt_us, total_retrans, _acked,
                       bytes_received, bytes_sent, (busy, rwnd, sndbuf), snd_cwnd,
                       segs_out)  # fmt: skip
        events.append(ev)
    return events


RECORD_SIZE = ctypes.sizeof(ConnRecord)
