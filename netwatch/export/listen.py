"""Where the exporter listens: the socket systemd bound for it (socket activation), else one it
binds itself.

Taking systemd's socket is what keeps the port ours: the `.socket` unit binds it as root at boot,
before any user can, so nobody can squat the unprivileged port and serve forged metrics while
`netwatch export` fails with "Address already in use".
"""

from __future__ import annotations

import os
import socket

SD_LISTEN_FDS_START = 3


class ListenError(Exception):
    """The socket cannot be had; the message says why, in one line."""


def systemd_socket() -> socket.socket | None:
    """The one listening socket systemd passed to this process (sd_listen_fds(3)), or None."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return None
    try:
        count = int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return None
    # Not for our children: they are not the process systemd meant.
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    if count == 0:
        return None
    if count != 1:
        raise ListenError(f"systemd passed {count} sockets; the .socket unit should listen once")
    try:
        sock = socket.socket(fileno=SD_LISTEN_FDS_START)
    except OSError as exc:
        raise ListenError(f"the socket systemd passed is not usable: {exc}") from exc
    if sock.type != socket.SOCK_STREAM or not sock.getsockopt(
        socket.SOL_SOCKET, socket.SO_ACCEPTCONN
    ):
        raise ListenError("the socket systemd passed is not a listening TCP socket")
    sock.set_inheritable(False)
    return sock


def bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to HOST:PORT (not yet listening); OSError if it cannot be."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def describe(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
