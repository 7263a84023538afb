"""Network namespaces by name: what an operator calls a namespace, instead of its inode.

In order: the name `ip netns add` gave it (a bind mount under /run/netns), "host" for PID 1's,
else the container of its first process (model/containers.py reads the cgroup), else that
process's command and PID. Read from /run/netns and /proc, never by entering a namespace.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from netwatch.host.procinfo import cgroup_of
from netwatch.host.sockets import PROC, comm_of, pids_by_netns
from netwatch.model.containers import container_name
from netwatch.model.filter import FilterError

NAMED_DIRS = (Path("/run/netns"), Path("/var/run/netns"))
# Names are looked up again at most this often: a walk of /proc per lookup would cost a busy
# host more than the names are worth, and namespaces rarely come and go within it.
REFRESH_S = 5.0


def named_paths(dirs: Iterable[Path] = NAMED_DIRS) -> dict[int, Path]:
    """The `ip netns` mounts by inode (a namespace mounted under two names keeps the first)."""
    paths: dict[int, Path] = {}
    for d in dirs:
        try:
            entries = sorted(os.listdir(d))
        except OSError:
            continue
        for name in entries:
            try:
                paths.setdefault(os.stat(d / name).st_ino, d / name)
            except OSError:
                continue
    return paths


def named_namespaces(dirs: Iterable[Path] = NAMED_DIRS) -> dict[int, str]:
    """`ip netns` names by inode."""
    return {inode: path.name for inode, path in named_paths(dirs).items()}


def host_netns() -> int:
    """PID 1's namespace; netwatch's own where PID 1's cannot be read (a container's view of
    /proc), which is where netwatch runs: the host's, for its operator."""
    for pid in ("1", "self"):
        try:
            return os.stat(PROC / pid / "ns" / "net").st_ino
        except OSError:
            continue
    return 0


def label_of(first_pid: int) -> str:
    """A namespace no name was given: its first process's container, else its command."""
    container = container_name(cgroup_of(first_pid))
    return container or f"{comm_of(first_pid)}({first_pid})"


class NetnsNames:
    """Namespace inode -> the name shown, refreshed at most every REFRESH_S. `walk=False`: only
    the `ip netns` names and "host" (a few stats, cheap enough for a redraw); the others, which
    take a walk of /proc, are left to details that open on request."""

    def __init__(self, refresh_s: float = REFRESH_S, walk: bool = True) -> None:
        self._walk = walk
        self._refresh_s = refresh_s
        self._names: dict[int, str] = {}
        self._read_at = -refresh_s

    def names(self) -> dict[int, str]:
        now = time.monotonic()
        if now - self._read_at >= self._refresh_s:
            self._read_at = now
            self._names = self._read(self._walk)
        return self._names

    def name(self, inode: int) -> str:
        """Its name, or "" (unknown here: gone, or a recording's from another host)."""
        return self.names().get(inode, "") if inode else ""

    @staticmethod
    def _read(walk: bool) -> dict[int, str]:
        names = {host_netns(): "host"}
        names.update(named_namespaces())
        for inode, pids in (pids_by_netns() if walk else {}).items():
            if inode not in names:
                names[inode] = label_of(min(pids))
        names.pop(0, None)
        return names


def shown(inode: int, name: str) -> str:
    """How a namespace is written where there is room for both: `name (inode)`."""
    if not inode:
        return "-"
    return f"{name} ({inode})" if name else str(inode)


def with_inodes(text: str, names: dict[int, str]) -> str:
    """A filter's `netns:NAME` terms as the inodes of the namespaces of that name (`ip netns`
    names, "host", containers, `comm(pid)`), so that every tab's filter, which compares inodes,
    takes names too. A name no namespace has is a FilterError."""
    words = []
    for word in text.split():
        negate, key, values = word.startswith("!"), *word.lstrip("!").partition(":")[::2]
        if key.lower() != "netns" or not values:
            words.append(word)
            continue
        inodes: list[str] = []
        for value in values.split(","):
            if value.isdigit() or not value:
                inodes.append(value)
                continue
            found = [str(inode) for inode, name in names.items() if name == value]
            if not found:
                raise FilterError(f"no network namespace is named {value!r} here")
            inodes += found
        words.append(("!" if negate else "") + "netns:" + ",".join(inodes))
    return " ".join(words)


def this_machines_netns(text: str) -> str:
    """A live filter's `netns:NAME` terms as inodes, by this machine's names; the walk of
    /proc that names take only when a term names one."""
    if "netns:" not in text.lower():
        return text
    return with_inodes(text, NetnsNames().names())
