"""The Accepts tab's items in a recording: each one a JSON list
[ts, pid, tid, uid, comm, family, laddr, lport, raddr, rport, cgroup, netns, started]
under "events", read back with every field checked. Lists of the first ten (recordings made
before netwatch knew where an accept happened) and of twelve (before it knew when the acceptor
started: 0, unknown) read too."""

from __future__ import annotations

from typing import Any

from netwatch.recording import checks
from netwatch.recording.codec import Codec
from netwatch.recording.replay import replay_source
from netwatch.tabs.accepts.model import AcceptEvent, AcceptsSample

FAMILIES = frozenset({"ipv4", "ipv6", "ipv4-mapped"})


def accept_out(e: AcceptEvent) -> list[Any]:
    return [
        round(e.ts, 6),
        *(e.pid, e.tid, e.uid, e.comm, e.family),
        *(e.laddr, e.lport, e.raddr, e.rport),
        *(e.cgroup, e.netns, e.started),
    ]


def accept_in(item: Any) -> AcceptEvent:
    if type(item) is list and len(item) in (10, 12):  # recorded before the place, the start
        item = [*item, *["", 0, 0][len(item) - 10 :]]
    ts, pid, tid, uid, comm, family, laddr, lport, raddr, rport, cgroup, netns, started = (
        checks.fields(item, 13, "an accept")
    )
    if family not in FAMILIES:
        raise checks.BadRecord("family is not one of " + ", ".join(sorted(FAMILIES)))
    return AcceptEvent(
        checks.time(ts, "ts"),
        checks.ident(pid, "pid"),
        checks.ident(tid, "tid"),
        checks.ident(uid, "uid"),
        checks.text(comm, "comm"),
        family,
        checks.address(laddr, "local address"),
        checks.port(lport, "port"),
        checks.address(raddr, "source address"),
        checks.port(rport, "source port"),
        checks.cgroup(cgroup),
        checks.netns(netns),
        checks.time(started, "started"),
    )


CODEC = Codec("events", accept_out, accept_in, AcceptsSample, replay_source)
