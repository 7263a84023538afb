"""Accepted TCP connections: events, the bounded log, and the live summary beside it."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from netwatch.model.containers import container_of
from netwatch.model.sample import EventsSample
from netwatch.model.untrusted import printable

DEFAULT_MAX_ROWS = 10_000  # accepted connections the log keeps, oldest dropped first

SEED_HEADER = "%6s %16s %6s %6s %16s" % ("UID", "CMD", "PID", "PORT", "IP_SOURCE")


@dataclass(frozen=True, slots=True)
class AcceptEvent:
    ts: float
    pid: int
    tid: int
    uid: int
    comm: str
    family: str  # "ipv4", "ipv6", "ipv4-mapped" (an IPv4 peer on an IPv6 socket)
    laddr: str
    lport: int
    raddr: str
    rport: int
    cgroup: str = ""  # the acceptor's cgroup v2 path ("" unknown)
    netns: int = 0  # the accepted socket's network namespace inode (0 unknown)
    started: float = 0.0  # when the acceptor started, wall seconds (0 unknown): PIDs wrap

    @property
    def container(self) -> str:
        return container_of(self.cgroup)

    def seed_line(self) -> str:
        """tcp_connections.stp's row: `%6d %16s %6d %6d %16s`."""
        line = "%6d %16s %6d %6d %16s" % (self.uid, self.comm, self.pid, self.lport, self.raddr)
        return printable(line)

    def fields(self, user: str) -> dict[str, object]:
        """The accept as `accepts --batch --json` and the tab's JSON and CSV snapshots give it:
        one set of fields, in one order, wherever it is exported."""
        return {
            "ts": round(self.ts, 6),
            "uid": self.uid,
            "user": user,
            "comm": self.comm,
            "pid": self.pid,
            "tid": self.tid,
            "family": self.family,
            "laddr": self.laddr,
            "lport": self.lport,
            "raddr": self.raddr,
            "rport": self.rport,
            "cgroup": self.cgroup or None,
            "container": self.container or None,
            "netns": self.netns or None,
            "started": self.started or None,
            # The names before one grammar (#24), kept one release for scripts (README).
            "port": self.lport,
            "ip_source": self.raddr,
            "src_port": self.rport,
            "local_addr": self.laddr,
        }


FIELD_NAMES = ("ts", "uid", "user", "comm", "pid", "tid", "family", "laddr", "lport", "raddr",
               "rport", "cgroup", "container", "netns", "started",
               "port", "ip_source", "src_port", "local_addr")  # fmt: skip
# The names before one grammar (#24): kept one release beside laddr/lport/raddr/rport.
OLD_FIELD_NAMES = ("port", "ip_source", "src_port", "local_addr")


@dataclass(frozen=True, slots=True)
class AcceptsSample(EventsSample[AcceptEvent]):
    """The connections accepted since the last read."""


@dataclass(slots=True)
class AcceptsState:
    """The log (bounded: oldest dropped first), per-port and per-source counts, new sources."""

    max_rows: int = DEFAULT_MAX_ROWS
    log: deque[AcceptEvent] = field(default_factory=deque)
    dropped_oldest: int = 0
    total: int = 0
    lost: int = 0
    samples: int = 0
    last: AcceptsSample | None = None
    per_port: Counter[int] = field(default_factory=Counter)
    per_source: Counter[str] = field(default_factory=Counter)
    # Sources seen for the first time in this session: the seed's purpose is to spot them.
    first_seen: dict[str, float] = field(default_factory=dict)

    def emptied(self) -> AcceptsState:
        """A state with the same settings and no samples (a replay that went back)."""
        return AcceptsState(max_rows=self.max_rows)

    def apply(self, sample: AcceptsSample) -> list[AcceptEvent]:
        """Fold a sample in; returns the events that brought a source never seen before."""
        self.samples += 1
        self.lost += sample.lost
        self.last = sample
        newcomers = []
        for ev in sample.events:
            self.total += 1
            self.log.append(ev)
            if len(self.log) > self.max_rows:
                self.log.popleft()
                self.dropped_oldest += 1
            self.per_port[ev.lport] += 1
            self.per_source[ev.raddr] += 1
            if ev.raddr not in self.first_seen:
                self.first_seen[ev.raddr] = ev.ts
                newcomers.append(ev)
        return newcomers

    def is_first(self, ev: AcceptEvent) -> bool:
        """This event is the one that brought its source address into the session."""
        return self.first_seen.get(ev.raddr) == ev.ts

    def rate(self) -> float:
        if self.last is None or self.last.interval <= 0:
            return 0.0
        return len(self.last.events) / self.last.interval
