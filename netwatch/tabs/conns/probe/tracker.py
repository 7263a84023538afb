"""Each TCP connection followed through its life: the kernel's records (conns.bpf.c: who
opened it, when, how it ended and its last counters) joined with sock_diag's tcp_info each
interval (diag.py), by namespace and both ends. Differences of the kernel's own cumulative
counters give each interval's share, so nothing here counts packets.

No BCC and no netlink here: the probe hands both in, and tests hand in their own."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from netwatch.host.procinfo import cgroup_of, started_at
from netwatch.host.sockets import PROC, comm_of, socket_fds
from netwatch.model.memo import remembered
from netwatch.tabs.conns.decode import (
    KIND_ACCEPTED,
    KIND_CLOSED,
    KIND_ESTABLISHED,
    KIND_RESET_SENT,
    TCP_SYN_SENT,
    ConnEvent,
    FailedConnect,
    family_name,
)
from netwatch.tabs.conns.model import STATES, ConnRow
from netwatch.tabs.conns.probe.diag import TCP_LISTEN, DiagSock

# A connection that ended is told one read later if it ended this close to the read: the reset
# of an abortive close follows its CLOSE by microseconds, and must not miss its row.
HOLD_NS = 50_000_000
# Rows per interval: every connection that ended (a host refusing 70,000 connects a second has
# that many), then the most active open ones; past it the rest are counted, not reported.
MAX_ROWS = 200_000
MAX_PATHS = 4096  # cgroups whose path is remembered, and processes' starts
OWNER_SCAN_S = 5.0  # unowned connections (opened before netwatch) are looked for this often
MAX_MISSES = 3  # reads a connection may be absent from sock_diag before it is forgotten
U32_UNKNOWN = 0xFFFFFFFF
CGroupOf = Callable[[int, str], str]  # (cgroup id, its name) -> path
Tuple = tuple[int, int, str, int, str, int]  # netns, family, laddr, lport, raddr, rport


@dataclass(frozen=True, slots=True)
class Counters:
    """A connection's cumulative counters at one moment (tcp_info's, or tcp_sock's at CLOSE)."""

    bytes_sent: int
    bytes_received: int
    retrans: int
    segs_out: int
    busy_us: float
    rwnd_us: float
    sndbuf_us: float


ZERO = Counters(0, 0, 0, 0, 0.0, 0.0, 0.0)


@dataclass(slots=True)
class Track:
    cid: int
    ends: Tuple
    side: str = ""
    since: float | None = None
    connect_ms: float | None = None
    pid: int = 0
    uid: int | None = None
    comm: str = ""
    cgroup: str = ""
    started: float = 0.0
    inode: int = 0
    sk: int = 0
    base: Counters | None = None  # the counters at the last read; None: never read
    from_start: bool = False  # its records say when it opened: every counter is its own
    misses: int = 0
    connect_told: bool = False  # a row has carried its connect_ms
    extra: Mapping[str, int | None] | None = None  # tcp_info, as last read (None: never)


def _info_counters(info: dict[str, int]) -> Counters:
    return Counters(
        info.get("tcpi_bytes_sent", 0),
        info.get("tcpi_bytes_received", 0),
        info.get("tcpi_total_retrans", 0),
        info.get("tcpi_segs_out", 0),
        float(info.get("tcpi_busy_time", 0)),
        float(info.get("tcpi_rwnd_limited", 0)),
        float(info.get("tcpi_sndbuf_limited", 0)),
    )


def _known(value: int | None, unknown: int = U32_UNKNOWN) -> int | None:
    return None if value is None or value >= unknown else value


def jiffy_s() -> float:
    """The kernel's tick (1/HZ), which tcp_sock's chrono times count: the coarse clock's
    resolution is one tick."""
    return time.clock_getres(6)  # CLOCK_MONOTONIC_COARSE


