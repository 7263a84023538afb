"""The Accepts tab's share of the demo recording: a web frontend taking connections over IPv4
and IPv6, and an admin port whose server (as nobody) passes accept4 no address."""

from __future__ import annotations

from netwatch.tabs.tab import Demo

DEMO = Demo(
    servers=(
        ("{gen}", "accept-server", "::", "8443", "--count", "60", "--name", "web-frontend",
         "--max-seconds", "8"),
        ("{gen}", "accept-server", "{server}", "2222", "--count", "2", "--api", "accept4-null",
         "--uid", "65534", "--name", "admin-gate", "--max-seconds", "8"),
    ),
    clients=(
        ("{gen}", "connect-many", "{server}", "8443", "--count", "40", "--pace", "0.08",
         "--name", "load-tester"),
        ("{gen}", "connect-many", "{server6}", "8443", "--count", "20", "--pace", "0.15",
         "--name", "load-tester6"),
        ("{gen}", "connect-many", "{server}", "2222", "--count", "2", "--pace", "1.5",
         "--name", "admin-login"),
    ),
)  # fmt: skip
