"""What the detail view says about a process: psutil facts, read once when the view opens."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import psutil

from netwatch.model.containers import container_name


@dataclass(frozen=True, slots=True)
class SocketInfo:
    fd: int
    kind: str  # tcp, tcp6, udp, udp6, unix
    local: str
    remote: str
    status: str


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    pid: int
    cmdline: str
    user: str
    started: str
    sockets: tuple[SocketInfo, ...]
    cgroup: str = ""  # its cgroup v2 path ("" where the kernel has no v2 hierarchy)
    container: str = ""  # the short name of that path (model/containers.py)
    netns: int = 0  # its network namespace's inode (0: unknown)


class ProcessGone(Exception):
    """The process is not running here (it exited, or this is a recording from elsewhere)."""


def _addr(a: object) -> str:
    if not a:
        return "-"
    ip = getattr(a, "ip", None)
    if ip is None:
        return str(a)
    return f"[{ip}]:{a.port}" if ":" in ip else f"{ip}:{a.port}"  # type: ignore[attr-defined]


_KINDS = {(2, 1): "tcp", (10, 1): "tcp6", (2, 2): "udp", (10, 2): "udp6"}


def process_info(pid: int) -> ProcessInfo:
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            cmdline = " ".join(proc.cmdline()) or f"[{proc.name()}]"
            user = proc.username()
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(proc.create_time()))
            conns = proc.net_connections(kind="all")
    except (psutil.NoSuchProcess, psutil.ZombieProcess) as exc:
        raise ProcessGone(f"process {pid} is not running on this machine") from exc
    except psutil.AccessDenied as exc:
        raise ProcessGone(f"access to process {pid} denied (run as root)") from exc
    sockets = tuple(
        SocketInfo(
            c.fd,
            _KINDS.get((int(c.family), int(c.type)), "unix" if int(c.family) == 1 else "other"),
            _addr(c.laddr),
            _addr(c.raddr),
            c.status if c.status != "NONE" else "",
        )
        for c in conns
    )
    cgroup = cgroup_of(pid)
    return ProcessInfo(
        pid, cmdline, user, started, sockets, cgroup, container_name(cgroup), netns_of(pid)
    )


def cgroup_of(pid: int) -> str:
    """The process's cgroup v2 path (the `0::` line of /proc/PID/cgroup), relative to the v2
    hierarchy's root wherever that is mounted (/sys/fs/cgroup, or .../unified on hybrid
    hosts); "" if it has none or has exited."""
    try:
        with open(f"/proc/{pid}/cgroup", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("0::"):
                    return line[3:].rstrip("\n")
    except OSError:
        pass
    return ""


def netns_of(pid: int) -> int:
    """The inode of the process's network namespace, as `ls -L -i /proc/PID/ns/net` and
    `ip netns identify` compare them; 0 if it has exited."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return 0


def owners_of_ports(ports: list[int]) -> dict[int, list[str]]:
    """Per port, `comm(pid)` of the processes holding an inet socket bound to it, right now:
    one walk of the host's sockets for all the ports."""
    owners: dict[int, set[str]] = {port: set() for port in ports}
    try:
        conns = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        conns = []
    for c in conns:
        if c.laddr and c.laddr.port in owners and c.pid:
            try:
                owners[c.laddr.port].add(f"{psutil.Process(c.pid).name()}({c.pid})")
            except psutil.NoSuchProcess:
                continue
    return {port: sorted(names) for port, names in owners.items()}
