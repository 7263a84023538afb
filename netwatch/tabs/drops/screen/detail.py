"""Enter on a Drops row: reasons and protocols, when it was seen, who the packets were for."""

from __future__ import annotations

import time
from collections.abc import Iterable

from textual import work
from textual.widget import Widget

from netwatch.host.procinfo import owners_of_ports
from netwatch.probes.kernel_files import load_drop_format
from netwatch.screens.detail import DetailScreen
from netwatch.screens.plain import PlainStatic
from netwatch.tabs.drops.model import GroupStats


def _breakdown(title: str, counts: dict[str, int] | dict[int, int]) -> list[str]:
    if not counts:
        return [f"{title}: none recorded"]
    total = sum(counts.values())
    lines = [f"{title}:"]
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1])[:20]:
        lines.append(f"  {n:>10}  {100 * n / total:5.1f}%  {name}")
    return lines


def _kernel_has_rx_sk() -> bool:
    try:
        return load_drop_format().has_rx_sk
    except OSError:  # no tracefs to ask: say nothing rather than guess
        return True


OWNERS_SHOWN = 5  # the busiest ports whose owners are looked up


class DropDetail(DetailScreen):
    def __init__(self, group: GroupStats, grouping: str, live: bool) -> None:
        super().__init__()
        self.group = group
        self.grouping = grouping
        self.live = live

    def details(self) -> Iterable[Widget]:
        g = self.group
        when = "%Y-%m-%d %H:%M:%S"
        lines = [
            f"{self.grouping}: {g.name}"
            + (f"  ({g.symbol})" if self.grouping == "location" else ""),
            f"total {g.total} drops; last interval {g.last}",
            f"first seen {time.strftime(when, time.localtime(g.first_seen))}, "
            f"last seen {time.strftime(when, time.localtime(g.last_seen))}",
            "",
            *_breakdown("reasons", g.reasons),
            *_breakdown("protocols", g.protocols),
        ]
        if self.grouping != "function":
            lines += _breakdown("functions", g.functions)
        lines += _breakdown("devices (skb->dev where the kernel still had it)", g.devices)
        lines += _breakdown(
            "network namespaces (the device's, else the socket's; `ip netns identify` or "
            "`lsns -t net` name them)",
            g.namespaces,
        )
        if self.live and not _kernel_has_rx_sk():
            lines.append(
                "local ports of the socket the packet was for: unknown on this kernel (its "
                "skb:kfree_skb has no rx_sk field; Linux 6.12 added it)"
            )
        else:
            lines += _breakdown("local ports of the socket the packet was for (rx_sk)", g.ports)
        self._lines = lines
        busiest = sorted(g.ports, key=lambda p: -g.ports[p])[:OWNERS_SHOWN]
        if self.live and busiest:
            # Which processes hold a port is a walk of every socket on the host: not on the
            # UI thread. The lines say so until it is done.
            lines = [*lines, *(f"  port {port}: looking up who holds it..." for port in busiest)]
            self._look_up_owners(busiest)
        yield PlainStatic(lines, id="drop-detail")

    @work(thread=True, exit_on_error=False, group="port-owners")
    def _look_up_owners(self, ports: list[int]) -> None:
        owners = owners_of_ports(ports)
        found = [
            f"  port {port}: " + (", ".join(owners[port]) or "no process holds it now")
            for port in ports
        ]
        self.app.call_from_thread(self._show_owners, found)

    def _show_owners(self, found: list[str]) -> None:
        if self.is_attached:
            self.query_one("#drop-detail", PlainStatic).update([*self._lines, *found])
