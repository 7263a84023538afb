"""The Traffic tab's items in a recording: each one a JSON list
[pid, uid, dev, comm, reason, xmit_pk, recv_pk, xmit_bytes, recv_bytes]
under "rows"; where those processes run, [pid, cgroup, netns, started] under "context"; and their
connections, [pid, comm, proto, laddr, lport, raddr, rport, xmit_pk, recv_pk, xmit_bytes,
recv_bytes, state, since] under "connections" (raddr "*" for an unconnected socket; state
TCP's, else ""; since the wall-clock time it was first counted, 0 unknown); and the processes
found exited in the interval, [pid, when] under "exited" (the wall-clock time it was noticed).
The last three are absent in recordings made before netwatch knew them. Every field is checked
when read back."""

from __future__ import annotations

from typing import Any

from netwatch.recording import checks
from netwatch.recording.codec import Codec
from netwatch.recording.context import context_in, context_out
from netwatch.recording.replay import replay_source
from netwatch.tabs.traffic.model import (
    ConnKey,
    ConnRow,
    Counters,
    TrafficKey,
    TrafficRow,
    TrafficSample,
)


def traffic_row_out(r: TrafficRow) -> list[Any]:
    return [r.key.pid, r.key.uid, r.key.dev, r.key.comm, r.key.reason, *r.counts.as_tuple()]


def traffic_row_in(item: Any) -> TrafficRow:
    pid, uid, dev, comm, reason, *counts = checks.fields(item, 9, "a traffic row")
    return TrafficRow(
        TrafficKey(
            checks.whole(pid, checks.ID_MIN, checks.ID_MAX, "pid"),
            checks.whole(uid, checks.ID_MIN, checks.ID_MAX, "uid"),
            checks.text(dev, "dev"),
            checks.text(comm, "comm"),
            checks.text(reason, "reason"),
        ),
        Counters(*(checks.count(c, "a counter") for c in counts)),
    )


MAX_CONNECTIONS = 100_000  # in one record


def conn_out(c: ConnRow) -> list[Any]:
    k = c.key
    return [k.pid, c.comm, k.proto, k.laddr, k.lport, k.raddr, k.rport, *c.counts.as_tuple(),
            c.state, round(c.since, 3)]  # fmt: skip


def conn_in(item: Any) -> ConnRow:
    pid, comm, proto, laddr, lport, raddr, rport, *counts, state, since = checks.fields(
        item, 13, "a connection"
    )
    return ConnRow(
        ConnKey(
            checks.ident(pid, "pid"),
            checks.text(proto, "proto", 16),
            checks.address(laddr, "local address"),
            checks.port(lport, "local port"),
            "*" if raddr == "*" else checks.address(raddr, "remote address"),
            checks.port(rport, "remote port"),
        ),
        checks.text(comm, "comm"),
        Counters(*(checks.count(c, "a counter") for c in counts)),
        checks.text(state, "state", 16),
        checks.time(since, "since"),
    )


def more_out(sample: TrafficSample) -> dict[str, Any]:
    return {
        **context_out(sample),
        "connections": [conn_out(c) for c in sample.connections],
        "connections_lost": sample.connections_lost,
        **({"exited": [[pid, round(ts, 3)] for pid, ts in sample.exited]} if sample.exited else {}),
    }


def exited_in(item: Any) -> tuple[int, float]:
    pid, ts = checks.fields(item, 2, "an exited process")
    return checks.ident(pid, "pid"), checks.time(ts, "exited")


def more_in(record: dict[str, Any]) -> dict[str, Any]:
    return {
        **context_in(record),
        "connections": tuple(conn_in(c) for c in _listed(record, "connections", MAX_CONNECTIONS)),
        "connections_lost": checks.count(record.get("connections_lost", 0), "lost"),
        "exited": tuple(exited_in(e) for e in _listed(record, "exited", MAX_EXITED)),
    }


MAX_EXITED = 100_000  # in one record


def _listed(record: dict[str, Any], key: str, most: int) -> list[Any]:
    items = record.get(key, [])
    if type(items) is not list or len(items) > most:
        raise checks.BadRecord(f"'{key}' is not a list of at most {most}")
    return items


CODEC = Codec(
    "rows", traffic_row_out, traffic_row_in, TrafficSample, replay_source, more_out, more_in
)
