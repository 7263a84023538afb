"""Record real traffic between two test namespaces into tests/data/traffic-demo.nwrec (root).

Named processes make the recording readable: a TCP backup stream, a UDP metrics feed, a ping;
and drops with known reasons for the Drops tab: datagrams to a closed port (NO_SOCKET) and to a
port a firewall rule drops (NETFILTER_DROP).
Everything is bounded; the namespaces are removed at the end.
  sudo .venv/bin/python scripts/make_demo_recording.py [OUTPUT]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.netns import veth_pair  # noqa: E402

GEN = str(ROOT / "tests" / "traffic_gen.py")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data" / "traffic-demo.nwrec"
    out.unlink(missing_ok=True)
    with veth_pair("d", ipv6=True) as link:
        a, b = link.a, link.b
        py = sys.executable
        recorder = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "netwatch"),
                "record",
                "-o",
                str(out),
                "--duration",
                "7",
                "--interval",
                "1",
            ]
        )
        rules = (
            "add table inet demo\n"
            "add chain inet demo input { type filter hook input priority 0 ; }\n"
            "add rule inet demo input udp dport 7009 drop\n"
        )
        subprocess.run(b.exec_argv("nft", "-f", "-"), input=rules, text=True, check=True)
        time.sleep(2.5)  # the probe compiles first
        procs = [
            subprocess.Popen(
                b.exec_argv(
                    py,
                    GEN,
                    "tcp-recv",
                    b.addr,
                    "7001",
                    "--name",
                    "backup-server",
                    "--max-seconds",
                    "8",
                )
            ),
            subprocess.Popen(
                b.exec_argv(
                    py,
                    GEN,
                    "udp-recv",
                    b.addr,
                    "7002",
                    "--name",
                    "metrics-sink",
                    "--max-seconds",
                    "8",
                )
            ),
        ]
        time.sleep(0.5)
        procs += [
            subprocess.Popen(
                a.exec_argv(
                    py,
                    GEN,
                    "tcp-send",
                    b.addr,
                    "7001",
                    "--name",
                    "backup-agent",
                    "--count",
                    "30000",
                    "--size",
                    "8192",
                    "--max-seconds",
                    "4",
                )
            ),
            subprocess.Popen(
                a.exec_argv(
                    py,
                    GEN,
                    "udp-send",
                    b.addr,
                    "7002",
                    "--name",
                    "metrics-feed",
                    "--count",
                    "20000",
                    "--size",
                    "300",
                    "--pace-every",
                    "10",
                    "--max-seconds",
                    "4",
                )
            ),
            subprocess.Popen(
                a.exec_argv("ping", "-c", "20", "-i", "0.2", "-q", b.addr),
                stdout=subprocess.DEVNULL,
            ),
            subprocess.Popen(
                a.exec_argv(
                    py,
                    GEN,
                    "udp-send",
                    b.addr,
                    "7008",
                    "--name",
                    "probe-closed",
                    "--count",
                    "4000",
                    "--size",
                    "64",
                    "--pace-every",
                    "1",
                    "--max-seconds",
                    "4.5",
                )
            ),
            subprocess.Popen(
                a.exec_argv(
                    py,
                    GEN,
                    "udp-send",
                    b.addr,
                    "7009",
                    "--name",
                    "blocked-client",
                    "--count",
                    "900",
                    "--size",
                    "64",
                    "--pace-every",
                    "1",
                    "--max-seconds",
                    "3",
                )
            ),
        ]
        # Accepts: a web frontend taking connections over IPv4 and IPv6, and an admin port.
        servers = [
            subprocess.Popen(
                b.exec_argv(
                    py,
                    GEN,
                    "accept-server",
                    "::",
                    "8443",
                    "--count",
                    "60",
                    "--name",
                    "web-frontend",
                    "--max-seconds",
                    "8",
                ),
                stdout=subprocess.DEVNULL,
            ),
            subprocess.Popen(
                b.exec_argv(
                    py,
                    GEN,
                    "accept-server",
                    b.addr,
                    "2222",
                    "--count",
                    "2",
                    "--api",
                    "accept4-null",
                    "--uid",
                    "65534",
                    "--name",
                    "admin-gate",
                    "--max-seconds",
                    "8",
                ),
                stdout=subprocess.DEVNULL,
            ),
        ]
        time.sleep(0.5)
        procs += [
            *servers,
            subprocess.Popen(
                a.exec_argv(
                    py,
                    GEN,
                    "connect-many",
                    b.addr,
                    "8443",
                    "--count",
                    "40",
                    "--pace",
                    "0.08",
                    "--name",
                    "load-tester",
                ),
                stdout=subprocess.DEVNULL,
            ),
            subprocess.Popen(
                a.exec_argv(
                    py,
                    GEN,
                    "connect-many",
                    b.addr6,
                    "8443",
                    "--count",
                    "20",
                    "--pace",
                    "0.15",
                    "--name",
                    "load-tester6",
                ),
                stdout=subprocess.DEVNULL,
            ),
            subprocess.Popen(
                a.exec_argv(
                    py,
                    GEN,
                    "connect-many",
                    b.addr,
                    "2222",
                    "--count",
                    "2",
                    "--pace",
                    "1.5",
                    "--name",
                    "admin-login",
                ),
                stdout=subprocess.DEVNULL,
            ),
        ]
        for p in procs:
            p.wait(timeout=30)
        recorder.wait(timeout=30)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
