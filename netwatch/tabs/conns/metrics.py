"""The Connections tab as Prometheus series: retransmitted segments, failed connects by reason
and resets by direction (counters), connect latency and smoothed RTT (histograms), per command
and container. No PID or address label: every connection would be a new series."""

from __future__ import annotations

from netwatch.export.spec import Add, ExportOptions, Family, TableSpec, histogram_columns
from netwatch.host.users import user_name
from netwatch.model.untrusted import name_text
from netwatch.tabs.conns.model import ConnsSample

# Seconds: loopback's tens of microseconds to an intercontinental path's hundreds of ms, and a
# connect that waited out SYN retransmits (1, 3, 7 s...).
CONNECT_BUCKETS = (1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0, 10.0)
RTT_BUCKETS = (5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class ConnsMetrics:
    def __init__(self, options: ExportOptions) -> None:
        self.options = options

    def tables(self) -> tuple[TableSpec, ...]:
        return (
            TableSpec("conns_retrans", ("comm", "user", "container"), 1, (Family(
                "netwatch_tcp_retransmits_total",
                "TCP segments retransmitted, per command, user and container",
                0,),)),
            TableSpec("conns_failed", ("comm", "container", "reason"), 1, (Family(
                "netwatch_tcp_connect_failures_total",
                "TCP connects that never established, per command, container and reason "
                "(refused, timeout, unreachable, aborted)",
                0,),)),
            TableSpec("conns_resets", ("comm", "container", "direction"), 1, (Family(
                "netwatch_tcp_resets_total",
                "TCP resets sent and received by connections, per command and container",
                0,),)),
            TableSpec("conns_connect", ("comm", "container"), len(CONNECT_BUCKETS) + 3, (Family(
                "netwatch_tcp_connect_duration_seconds",
                "TCP connect latency: SYN sent to established, or SYN received to accepted",
                0, CONNECT_BUCKETS),)),
            TableSpec("conns_srtt", ("comm", "container"), len(RTT_BUCKETS) + 3, (Family(
                "netwatch_tcp_srtt_seconds",
                "Smoothed RTT of open TCP connections, one observation per connection per "
                "interval",
                0, RTT_BUCKETS),)),
        )  # fmt: skip

    def count(self, sample: ConnsSample, add: Add) -> None:
        for row in sample.rows:
            comm, container = name_text(row.comm), name_text(row.container)
            if row.retrans:
                user = user_name(row.uid) if row.uid is not None else ""
                add("conns_retrans", (comm, user, container), (row.retrans,), row.retrans)
            if row.failed_connect and row.end is not None:
                add("conns_failed", (comm, container, row.end), (1,), 1)
            for direction, n in (("sent", row.resets_sent), ("received", row.resets_received)):
                if n:
                    add("conns_resets", (comm, container, direction), (n,), n)
            if row.connect_ms is not None and row.connect_first:
                columns = histogram_columns(row.connect_ms / 1000, CONNECT_BUCKETS)
                add("conns_connect", (comm, container), columns, 1)
            if row.srtt_ms is not None and row.end is None:
                add("conns_srtt", (comm, container),
                    histogram_columns(row.srtt_ms / 1000, RTT_BUCKETS), 1)  # fmt: skip


def metrics(options: ExportOptions) -> ConnsMetrics:
    return ConnsMetrics(options)
