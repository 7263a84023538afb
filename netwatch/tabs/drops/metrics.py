"""The Drops tab as one Prometheus counter: drops per reason, kernel function and protocol."""

from __future__ import annotations

from netwatch.export.spec import Add, ExportOptions, Family, TableSpec
from netwatch.model.untrusted import printable
from netwatch.tabs.drops.model import DropsSample, protocol_name

TABLE = "drops"


class DropsMetrics:
    def tables(self) -> tuple[TableSpec, ...]:
        total = Family(
            "netwatch_drops_total",
            "Packets the kernel dropped (skb:kfree_skb), per drop reason, the function that "
            "dropped them and the packet's protocol",
            0,
        )
        return (TableSpec(TABLE, ("reason", "function", "protocol"), 1, (total,)),)

    def count(self, sample: DropsSample, add: Add) -> None:
        for row in sample.rows:
            labels = (
                printable(row.key.reason),
                printable(row.function),
                protocol_name(row.key.protocol),
            )
            add(TABLE, labels, (row.count,), row.count)


def metrics(options: ExportOptions) -> DropsMetrics:
    return DropsMetrics()
