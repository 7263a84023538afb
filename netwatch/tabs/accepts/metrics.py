"""The Accepts tab as one Prometheus counter: accepted TCP connections per command, user,
local port, address family and container."""

from __future__ import annotations

from netwatch.export.spec import Add, ExportOptions, Family, TableSpec
from netwatch.model.untrusted import printable
from netwatch.tabs.accepts.model import AcceptsSample
from netwatch.users import user_name

TABLE = "accepts"


class AcceptsMetrics:
    def tables(self) -> tuple[TableSpec, ...]:
        total = Family(
            "netwatch_tcp_accepts_total",
            "TCP connections accepted, per accepting command, user, local port, address "
            "family and container",
            0,
        )
        labels = ("comm", "user", "port", "family", "container")
        return (TableSpec(TABLE, labels, 1, (total,)),)

    def count(self, sample: AcceptsSample, add: Add) -> None:
        for e in sample.events:
            labels = (
                printable(e.comm),
                user_name(e.uid),
                str(e.lport),
                e.family,
                printable(e.container),
            )
            add(TABLE, labels, (1,), 1)


def metrics(options: ExportOptions) -> AcceptsMetrics:
    return AcceptsMetrics()
