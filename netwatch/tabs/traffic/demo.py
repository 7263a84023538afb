"""The Traffic tab's share of the demo recording: named processes that make its table readable,
a TCP backup stream, a UDP metrics feed and a ping."""

from __future__ import annotations

from netwatch.tabs.tab import Demo

DEMO = Demo(
    servers=(
        ("{gen}", "tcp-recv", "{server}", "7001", "--name", "backup-server", "--max-seconds", "8"),
        ("{gen}", "udp-recv", "{server}", "7002", "--name", "metrics-sink", "--max-seconds", "8"),
    ),
    clients=(
        ("{gen}", "tcp-send", "{server}", "7001", "--name", "backup-agent",
         "--count", "30000", "--size", "8192", "--max-seconds", "4"),
        ("{gen}", "udp-send", "{server}", "7002", "--name", "metrics-feed",
         "--count", "20000", "--size", "300", "--pace-every", "10", "--max-seconds", "4"),
        ("ping", "-c", "20", "-i", "0.2", "-q", "{server}"),
    ),
)  # fmt: skip
