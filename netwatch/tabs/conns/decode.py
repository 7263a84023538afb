"""Connections: one ring buffer record (conns.bpf.c) to a ConnEvent, and how a connection
ended from what the kernel said at its CLOSE."""

from __future__ import annotations

import ctypes
import errno
import struct
from dataclasses import dataclass

from netwatch.model.addresses import address
from netwatch.model.cdata import c_string
from netwatch.model.memo import remembered

CGROUP_NAME_LEN = 96  # conns.bpf.c's
KIND_ESTABLISHED, KIND_ACCEPTED, KIND_CLOSED, KIND_RESET_SENT = 2, 3, 4, 5
SIDE_NAMES = {1: "out", 2: "in"}
FLAG_ESTABLISHED = 2
FLAG_REFUSED_BY_RESET = 4  # a failed connect refused by a reset (not by an ICMP error)
TCP_SYN_SENT, TCP_SYN_RECV = 2, 3
AF_INET, AF_INET6 = 2, 10
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
            return connect_failure(self.err)
        # tcp_reset() sets these before it closes the sock: ECONNRESET, or EPIPE in CLOSE_WAIT.
        if self.err in (errno.ECONNRESET, errno.EPIPE):
            return "reset_received"
        return "closed"

    @property
    def resets_received(self) -> int:
        """Resets this record says the connection received (0 or 1: the one that ended it)."""
        if self.oldstate == TCP_SYN_SENT:  # refused by a reset, or by an ICMP error
            return refusing_resets(self.flags)
        return int(self.ending() == "reset_received")

    @property
    def established(self) -> bool:
        return bool(self.flags & FLAG_ESTABLISHED) or self.established_ns > 0


def refusing_resets(flags: int) -> int:
    """The resets a connect that never established received: 1 if one refused it, 0 if an ICMP
    error did (or it failed another way)."""
    return 1 if flags & FLAG_REFUSED_BY_RESET else 0


def connect_failure(err: int) -> str:
    """How a connect that never established ended, from the sock's error at its CLOSE."""
    if err == errno.ECONNREFUSED:
        return "refused"
    if err == errno.ETIMEDOUT:
        return "timeout"
    if err in UNREACHABLE:
        return "unreachable"
    return "aborted"  # its process closed it (sk_err 0) or gave up


@dataclass(slots=True)
class FailedConnect:
    """A connect that never established, told by its CLOSE record alone (it moved no data and
    has no RTT): what a host refusing tens of thousands of connects a second sends most, so it
    is decoded into these fields rather than a ConnEvent's 34, and the tracker makes its row
    at once (no reset can follow it)."""

    sk: int
    ts_ns: int
    opened_ns: int
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
    side: str
    err: int
    resets_sent: int
    flags: int

    def ending(self) -> str:
        return connect_failure(self.err)

    @property
    def resets_received(self) -> int:
        return refusing_resets(self.flags)

    def as_event(self) -> ConnEvent:
        """The same record as a ConnEvent, for a connect the tracker already follows (one that
        sock_diag saw waiting for its answer)."""
        return ConnEvent(KIND_CLOSED, self.sk, self.ts_ns, self.opened_ns, 0, self.netns,
                         self.family, self.laddr, self.lport, self.raddr, self.rport, self.pid,
                         self.uid, self.comm, self.start_ns, self.cgroup_id, "", self.side,
                         self.flags,
                         TCP_SYN_SENT, self.err, 0, self.resets_sent, 0, 0, 0, 0, 0, 0, 0,
                         (0, 0, 0), 0, 0)  # fmt: skip


def family_name(family: int, raddr: str) -> str:
    if family != AF_INET6:
        return "ipv4"
    return "ipv4-mapped" if raddr.startswith("::ffff:") and "." in raddr else "ipv6"


# conns.bpf.c's struct conn_event_t as struct unpacks it: a connection-churning host hands over
# tens of thousands a second, and ctypes' per-field reads cost three times as much.
RECORD = struct.Struct("<9Q 3I i 4I 3I 4I 3H 6B 16s 16s 16s 96s")
# Hosts and names repeat: dicts beat ipaddress's parse and a decode per record.
_V4: dict[bytes, str] = {}
_V6: dict[bytes, str] = {}
_COMMS: dict[bytes, str] = {}
MAX_CACHED = 65536


def _v4(raw: bytes) -> str:
    return address(raw, AF_INET)[0]


def _v6(raw: bytes) -> str:
    return address(raw, AF_INET6)[0]


def decode_all(raw: bytes) -> list[ConnEvent | FailedConnect]:
    """Every record in `raw` (whole records, as the ring buffer's drain hands them over)."""
    events: list[ConnEvent | FailedConnect] = []
    v4, v6, comms, cached = _V4, _V6, _COMMS, remembered
    for (ts_ns, sk, opened_ns, established_ns, start_ns, cgroup_id, _acked, bytes_received,
         bytes_sent, pid, uid, netns, err, srtt_us, mdev_us, min_rtt_us, total_retrans, busy,
         rwnd, sndbuf, handshake_us, resets_sent, snd_cwnd, segs_out, family, lport, rport,
         kind, side, oldstate, _state, flags, _pad, laddr_raw, raddr_raw, comm_raw,
         cgroup_name) in RECORD.iter_unpack(raw):  # fmt: skip
        # Inline lookups, not calls: this loop runs tens of thousands of times a second.
        if family == AF_INET6:
            laddr = v6.get(laddr_raw) or cached(v6, laddr_raw, _v6, MAX_CACHED)
            raddr = v6.get(raddr_raw) or cached(v6, raddr_raw, _v6, MAX_CACHED)
        else:
            laddr = v4.get(laddr_raw) or cached(v4, laddr_raw, _v4, MAX_CACHED)
            raddr = v4.get(raddr_raw) or cached(v4, raddr_raw, _v4, MAX_CACHED)
        comm = comms.get(comm_raw) or cached(comms, comm_raw, c_string, MAX_CACHED)
        if kind == KIND_CLOSED and oldstate == TCP_SYN_SENT:
            events.append(FailedConnect(sk, ts_ns, opened_ns, netns, family, laddr, lport,
                                        raddr, rport, pid, uid, comm, start_ns, cgroup_id,
                                        SIDE_NAMES.get(side, ""), err, resets_sent,
                                        flags))  # fmt: skip
            continue
        events.append(ConnEvent(kind, sk, ts_ns, opened_ns, established_ns, netns, family,
                       laddr, lport, raddr, rport, pid, uid, comm, start_ns, cgroup_id,
                       c_string(cgroup_name) if cgroup_name[0] else "",
                       SIDE_NAMES.get(side, ""), flags, oldstate, err, handshake_us,
                       resets_sent, srtt_us, mdev_us, min_rtt_us, total_retrans, _acked,
                       bytes_received, bytes_sent, (busy, rwnd, sndbuf), snd_cwnd,
                       segs_out))  # fmt: skip
    return events
