"""Enter on a Drops row: reasons and protocols, when it was seen, who the packets were for."""

from __future__ import annotations

import time
from collections.abc import Iterable

from textual import work
from textual.widget import Widget

from netwatch.host.netns import NetnsNames, shown
from netwatch.host.sockets import port_holders
from netwatch.probes.kernel_files import load_drop_format
from netwatch.screens.detail import DetailScreen
from netwatch.screens.plain import PlainStatic
from netwatch.tabs.drops.model import GroupStats


def _netns(inode: int, names: dict[int, str]) -> str:
    return shown(inode, names.get(inode, ""))


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
        busiest = sorted(self.group.ports, key=lambda p: -self.group.ports[p])[:OWNERS_SHOWN]
        pending = [f"  port {port}: looking up who holds it..." for _, port in busiest]
        if self.live:
            # Names and port holders are a walk of /proc (every process's namespace and
            # sockets): not on the UI thread. The lines say so until it is done.
            self._look_up(busiest)
        yield PlainStatic(self._text({}, pending if self.live else []), id="drop-detail")

    def _text(self, names: dict[int, str], holders: list[str]) -> list[str]:
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
            "network namespaces (the device's, else the socket's)",
            {_netns(n, names): c for n, c in g.namespaces.items()},
        )
        if self.live and not _kernel_has_rx_sk():
            lines.append(
                "local ports of the socket the packet was for: unknown on this kernel (its "
                "skb:kfree_skb has no rx_sk field; Linux 6.12 added it)"
            )
        else:
            lines += _breakdown(
                "local ports of the socket the packet was for (rx_sk), in their namespace",
                {f"{port} in netns {_netns(n, names)}": c for (n, port), c in g.ports.items()},
            )
        return lines + holders

    @work(thread=True, exit_on_error=False, group="port-owners")
    def _look_up(self, busiest: list[tuple[int, int]]) -> None:
        names = NetnsNames().names()
        holders = port_holders(busiest)
        found = [
            f"  port {port} in netns {_netns(netns, names)}: "
            + (", ".join(holders[(netns, port)]) or "no process there holds it now")
            for netns, port in busiest
        ]
        self.app.call_from_thread(self._show_owners, self._text(names, found))

    def _show_owners(self, lines: list[str]) -> None:
        if self.is_attached:
            self.query_one("#drop-detail", PlainStatic).update(lines)
