"""Every TCP socket's tcp_info, in every network namespace, through sock_diag (what `ss -ti`
asks): the live half of the Connections tab, once per interval.

sock_diag answers for the namespace its netlink socket was made in. One socket per namespace
is made once, by a short-lived thread that enters the namespace (setns applies to the calling
thread only), makes the socket and is gone; the socket keeps answering for that namespace from
any thread. Namespaces are found through /run/netns and /proc/PID/ns/net, looked for again at
most every RESCAN_S: a namespace no process and no name holds has no TCP socket worth asking.
pyroute2 (maintained, in Debian and on PyPI) packs and parses the netlink messages.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import socket
import threading
import time
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pyroute2.netlink.diag import (  # type: ignore[import-untyped]
    NETLINK_SOCK_DIAG,
    DiagSocket,
    MarshalDiag,
)
from pyroute2.netlink.nlsocket import NetlinkSocket  # type: ignore[import-untyped]

from netwatch.host.netns import named_paths
from netwatch.host.sockets import PROC, pids_by_netns
from netwatch.model.addresses import v6_text

CLONE_NEWNET = 0x40000000
INET_DIAG_INFO = 2  # the extension that carries tcp_info
RESCAN_S = 5.0
MAX_NAMESPACES = 4096  # sockets held open, one per namespace
TCP_LISTEN = 10
# Asked for: every state but TIME_WAIT (a timewait sock; the connection ended at its CLOSE),
# NEW_SYN_RECV (a request, not yet a connection) and CLOSE.
STATES = sum(1 << s for s in (1, 2, 3, 4, 5, 8, 9, 10, 11))


@dataclass(frozen=True, slots=True)
class DiagSock:
    """One socket as sock_diag reports it, with the tcp_info fields the tab shows."""

    netns: int
    family: int
    laddr: str
    lport: int
    raddr: str
    rport: int
    state: int
    inode: int
    uid: int
    info: dict[str, int]


class _NamespaceDiag(DiagSocket):  # type: ignore[misc]
    """pyroute2's DiagSocket on a netlink socket made elsewhere (in another namespace)."""

    def __init__(self, made: socket.socket) -> None:
        NetlinkSocket.__init__(self, NETLINK_SOCK_DIAG, use_socket=made)
        self.set_marshal(MarshalDiag())


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _made_in(path: str) -> socket.socket:
    """A sock_diag netlink socket made inside the namespace at `path`."""
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def enter_and_make() -> None:
        libc = _libc()
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(path, os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {path}")
            try:
                made.append(socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG))
            finally:
                if libc.setns(home, CLONE_NEWNET) != 0:
                    # This thread is in the wrong namespace: it ends here, and so does it.
                    failed.append(OSError(ctypes.get_errno(), "setns back"))
        except BaseException as exc:
            failed.append(exc)
        finally:
            os.close(home)
            os.close(target)

    worker = threading.Thread(target=enter_and_make, name="netwatch-netns-enter", daemon=True)
    worker.start()
    worker.join()
    if failed:
        for s in made:
            s.close()
        raise failed[0]
    return made[0]


def namespace_paths() -> dict[int, str]:
    """A path that opens each network namespace, by its inode: `ip netns` names, then the
    first process found in each."""
    paths = {inode: str(path) for inode, path in named_paths().items()}
    for inode, pids in pids_by_netns().items():
        paths.setdefault(inode, f"{PROC}/{pids[0]}/ns/net")
    return paths


class Namespaces:
    """One sock_diag socket per network namespace, kept while the namespace lives. pyroute2's
    sockets belong to the thread that made them: all of it runs in one thread of its own."""

    def __init__(self, rescan_s: float = RESCAN_S) -> None:
        # Each namespace's socket costs pyroute2 two descriptors (the socket, its event loop's
        # epoll): a host of 500 pods outgrows the usual soft limit of 1,024.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="netwatch-sock-diag")
        self._rescan_s = rescan_s
        self._scanned_at = -rescan_s
        self._open: dict[int, _NamespaceDiag] = {}
        self._own = os.stat("/proc/self/ns/net").st_ino
        self._missing: set[int] = set()  # wanted, but no path opens them: not asked again
        self.failed = 0  # namespaces that could not be entered (gone meanwhile, or refused)

    def sockets(self, wanted: Collection[int] = ()) -> dict[int, _NamespaceDiag]:
        """The open sockets, looked for again every RESCAN_S, or at once when a namespace in
        `wanted` (one the kernel just named) has none yet: a container's first connection
        should not wait seconds to be read."""
        now = time.monotonic()
        new = any(inode not in self._open and inode not in self._missing for inode in wanted)
        if new or now - self._scanned_at >= self._rescan_s:
            self._scanned_at = now
            self._rescan()
            self._missing = {inode for inode in wanted if inode not in self._open}
        return self._open

    def _rescan(self) -> None:
        paths = namespace_paths()
        for inode in [i for i in self._open if i not in paths]:
            self._open.pop(inode).close()
        for inode, path in paths.items():
            if inode in self._open or len(self._open) >= MAX_NAMESPACES:
                continue
            try:
                made = (
                    socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
                    if inode == self._own
                    else _made_in(path)
                )
                diag = _NamespaceDiag(made)
                diag.bind()
            except OSError:
                self.failed += 1
                continue
            self._open[inode] = diag

    def forget(self, inode: int) -> None:
        gone = self._open.pop(inode, None)
        if gone is not None:
            gone.close()

    def read(self, wanted: Collection[int] = ()) -> list[DiagSock]:
        """Every namespace's TCP sockets now (read_all, in the namespaces' own thread); none
        once closed (a read that raced the probe's close: Ctrl-C while it read)."""
        try:
            job = self._thread.submit(lambda: list(read_all(self, wanted)))
        except RuntimeError:  # the thread is shut down
            return []
        return job.result()

    def count(self) -> int:
        return len(self._open)

    def close(self) -> None:
        try:
            self._thread.submit(self._close).result()
        except RuntimeError:  # closed already
            return
        self._thread.shutdown()

    def _close(self) -> None:
        for diag in self._open.values():
            diag.close()
        self._open = {}


def _text(family: int, address: str) -> str:
    if family != socket.AF_INET6:
        return address
    return v6_text(address)  # as the probe's records are written


def _parsed(netns: int, msg: Any) -> DiagSock | None:
    info = msg.get_attr("INET_DIAG_INFO")
    family = int(msg["idiag_family"])
    return DiagSock(
        netns,
        family,
        _text(family, str(msg["idiag_src"])),
        int(msg["idiag_sport"]),
        _text(family, str(msg["idiag_dst"])),
        int(msg["idiag_dport"]),
        int(msg["idiag_state"]),
        int(msg["idiag_inode"]),
        int(msg["idiag_uid"]),
        dict(info) if info is not None else {},
    )


def read_all(namespaces: Namespaces, wanted: Collection[int] = ()) -> Iterator[DiagSock]:
    """Every TCP socket (listening ones too: they tell an accepted connection's side) of every
    namespace, as sock_diag has them now."""
    for netns, diag in list(namespaces.sockets(wanted).items()):
        for family in (socket.AF_INET, socket.AF_INET6):
            try:
                msgs = diag.get_sock_stats(
                    family=family, states=STATES, extensions=1 << (INET_DIAG_INFO - 1)
                )
            except OSError:
                namespaces.forget(netns)  # its socket broke: made again at the next scan
                break
            for msg in msgs:
                parsed = _parsed(netns, msg)
                if parsed is not None:
                    yield parsed


__all__ = ["DiagSock", "Namespaces", "read_all"]
