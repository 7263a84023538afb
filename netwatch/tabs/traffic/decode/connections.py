"""The Traffic probe's per-connection counts (traffic.bpf.c's `conns`): per-CPU values by
socket, each with the addresses that CPU read, to per-interval ConnRows.

A socket's memory can hold another socket later; the kernel re-reads the addresses when the
ports change, so a connection is keyed here by (socket, its addresses), and one socket's
counts on each CPU go to the addresses that CPU read with them.
"""

from __future__ import annotations

import ctypes
import ipaddress
from typing import Any

from netwatch.tabs.traffic.model import ConnKey, ConnRow, Counters

AF_INET6 = 10
PROTOCOLS = {6: "tcp", 17: "udp", 136: "udplite", 262: "mptcp"}
# (socket, family, protocol, local address, local port, remote address, remote port)
Identity = tuple[int, int, int, bytes, int, bytes, int]
TCP = 6
TCP_STATES = ("", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
              "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV")  # fmt: skip


class Seen:
    """One connection's cumulative counts over CPUs; the owner and the state as the CPU that
    counted most of it saw them; when it was first counted (monotonic ns)."""

    __slots__ = ("_most", "counts", "first_ns", "pid", "state")

    def __init__(self) -> None:
        self.counts = Counters()
        self.pid = 0
        self.state = 0
        self.first_ns = 0
        self._most = -1

    def add(self, v: Any) -> None:
        counts = Counters(int(v.xmit_pk), int(v.recv_pk), int(v.xmit_bytes),
                          int(v.recv_bytes))  # fmt: skip
        self.counts = self.counts + counts
        if counts.total_pk > self._most:
            self._most, self.pid, self.state = counts.total_pk, int(v.tgid), int(v.state)
        first = int(v.first_ns)
        if first and (not self.first_ns or first < self.first_ns):
            self.first_ns = first


def read_conns(table: Any) -> dict[Identity, Seen]:
    """Every connection's cumulative counts, summed over CPUs."""
    out: dict[Identity, Seen] = {}
    for sk, per_cpu in table.items():
        for v in per_cpu:
            if not v.family:
                continue  # this CPU never counted it
            ident = (int(sk.value), int(v.family), int(v.protocol), bytes(v.laddr),
                     int(v.lport), bytes(v.raddr), int(v.rport))  # fmt: skip
            out.setdefault(ident, Seen()).add(v)
    return out


def conn_key(ident: Identity, pid: int) -> ConnKey:
    _, family, protocol, laddr, lport, raddr, rport = ident
    remote = _address(raddr, family)
    unconnected = rport == 0 and remote in ("0.0.0.0", "::")
    return ConnKey(
        pid,
        PROTOCOLS.get(protocol, str(protocol)),
        _address(laddr, family),
        lport,
        "*" if unconnected else remote,
        rport,
    )


def _address(raw: bytes, family: int) -> str:
    if family == AF_INET6:
        v6 = ipaddress.IPv6Address(raw[:16])
        mapped = v6.ipv4_mapped
        return f"::ffff:{mapped}" if mapped is not None else str(v6)
    return str(ipaddress.IPv4Address(raw[:4]))


class ConnectionDeltas:
    """Cumulative counts to per-interval rows; a connection idle `idle_reads` reads in a row is
    removed from the kernel's map (its counts were all handed over already)."""

    def __init__(self, idle_reads: int, wall_offset: float = 0.0) -> None:
        self._idle_reads = idle_reads
        self._wall_offset = wall_offset
        self._prev: dict[Identity, Counters] = {}
        self._idle: dict[Identity, int] = {}

    def update(self, totals: dict[Identity, Seen], comms: dict[int, str]) -> list[ConnRow]:
        rows: dict[ConnKey, ConnRow] = {}
        for ident, seen in totals.items():
            delta = (seen.counts - self._prev.get(ident, Counters())).clamped()
            if delta.empty:
                self._idle[ident] = self._idle.get(ident, 0) + 1
                continue
            self._idle[ident] = 0
            key = conn_key(ident, seen.pid)
            tcp = ident[2] == TCP and seen.state < len(TCP_STATES)
            state = TCP_STATES[seen.state] if tcp else ""
            since = seen.first_ns / 1e9 + self._wall_offset if seen.first_ns else 0.0
            before = rows.get(key)
            if before is not None:  # two sockets at one address (a reuse within the read)
                delta = delta + before.counts
                since = min(since, before.since) if before.since else since
            rows[key] = ConnRow(key, comms.get(seen.pid, ""), delta, state, since)
        self._prev = {ident: seen.counts for ident, seen in totals.items()}
        self._idle = {i: n for i, n in self._idle.items() if i in totals}
        return list(rows.values())

    def prune(self, table: Any) -> None:
        stale = {ident[0] for ident, n in self._idle.items() if n >= self._idle_reads}
        # A socket goes only when every address it was counted under is idle.
        busy = {ident[0] for ident, n in self._idle.items() if n < self._idle_reads}
        for sk in stale - busy:
            try:
                del table[ctypes.c_ulonglong(sk)]
            except KeyError:
                pass
            for ident in [i for i in self._prev if i[0] == sk]:
                self._prev.pop(ident, None)
                self._idle.pop(ident, None)
