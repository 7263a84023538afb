"""TCP connections, one row per connection per interval: who owns it, where it runs, how it
is doing (RTT, retransmits, resets, what limits it) and, once it ended, how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field

from netwatch.model.containers import container_of
from netwatch.model.sample import RowsSample

# How a connection ended. The first three for one that was established, the rest for a connect
# that never was (answered by a reset; given up by the kernel; an ICMP error; closed by its
# process while connecting).
ENDS = ("closed", "reset_sent", "reset_received", "refused", "timeout", "unreachable", "aborted")
FAILED_CONNECTS = ("refused", "timeout", "unreachable", "aborted")
SIDES = ("out", "in")  # a connect, an accept; "" where netwatch did not see it open
FAMILIES = ("ipv4", "ipv6", "ipv4-mapped")
STATES = ("ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
          "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV")  # fmt: skip
# What held a connection back over an interval, from the kernel's own accounting (tcp_info's
# busy, rwnd-limited and sndbuf-limited times): the peer's receive window, its own send buffer,
# the network (congestion window or loss recovery: busy and neither of those), or the
# application, which had nothing to send.
LIMITS = ("rwnd", "sndbuf", "network", "app")


@dataclass(slots=True)  # not frozen: tens of thousands are made a second on a churning host
class ConnRow:
    """One connection over one interval. None: unknown (never 0 for a value not measured)."""

    cid: int  # this connection, for as long as the probe that saw it runs (or the recording)
    netns: int  # its network namespace's inode (0 unknown)
    family: str
    laddr: str
    lport: int
    raddr: str
    rport: int
    pid: int  # its owner (0 unknown: opened before netwatch and no process holds it now)
    uid: int | None
    comm: str
    cgroup: str  # its owner's cgroup v2 path ("" unknown)
    started: float  # when its owner started (wall seconds, 0 unknown): PIDs wrap
    side: str  # "out", "in", "" unknown
    state: str  # the kernel's TCP state, "CLOSE" once ended
    since: float | None  # when it opened (wall seconds)
    # Over the interval (None where unknown):
    xmit_bytes: int | None
    recv_bytes: int | None
    retrans: int | None  # segments retransmitted
    segs_out: int | None  # segments sent (retransmits included)
    resets_sent: int
    resets_received: int
    busy_ms: float | None
    rwnd_limited_ms: float | None
    sndbuf_limited_ms: float | None
    # At the end of the interval:
    srtt_ms: float | None
    rttvar_ms: float | None
    min_rtt_ms: float | None
    retrans_total: int | None
    xmit_total: int | None
    recv_total: int | None
    connect_ms: float | None  # SYN sent to established; SYN received to accepted
    end: str | None  # one of ENDS once it ended
    ended_at: float | None
    # The kernel's tcp_info, for the detail:
    cwnd: int | None = None
    ssthresh: int | None = None
    mss: int | None = None
    pacing_rate: int | None = None  # bytes/s
    delivery_rate: int | None = None  # bytes/s
    # The first of its rows to carry connect_ms: where a histogram observes it, once.
    connect_first: bool = False

    @property
    def key(self) -> str:
        return str(self.cid)

    @property
    def container(self) -> str:
        return container_of(self.cgroup)

    @property
    def failed_connect(self) -> bool:
        return self.end in FAILED_CONNECTS

    def limit(self, interval: float) -> str:
        """The dominant cause over the interval (one of LIMITS), or "" when unknown or ended."""
        shares = limit_shares(self, interval)
        if not shares:
            return ""
        return max(LIMITS, key=lambda cause: shares[cause])

    def fields(self, user: str, ts: float, interval: float) -> dict[str, object]:
        """The connection as `conns --batch --json` and the tab's snapshots give it."""
        return {
            "ts": round(ts, 6),
            "interval": interval,
            "pid": self.pid or None,
            "comm": self.comm or None,
            "user": user or None,
            "container": self.container or None,
            "netns": self.netns or None,
            "family": self.family,
            "laddr": self.laddr,
            "lport": self.lport,
            "raddr": self.raddr,
            "rport": self.rport,
            "side": self.side or None,
            "state": self.state,
            "since": None if self.since is None else round(self.since, 6),
            "xmit_bytes": self.xmit_bytes,
            "recv_bytes": self.recv_bytes,
            "srtt_ms": _ms(self.srtt_ms),
            "rttvar_ms": _ms(self.rttvar_ms),
            "min_rtt_ms": _ms(self.min_rtt_ms),
            "retrans": self.retrans,
            "retrans_total": self.retrans_total,
            "resets_sent": self.resets_sent,
            "resets_received": self.resets_received,
            "connect_ms": _ms(self.connect_ms),
            "busy_ms": _ms(self.busy_ms),
            "rwnd_limited_ms": _ms(self.rwnd_limited_ms),
            "sndbuf_limited_ms": _ms(self.sndbuf_limited_ms),
            "end": self.end,
            # Beyond the list: the detail's tcp_info, and the row's own id.
            "cid": self.cid,
            "segs_out": self.segs_out,
            "cwnd": self.cwnd,
            "ssthresh": self.ssthresh,
            "mss": self.mss,
            "pacing_rate": self.pacing_rate,
            "delivery_rate": self.delivery_rate,
            "started": self.started or None,
            "ended_at": None if self.ended_at is None else round(self.ended_at, 6),
        }


