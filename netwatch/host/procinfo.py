"""What the detail view says about a process: psutil facts and its sockets (host/sockets.py),
read once when the view opens."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import psutil

from netwatch.host.sockets import SocketInfo, comm_of, process_sockets
from netwatch.model.containers import container_name


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    pid: int
    cmdline: str
    comm: str
    user: str
    started: str
    sockets: tuple[SocketInfo, ...]
    cgroup: str = ""  # its cgroup v2 path ("" where the kernel has no v2 hierarchy)
    container: str = ""  # the short name of that path (model/containers.py)
    netns: int = 0  # its network namespace's inode (0: unknown)


class ProcessGone(Exception):
    """The process is not running here (it exited, or this is a recording from elsewhere)."""


def process_info(pid: int) -> ProcessInfo:
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            comm = comm_of(pid)  # the kernel's 15 bytes, as the probes saw it (psutil extends it)
            cmdline = " ".join(proc.cmdline()) or f"[{proc.name()}]"
            user = proc.username()
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(proc.create_time()))
    except (psutil.NoSuchProcess, psutil.ZombieProcess) as exc:
        raise ProcessGone(f"process {pid} is not running on this machine") from exc
    except psutil.AccessDenied as exc:
        raise ProcessGone(f"access to process {pid} denied (run as root)") from exc
    sockets = process_sockets(pid)  # its own namespace's tables, not netwatch's
    cgroup = cgroup_of(pid)
    return ProcessInfo(
        pid, cmdline, comm, user, started, sockets, cgroup, container_name(cgroup), netns_of(pid)
    )


def boot_to_wall() -> float:
    """What to add to seconds since boot (CLOCK_BOOTTIME, which the kernel's start_boottime and
    /proc/PID/stat count) to get wall-clock seconds."""
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


# /proc/PID/stat's starttime ticks: a tick is 1/CLK_TCK s, so two starts this close are one.
START_TOLERANCE_S = 2.0 / os.sysconf("SC_CLK_TCK")


def started_at(pid: int) -> float:
    """When the process now running as PID started, wall-clock seconds; 0 if none is."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0.0
    # The command (field 2) may hold spaces and parentheses: the fields after it follow the
    # last ')'. starttime is field 22, the 20th after it.
    after = stat[stat.rfind(b")") + 2 :].split()
    try:
        ticks = int(after[19])
    except (IndexError, ValueError):
        return 0.0
    return boot_to_wall() + ticks / os.sysconf("SC_CLK_TCK")


def running(pid: int, started: float) -> bool:
    """Whether the process that started at `started` (0: unknown, any) still runs as PID: not
    gone, not a zombie waiting for its parent (it has exited: it sends nothing more), and not
    a later process that took its PID."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    after = stat[stat.rfind(b")") + 2 :].split()
    if not after or after[0] in (b"Z", b"X"):
        return False
    if not started:
        return True
    try:
        now = boot_to_wall() + int(after[19]) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError):
        return False
    return abs(now - started) <= START_TOLERANCE_S


def same_process(pid: int, started: float) -> bool:
    """Whether PID still names the process that started at `started` (0: unknown, assumed)."""
    if not started:
        return True
    now = started_at(pid)
    return bool(now) and abs(now - started) <= START_TOLERANCE_S


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
