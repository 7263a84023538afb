"""Traffic rows per (PID, UID, device, command), the samples carrying them, their arithmetic."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from netwatch.model.containers import Contexts, ProcContext
from netwatch.model.sample import RowsSample
from netwatch.model.sparkline import RecentRates

# PID shown for traffic no process can be charged with; the reason goes in `TrafficKey.reason`.
UNATTRIBUTED_PID = -1

MAX_CONNECTIONS = 20_000  # connections whose totals the tab keeps (the busiest half stays)
# Rows whose totals since start the tab keeps. Past it, the quietest rows not in the newest
# interval (exited processes, mostly) are folded into one row per device, down to 3/4 of it:
# 300,000 short-lived processes took the TUI from 82 to 414 MB, never freed.
MAX_TOTALS = 20_000
MAX_HISTORIES = 2_000  # processes whose per-interval history (the detail's window) is kept
# Exited processes whose rows keep their totals, marked exited, for the whole session: past it
# the least busy are folded into one [exited] row per device (the banner says how many).
MAX_EXITED = 5_000

REASON_TX_NO_OWNER = "tx-no-owner"
REASON_RX_NOT_DELIVERED = "rx-not-delivered"
REASON_FOLDED = "folded"
REASON_EXITED = "exited"
EXITED_MARK = "(exited)"  # after an exited process's command, in the table and `top -b --totals`
REASON_TEXT = {
    REASON_EXITED: f"the totals of exited processes past the busiest {MAX_EXITED:,} kept",
    REASON_FOLDED: f"the totals of quieter processes no longer sending, folded to keep at most "
    f"{MAX_TOTALS:,} rows",
    REASON_TX_NO_OWNER: "sent by the kernel or by a socket no process has used yet "
    "(ARP, ICMP, RST, SYN-ACK)",
    REASON_RX_NOT_DELIVERED: "received but not matched to a process's socket (consumed by the "
    "kernel, dropped, forwarded, or TCP segments outside ESTABLISHED such as FIN_WAIT ACKs)",
}


@dataclass(frozen=True, slots=True)
class TrafficKey:
    pid: int
    uid: int
    dev: str
    comm: str
    reason: str = ""

    @property
    def attributed(self) -> bool:
        return self.pid != UNATTRIBUTED_PID


@dataclass(frozen=True, slots=True)
class Counters:
    xmit_pk: int = 0
    recv_pk: int = 0
    xmit_bytes: int = 0
    recv_bytes: int = 0

    def __add__(self, other: Counters) -> Counters:
        return Counters(
            self.xmit_pk + other.xmit_pk,
            self.recv_pk + other.recv_pk,
            self.xmit_bytes + other.xmit_bytes,
            self.recv_bytes + other.recv_bytes,
        )

    def __sub__(self, other: Counters) -> Counters:
        return Counters(
            self.xmit_pk - other.xmit_pk,
            self.recv_pk - other.recv_pk,
            self.xmit_bytes - other.xmit_bytes,
            self.recv_bytes - other.recv_bytes,
        )

    def clamped(self) -> Counters:
        return Counters(*(max(0, v) for v in self.as_tuple()))

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.xmit_pk, self.recv_pk, self.xmit_bytes, self.recv_bytes)

    @property
    def total_pk(self) -> int:
        return self.xmit_pk + self.recv_pk

    @property
    def empty(self) -> bool:
        return self.total_pk == 0 and self.xmit_bytes == 0 and self.recv_bytes == 0


@dataclass(frozen=True, slots=True)
class TrafficRow:
    key: TrafficKey
    counts: Counters


@dataclass(frozen=True, slots=True)
class ConnKey:
    """One connection (or unconnected socket: remote "*" and port 0) of one process."""

    pid: int
    proto: str  # "tcp", "udp", "mptcp", else the protocol's number
    laddr: str
    lport: int
    raddr: str
    rport: int

    def text(self) -> str:
        return (
            f"{self.proto} {_endpoint(self.laddr, self.lport)} {_endpoint(self.raddr, self.rport)}"
        )

    def remote_first(self) -> str:
        """As the connection grouping shows it: what a narrow screen cuts is the local end."""
        remote, local = _endpoint(self.raddr, self.rport), _endpoint(self.laddr, self.lport)
        return f"{self.proto} {remote} <- {local}"


def _endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


@dataclass(frozen=True, slots=True)
class ConnRow:
    """A connection's packets and wire bytes over one interval: the same amounts as its
    process's rows got, so a process's connections add up to its rows."""

    key: ConnKey
    comm: str
    counts: Counters
    state: str = ""  # TCP's state at its last packet ("" for other protocols)
    since: float = 0.0  # wall clock when netwatch first counted it (0: unknown)


@dataclass(frozen=True, slots=True)
class TrafficSample(RowsSample[TrafficRow]):
    """What one interval brought: per-row counts for that interval only (not cumulative), and
    where the processes in those rows run (by PID; a live probe knows it, old recordings
    do not)."""

    context: Mapping[int, ProcContext] = field(default_factory=dict)
    connections: tuple[ConnRow, ...] = ()
    connections_lost: int = 0  # packets not counted per connection: the kernel's map was full
    # Processes found exited in the interval: (pid, wall-clock time it was noticed).
    exited: tuple[tuple[int, float], ...] = ()


class UnattributedTracker:
    """Turns the kernel's running per-device totals of unowned traffic into per-interval rows.

    A total can dip: traffic is counted unowned when it arrives and taken back out when a
    process later claims it (parked or backlogged segments), possibly in the next interval. So
    only growth past what was already shown becomes a row, and a dip is absorbed, not shown.
    Transmit and receive get separate rows because their causes differ.
    """

    def __init__(self) -> None:
        self._shown: dict[str, Counters] = {}

    def update(self, unowned_totals: dict[str, Counters]) -> list[TrafficRow]:
        rows: list[TrafficRow] = []
        for dev, total in sorted(unowned_totals.items()):
            shown = self._shown.get(dev, Counters())
            new = (total - shown).clamped()
            self._shown[dev] = shown + new
            rows.extend(_unattributed(dev, new))
        return rows


def _unattributed(dev: str, c: Counters) -> list[TrafficRow]:
    rows = []
    if c.xmit_pk:
        key = TrafficKey(
            UNATTRIBUTED_PID, UNATTRIBUTED_PID, dev, "[unattributed]", REASON_TX_NO_OWNER
        )
        rows.append(TrafficRow(key, Counters(xmit_pk=c.xmit_pk, xmit_bytes=c.xmit_bytes)))
    if c.recv_pk:
        key = TrafficKey(
            UNATTRIBUTED_PID, UNATTRIBUTED_PID, dev, "[unattributed]", REASON_RX_NOT_DELIVERED
        )
        rows.append(TrafficRow(key, Counters(recv_pk=c.recv_pk, recv_bytes=c.recv_bytes)))
    return rows


@dataclass(slots=True)
class HistoryPoint:
    ts: float
    xmit_bytes: int
    recv_bytes: int


@dataclass(slots=True)
class TrafficState:
    """What the Traffic tab knows: the last interval, totals since start, per-PID history."""

    history_len: int = 600
    last: TrafficSample | None = None
    totals: dict[TrafficKey, Counters] = field(default_factory=dict)
    history: dict[int, deque[HistoryPoint]] = field(default_factory=dict)
    contexts: Contexts = field(default_factory=Contexts)  # where each process ran
    # Each connection's totals since start, the busiest MAX_CONNECTIONS kept.
    connection_totals: dict[ConnKey, Counters] = field(default_factory=dict)
    connection_last: dict[ConnKey, ConnRow] = field(default_factory=dict)  # its newest interval
    connections_dropped: int = 0
    connections_lost: int = 0
    folded: int = 0  # rows whose totals went into a [folded] row
    lost: int = 0
    # Each row's and each connection's bytes/s (both ways) over the last intervals: the table's
    # HISTORY column (a key idle that long is forgotten).
    rates: RecentRates[TrafficKey] = field(default_factory=RecentRates)
    conn_rates: RecentRates[ConnKey] = field(default_factory=RecentRates)
    # Processes that exited (pid -> when it was noticed, wall clock), while their rows keep
    # their totals; and how many were folded into [exited] rows past MAX_EXITED.
    exited: dict[int, float] = field(default_factory=dict)
    exited_folded: int = 0
    samples: int = 0

    def emptied(self) -> TrafficState:
        """A state with the same settings and no samples (a replay that went back)."""
        return TrafficState(history_len=self.history_len)

    def apply(self, sample: TrafficSample) -> None:
        self.last = sample
        self.samples += 1
        self.lost += sample.lost
        self.contexts.update(sample.context)
        self.connections_lost += sample.connections_lost
        totals = self.connection_totals
        for conn in sample.connections:
            totals[conn.key] = totals.get(conn.key, Counters()) + conn.counts
            self.connection_last[conn.key] = conn
        if len(totals) > MAX_CONNECTIONS:
            busiest = sorted(totals, key=lambda k: -_bytes(totals[k]))[: MAX_CONNECTIONS // 2]
            self.connections_dropped += len(totals) - len(busiest)
            self.connection_totals = {k: totals[k] for k in busiest}
            self.connection_last = {k: self.connection_last[k] for k in busiest}
        if sample.interval > 0:
            per_s = 1.0 / sample.interval
            self.rates.add({r.key: _bytes(r.counts) * per_s for r in sample.rows})
            self.conn_rates.add({c.key: _bytes(c.counts) * per_s for c in sample.connections})
        per_pid: dict[int, HistoryPoint] = {}
        for row in sample.rows:
            self.totals[row.key] = self.totals.get(row.key, Counters()) + row.counts
            point = per_pid.setdefault(row.key.pid, HistoryPoint(sample.ts, 0, 0))
            point.xmit_bytes += row.counts.xmit_bytes
            point.recv_bytes += row.counts.recv_bytes
        history = self.history
        for pid, point in per_pid.items():
            points = history.pop(pid, None)  # to the end: the most recently active
            if points is None:
                points = deque(maxlen=self.history_len)
            points.append(point)
            history[pid] = points
        if len(history) > MAX_HISTORIES:  # oldest first: dicts keep insertion order
            for pid in list(history)[: len(history) - MAX_HISTORIES]:
                del history[pid]
        self._exits(sample)
        if len(self.totals) > MAX_TOTALS:
            self._fold(sample)

    def _exits(self, sample: TrafficSample) -> None:
        for pid in {row.key.pid for row in sample.rows}:
            when = self.exited.get(pid)
            if when is not None and when < sample.ts - sample.interval:
                del self.exited[pid]  # sending again after it exited: a new process, same PID
        for pid, when in sample.exited:
            self.exited[pid] = when
        if len(self.exited) > MAX_EXITED:
            self._fold_exited()

    def _fold_exited(self) -> None:
        """The least busy exited processes' rows, summed into an [exited] row per device."""
        totals = self.totals
        busy: dict[int, int] = {}
        for key, counts in totals.items():
            if key.pid in self.exited:
                busy[key.pid] = busy.get(key.pid, 0) + _bytes(counts)
        least = sorted(self.exited, key=lambda pid: busy.get(pid, 0))
        folding = set(least[: len(self.exited) - MAX_EXITED])
        for key in [k for k in totals if k.pid in folding]:
            folded = _folded_key(key.dev, "[exited]", REASON_EXITED)
            totals[folded] = totals.get(folded, Counters()) + totals.pop(key)
        for pid in folding:
            del self.exited[pid]
        self.exited_folded += len(folding)

    def exited_at(self, pid: int) -> float | None:
        return self.exited.get(pid)

    def _fold(self, sample: TrafficSample) -> None:
        """The quietest rows not in `sample`, summed into a [folded] row per device."""
        active = {row.key for row in sample.rows}
        totals = self.totals
        quiet = sorted(
            (
                k
                for k in totals
                if k not in active and k.reason not in (REASON_FOLDED, REASON_EXITED)
            ),
            key=lambda k: _bytes(totals[k]),
        )
        for key in quiet[: len(totals) - MAX_TOTALS * 3 // 4]:
            folded = _folded_key(key.dev)
            totals[folded] = totals.get(folded, Counters()) + totals.pop(key)
            self.folded += 1

    def connections_of(self, pid: int) -> list[tuple[ConnRow, Counters, Counters]]:
        """A process's connections: (its newest interval's row, for its state and start; its
        last interval's counts, zero if idle then; since start), most bytes first."""
        last = {c.key: c.counts for c in self.last.connections} if self.last else {}
        mine = [(self.connection_last[k], last.get(k, Counters()), t)
                for k, t in self.connection_totals.items() if k.pid == pid]  # fmt: skip
        return sorted(mine, key=lambda c: (-_bytes(c[1]), -_bytes(c[2])))

    def context_of(self, pid: int) -> ProcContext:
        return self.contexts.of(pid)

    def rows(self, cumulative: bool) -> list[TrafficRow]:
        if cumulative:
            return [TrafficRow(k, c) for k, c in self.totals.items()]
        return list(self.last.rows) if self.last else []


def _folded_key(dev: str, comm: str = "[folded]", reason: str = REASON_FOLDED) -> TrafficKey:
    return TrafficKey(UNATTRIBUTED_PID, UNATTRIBUTED_PID, dev, comm, reason)


def _bytes(c: Counters) -> int:
    return c.xmit_bytes + c.recv_bytes
