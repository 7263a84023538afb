"""The Drops tab's share of the demo recording: drops with known reasons, datagrams to a closed
port (NO_SOCKET) and to a port a firewall rule drops (NETFILTER_DROP)."""

from __future__ import annotations

from netwatch.tabs.tab import Demo

DEMO = Demo(
    clients=(
        ("{gen}", "udp-send", "{server}", "7008", "--name", "probe-closed",
         "--count", "4000", "--size", "64", "--pace-every", "1", "--max-seconds", "4.5"),
        ("{gen}", "udp-send", "{server}", "7009", "--name", "blocked-client",
         "--count", "900", "--size", "64", "--pace-every", "1", "--max-seconds", "3"),
    ),
    nft_rules=("udp dport 7009 drop",),
)  # fmt: skip