class Tracker:
    def __init__(
        self,
        wall_offset: float,
        boot_offset: float,
        cgroup_path: CGroupOf,
        max_rows: int = MAX_ROWS,
        jiffy: float | None = None,
    ) -> None:
        self._wall = wall_offset  # monotonic ns / 1e9 + this = wall seconds
        self._boot = boot_offset
        self._cgroup_path = cgroup_path
        self._max_rows = max_rows
        self._jiffy_us = (jiffy if jiffy is not None else jiffy_s()) * 1e6
        self._next_cid = 1
        self._by_tuple: dict[Tuple, Track] = {}
        self._by_sk: dict[int, Track] = {}
        # Ended, held until HOLD_NS have passed; by sk, the latest (a sock's memory is reused).
        self._ended: list[tuple[Track, ConnEvent, list[str]]] = []
        self._ended_by_sk: dict[int, list[str]] = {}
        self._failed: list[ConnRow] = []  # connects that never established, since the last read
        self._scanned_at = -OWNER_SCAN_S
        self._paths: dict[tuple[int, str], str] = {}  # (cgroup id, its name) -> its path
        self._starts: dict[int, float] = {}  # a process's start in boot ns -> wall seconds

    # ---- the kernel's records ----------------------------------------------------------------
    def _track(self, ends: Tuple, sk: int = 0) -> Track:
        found = self._by_sk.get(sk) if sk else None
        if found is None:
            found = self._by_tuple.get(ends)
        if found is None:
            found = Track(self._next_cid, ends)
            self._next_cid += 1
        if found.ends != ends:
            self._by_tuple.pop(found.ends, None)
            found.ends = ends
        self._by_tuple[ends] = found
        if sk:
            found.sk = sk
            self._by_sk[sk] = found
        return found

    def _own(self, t: Track, ev: ConnEvent) -> None:
        if not ev.pid:
            return
        t.pid, t.uid, t.comm = ev.pid, ev.uid, ev.comm
        t.started = self._started(ev.start_ns)
        t.cgroup = self._cgroup(ev.cgroup_id, ev.cgroup_name)

    def _started(self, start_ns: int) -> float:
        """When a process started (wall seconds, to the ms), from its start in boot time; 0.0
        unknown. Remembered: round() costs a float's conversion to text and back, per row."""
        return remembered(self._starts, start_ns, self._wall_start, MAX_PATHS) if start_ns else 0.0

    def _wall_start(self, start_ns: int) -> float:
        return round(self._boot + start_ns / 1e9, 3)

    def _cgroup(self, cgroup_id: int, name: str) -> str:
        key = (cgroup_id, name)
        path = self._paths.get(key)
        if path is None:  # one lookup per cgroup, not per connection
            path = self._cgroup_path(*key)
            if path:  # "" may be a lookup put off (CgroupPaths' budget): asked again
                if len(self._paths) >= MAX_PATHS:
                    self._paths.clear()
                self._paths[key] = path
        return path

    def _opened(self, t: Track, ev: ConnEvent) -> None:
        if ev.side:
            t.side = ev.side
        if ev.opened_ns:
            t.since = ev.opened_ns / 1e9 + self._wall
            if not t.from_start:
                # Seen from its first segment: every counter from zero. A read's sock_diag dump
                # may find it before its record of opening is drained (a connect that had not
                # finished, or that finished after the drain): that row said "unknown", and the
                # next counts all since it opened, so the rows add up to the kernel's total.
                t.from_start = True
                t.base = ZERO

    @staticmethod
    def _ends(ev: ConnEvent | FailedConnect) -> Tuple:
        return (ev.netns, ev.family, ev.laddr, ev.lport, ev.raddr, ev.rport)

    def take_event(self, ev: ConnEvent | FailedConnect) -> None:
        if isinstance(ev, FailedConnect):
            self._failed_connect(ev)
            return
        if ev.kind == KIND_RESET_SENT:
            found = self._ended_by_sk.get(ev.sk)
            if found is not None:
                found.append("reset_sent")
            return
        if ev.kind == KIND_CLOSED:
            self._closed(ev)
            return
        t = self._track(self._ends(ev), ev.sk)
        self._own(t, ev)
        self._opened(t, ev)
        if ev.kind == KIND_ESTABLISHED and ev.established_ns and ev.opened_ns:
            t.connect_ms = (ev.established_ns - ev.opened_ns) / 1e6
        elif ev.kind == KIND_ACCEPTED and ev.established_ns:
            # SYN received to accepted: the SYN-ACK's round trip (the kernel's first RTT sample)
            # before the handshake ended, then the wait in the listen queue.
            t.connect_ms = (ev.ts_ns - ev.established_ns) / 1e6 + ev.handshake_us / 1000

    def _closed(self, ev: ConnEvent) -> None:
        """A connection's end; one that opened and ended between two reads (a refused connect,
        a short request) is known from this record alone: no index holds it."""
        t = self._by_sk.pop(ev.sk, None)
        if t is not None:
            self._by_tuple.pop(t.ends, None)
        else:
            ends = self._ends(ev)
            t = self._by_tuple.pop(ends, None)
            if t is None:
                t = Track(self._next_cid, ends)
                self._next_cid += 1
        self._own(t, ev)
        self._opened(t, ev)
        if ev.established_ns and ev.opened_ns and t.connect_ms is None and t.side == "out":
            t.connect_ms = (ev.established_ns - ev.opened_ns) / 1e6
        later: list[str] = []
        self._ended.append((t, ev, later))
        self._ended_by_sk[ev.sk] = later

    def _failed_connect(self, ev: FailedConnect) -> None:
        """A connect that never established: its row made at once from this record alone, most
        rows of a host refusing connects (docs/benchmarks.md: a Track and a held ConnEvent cost
        as much again). One that sock_diag saw waiting is followed: it ends as any does."""
        if self._ends(ev) in self._by_tuple or ev.sk in self._by_sk:
            self._closed(ev.as_event())
            return
        cid = self._next_cid
        self._next_cid += 1
        uid: int | None = None
        comm = cgroup = ""
        started = 0.0
        if ev.pid:
            uid, comm = ev.uid, ev.comm
            started = self._started(ev.start_ns)
            cgroup = self._cgroup(ev.cgroup_id, "")
        end = ev.ending()
        since = moved = busy = None
        if ev.opened_ns:  # seen from its start: it moved nothing
            since, moved, busy = ev.opened_ns / 1e9 + self._wall, 0, 0.0
        self._failed.append(ConnRow(
            cid, ev.netns, family_name(ev.family, ev.raddr), ev.laddr, ev.lport, ev.raddr,
            ev.rport, ev.pid, uid, comm, cgroup, started, ev.side, "CLOSE", since, moved, moved,
            moved, moved, ev.resets_sent, ev.resets_received, busy, busy, busy, None, None,
            None, 0, 0, 0, None, end, ev.ts_ns / 1e9 + self._wall,
        ))  # fmt: skip

    # ---- one interval ------------------------------------------------------------------------
    def step(
        self,
        events: Iterable[ConnEvent | FailedConnect],
        socks: Iterable[DiagSock],
        now_ns: int,
        interval: float,
    ) -> tuple[list[ConnRow], int]:
        """The interval's rows (open connections, and those that ended) and how many were left
        out past the cap. `now_ns`: the read's monotonic time."""
        for ev in events:
            self.take_event(ev)
        socks = list(socks)
        listening = {(s.netns, s.lport) for s in socks if s.state == TCP_LISTEN}
        rows: list[ConnRow] = []
        seen: set[int] = set()
        for s in socks:
            if s.state == TCP_LISTEN:
                continue
            ends = (s.netns, s.family, s.laddr, s.lport, s.raddr, s.rport)
            t = self._track(ends)
            seen.add(t.cid)
            t.misses = 0
            t.inode = s.inode or t.inode
            if t.uid is None:
                t.uid = s.uid
            if not t.side:
                t.side = "in" if (s.netns, s.lport) in listening else "out"
            rows.append(self._live_row(t, s))
        for ends, t in list(self._by_tuple.items()):
            if t.cid not in seen:
                t.misses += 1
                if t.misses > MAX_MISSES:
                    del self._by_tuple[ends]
                    self._by_sk.pop(t.sk, None)
        self._find_owners()
        ended, self._failed = self._failed, []
        ended += self._ended_rows(now_ns)
        return self._capped(ended, rows)

    def _capped(self, ended: list[ConnRow], live: list[ConnRow]) -> tuple[list[ConnRow], int]:
        room = self._max_rows - len(ended)
        if len(ended) >= self._max_rows:
            return ended[: self._max_rows], len(ended) - self._max_rows + len(live)
        if len(live) > room:
            live.sort(key=lambda r: -((r.xmit_bytes or 0) + (r.recv_bytes or 0)))
            return ended + live[:room], len(live) - room
        return ended + live, 0

    def _live_row(self, t: Track, s: DiagSock) -> ConnRow:
        info = s.info
        now = _info_counters(info)
        base, t.base = t.base, now
        state = STATES[s.state - 1] if 1 <= s.state <= len(STATES) else str(s.state)
        t.extra = {
            "cwnd": info.get("tcpi_snd_cwnd"),
            "ssthresh": _known(info.get("tcpi_snd_ssthresh"), 0x7FFFFFFF),
            "mss": info.get("tcpi_snd_mss"),
            "pacing_rate": _known(info.get("tcpi_pacing_rate"), 2**63),
            "delivery_rate": info.get("tcpi_delivery_rate"),
        }
        return self._row(t, state, now, base, info.get("tcpi_rtt"), info.get("tcpi_rttvar"),
                         _known(info.get("tcpi_min_rtt")), None, None, 0, 0,
                         **t.extra)  # fmt: skip

    def _row(
        self,
        t: Track,
        state: str,
        now: Counters,
        base: Counters | None,
        srtt_us: int | None,
        rttvar_us: int | None,
        min_rtt_us: int | None,
        end: str | None,
        ended_at: float | None,
        resets_sent: int,
        resets_received: int,
        **extra: int | None,
    ) -> ConnRow:
        netns, family, laddr, lport, raddr, rport = t.ends

        def grew(name: str) -> int | None:
            return None if base is None else max(0, getattr(now, name) - getattr(base, name))

        def grew_ms(name: str) -> float | None:
            return (
                None if base is None else max(0.0, getattr(now, name) - getattr(base, name)) / 1000
            )

        return ConnRow(
            t.cid, netns, family_name(family, raddr), laddr, lport, raddr, rport,
            t.pid, t.uid, t.comm, t.cgroup, t.started, t.side, state, t.since,
            xmit_bytes=grew("bytes_sent"),
            recv_bytes=grew("bytes_received"),
            retrans=grew("retrans"),
            segs_out=grew("segs_out"),
            resets_sent=resets_sent,
            resets_received=resets_received,
            busy_ms=grew_ms("busy_us"),
            rwnd_limited_ms=grew_ms("rwnd_us"),
            sndbuf_limited_ms=grew_ms("sndbuf_us"),
            srtt_ms=srtt_us / 1000 if srtt_us else None,
            rttvar_ms=rttvar_us / 1000 if srtt_us and rttvar_us is not None else None,
            min_rtt_ms=min_rtt_us / 1000 if min_rtt_us else None,
            retrans_total=now.retrans,
            xmit_total=now.bytes_sent,
            recv_total=now.bytes_received,
            connect_ms=t.connect_ms,
            connect_first=self._connect_first(t),
            end=end,
            ended_at=ended_at,
            **extra,
        )  # fmt: skip

    def _ended_rows(self, now_ns: int) -> list[ConnRow]:
        rows = []
        held = []
        for t, ev, later in self._ended:
            if now_ns - ev.ts_ns < HOLD_NS:
                held.append((t, ev, later))
            else:
                if self._ended_by_sk.get(ev.sk) is later:
                    del self._ended_by_sk[ev.sk]
                rows.append(self._ended_row(t, ev, later))
        self._ended = held
        return rows

    def _ended_row(self, t: Track, ev: ConnEvent, later: list[str]) -> ConnRow:
        """The last row of a connection, from tcp_sock's counters at its CLOSE (written out
        rather than through _row: a churning host ends tens of thousands a second)."""
        end = "reset_sent" if later else ev.ending()
        j = self._jiffy_us
        base = t.base
        netns, family, laddr, lport, raddr, rport = t.ends
        extra = t.extra
        if base is None:
            xmit = recv = retrans = segs = None
            busy = rwnd = sndbuf = None
        elif ev.oldstate == TCP_SYN_SENT and base is ZERO:
            # A connect that never established, seen from its start: it moved nothing (the
            # probe reads no counters for it). Most rows of a host refusing connects.
            xmit = recv = retrans = segs = 0
            busy = rwnd = sndbuf = 0.0
        else:
            busy_j, rwnd_j, sndbuf_j = ev.chrono_jiffies
            xmit = max(0, ev.bytes_sent - base.bytes_sent)
            recv = max(0, ev.bytes_received - base.bytes_received)
            retrans = max(0, ev.total_retrans - base.retrans)
            segs = max(0, ev.segs_out - base.segs_out)
            busy = max(0.0, (busy_j + rwnd_j + sndbuf_j) * j - base.busy_us) / 1000
            rwnd = max(0.0, rwnd_j * j - base.rwnd_us) / 1000
            sndbuf = max(0.0, sndbuf_j * j - base.sndbuf_us) / 1000
        if extra:
            cwnd, ssthresh, mss = (
                ev.snd_cwnd or extra.get("cwnd"),
                extra.get("ssthresh"),
                extra.get("mss"),
            )
            pacing, delivery = extra.get("pacing_rate"), extra.get("delivery_rate")
        else:  # never read through sock_diag
            cwnd, ssthresh, mss, pacing, delivery = ev.snd_cwnd or None, None, None, None, None
        srtt = ev.srtt_us / 1000 if ev.srtt_us else None
        return ConnRow(
            t.cid, netns, family_name(family, raddr), laddr, lport, raddr, rport, t.pid,
            t.uid, t.comm, t.cgroup, t.started, t.side, "CLOSE", t.since, xmit, recv, retrans,
            segs, ev.resets_sent + len(later), 0 if later else ev.resets_received, busy,
            rwnd, sndbuf, srtt, ev.mdev_us / 1000 if srtt is not None else None,
            ev.min_rtt_us / 1000 if ev.min_rtt_us else None, ev.total_retrans, ev.bytes_sent,
            ev.bytes_received, t.connect_ms, end, ev.ts_ns / 1e9 + self._wall, cwnd, ssthresh,
            mss, pacing, delivery, self._connect_first(t),
        )  # fmt: skip

    @staticmethod
    def _connect_first(t: Track) -> bool:
        """Whether this row is the first to carry the connection's connect latency."""
        if t.connect_ms is None or t.connect_told:
            return False
        t.connect_told = True
        return True

    # ---- owners of connections netwatch did not see open -------------------------------------
    def _find_owners(self) -> None:
        if time.monotonic() - self._scanned_at < OWNER_SCAN_S:
            return  # before the walk over every connection, which most reads need not make
        wanted = {t.inode: t for t in self._by_tuple.values() if not t.pid and t.inode}
        if not wanted:
            return
        self._scanned_at = time.monotonic()
        for inode, pid in owners_of(wanted.keys()).items():
            t = wanted[inode]
            t.pid, t.comm = pid, comm_of(pid)
            t.started = started_at(pid)
            t.cgroup = cgroup_of(pid)


def owners_of(inodes: Iterable[int]) -> dict[int, int]:
    """Socket inode -> the first process found holding it (a walk of /proc/*/fd)."""
    wanted = set(inodes)
    found: dict[int, int] = {}
    for entry in os.listdir(PROC):
        if not wanted:
            break
        if entry.isdigit():
            for inode in socket_fds(int(entry)).keys() & wanted:
                found[inode] = int(entry)
                wanted.discard(inode)
    return found
