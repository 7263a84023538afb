"""The Traffic tab as Prometheus counters: packets and wire bytes per (command, user, device,
container), the same amounts the tab counts, kept for the life of the exporter so they outlive
the processes they count. No PID label unless asked for: every process would be a new series."""

from __future__ import annotations

from netwatch.export.spec import Add, ExportOptions, Family, TableSpec
from netwatch.host.users import user_name
from netwatch.model.containers import NO_CONTEXT
from netwatch.model.untrusted import name_text, printable
from netwatch.tabs.traffic.formats import reason_text
from netwatch.tabs.traffic.model import TrafficSample

TABLE = "process"


class TrafficMetrics:
    def __init__(self, options: ExportOptions) -> None:
        self.pid_label = options.pid_label

    def tables(self) -> tuple[TableSpec, ...]:
        labels = ("comm", "user", "device", "container") + (("pid",) if self.pid_label else ())
        per = (
            "per command, user, device and container, as the Traffic tab counts them; traffic "
            "no process could be charged with has its reason as comm"
        )
        families = tuple(
            Family(f"netwatch_process_{way}_{unit}_total", f"{what} {per}", column)
            for column, (way, unit, what) in enumerate(
                (
                    ("transmit", "bytes", "Bytes sent on the wire"),
                    ("receive", "bytes", "Bytes received on the wire"),
                    ("transmit", "packets", "Packets sent"),
                    ("receive", "packets", "Packets received"),
                )
            )
        )
        return (TableSpec(TABLE, labels, 4, families),)

    def count(self, sample: TrafficSample, add: Add) -> None:
        # A live sample says where each of its processes runs; nothing is remembered here, so
        # a host that starts a process a second costs the exporter nothing per process.
        places = sample.context
        for row in sample.rows:
            key, c = row.key, row.counts
            if key.attributed:
                comm, user = name_text(key.comm), user_name(key.uid)
                container = name_text(places.get(key.pid, NO_CONTEXT).container)
            else:
                comm, user, container = reason_text(key.reason), "", ""
            labels: tuple[str, ...] = (comm, user, printable(key.dev), container)
            if self.pid_label:
                labels += (str(key.pid) if key.attributed else "",)
            values = (c.xmit_bytes, c.recv_bytes, c.xmit_pk, c.recv_pk)
            add(TABLE, labels, values, c.xmit_bytes + c.recv_bytes)


def metrics(options: ExportOptions) -> TrafficMetrics:
    return TrafficMetrics(options)
