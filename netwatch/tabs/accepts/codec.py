"""The Accepts tab's items in a recording: each one a JSON list
[ts, pid, tid, uid, comm, family, laddr, lport, raddr, rport]
under "events", read back with every field checked."""

from __future__ import annotations

from typing import Any

from netwatch.record_codec import (
    ID_MAX,
    TS_MAX,
    BadRecord,
    Codec,
    address,
    fields,
    finite,
    text,
    whole,
)
from netwatch.replay import replay_source
from netwatch.tabs.accepts.model import AcceptEvent, AcceptsSample

FAMILIES = frozenset({"ipv4", "ipv6", "ipv4-mapped"})


def accept_out(e: AcceptEvent) -> list[Any]:
    return [
        round(e.ts, 6),
        *(e.pid, e.tid, e.uid, e.comm, e.family),
        *(e.laddr, e.lport, e.raddr, e.rport),
    ]


def accept_in(item: Any) -> AcceptEvent:
    ts, pid, tid, uid, comm, family, laddr, lport, raddr, rport = fields(item, 10, "an accept")
    if family not in FAMILIES:
        raise BadRecord("family is not one of " + ", ".join(sorted(FAMILIES)))
    return AcceptEvent(
        finite(ts, 0, TS_MAX, "ts"),
        whole(pid, 0, ID_MAX, "pid"),
        whole(tid, 0, ID_MAX, "tid"),
        whole(uid, 0, ID_MAX, "uid"),
        text(comm, "comm"),
        family,
        address(laddr, "local address"),
        whole(lport, 0, 0xFFFF, "port"),
        address(raddr, "source address"),
        whole(rport, 0, 0xFFFF, "source port"),
    )


CODEC = Codec("events", accept_out, accept_in, AcceptsSample, replay_source)
