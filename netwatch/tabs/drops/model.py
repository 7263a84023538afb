"""Packet drops per (location, reason, protocol) per interval, and the heatmap history."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from netwatch.model.sample import RowsSample
from netwatch.model.untrusted import printable

ETHERTYPES = {0x0800: "ipv4", 0x86DD: "ipv6", 0x0806: "arp", 0x8100: "vlan", 0x88CC: "lldp"}


def protocol_name(ethertype: int) -> str:
    return ETHERTYPES.get(ethertype, f"0x{ethertype:04x}")


@dataclass(frozen=True, slots=True)
class DropKey:
    location: int
    reason: str
    protocol: int


@dataclass(frozen=True, slots=True)
class DropRow:
    """One (location, reason, protocol) in one interval. `symbol` is resolved where it was seen,
    so a recording replays with names on any machine."""

    key: DropKey
    symbol: str
    count: int
    dev: str = ""  # the skb's device, where the kernel still had one
    port: int = 0  # the local port of the socket it was for (tracepoint rx_sk), 0 if none
    first_ns: int = 0
    last_ns: int = 0
    netns: int = 0  # the network namespace of its device (or socket), 0 if unknown

    @property
    def function(self) -> str:
        return self.symbol.split("+", 1)[0]


@dataclass(frozen=True, slots=True)
class DropsSample(RowsSample[DropRow]):
    """Drops counted over one interval, per location and reason."""

    @property
    def total(self) -> int:
        return sum(r.count for r in self.rows)


GROUPINGS = ("location", "function", "reason")


def _count(g: GroupStats, row: DropRow, count: int, ts: float) -> None:
    """`count` of a row's drops into a group: its total and its breakdowns."""
    g.total += count
    g.last_seen = max(g.last_seen, ts)
    g.reasons[row.key.reason] = g.reasons.get(row.key.reason, 0) + count
    proto = protocol_name(row.key.protocol)
    g.protocols[proto] = g.protocols.get(proto, 0) + count
    g.functions[row.function] = g.functions.get(row.function, 0) + count
    if row.dev:
        g.devices[row.dev] = g.devices.get(row.dev, 0) + count
    if row.netns:
        g.namespaces[row.netns] = g.namespaces.get(row.netns, 0) + count


def group_of(row: DropRow, grouping: str) -> str:
    if grouping == "function":
        return row.function
    if grouping == "reason":
        return row.key.reason
    return f"0x{row.key.location:x}"


@dataclass(slots=True)
class GroupStats:
    """Everything the Drops tab shows about one row of the heatmap."""

    name: str
    symbol: str
    location: int
    history: deque[int]
    total: int = 0
    last: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    protocols: dict[str, int] = field(default_factory=dict)
    functions: dict[str, int] = field(default_factory=dict)
    devices: dict[str, int] = field(default_factory=dict)
    # (netns inode, local port) -> drops sampled: a port means something in one namespace only.
    ports: dict[tuple[int, int], int] = field(default_factory=dict)
    namespaces: dict[int, int] = field(default_factory=dict)  # netns inode -> drops sampled
    first_seen: float = 0.0
    last_seen: float = 0.0


RowFilter = Callable[["DropRow"], bool]
# Rows (location, reason, protocol, device, namespace) whose totals since the start are kept, so
# that a new filter's totals are exact; past this the least recently seen are let go, counted.
MAX_ROW_TOTALS = 50_000


@dataclass(slots=True)
class RowTotals:
    """One row's drops since the session began, and the newest sample of it (its device,
    namespace and port, for the filter and the detail)."""

    row: DropRow
    count: int
    first_seen: float
    last_seen: float
    ports: dict[tuple[int, int], int] = field(default_factory=dict)