FIELD_NAMES = ("ts", "interval", "pid", "comm", "user", "container", "netns", "family", "laddr",
               "lport", "raddr", "rport", "side", "state", "since", "xmit_bytes", "recv_bytes",
               "srtt_ms", "rttvar_ms", "min_rtt_ms", "retrans", "retrans_total", "resets_sent",
               "resets_received", "connect_ms", "busy_ms", "rwnd_limited_ms",
               "sndbuf_limited_ms", "end", "cid", "segs_out", "cwnd", "ssthresh", "mss",
               "pacing_rate", "delivery_rate", "started", "ended_at")  # fmt: skip


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def limit_shares(row: ConnRow, interval: float) -> dict[str, float]:
    """Each cause's share of the interval, 0..1 (empty when unknown). Busy time the window and
    the buffer do not explain is the network's; the rest of the interval, the application's."""
    if row.busy_ms is None or row.end is not None or interval <= 0:
        return {}
    span = interval * 1000.0
    busy = min(row.busy_ms, span)
    rwnd = min(row.rwnd_limited_ms or 0.0, busy)
    sndbuf = min(row.sndbuf_limited_ms or 0.0, busy - rwnd)
    return {
        "rwnd": rwnd / span,
        "sndbuf": sndbuf / span,
        "network": (busy - rwnd - sndbuf) / span,
        "app": (span - busy) / span,
    }


@dataclass(frozen=True, slots=True)
class ConnsSample(RowsSample[ConnRow]):
    """The connections open in an interval or ended in it. `more`: connections the probe left
    out of it (past its cap of rows per interval), counted so the banner can say so."""

    more: int = field(default=0, kw_only=True)


DEFAULT_ENDED_WINDOW_S = 60.0  # seconds an ended connection stays
MAX_KEPT = 50_000  # connections the view remembers (open and lately ended); oldest ended first
HISTORY_POINTS = 600  # per connection: RTT, retransmits and rate per interval, for the detail


@dataclass(slots=True)
class History:
    """One connection's life in the view, an interval a point (oldest first)."""

    srtt_ms: list[float | None] = field(default_factory=list)
    retrans: list[int | None] = field(default_factory=list)
    xmit: list[float | None] = field(default_factory=list)  # bytes/s sent
    recv: list[float | None] = field(default_factory=list)  # bytes/s received

    @property
    def rate(self) -> list[float | None]:
        """Bytes/s both ways."""
        both = zip(self.xmit, self.recv, strict=True)
        return [None if x is None or r is None else x + r for x, r in both]

    def add(self, row: ConnRow, interval: float) -> None:
        xmit = recv = None
        if row.xmit_bytes is not None and row.recv_bytes is not None and interval > 0:
            xmit, recv = row.xmit_bytes / interval, row.recv_bytes / interval
        for series, value in ((self.srtt_ms, row.srtt_ms), (self.retrans, row.retrans),
                              (self.xmit, xmit), (self.recv, recv)):  # fmt: skip
            series.append(value)  # type: ignore[arg-type]
            if len(series) > HISTORY_POINTS:
                del series[0]


@dataclass(slots=True)
class Totals:
    """What happened since the view started (or over the last interval)."""

    connects: int = 0  # outbound connections seen opening
    accepts: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # by end word
    resets_sent: int = 0
    resets_received: int = 0
    retrans: int = 0
    segs_out: int = 0

    def add(self, row: ConnRow, opened: bool) -> None:
        if opened:
            if row.side == "out":
                self.connects += 1
            elif row.side == "in":
                self.accepts += 1
        if row.failed_connect and row.end is not None:
            self.failed[row.end] = self.failed.get(row.end, 0) + 1
        self.resets_sent += row.resets_sent
        self.resets_received += row.resets_received
        self.retrans += row.retrans or 0
        self.segs_out += row.segs_out or 0


@dataclass(slots=True)
class ConnsState:
    """The connections open now and those that ended within `ended_window` seconds, with each
    one's history; totals since the start and over the last interval."""

    ended_window: float = DEFAULT_ENDED_WINDOW_S
    max_kept: int = MAX_KEPT
    rows: dict[int, ConnRow] = field(default_factory=dict)  # by cid: the latest of each
    history: dict[int, History] = field(default_factory=dict)
    total: Totals = field(default_factory=Totals)
    last_totals: Totals = field(default_factory=Totals)
    lost: int = 0
    more: int = 0  # connections the last sample left out (past the probe's cap)
    forgotten: int = 0  # ended connections dropped before their window was over (max_kept)
    samples: int = 0
    started: float = 0.0
    last: ConnsSample | None = None

    def emptied(self) -> ConnsState:
        return ConnsState(self.ended_window, self.max_kept)

    def apply(self, sample: ConnsSample) -> None:
        self.samples += 1
        if not self.started:
            self.started = sample.ts - sample.interval
        self.lost += sample.lost
        self.more = sample.more
        self.last = sample
        now = Totals()
        present = set()
        for row in sample.rows:
            present.add(row.cid)
            opened = row.cid not in self.rows and (
                row.since is not None and row.since >= self.started
            )
            known = self.rows.pop(row.cid, None)  # to the end: dicts keep insertion order
            self.rows[row.cid] = row
            if known is not None or row.end is None:  # a life of one interval has no history
                self.history.setdefault(row.cid, History()).add(row, sample.interval)
            now.add(row, opened)
            self.total.add(row, opened)
        self.last_totals = now
        self._expire(sample.ts, present)

    def _expire(self, ts: float, present: set[int]) -> None:
        for cid, row in list(self.rows.items()):
            gone = row.end is None and cid not in present  # no longer reported: closed unseen
            if gone or (row.end is not None and ts - (row.ended_at or ts) > self.ended_window):
                self._drop(cid)
        over = len(self.rows) - self.max_kept
        if over > 0:
            for cid in [c for c, r in self.rows.items() if r.end is not None][:over]:
                self._drop(cid)
                self.forgotten += 1

    def _drop(self, cid: int) -> None:
        self.rows.pop(cid, None)
        self.history.pop(cid, None)

    def open_count(self) -> int:
        return sum(1 for r in self.rows.values() if r.end is None)
