"""The Connections tab as the user sees it: filter, sort, grouping, the summary line, and how
an endpoint is written in the room it has."""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from netwatch.model.filter import ID_MAX, PORT_MAX, FilterError, Term, name_matches, parse_terms
from netwatch.model.sparkline import BLOCKS
from netwatch.tabs.conns.model import (
    ENDS,
    FAILED_CONNECTS,
    SIDES,
    STATES,
    ConnRow,
    ConnsState,
    Totals,
)

FILTER_KEYS = ("pid", "comm", "user", "container", "netns", "port", "addr", "state", "end",
               "side")  # fmt: skip
FILTER_HINT = (
    "filter: pid:N comm:NAME user:U container:NAME[*] netns:N port:N addr:IP|CIDR "
    "state:S end:E side:in|out text"
)
# Sort keys, their labels, and whether they sort largest first.
SORTS = {
    "retrans": ("retransmits (interval)", True),
    "rtt": ("smoothed RTT", True),
    "bytes": ("bytes both ways (interval)", True),
    "age": ("age", True),
    "connect": ("connect latency", True),
    "resets": ("resets", True),
    "pid": ("PID", False),
    "comm": ("command", False),
    "remote": ("remote end", False),
    "state": ("state or end", False),
}
GROUPINGS = ("connection", "process", "container", "remote")
UserOf = Callable[[int], str]


@dataclass(frozen=True, slots=True)
class ConnsFilter:
    text: str
    terms: tuple[Term, ...]

    def matches(self, row: ConnRow, user_of: UserOf) -> bool:
        return all(_matches(t, row, user_of) != t.negate for t in self.terms)


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise FilterError(f"addr: takes an IP address or a CIDR block, not '{value}'") from None


def parse_conns_filter(text: str) -> ConnsFilter:
    terms = parse_terms(text, FILTER_KEYS, numeric={"pid": ID_MAX, "port": PORT_MAX,
                                                    "netns": ID_MAX})  # fmt: skip
    for term in terms:
        if term.key == "addr":
            for value in term.values:
                _network(value)
        words: tuple[str, ...] = {"state": tuple(s.lower() for s in STATES), "end": ENDS,
                                  "side": SIDES}.get(term.key, ())  # fmt: skip
        for value in term.values if words else ():
            if value not in words:
                raise FilterError(f"{term.key}: takes one of {', '.join(words)}, not '{value}'")
    return ConnsFilter(text.strip(), terms)


def _address_in(address: str, value: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    net = _network(value)
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return ip in net if ip.version == net.version else (mapped is not None and mapped in net)


def _matches(term: Term, row: ConnRow, user_of: UserOf) -> bool:
    key, values = term.key, term.values
    if key == "pid":
        return str(row.pid) in values
    if key == "comm":
        return any(name_matches(v, row.comm.lower()) for v in values)
    if key == "user":
        user = user_of(row.uid) if row.uid is not None else ""
        return any(v in (user.lower(), str(row.uid)) for v in values)
    if key == "container":
        return any(name_matches(v, row.container.lower()) for v in values)
    if key == "netns":
        return str(row.netns) in values
    if key == "port":
        return str(row.lport) in values or str(row.rport) in values
    if key == "addr":
        return any(_address_in(row.raddr, v) or _address_in(row.laddr, v) for v in values)
    if key == "state":
        return row.state.lower() in values
    if key == "end":
        return (row.end or "") in values
    if key == "side":
        return row.side in values
    haystack = f"{row.comm} {row.laddr}:{row.lport} {row.raddr}:{row.rport} {row.container}"
    return values[0] in haystack.lower()


# ---- sorting ------------------------------------------------------------------------------------
def _age(row: ConnRow, now: float) -> float:
    return now - row.since if row.since is not None else -1.0


def sort_key(sort: str, now: float) -> Callable[[ConnRow], object]:
    keys: dict[str, Callable[[ConnRow], object]] = {
        "retrans": lambda r: r.retrans or 0,
        "rtt": lambda r: r.srtt_ms or 0.0,
        "bytes": lambda r: (r.xmit_bytes or 0) + (r.recv_bytes or 0),
        "age": lambda r: _age(r, now),
        "connect": lambda r: r.connect_ms or 0.0,
        "resets": lambda r: r.resets_sent + r.resets_received,
        "pid": lambda r: r.pid,
        "comm": lambda r: r.comm,
        "remote": lambda r: (r.raddr, r.rport),
        "state": lambda r: r.end or r.state,
    }
    if sort not in keys:
        raise FilterError(f"unknown sort {sort}")
    return keys[sort]


def sorted_rows(rows: Iterable[ConnRow], sort: str, descending: bool, now: float) -> list[ConnRow]:
    ordered = sorted(rows, key=lambda r: r.cid)  # ties: oldest connection first
    return sorted(ordered, key=sort_key(sort, now), reverse=descending)  # type: ignore[arg-type]


# ---- grouping -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Group:
    name: str
    rows: tuple[ConnRow, ...]

    @property
    def open(self) -> int:
        return sum(1 for r in self.rows if r.end is None)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.rows if r.failed_connect)

    @property
    def resets(self) -> int:
        return sum(r.resets_sent + r.resets_received for r in self.rows)

    @property
    def retrans(self) -> int:
        return sum(r.retrans or 0 for r in self.rows)

    @property
    def bytes(self) -> int:
        return sum((r.xmit_bytes or 0) + (r.recv_bytes or 0) for r in self.rows)

    def rtt(self, q: float) -> float | None:
        return percentile([r.srtt_ms for r in self.rows if r.srtt_ms is not None], q)

    def connect(self, q: float) -> float | None:
        return percentile([r.connect_ms for r in self.rows if r.connect_ms is not None], q)


