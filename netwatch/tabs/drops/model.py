"""Packet drops per (location, reason, protocol) per interval, and the heatmap history."""

from __future__ import annotations

from collections import deque
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


@dataclass(slots=True)
class DropsState:
    """All samples folded per grouping; the heatmap keeps `columns` intervals per row: five
    minutes at 1 s, which a narrow screen shows several intervals to a cell (view_model)."""

    columns: int = 300
    samples: int = 0
    lost: int = 0
    started: float = 0.0
    last: DropsSample | None = None
    groups: dict[str, dict[str, GroupStats]] = field(default_factory=dict)

    def emptied(self) -> DropsState:
        """A state with the same settings and no samples (a replay that went back)."""
        return DropsState(columns=self.columns)

    def apply(self, sample: DropsSample) -> None:
        if not self.samples:
            self.started = sample.ts - sample.interval
        self.samples += 1
        self.lost += sample.lost
        self.last = sample
        for grouping in GROUPINGS:
            table = self.groups.setdefault(grouping, {})
            seen: dict[str, int] = {}
            for row in sample.rows:
                name = group_of(row, grouping)
                g = table.get(name)
                if g is None:
                    history: deque[int] = deque([0] * (self.samples - 1), maxlen=self.columns)
                    g = table[name] = GroupStats(
                        name, row.symbol, row.key.location, history, first_seen=sample.ts
                    )
                seen[name] = seen.get(name, 0) + row.count
                g.total += row.count
                g.last_seen = sample.ts
                g.reasons[row.key.reason] = g.reasons.get(row.key.reason, 0) + row.count
                proto = protocol_name(row.key.protocol)
                g.protocols[proto] = g.protocols.get(proto, 0) + row.count
                g.functions[row.function] = g.functions.get(row.function, 0) + row.count
                if row.dev:
                    g.devices[row.dev] = g.devices.get(row.dev, 0) + row.count
                if row.port:
                    place = (row.netns, row.port)
                    g.ports[place] = g.ports.get(place, 0) + row.count
                if row.netns:
                    g.namespaces[row.netns] = g.namespaces.get(row.netns, 0) + row.count
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
