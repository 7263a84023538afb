"""The Accepts tab's items in a recording: each one a JSON list
[ts, pid, tid, uid, comm, family, laddr, lport, raddr, rport, cgroup, netns]
under "events", read back with every field checked. Lists of the first ten (recordings made
before netwatch knew where an accept happened) read too."""

from __future__ import annotations

from typing import Any

from netwatch.recording.codec import (
    CGROUP_PATH_MAX,
    ID_MAX,
    NETNS_MAX,
    TS_MAX,
    BadRecord,
    Codec,
    address,
    fields,
    finite,
    text,
    whole,
)
from netwatch.recording.replay import replay_source
from netwatch.tabs.accepts.model import AcceptEvent, AcceptsSample

FAMILIES = frozenset({"ipv4", "ipv6", "ipv4-mapped"})


def accept_out(e: AcceptEvent) -> list[Any]:
    return [
        round(e.ts, 6),
        *(e.pid, e.tid, e.uid, e.comm, e.family),
        *(e.laddr, e.lport, e.raddr, e.rport),
        *(e.cgroup, e.netns),
    ]


def accept_in(item: Any) -> AcceptEvent:
    if type(item) is list and len(item) == 10:
        item = [*item, "", 0]
    ts, pid, tid, uid, comm, family, laddr, lport, raddr, rport, cgroup, netns = fields(
        item, 12, "an accept"
    )
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
        text(cgroup, "cgroup", CGROUP_PATH_MAX),
        whole(netns, 0, NETNS_MAX, "netns"),
    )


CODEC = Codec("events", accept_out, accept_in, AcceptsSample, replay_source)
