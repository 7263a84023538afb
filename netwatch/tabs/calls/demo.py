"""The Calls tab's demo recording (calls-demo.nwrec, its own: Calls records only the commands it
is told to): a TCP client and server (`web-client`, `web-server`) and a UDP pair
(`dns-client`, `dns-server`), each client making its socket, connect, write, read, send, recv
and close, three times over."""

from __future__ import annotations

from netwatch.tabs.tab import Demo

NAMES = ("web-client", "web-server", "dns-client", "dns-server")

DEMO = Demo(
    servers=(
        ("{gen}", "echo-server", "{server}", "8080", "--proto", "tcp", "--count", "6",
         "--name", "web-server", "--max-seconds", "8"),
        ("{gen}", "echo-server", "{server}", "5353", "--proto", "udp", "--count", "6",
         "--name", "dns-server", "--max-seconds", "8"),
    ),
    clients=(
        ("{gen}", "call-client", "{server}", "8080", "--proto", "tcp", "--size", "3000",
         "--name", "web-client", "--max-seconds", "8"),
        ("{gen}", "call-client", "{server}", "5353", "--proto", "udp", "--size", "200",
         "--name", "dns-client", "--max-seconds", "8"),
    ),
    recording="calls-demo.nwrec",
    record_options=tuple(word for name in NAMES for word in ("--calls-comm", name)),
    client_rounds=3,
)  # fmt: skip
