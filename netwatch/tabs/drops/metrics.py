"""The Drops tab as one Prometheus counter: drops per reason, kernel function and protocol."""

from __future__ import annotations

from netwatch.export.series import Labels
from netwatch.export.spec import ExportOptions, OneCounter
from netwatch.model.untrusted import printable
from netwatch.tabs.drops.model import DropRow, protocol_name


def _labels(row: DropRow) -> Labels:
    return (printable(row.key.reason), printable(row.function), protocol_name(row.key.protocol))


def metrics(options: ExportOptions) -> OneCounter:
    return OneCounter(
        "drops",
        "netwatch_drops_total",
        "Packets the kernel dropped (skb:kfree_skb), per drop reason, the function that "
        "dropped them and the packet's protocol",
        ("reason", "function", "protocol"),
        _labels,
        lambda row: row.count,
    )
