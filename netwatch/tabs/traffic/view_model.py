"""The Traffic table as the user sees it: columns, sort order, filter and the rows that result."""

from __future__ import annotations

from dataclasses import dataclass, replace

from netwatch.model.containers import NO_CONTEXT, ProcContext
from netwatch.model.filter import (
    ID_MAX,
    PLACE_KEYS,
    Term,
    UserLookup,
    is_number,
    name_matches,
    parse_terms,
    place_matches,
)
from netwatch.model.sparkline import HISTORY_FROM, HISTORY_POINTS, MIN_HISTORY, summed
from netwatch.tabs.traffic.model import (
    UNATTRIBUTED_PID,
    ConnKey,
    Counters,
    TrafficKey,
    TrafficRow,
    TrafficState,
)

# Traffic's filter keys: `pid:`, `uid:` (a number or a user name), `comm:` and free text
# (substrings, case-insensitive), `dev:` (a device name exactly, or a prefix when it ends in `*`),
# and where the process runs: `container:` (its short name, exactly or a prefix with `*`),
# `cgroup:` (its cgroup v2 path, the same way: `cgroup:/kubepods.slice*`), `netns:` (its network
# namespace's inode).
TRAFFIC_KEYS = ("pid", "uid", "comm", "dev", *PLACE_KEYS)


@dataclass(frozen=True, slots=True)
class TrafficFilter:
    text: str
    terms: tuple[Term, ...]

    def matches(
        self, key: TrafficKey, user_of: UserLookup, context: ProcContext = NO_CONTEXT
    ) -> bool:
        return all(_term_matches(t, key, user_of, context) != t.negate for t in self.terms)


def parse_traffic_filter(text: str) -> TrafficFilter:
    terms = parse_terms(
        text,
        TRAFFIC_KEYS,
        numeric={"pid": ID_MAX, "netns": ID_MAX},
        exact=("dev", "container", "cgroup"),
        number_or_name={"uid": ID_MAX},
    )
    return TrafficFilter(text.strip(), terms)


def _term_matches(term: Term, key: TrafficKey, user_of: UserLookup, context: ProcContext) -> bool:
    if term.key == "pid":
        return any(int(v) == key.pid for v in term.values)
    if term.key == "uid":
        user = user_of(key.uid).lower()
        return any((is_number(v) and int(v) == key.uid) or v == user for v in term.values)
    if term.key == "comm":
        return any(v in key.comm.lower() for v in term.values)
    if term.key == "dev":
        return any(name_matches(v, key.dev) for v in term.values)
    if term.key in PLACE_KEYS:
        return place_matches(term, context)
    haystack = f"{key.pid} {key.comm} {key.dev} {user_of(key.uid)} {key.reason} "
    haystack = (haystack + context.container).lower()
    return term.values[0] in haystack


@dataclass(frozen=True, slots=True)
class Column:
    id: str
    label: str
    width: int
    numeric: bool
    sortable: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("pid", "PID", 7, True),
    Column("uid", "UID", 5, True),
    Column("user", "USER", 8, False),
    Column("dev", "DEV", 9, False),
    Column("xmit_pk", "XMIT_PK", 7, True),
    Column("recv_pk", "RECV_PK", 7, True),
    Column("xmit_kb", "XMIT_KB", 7, True),
    Column("recv_kb", "RECV_KB", 7, True),
    # Sent and received together: the default sort, so the order on screen is a column on it.
    Column("total_kb", "TOT_KB", 7, True),
    Column("tx_rate", "TX/s", 7, True),
    Column("rx_rate", "RX/s", 7, True),
    # At least as wide as "[rx-not-delivered]" and "systemd-resolved"; it takes any spare width.
    Column("comm", "COMMAND", 18, False),
)
# Where it fits, which container (or systemd unit) each process runs in: a docker or CRI id's
# 12 hex digits, or a unit's name cut to the width.
CONTAINER_COLUMN = Column("container", "CONTAINER", 14, False)
WIDE_COLUMNS: tuple[Column, ...] = (*COLUMNS[:-1], CONTAINER_COLUMN, COLUMNS[-1])
# Layouts, widest first: each is used where it fits with COMMAND at its own width at least, so
# COMMAND is never cut by the screen's edge. Narrower screens lose UID first (USER stays), then
# the rates, then USER and the packet counts, keeping at 80 columns who sends and receives how
# much (the detail, Enter, has all of it).
NO_UID_COLUMNS: tuple[Column, ...] = tuple(c for c in COLUMNS if c.id != "uid")
COMPACT_COLUMNS: tuple[Column, ...] = tuple(
    c for c in COLUMNS if c.id not in ("uid", "tx_rate", "rx_rate")
)
NARROW_COLUMNS: tuple[Column, ...] = tuple(
    c for c in COMPACT_COLUMNS if c.id not in ("user", "xmit_pk", "recv_pk")
)
LAYOUTS = (WIDE_COLUMNS, COLUMNS, NO_UID_COLUMNS, COMPACT_COLUMNS, NARROW_COLUMNS)
# A row per connection has no device and one owner: its COMMAND (command, protocol, remote end)
# keeps the room, the byte columns go first, rates then totals.
CONNECTION_COLUMNS: tuple[Column, ...] = tuple(
    c for c in WIDE_COLUMNS if c.id not in ("uid", "dev", "xmit_pk", "recv_pk")
)
CONNECTION_DROPS = ("user", "container", "tx_rate", "rx_rate", "total_kb", "xmit_kb", "recv_kb")


