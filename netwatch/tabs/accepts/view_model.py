"""The Accepts tab's filter: `port:`, `src:` (an address or CIDR), `comm:`, `pid:`, `uid:`,
`family:` (4, 6, ipv4, ipv6, mapped), where the accept happened (`container:`, `cgroup:`,
`netns:`, as on the Traffic tab) and free text."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netwatch.model.containers import ProcContext
from netwatch.model.filter import (
    ID_MAX,
    PLACE_KEYS,
    PORT_MAX,
    FilterError,
    Term,
    UserLookup,
    is_number,
    parse_terms,
    place_matches,
)
from netwatch.tabs.accepts.model import AcceptEvent

ACCEPT_FILTER_KEYS = ("port", "src", "comm", "pid", "uid", "family", *PLACE_KEYS)
_FAMILIES = {
    "4": "ipv4",
    "ipv4": "ipv4",
    "6": "ipv6",
    "ipv6": "ipv6",
    "mapped": "ipv4-mapped",
    "ipv4-mapped": "ipv4-mapped",
}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class AcceptsFilter:
    text: str
    terms: tuple[Term, ...]
    networks: dict[str, Network]

    def matches(self, ev: AcceptEvent, user_of: UserLookup) -> bool:
        return all(self._matches(t, ev, user_of) != t.negate for t in self.terms)

    def _matches(self, term: Term, ev: AcceptEvent, user_of: UserLookup) -> bool:
        if term.key == "port":
            return any(int(v) == ev.lport for v in term.values)
        if term.key == "src":
            addr = ipaddress.ip_address(
                ev.raddr.removeprefix("::ffff:") if ev.family == "ipv4-mapped" else ev.raddr
            )
            return any(
                addr.version == self.networks[v].version and addr in self.networks[v]
                for v in term.values
            )
        if term.key == "comm":
            return any(v in ev.comm.lower() for v in term.values)
        if term.key == "pid":
            return any(int(v) in (ev.pid, ev.tid) for v in term.values)
        if term.key == "uid":
            user = user_of(ev.uid).lower()
            return any((is_number(v) and int(v) == ev.uid) or v == user for v in term.values)
        if term.key == "family":
            return any(_FAMILIES[v] == ev.family for v in term.values)
        if term.key in PLACE_KEYS:
            return place_matches(term, ProcContext(ev.cgroup, ev.netns))
        haystack = f"{ev.comm} {ev.pid} {ev.raddr} {ev.lport} {user_of(ev.uid)} {ev.container}"
        haystack = haystack.lower()
        return term.values[0] in haystack


def parse_accepts_filter(text: str) -> AcceptsFilter:
    terms = parse_terms(
        text,
        ACCEPT_FILTER_KEYS,
        numeric={"port": PORT_MAX, "pid": ID_MAX, "netns": ID_MAX},
        exact=("container", "cgroup"),
        number_or_name={"uid": ID_MAX},
    )
    networks: dict[str, Network] = {}
    for term in terms:
        if term.key == "src":
            for v in term.values:
                try:
                    networks[v] = ipaddress.ip_network(v, strict=False)
                except ValueError:
                    raise FilterError(f"src: needs an address or CIDR, not '{v}'") from None
        if term.key == "family":
            for v in term.values:
                if v not in _FAMILIES:
                    raise FilterError(f"family: is 4, 6 or mapped, not '{v}'")
    return AcceptsFilter(text.strip(), terms, networks)
