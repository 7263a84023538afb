"""The Connections tab's share of the demo recording: a replica stream over a lossy link, a log
shipper held back by a slow consumer, an API whose server resets every connection, and a
health checker knocking on a closed port."""

from __future__ import annotations

from netwatch.tabs.tab import Demo

DEMO = Demo(
    servers=(
        ("{gen}", "tcp-recv", "{server}", "7022", "--name", "replica-db", "--max-seconds", "8"),
        ("{tcpgen}", "slow-recv", "{server}", "7023", "--read-size", "2048", "--pause", "0.01",
         "--name", "slow-consumer", "--max-seconds", "8"),
        ("{tcpgen}", "reset-server", "{server}", "7021", "--count", "12", "--name", "api-gateway",
         "--max-seconds", "8"),
    ),
    clients=(
        ("{tcpgen}", "bulk-send", "{server}", "7022", "--seconds", "4", "--cc", "cubic",
         "--name", "replica-sync"),
        ("{tcpgen}", "bulk-send", "{server}", "7023", "--seconds", "6", "--name", "log-shipper"),
        ("{tcpgen}", "reset-client", "{server}", "7021", "--count", "12", "--name", "api-client"),
        ("{tcpgen}", "connect-fail", "{server}", "7020", "--count", "15", "--pace", "0.25",
         "--name", "health-check"),
    ),
    nft_rules=("tcp dport 7022 numgen random mod 100 < 2 drop",),
)  # fmt: skip
