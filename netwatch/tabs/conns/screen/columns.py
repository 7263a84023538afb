"""Which columns the Connections table shows at a given width, and each row's cells.

Over SSH at 80 columns the remote end is what an operator came for: it is never cut. Columns
go, as the screen narrows, from the end of COLUMNS: the namespace and user first, then the
local end, then the container, then the byte columns; an IPv6 remote end is shortened in its
middle only when even the first columns leave no room for it (its port always shown)."""

from __future__ import annotations

from rich.text import Text

from netwatch.host.users import user_name
from netwatch.model.sparkline import HISTORY_FROM, HISTORY_POINTS, MIN_HISTORY
from netwatch.screens.plain import shown
from netwatch.screens.table import RankedCell
from netwatch.tabs.conns.model import ConnRow
from netwatch.tabs.conns.view_model import Group, age_text, endpoint, ms_text

# (id, label, width) in the order they are given up to make room (last first).
REQUIRED = (("pid", "PID", 7), ("comm", "COMMAND", 10), ("remote", "REMOTE", 0),
            ("state", "STATE", 8))  # fmt: skip
OPTIONAL = (
    ("rtt", "RTT ms", 6),
    ("retr", "RETR", 4),
    ("limit", "LIMIT", 7),
    ("age", "AGE", 5),
    ("side", "SIDE", 4),
    ("connect", "CONN ms", 7),
    ("tx", "TX/s", 8),
    ("rx", "RX/s", 8),
    ("container", "CONTAINER", 14),
    ("local", "LOCAL", 21),
    ("user", "USER", 8),
    ("netns", "NETNS", 11),
)
REMOTE_MIN, REMOTE_MAX = 21, 47  # "255.255.255.255:65535"; a full "[v6]:65535"
COMM_MAX = 15
PADDING = 2  # a DataTable cell's padding, both sides
SCROLLBAR = 2
GROUP_COLUMNS = (("group", "GROUP", 22), ("conns", "CONNS", 5), ("failed", "FAILED", 6),
                 ("retr", "RETR", 6), ("rtt50", "RTT p50", 7), ("rtt99", "RTT p99", 7),
                 ("open", "OPEN", 5), ("resets", "RESETS", 6), ("bytes", "BYTES/s", 8),
                 ("conn50", "CONN p50", 8), ("conn99", "CONN p99", 8))  # fmt: skip
SHORT_STATES = {"ESTABLISHED": "ESTAB", "SYN_SENT": "SYN-SENT", "SYN_RECV": "SYN-RECV",
                "FIN_WAIT1": "FIN-WT1", "FIN_WAIT2": "FIN-WT2", "CLOSE_WAIT": "CLOSE-WT",
                "LAST_ACK": "LAST-ACK", "CLOSING": "CLOSING", "CLOSE": "CLOSED"}  # fmt: skip
SHORT_ENDS = {"reset_sent": "rst-sent", "reset_received": "rst-recv", "unreachable": "unreach"}

Column = tuple[str, str, int]


def layout(width: int, remote_need: int) -> tuple[Column, ...]:
    """The columns for a terminal `width` wide whose longest remote end is `remote_need`."""
    remote = max(REMOTE_MIN, min(REMOTE_MAX, remote_need))
    fixed = sum(w for c, _, w in REQUIRED if c != "remote") + PADDING * len(REQUIRED) + SCROLLBAR
    remote = max(10, min(remote, width - fixed))  # narrower than that: cut in its middle
    free = width - fixed - remote
    chosen = list(OPTIONAL)
    while chosen and sum(w + PADDING for _, _, w in chosen) > free:
        chosen.pop()
    spare = free - sum(w + PADDING for _, _, w in chosen)
    comm = min(COMM_MAX, 10 + spare)
    spare -= comm - 10
    columns = [(c, label, remote if c == "remote" else comm if c == "comm" else w)
               for c, label, w in REQUIRED]  # fmt: skip
    # HISTORY (its rate over its last intervals) where every other column fits beside it.
    history = min(HISTORY_POINTS, spare - PADDING)
    if width >= HISTORY_FROM and len(chosen) == len(OPTIONAL) and history >= MIN_HISTORY:
        chosen.append(("history", "HISTORY", history))
    return (*columns, *chosen)


def group_layout(width: int) -> tuple[Column, ...]:
    """The grouped table's columns that fit `width`, percentiles given up first."""
    chosen = list(GROUP_COLUMNS)
    while len(chosen) > 4 and sum(w + PADDING for _, _, w in chosen) + SCROLLBAR > width:
        chosen.pop()
    return tuple(chosen)


def state_text(row: ConnRow) -> str:
    if row.end is not None:
        return SHORT_ENDS.get(row.end, row.end)
    return SHORT_STATES.get(row.state, row.state)


def rate_text(n: int | None, interval: float) -> str:
    if n is None:
        return "-"
    per_s = n / interval if interval > 0 else 0.0
    for unit in ("B", "K", "M", "G"):
        if per_s < 1024 or unit == "G":
            return f"{per_s:.0f}{unit}" if unit == "B" else f"{per_s:.1f}{unit}"
        per_s /= 1024
    return "-"


def right(text: str) -> Text:
    return Text(text, justify="right")


def cells(
    row: ConnRow, rank: int, interval: float, now: float, remote: int, history: str = ""
) -> dict[str, object]:
    """The row's cells by column id; PID's carries its rank (sync_rows orders by it)."""
    return {
        "history": Text(history, no_wrap=True),
        "pid": RankedCell(str(row.pid) if row.pid else "-", rank),
        "comm": shown(row.comm or "?"),
        "remote": Text(endpoint(row.raddr, row.rport, remote)),
        "state": Text(state_text(row), style="bold" if row.end not in (None, "closed") else ""),
        "rtt": right(ms_text(row.srtt_ms)),
        "retr": right("-" if row.retrans is None else str(row.retrans)),
        "limit": Text(row.limit(interval) or "-"),
        "age": right(age_text(now - row.since if row.since is not None else None)),
        "side": Text(row.side or "-"),
        "connect": right(ms_text(row.connect_ms)),
        "tx": right(rate_text(row.xmit_bytes, interval)),
        "rx": right(rate_text(row.recv_bytes, interval)),
        "container": shown(row.container or "-"),
        "local": Text(endpoint(row.laddr, row.lport, 21)),
        "user": shown(user_name(row.uid) if row.uid is not None else "-"),
        "netns": right(str(row.netns) if row.netns else "-"),
    }


def group_cells(g: Group, rank: int, interval: float) -> dict[str, object]:
    return {
        "group": RankedCell(g.name, rank, justify="left"),
        "conns": right(str(len(g.rows))),
        "open": right(str(g.open)),
        "failed": right(str(g.failed)),
        "resets": right(str(g.resets)),
        "retr": right(str(g.retrans)),
        "bytes": right(rate_text(g.bytes, interval)),
        "rtt50": right(ms_text(g.rtt(50))),
        "rtt99": right(ms_text(g.rtt(99))),
        "conn50": right(ms_text(g.connect(50))),
        "conn99": right(ms_text(g.connect(99))),
    }
