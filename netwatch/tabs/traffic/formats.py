"""Output formats: the seed's nettop.stp table, JSON objects, and human-readable sizes."""

from __future__ import annotations

import json
from collections.abc import Iterable

from netwatch.model.containers import NO_CONTEXT, ProcContext
from netwatch.model.untrusted import name_text, printable
from netwatch.tabs.traffic.model import UNATTRIBUTED_PID, ConnRow, TrafficKey, TrafficRow
from netwatch.tabs.traffic.view_model import MIXED, MIXED_CONTEXT, ViewRow

NETTOP_HEADER = "%5s %5s %-7s %7s %7s %7s %7s %-15s" % (
    "PID",
    "UID",
    "DEV",
    "XMIT_PK",
    "RECV_PK",
    "XMIT_KB",
    "RECV_KB",
    "COMMAND",
)


def kb(n_bytes: int, n_packets: int) -> int:
    """nettop.stp's KB: whole kibibytes, 0 when there were no packets."""
    return n_bytes // 1024 if n_packets else 0


def nettop_line(row: TrafficRow) -> str:
    """One row; the device and command are a local user's text, so shown escaped (and a
    command that looks like an unattributed reason marked as a process's)."""
    k, c = row.key, row.counts
    dev = printable(k.dev)
    tail = (dev, c.xmit_pk, c.recv_pk, kb(c.xmit_bytes, c.xmit_pk), kb(c.recv_bytes, c.recv_pk))
    if k.attributed:
        return "%5d %5s %-7s %7d %7d %7d %7d %-15s" % (k.pid, uid_text(k), *tail, name_text(k.comm))
    # No process to name: "-" instead of a PID that would be a lie (the seed's swapper, PID 0).
    return "%5s %5s %-7s %7d %7d %7d %7d %-15s" % ("-", "-", *tail, reason_text(k.reason))


def reason_text(reason: str) -> str:
    """An unattributed row's name: its reason in brackets (escaped: a recording may hold any)."""
    return f"[{printable(reason)}]"


def uid_text(key: TrafficKey) -> str:
    """A row's UID as the screen and the snapshot text show it: "-" where no process is
    charged, "*" for a program's or user's row whose processes run as different users (never
    the -1 that stands for it), else the number."""
    if not key.attributed:
        return "-"
    return MIXED if key.uid == UNATTRIBUTED_PID else str(key.uid)


def nettop_table(rows: Iterable[TrafficRow]) -> list[str]:
    return [NETTOP_HEADER] + [nettop_line(r) for r in rows]


def row_object(row: ViewRow, ts: float, interval: float) -> dict[str, object]:
    """One row as `top --batch --json` prints it and a snapshot's JSON holds it. A grouped
    row adds how many processes it sums and has no pid (nor a uid, user or place where its
    processes differ); where a process runs is null where unknown."""
    k, c = row.key, row.shown
    place = row.context if k.attributed and row.context != MIXED_CONTEXT else NO_CONTEXT
    obj: dict[str, object] = {
        "ts": round(ts, 6),
        "interval": interval,
        "pid": k.pid if k.attributed else None,
        "uid": k.uid if k.attributed else None,
        "user": row.user if k.attributed else None,
        "dev": k.dev,
        # As the table and the exporter name it: "[rx-not-delivered]", not "[unattributed]".
        "comm": k.comm if k.attributed else f"[{k.reason}]",
        "cgroup": place.cgroup or None,
        "container": place.container or None,
        "netns": place.netns or None,
        # When the process started (Unix seconds): a PID names a process only with it (#24).
        "started": place.started or None,
        "xmit_pk": c.xmit_pk,
        "recv_pk": c.recv_pk,
        "xmit_bytes": c.xmit_bytes,
        "recv_bytes": c.recv_bytes,
        "unattributed_reason": k.reason or None,
        # When its process was found exited (Unix seconds), null while it runs (#26).
        "exited": round(row.exited, 3) if row.exited is not None else None,
    }
    if row.grouped:
        obj |= {"pid": None, "processes": row.processes}
        if k.uid == UNATTRIBUTED_PID:
            obj |= {"uid": None, "user": None}
    return obj


def row_json(row: ViewRow, ts: float, interval: float) -> str:
    return json.dumps(row_object(row, ts, interval), separators=(",", ":"))


def human_rate(bytes_per_s: int, bits: bool = False) -> str:
    """A rate with its unit, in 7 columns: `23.9MiB` (1024-based bytes), or with `bits`
    `191Mb` (1000-based bits, as link speeds are given)."""
    value, base, units = (
        (float(bytes_per_s) * 8 / 1000, 1000, ("kb", "Mb", "Gb", "Tb"))
        if bits
        else (float(bytes_per_s) / 1024, 1024, ("KiB", "MiB", "GiB", "TiB"))
    )
    for unit in units[:-1]:
        if value < 1000:
            return f"{value:.1f}{unit}" if value < 100 else f"{value:.0f}{unit}"
        value /= base
    return f"{value:.0f}{units[-1]}"


CONN_COLUMNS = ("PROTO", "LOCAL", "REMOTE", "STATE", "PID", "XMIT_PK", "RECV_PK", "XMIT_KB",
                "RECV_KB", "COMMAND")  # fmt: skip
CONN_HEADER = "%-5s %-28s %-28s %-11s %7s %7s %7s %7s %7s %-15s" % CONN_COLUMNS


def conn_line(conn: ConnRow) -> str:
    """One connection as `top -b --by connection` prints it; addresses and the command are
    shown escaped (a local user names the command)."""
    k, c = conn.key, conn.counts
    local, remote = k.text().split(" ")[1:]
    counts = (c.xmit_pk, c.recv_pk, kb(c.xmit_bytes, c.xmit_pk), kb(c.recv_bytes, c.recv_pk))
    line = "%-5s %-28s %-28s %-11s %7d %7d %7d %7d %7d %-15s" % (
        k.proto, local, remote, conn.state or "-", k.pid, *counts, conn.comm)  # fmt: skip
    return printable(line)


def conn_object(
    conn: ConnRow, ts: float, interval: float, place: ProcContext = NO_CONTEXT
) -> dict[str, object]:
    """One connection over one interval, as `top -b --json --by connection` prints it."""
    k, c = conn.key, conn.counts
    return {
        "ts": round(ts, 6),
        "interval": interval,
        "pid": k.pid,
        "comm": conn.comm,
        "container": place.container or None,
        "netns": place.netns or None,
        "proto": k.proto,
        "laddr": k.laddr,
        "lport": k.lport,
        "raddr": None if k.raddr == "*" else k.raddr,
        "rport": k.rport,
        "xmit_pk": c.xmit_pk,
        "recv_pk": c.recv_pk,
        "xmit_bytes": c.xmit_bytes,
        "recv_bytes": c.recv_bytes,
        "state": conn.state or None,
        "since": round(conn.since, 3) or None,
    }