@dataclass(slots=True)
class DropsState:
    """The samples folded per grouping; the heatmap keeps `columns` intervals per row: five
    minutes at 1 s, which a narrow screen shows several intervals to a cell (view_model).

    With a row filter, only the drops it matches are folded: a group's total, last interval,
    heatmap and breakdowns count those and no others (a `netns:` or `dev:` filter on a row that
    spans several namespaces counts only the chosen ones). A new filter refolds from each row's
    totals since the start and from the last `columns` samples, which the state keeps."""

    columns: int = 300
    row_filter: RowFilter | None = None
    samples: int = 0
    lost: int = 0
    started: float = 0.0
    last: DropsSample | None = None
    groups: dict[str, dict[str, GroupStats]] = field(default_factory=dict)
    recent: deque[DropsSample] = field(default_factory=deque)
    totals: dict[tuple[DropKey, str, int], RowTotals] = field(default_factory=dict)
    totals_let_go: int = 0  # rows whose totals were let go past MAX_ROW_TOTALS

    def emptied(self) -> DropsState:
        """A state with the same settings and no samples (a replay that went back)."""
        return DropsState(columns=self.columns, row_filter=self.row_filter)

    def matches(self, row: DropRow) -> bool:
        return self.row_filter is None or self.row_filter(row)

    def apply(self, sample: DropsSample) -> None:
        if not self.samples:
            self.started = sample.ts - sample.interval
        self.samples += 1
        self.lost += sample.lost
        self.last = sample
        self.recent.append(sample)
        while len(self.recent) > self.columns:
            self.recent.popleft()
        self._keep_totals(sample)
        self._fold(sample, [r for r in sample.rows if self.matches(r)], self.samples)

    def set_filter(self, row_filter: RowFilter | None) -> None:
        """Count only the rows `row_filter` matches from now on, and refold what is kept."""
        self.row_filter = row_filter
        self.groups = {}
        for grouping in GROUPINGS:
            table = self.groups.setdefault(grouping, {})
            for kept in self.totals.values():
                if self.matches(kept.row):
                    g = self._group(table, kept.row, grouping, kept.first_seen, self.samples)
                    _count(g, kept.row, kept.count, kept.last_seen)
                    g.first_seen = min(g.first_seen, kept.first_seen)
                    for place, n in kept.ports.items():
                        g.ports[place] = g.ports.get(place, 0) + n
            for g in table.values():
                g.history = deque(maxlen=self.columns)
        # The heatmap's intervals, oldest first, each as the filter counts it.
        older = self.samples - len(self.recent)
        for table in self.groups.values():
            for g in table.values():
                g.history.extend([0] * min(older, self.columns))
        for n, sample in enumerate(self.recent):
            self._fold(sample, [r for r in sample.rows if self.matches(r)], older + n + 1,
                       history_only=True)  # fmt: skip

    def _keep_totals(self, sample: DropsSample) -> None:
        for row in sample.rows:
            ident = (row.key, row.dev, row.netns)
            kept = self.totals.pop(ident, None)  # to the end: the most recently seen
            if kept is None:
                kept = RowTotals(row, 0, sample.ts, sample.ts)
            kept.row = row
            kept.count += row.count
            kept.last_seen = sample.ts
            if row.port:
                place = (row.netns, row.port)
                kept.ports[place] = kept.ports.get(place, 0) + row.count
            self.totals[ident] = kept
        while len(self.totals) > MAX_ROW_TOTALS:  # oldest first: dicts keep insertion order
            del self.totals[next(iter(self.totals))]
            self.totals_let_go += 1

    def _group(
        self, table: dict[str, GroupStats], row: DropRow, grouping: str, ts: float, nth: int
    ) -> GroupStats:
        name = group_of(row, grouping)
        g = table.get(name)
        if g is None:
            history: deque[int] = deque([0] * (nth - 1), maxlen=self.columns)
            g = table[name] = GroupStats(name, row.symbol, row.key.location, history, first_seen=ts)
        return g

    def _fold(
        self, sample: DropsSample, rows: list[DropRow], nth: int, history_only: bool = False
    ) -> None:
        """Sample number `nth`'s matching rows into every grouping: totals and breakdowns (not
        when refolding, which took them from the totals), the last interval, the heatmap."""
        for grouping in GROUPINGS:
            table = self.groups.setdefault(grouping, {})
            seen: dict[str, int] = {}
            for row in rows:
                g = self._group(table, row, grouping, sample.ts, nth)
                seen[g.name] = seen.get(g.name, 0) + row.count
                if not history_only:
                    _count(g, row, row.count, sample.ts)
                    if row.port:
                        place = (row.netns, row.port)
                        g.ports[place] = g.ports.get(place, 0) + row.count
            for name, g in table.items():
                g.last = seen.get(name, 0)
                g.history.append(g.last)

    def rows(self, grouping: str) -> list[GroupStats]:
        return list(self.groups.get(grouping, {}).values())

    def drops_per_second(self) -> float:
        if self.last is None or self.last.interval <= 0:
            return 0.0
        return self.last.total / self.last.interval


def dropwatch_lines(sample: DropsSample) -> list[str]:
    """dropwatch.stp's interval output: one line per location and reason, most first, with the
    symbol and reason appended to the seed's `%d packets dropped at location %p`."""
    merged: dict[tuple[int, str], tuple[int, str]] = {}
    for r in sample.rows:
        count, _ = merged.get((r.key.location, r.key.reason), (0, r.symbol))
        merged[(r.key.location, r.key.reason)] = (count + r.count, r.symbol)
    order = sorted(merged.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return [
        printable("%d packets dropped at location 0x%x %s %s" % (count, loc, symbol, reason))
        for (loc, reason), (count, symbol) in order
    ]