def connection_layout(
    width: int, cell_padding: int, scrollbar: int, need: int
) -> tuple[Column, ...]:
    """The connection grouping's columns: COMMAND at least `need` wide (its command, protocol
    and remote end, never cut) where the screen allows, dropping CONNECTION_DROPS in order."""
    columns = list(CONNECTION_COLUMNS)
    for drop in ("", *CONNECTION_DROPS):
        columns = [c for c in columns if c.id != drop]
        others = sum(c.width + 2 * cell_padding for c in columns if c.id != "comm")
        if width - others - 2 * cell_padding - 1 - scrollbar >= need:
            break
    # HISTORY only beside a COMMAND that keeps what it must show.
    comm = next(c for c in columns if c.id == "comm")
    wide_comm = tuple(replace(c, width=max(c.width, need)) if c is comm else c for c in columns)
    with_it = with_history(wide_comm, width, cell_padding, scrollbar)
    if with_it == wide_comm:
        return tuple(columns)
    return (*columns[:-1], with_it[-2], columns[-1])


def layout_for(width: int, cell_padding: int, scrollbar: int) -> tuple[Column, ...]:
    """The widest layout whose columns (each padded on both sides, and one cell for the sort
    arrow) fit in `width` cells beside a vertical scrollbar; the narrowest if none does."""
    for columns in LAYOUTS:
        if sum(c.width + 2 * cell_padding for c in columns) + 1 + scrollbar <= width:
            return with_history(columns, width, cell_padding, scrollbar)
    return LAYOUTS[-1]


# HISTORY: each row's rate over its last intervals as glyphs (model/sparkline.py), COMMAND
# keeping its own width at least.


def with_history(
    columns: tuple[Column, ...], width: int, cell_padding: int, scrollbar: int
) -> tuple[Column, ...]:
    """`columns` with HISTORY before COMMAND where the screen is wide enough for it."""
    if width < HISTORY_FROM:
        return columns
    used = sum(c.width + 2 * cell_padding for c in columns) + 1 + scrollbar
    room = min(HISTORY_POINTS, width - used - 2 * cell_padding)
    if room < MIN_HISTORY:
        return columns
    history = Column("history", "HISTORY", room, False, sortable=False)
    return (*columns[:-1], history, columns[-1])


# The seed's order (nettop.stp), total packets, has no column: `top --batch` keeps it, and the
# TUI sorts by a column it shows (TOT_KB unless told otherwise).
SORT_LABELS = {"total_pk": "total packets", **{c.id: c.label for c in WIDE_COLUMNS}}


