"""Two test hosts in network namespaces joined by a veth pair, made and removed by the test.

Addresses are the test's own (inside its namespaces); IPv6 is turned off on the link so router
solicitations and MLD reports do not add packets the test did not send.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

GEN = str(Path(__file__).resolve().parent / "traffic_gen.py")


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


@dataclass(frozen=True)
class Host:
    ns: str
    dev: str
    addr: str
    addr6: str = ""

    def exec_argv(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv]

    def python(self, code: str) -> list[str]:
        return self.exec_argv(sys.executable, "-c", code)

    def drop_udp_port(self, table: str, port: int) -> None:
        """An nft table of the test's own in this host that drops (and counts) UDP to `port`."""
        rules = (
            f"add table inet {table}\n"
            f"add chain inet {table} input {{ type filter hook input priority 0 ; }}\n"
            f"add rule inet {table} input udp dport {port} counter drop\n"
        )
        subprocess.run(self.exec_argv("nft", "-f", "-"), input=rules, text=True, check=True)

    def rule_packets(self, table: str) -> int:
        """The packets the first rule of nft `table` counted (drop_udp_port's)."""
        listed = json.loads(
            subprocess.run(
                self.exec_argv("nft", "-j", "list", "table", "inet", table),
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        packets: int = next(
            item["rule"]["expr"][-2]["counter"]["packets"]
            for item in listed["nftables"]
            if "rule" in item
        )
        return packets

    def counters(self) -> dict[str, int]:
        data = json.loads(_ip("-n", self.ns, "-s", "-j", "link", "show", "dev", self.dev))
        stats = data[0]["stats64"]
        return {
            "tx_bytes": stats["tx"]["bytes"],
            "tx_packets": stats["tx"]["packets"],
            "rx_bytes": stats["rx"]["bytes"],
            "rx_packets": stats["rx"]["packets"],
        }


@dataclass(frozen=True)
class Link:
    a: Host
    b: Host

    def udp_sender(
        self,
        port: int,
        count: int,
        size: int = 200,
        pace_every: int = 20,
        cpu: int | None = None,
        extra: tuple[str, ...] = (),
    ) -> list[str]:
        """argv of tests/traffic_gen.py sending `count` datagrams from a to b (pinned to `cpu`,
        with `extra` options such as --name)."""
        pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
        return self.a.exec_argv(
            *pin,
            sys.executable,
            GEN,
            "udp-send",
            self.b.addr,
            str(port),
            "--count",
            str(count),
            "--size",
            str(size),
            "--pace-every",
            str(pace_every),
            *extra,
        )


@contextmanager
def veth_pair(tag: str = "", ipv6: bool = False) -> Iterator[Link]:
    suffix = f"{os.getpid() % 100000}{tag}"
    ns_a, ns_b = f"nwt-a-{suffix}", f"nwt-b-{suffix}"
    # Device names show in netwatch's DEV column, so they say what they are: netwatch-test.
    dev_a, dev_b = f"nwta{suffix}"[:15], f"nwtb{suffix}"[:15]
    a = Host(ns_a, dev_a, "10.213.7.1", "fd00:213:7::1" if ipv6 else "")
    b = Host(ns_b, dev_b, "10.213.7.2", "fd00:213:7::2" if ipv6 else "")
    try:
        _ip("netns", "add", ns_a)
        _ip("netns", "add", ns_b)
        _ip(
            "link",
            "add",
            dev_a,
            "netns",
            ns_a,
            "type",
            "veth",
            "peer",
            "name",
            dev_b,
            "netns",
            ns_b,
        )
        for host in (a, b):
            if not ipv6:
                subprocess.run(
                    host.exec_argv("sysctl", "-qw", f"net.ipv6.conf.{host.dev}.disable_ipv6=1"),
                    check=True,
                )
            else:  # nodad: usable at once, no duplicate-address wait
                _ip("-n", host.ns, "addr", "add", f"{host.addr6}/64", "dev", host.dev, "nodad")
            _ip("-n", host.ns, "addr", "add", f"{host.addr}/24", "dev", host.dev)
            _ip("-n", host.ns, "link", "set", host.dev, "up")
            _ip("-n", host.ns, "link", "set", "lo", "up")
        yield Link(a, b)
    finally:
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
