"""The Accepts tab as one Prometheus counter: accepted TCP connections per command, user,
local port, address family and container."""

from __future__ import annotations

from netwatch.export.series import Labels
from netwatch.export.spec import ExportOptions, OneCounter
from netwatch.host.users import user_name
from netwatch.model.untrusted import name_text
from netwatch.tabs.accepts.model import AcceptEvent


def _labels(e: AcceptEvent) -> Labels:
    return (name_text(e.comm), user_name(e.uid), str(e.lport), e.family, name_text(e.container))


def metrics(options: ExportOptions) -> OneCounter:
    return OneCounter(
        "accepts",
        "netwatch_tcp_accepts_total",
        "TCP connections accepted, per accepting command, user, local port, address family "
        "and container",
        ("comm", "user", "port", "family", "container"),
        _labels,
    )