# `g` on the Traffic tab: a row per process (nettop.stp's), per program (command name), per
# user, or per container (or systemd unit), each summing the process rows under it; or a row
# per connection, its process's, named in COMMAND. Unattributed rows stay rows of their own.
GROUPINGS = ("process", "program", "user", "container", "connection")
GROUPED_PID = -2  # the key of a grouped row: no one process
MIXED = "*"  # a grouped row's device, user or container where its processes differ
NO_CONTAINER = "(no container)"  # a container grouping's row for processes outside any
MIXED_CONTEXT = ProcContext(MIXED)  # a grouped row whose processes run in different places


@dataclass(frozen=True, slots=True)
class ViewRow:
    key: TrafficKey
    shown: Counters  # this interval, or since start in cumulative mode
    rate: Counters  # bytes and packets per second over the last interval
    user: str
    processes: int = 1  # the processes a grouped row sums
    context: ProcContext = NO_CONTEXT  # where its process runs ("*" where a group's differ)
    conn: ConnKey | None = None  # the connection a row of the connection grouping is
    exited: float | None = None  # when its process was found exited (wall clock), if it was

    @property
    def grouped(self) -> bool:
        """A program's or user's row, not one process's."""
        return self.key.pid == GROUPED_PID

    def value(self, column: str) -> int | float | str:
        k, c = self.key, self.shown
        values: dict[str, int | float | str] = {
            "total_pk": c.total_pk,
            "pid": self.processes if self.grouped else k.pid,
            "uid": k.uid,
            "user": self.user,
            "dev": k.dev,
            "xmit_pk": c.xmit_pk,
            "recv_pk": c.recv_pk,
            "xmit_kb": c.xmit_bytes,
            "recv_kb": c.recv_bytes,
            "total_kb": c.xmit_bytes + c.recv_bytes,
            "tx_rate": self.rate.xmit_bytes,
            "rx_rate": self.rate.recv_bytes,
            "comm": k.comm,
            "container": MIXED if self.context == MIXED_CONTEXT else self.context.container,
        }
        return values[column]


@dataclass(frozen=True, slots=True)
class ViewSpec:
    sort: str = "total_kb"
    descending: bool = True
    cumulative: bool = False
    filter: TrafficFilter | None = None
    group: str = "process"  # one of GROUPINGS


def build_view(state: TrafficState, spec: ViewSpec, user_of: UserLookup) -> list[ViewRow]:
    last = state.last
    # The last interval's rows give the rates; the rows shown are those, or the totals.
    conns: dict[TrafficKey, ConnKey] = {}
    if spec.group == "connection":
        recent = connection_rows(state, False, conns)
        rows = connection_rows(state, True, conns) if spec.cumulative else recent
    else:
        recent = list(last.rows) if last else []
        rows = state.rows(spec.cumulative)
    per_second: dict[TrafficKey, Counters] = {}
    if last is not None and last.interval > 0:
        per_second = {r.key: _scale(r.counts, 1.0 / last.interval) for r in recent}
    view = [
        ViewRow(
            r.key,
            r.counts,
            per_second.get(r.key, Counters()),
            user_of(r.key.uid),
            context=context,
            conn=conns.get(r.key),
            exited=None if r.key in conns else state.exited_at(r.key.pid),
        )
        for r in rows
        for context in (state.context_of(r.key.pid),)
        if spec.filter is None or spec.filter.matches(r.key, user_of, context)
    ]
    if spec.group not in ("process", "connection"):
        view = grouped(view, spec.group)
    return sort_rows(view, spec.sort, spec.descending)


def connection_rows(
    state: TrafficState, cumulative: bool, which: dict[TrafficKey, ConnKey]
) -> list[TrafficRow]:
    """A row per connection, keyed like a process's row: its owner's PID and UID, no device,
    and in COMMAND the owner's command, the protocol, the remote end, then the local one (the
    first the screen's edge cuts); `which` learns which connection each row is."""
    owners = {key.pid: key for key in state.totals if key.attributed}
    if cumulative:
        conns = list(state.connection_totals.items())
    else:
        conns = [(c.key, c.counts) for c in state.last.connections] if state.last else []
    rows = []
    for key, counts in conns:
        owner = owners.get(key.pid)
        uid = owner.uid if owner else UNATTRIBUTED_PID
        comm = f"{owner.comm if owner else '?'} {key.remote_first()}"
        row_key = TrafficKey(key.pid, uid, "", comm)
        which[row_key] = key
        rows.append(TrafficRow(row_key, counts))
    return rows


