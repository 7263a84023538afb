"""A process's sockets and a port's holders, read in the process's own network namespace.

psutil reads /proc/net/*, the tables of the namespace netwatch runs in, so a process in a
container's namespace had "sockets: 0" however many its descriptors held. /proc/PID/net/* are
the tables of PID's namespace: a socket is matched to its descriptor there, by inode (the
`socket:[INODE]` a descriptor links to). Nothing here enters a namespace or spawns a process.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
# /proc/PID/net file, kind shown, address family (0: AF_UNIX's own format).
TABLES = (
    ("tcp", "tcp", socket.AF_INET),
    ("tcp6", "tcp6", socket.AF_INET6),
    ("udp", "udp", socket.AF_INET),
    ("udp6", "udp6", socket.AF_INET6),
    ("raw", "raw", socket.AF_INET),
    ("raw6", "raw6", socket.AF_INET6),
    ("unix", "unix", 0),
)
TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
    6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}  # fmt: skip
# A namespace's tables are read whole; past this many lines the rest is not read.
MAX_TABLE_LINES = 1_000_000


@dataclass(frozen=True, slots=True)
class SocketInfo:
    fd: int
    kind: str  # tcp, tcp6, udp, udp6, raw, raw6, unix; "other" (netlink, packet, ...)
    local: str
    remote: str
    status: str  # TCP's state; "" for the others
    lport: int = 0
    inode: int = 0


def socket_fds(pid: int) -> dict[int, int]:
    """The process's socket descriptors, by the socket's inode; empty if it has exited."""
    found: dict[int, int] = {}
    fd_dir = PROC / str(pid) / "fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return found
    for name in names:
        try:
            target = os.readlink(fd_dir / name)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:[") and name.isdigit():
            found.setdefault(int(target[8:-1]), int(name))
    return found


def _inet(hex_addr: str, family: int) -> tuple[str, int]:
    """`0100007F:1F90` (the kernel's words in host order, little-endian here) to (ip, port)."""
    addr, _, port = hex_addr.partition(":")
    raw = bytes.fromhex(addr)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, words), int(port, 16)


def _shown(ip: str, port: int, family: int) -> str:
    if port == 0 and ip in ("0.0.0.0", "::"):
        return "-"
    return f"[{ip}]:{port}" if family == socket.AF_INET6 else f"{ip}:{port}"


def _lines(path: Path) -> Iterator[list[str]]:
    try:
        with path.open(encoding="ascii", errors="replace") as f:
            next(f, None)  # the header
            for n, line in enumerate(f):
                if n >= MAX_TABLE_LINES:
                    return
                yield line.split()
    except OSError:
        return


INET_TABLES = tuple(t for t in TABLES if t[2])


def namespace_sockets(
    pid: int, tables: tuple[tuple[str, str, int], ...] = TABLES
) -> dict[int, SocketInfo]:
    """Every socket of PID's network namespace in `tables` (inet and unix by default), by
    inode (fd left 0)."""
    found: dict[int, SocketInfo] = {}
    net = PROC / str(pid) / "net"
    for name, kind, family in tables:
        for words in _lines(net / name):
            try:
                if family == 0:  # Num RefCount Protocol Flags Type St Inode [Path]
                    inode = int(words[6])
                    path = words[7] if len(words) > 7 else "-"
                    found[inode] = SocketInfo(0, kind, path, "-", "", 0, inode)
                    continue
                # sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
                lip, lport = _inet(words[1], family)
                rip, rport = _inet(words[2], family)
                state = int(words[3], 16)
                inode = int(words[9])
            except (IndexError, ValueError):
                continue  # a line this reader does not know: skipped, not guessed
            status = TCP_STATES.get(state, "") if kind.startswith("tcp") else ""
            found[inode] = SocketInfo(
                0, kind, _shown(lip, lport, family), _shown(rip, rport, family), status,
                lport, inode,
            )  # fmt: skip
    return found


def process_sockets(pid: int) -> tuple[SocketInfo, ...]:
    """The process's sockets as its own namespace's tables describe them, by descriptor.
    A descriptor whose socket is in none of them (netlink, packet) is "other"."""
    fds = socket_fds(pid)
    if not fds:
        return ()
    tables = namespace_sockets(pid)
    made = []
    for inode, fd in fds.items():
        known = tables.get(inode)
        if known is None:
            made.append(SocketInfo(fd, "other", "-", "-", "", 0, inode))
        else:
            made.append(
                SocketInfo(fd, known.kind, known.local, known.remote, known.status,
                           known.lport, inode)
            )  # fmt: skip
    return tuple(sorted(made, key=lambda s: s.fd))


def pids_by_netns(pids: Iterable[int] | None = None) -> dict[int, list[int]]:
    """Processes by the inode of their network namespace (all of /proc's by default)."""
    if pids is None:
        pids = (int(p) for p in os.listdir(PROC) if p.isdigit())
    found: dict[int, list[int]] = {}
    for pid in pids:
        try:
            found.setdefault(os.stat(PROC / str(pid) / "ns" / "net").st_ino, []).append(pid)
        except OSError:
            continue
    return found


def comm_of(pid: int) -> str:
    """Its comm as the probes decode theirs (surrogateescape), so the two compare; "?" if gone.
    Untrusted text: escaped where it is shown."""
    try:
        raw = (PROC / str(pid) / "comm").read_bytes()
    except OSError:
        return "?"
    return raw.rstrip(b"\n").decode("utf-8", "surrogateescape")


def port_holders(ports: Iterable[tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
    """Per (netns inode, local port), `comm(pid)` of the processes holding an inet socket bound
    to that port in that namespace, right now. One walk of /proc for every port asked; a port
    of netns 0 (unknown) is looked up in every namespace."""
    wanted = list(dict.fromkeys(ports))
    holders: dict[tuple[int, int], set[str]] = {key: set() for key in wanted}
    by_netns = pids_by_netns()
    for netns, pids in by_netns.items():
        keys = [k for k in wanted if k[0] in (netns, 0)]
        if not keys:
            continue
        ports_here = {port for _, port in keys}
        bound: dict[int, int] = {}  # socket inode -> port
        for pid in pids:  # any process of the namespace shows its tables
            sockets = namespace_sockets(pid, INET_TABLES)  # a port is an inet socket's
            bound = {s.inode: s.lport for s in sockets.values() if s.lport in ports_here}
            if sockets or (PROC / str(pid)).exists():  # read (else it exited: the next one)
                break
        if not bound:
            continue
        for pid in pids:
            for inode in socket_fds(pid).keys() & bound.keys():
                for key in keys:
                    if key[1] == bound[inode]:
                        holders[key].add(f"{comm_of(pid)}({pid})")
    return {key: sorted(names) for key, names in holders.items()}