def group_name(row: ConnRow, grouping: str) -> str:
    if grouping == "process":
        return f"{row.comm or '?'}({row.pid})" if row.pid else "(no process)"
    if grouping == "container":
        return row.container or "(host)"
    return row.raddr


def grouped(rows: Iterable[ConnRow], grouping: str) -> list[Group]:
    by: dict[str, list[ConnRow]] = {}
    for row in rows:
        by.setdefault(group_name(row, grouping), []).append(row)
    groups = [Group(name, tuple(members)) for name, members in by.items()]
    return sorted(groups, key=lambda g: (-g.retrans, -g.failed, -g.bytes, g.name))


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..100) of `values`; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


# ---- text ---------------------------------------------------------------------------------
def endpoint(address: str, port: int, width: int = 0) -> str:
    """`a.b.c.d:port` or `[v6]:port`; past `width`, the address is cut in its middle (an ellipsis
    there), never the port."""
    text_port = f":{port}"
    shown = f"[{address}]" if ":" in address else address
    if width and len(shown) + len(text_port) > width:
        room = max(3, width - len(text_port) - 1)
        head = (room + 1) // 2
        shown = shown[:head] + "\u2026" + shown[len(shown) - (room - head) :]
    return shown + text_port


def ms_text(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def age_text(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m{seconds % 60:02.0f}"
    if seconds < 86400:
        return f"{seconds // 3600:.0f}h{(seconds % 3600) // 60:02.0f}"
    return f"{seconds // 86400:.0f}d"


def summary(state: ConnsState) -> str:
    """Connects per second, failed connects by reason, resets, the share of segments
    retransmitted, and p50/p99 of connect latency and RTT, over the last interval."""
    last = state.last
    interval = last.interval if last is not None and last.interval > 0 else 1.0
    t: Totals = state.last_totals
    parts = [f"{t.connects / interval:.1f} conn/s {t.accepts / interval:.1f} acc/s"]
    failed = " ".join(f"{w} {t.failed[w]}" for w in FAILED_CONNECTS if t.failed.get(w))
    parts.append(f"failed: {failed}" if failed else "failed 0")
    parts.append(f"rst sent {t.resets_sent} recv {t.resets_received}")
    share = 100.0 * t.retrans / t.segs_out if t.segs_out else 0.0
    parts.append(f"retrans {share:.2f}%")
    rows = list(state.rows.values())
    rtts = [r.srtt_ms for r in rows if r.srtt_ms is not None and r.end is None]
    connects = [r.connect_ms for r in rows if r.connect_ms is not None]
    for label, values in (("connect", connects), ("rtt", rtts)):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        parts.append(f"{label} p50/p99 {ms_text(p50)}/{ms_text(p99)} ms")
    return " | ".join(parts)


def now_for(state: ConnsState, live: bool) -> float:
    """The time ages count to: now, live; a replay's last sample's."""
    if live or state.last is None:
        return time.time()
    return state.last.ts


SPARK_WIDTH = 60


def sparkline(
    values: list[float | None] | list[int | None],
    width: int = SPARK_WIDTH,
    unit: Callable[[float], str] = lambda v: f"{v:g}",
) -> str:
    """The last `width` values as bars scaled to their largest (a space: unknown), with it."""
    tail = values[-width:]
    known = [v for v in tail if v is not None]
    peak = max(known, default=0)
    if not known:
        return "(nothing measured yet)"
    bars = "".join(
        " " if v is None else BLOCKS[min(len(BLOCKS) - 1, int(v / peak * (len(BLOCKS) - 1)))]
        if peak > 0 else BLOCKS[0]
        for v in tail
    )  # fmt: skip
    return f"{bars}  max {unit(peak)}"