def _group_of(row: ViewRow, by: str) -> str | int:
    if by == "program":
        return row.key.comm
    if by == "container":
        return row.context.container
    return row.key.uid


def grouped(rows: list[ViewRow], by: str) -> list[ViewRow]:
    """Process rows summed per program (`by` "program": its command name), per user (its uid)
    or per container (its short name; one row for the processes outside any). Unattributed
    rows stay as they are: no program, user or container to charge them to."""
    groups: dict[str | int, list[ViewRow]] = {}
    out = [r for r in rows if not r.key.attributed]
    for r in rows:
        if r.key.attributed:
            groups.setdefault(_group_of(r, by), []).append(r)
    for members in groups.values():
        first = members[0]
        pids = {m.key.pid for m in members}
        devs = {m.key.dev for m in members}
        uids = {m.key.uid for m in members}
        comms = {m.key.comm for m in members}
        comm = first.key.comm if len(comms) == 1 else f"({len(comms)} programs)"
        contexts = {m.context for m in members}
        context = first.context if len(contexts) == 1 else MIXED_CONTEXT
        if by == "container":
            # The group's name where the command goes, as a program's row has its command.
            comm = first.context.container or NO_CONTAINER
            cgroups = {m.context.cgroup for m in members}
            netns = {m.context.netns for m in members}
            context = ProcContext(
                first.context.cgroup if len(cgroups) == 1 else "",
                first.context.netns if len(netns) == 1 else 0,
            )
        key = TrafficKey(
            GROUPED_PID,
            first.key.uid if len(uids) == 1 else UNATTRIBUTED_PID,
            first.key.dev if len(devs) == 1 else MIXED,
            comm,
        )
        shown = sum((m.shown for m in members), Counters())
        rate = sum((m.rate for m in members), Counters())
        user = first.user if len(uids) == 1 else MIXED
        out.append(ViewRow(key, shown, rate, user, len(pids), context))
    return out


def sort_rows(rows: list[ViewRow], column: str, descending: bool) -> list[ViewRow]:
    # Ties break on PID then device so the order is stable from one refresh to the next.
    rows = sorted(rows, key=lambda r: (r.key.pid, r.key.dev, r.key.comm, r.key.reason))
    return sorted(rows, key=lambda r: r.value(column), reverse=descending)


def _scale(c: Counters, factor: float) -> Counters:
    return Counters(
        round(c.xmit_pk * factor),
        round(c.recv_pk * factor),
        round(c.xmit_bytes * factor),
        round(c.recv_bytes * factor),
    )


def row_id(key: TrafficKey) -> str:
    """A stable identity for a row, used as the table's row key."""
    return f"{key.pid}|{key.uid}|{key.dev}|{key.comm}|{key.reason}"


def histories(
    rows: list[ViewRow], state: TrafficState, spec: ViewSpec, user_of: UserLookup, points: int
) -> dict[TrafficKey, list[float]]:
    """Each row's bytes/s over the last `points` intervals, by its key: its connection's, or
    its own; a grouped row's sums every process of its group seen in those intervals that
    the filter keeps, not only those of the last one."""
    out: dict[TrafficKey, list[float]] = {}
    groups: dict[str | int, TrafficKey] = {}
    for row in rows:
        if row.conn is not None:
            out[row.key] = state.conn_rates.series(row.conn, points)
        elif row.grouped:
            groups[_group_of(row, spec.group)] = row.key
        else:
            out[row.key] = state.rates.series(row.key, points)
    if groups:
        members: dict[TrafficKey, list[list[float]]] = {key: [] for key in groups.values()}
        for key in state.rates.keys():
            if not key.attributed:
                continue
            context = state.context_of(key.pid)
            if spec.filter is not None and not spec.filter.matches(key, user_of, context):
                continue
            probe = ViewRow(key, Counters(), Counters(), "", context=context)
            group = groups.get(_group_of(probe, spec.group))
            if group is not None:
                members[group].append(state.rates.series(key, points))
        for key, series in members.items():
            out[key] = summed(series, points)
    return out
