"""Bounded test traffic: every loop stops by count and by time. Prints one JSON line of results.

traffic_gen.py udp-recv HOST PORT [--idle S] [--max-seconds S]
traffic_gen.py udp-send HOST PORT --count N --size B [--max-seconds S] [--pace-every K]
traffic_gen.py tcp-recv HOST PORT [--max-seconds S]
traffic_gen.py tcp-send HOST PORT --count N --size B [--max-seconds S]
traffic_gen.py udp-loop HOST PORT --max-seconds S   (to itself, 20 datagrams per 20 ms)
traffic_gen.py echo-server HOST PORT --proto tcp|udp --count N
traffic_gen.py call-client HOST PORT --proto tcp|udp --size B   (waits for a line on stdin)
"""

from __future__ import annotations

import argparse
import array
import fcntl
import json
import os
import signal
import socket
import sys
import termios
import time
from collections.abc import Callable, Mapping


def set_comm(name: str) -> None:
    import ctypes

    pr_set_name = 15
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_name, name.encode()[:15], 0, 0, 0)


def udp_recv(host: str, port: int, idle: float, max_seconds: float) -> dict[str, int]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((host, port))
    print(json.dumps({"ready": os.getpid()}), flush=True)
    s.settimeout(idle)
    packets = payload = 0
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        try:
            data = s.recv(65536)
        except TimeoutError:
            if packets:
                break
            continue
        packets += 1
        payload += len(data)
    return {"pid": os.getpid(), "packets": packets, "payload": payload}


def udp_send(
    host: str, port: int, count: int, size: int, max_seconds: float, pace_every: int
) -> dict[str, int]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    data = b"n" * size
    deadline = time.monotonic() + max_seconds
    sent = 0
    while sent < count and time.monotonic() < deadline:
        s.sendto(data, (host, port))
        sent += 1
        if pace_every and sent % pace_every == 0:
            time.sleep(0.001)  # let a slow reader keep up: the test wants no socket drops
    return {"pid": os.getpid(), "packets": sent, "payload": sent * size}


def tcp_recv(host: str, port: int, max_seconds: float) -> dict[str, int]:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    listener.settimeout(max_seconds)
    conn, _ = listener.accept()
    conn.settimeout(max_seconds)
    payload = 0
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        chunk = conn.recv(1 << 16)
        if not chunk:
            break
        payload += len(chunk)
    conn.close()
    return {"pid": os.getpid(), "payload": payload}


def unacked(s: socket.socket) -> int:
    """Bytes in the socket's send queue, sent or not, that the peer has not acknowledged."""
    out = array.array("i", [0])
    fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, out)  # SIOCOUTQ
    return out[0]


def tcp_send(host: str, port: int, count: int, size: int, max_seconds: float) -> dict[str, int]:
    s = socket.create_connection((host, port), timeout=max_seconds)
    data = b"t" * size
    deadline = time.monotonic() + max_seconds
    sent = 0
    while sent < count and time.monotonic() < deadline:
        s.sendall(data)
        sent += 1
    # Every byte acknowledged before the FIN: ACKs that arrive after shutdown() (FIN_WAIT)
    # never reach tcp:tcp_probe, so how much was still in flight decided how many the
    # sender's row missed (docs/attribution.md), 0.5-3% of them from one run to the next.
    while unacked(s) and time.monotonic() < deadline:
        time.sleep(0.001)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # wait for the peer's close so every segment has crossed the link
    s.close()
    return {"pid": os.getpid(), "payload": sent * size}


def udp_loop(host: str, port: int, size: int, max_seconds: float) -> dict[str, int]:
    """One process that is both ends, on loopback: its row shows both directions."""
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind((host, port))
    r.setblocking(False)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    sent = 0
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        for _ in range(20):
            s.sendto(b"l" * size, r.getsockname())
            sent += 1
        try:
            while True:
                r.recv(65536)
        except BlockingIOError:
            pass
        time.sleep(0.02)
    return {"pid": os.getpid(), "packets": sent}


def accept_server(
    host: str, port: int, count: int, api: str, uid: int | None, max_seconds: float
) -> dict[str, object]:
    """Accept `count` connections with accept() and an address buffer, or accept4() with NULL,
    as `uid` if given; report each accepted peer as the server saw it (getpeername)."""
    import ctypes

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1024)
    if uid is not None:
        os.setgid(uid)
        os.setuid(uid)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    libc = ctypes.CDLL(None, use_errno=True)
    storage = ctypes.create_string_buffer(128)
    length = ctypes.c_uint32(128)
    peers: list[list[object]] = []
    deadline = time.monotonic() + max_seconds
    while len(peers) < count and time.monotonic() < deadline:
        if api == "accept":
            length.value = 128
            fd = libc.accept(listener.fileno(), storage, ctypes.byref(length))
        else:
            fd = libc.accept4(listener.fileno(), None, None, 0)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "accept failed")
        conn = socket.socket(fileno=fd)
        peer = conn.getpeername()
        peers.append([peer[0], peer[1]])
        conn.close()
    return {"pid": os.getpid(), "uid": os.getuid(), "peers": peers}


def connect_many(
    host: str, port: int, count: int, pace: float, max_seconds: float
) -> dict[str, object]:
    """Open and close `count` connections; report each local (address, port) used."""
    deadline = time.monotonic() + max_seconds
    ports: list[list[object]] = []
    while len(ports) < count and time.monotonic() < deadline:
        with socket.create_connection((host, port), timeout=max_seconds) as s:
            local = s.getsockname()
            ports.append([local[0], local[1]])
        if pace:
            time.sleep(pace)
    return {"pid": os.getpid(), "local": ports}


def echo_server(host: str, port: int, proto: str, count: int, max_seconds: float) -> dict[str, int]:
    """Echo `count` messages back (TCP: on connections one after another), then stop."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.settimeout(max_seconds)
    if proto == "tcp":
        s.listen()
    print(json.dumps({"ready": os.getpid()}), flush=True)
    echoed = 0
    deadline = time.monotonic() + max_seconds
    while echoed < count and time.monotonic() < deadline:
        if proto == "udp":
            data, peer = s.recvfrom(65536)
            s.sendto(data, peer)
            echoed += 1
            continue
        conn, _ = s.accept()
        with conn:
            conn.settimeout(max_seconds)
            while echoed < count and (data := conn.recv(65536)):
                conn.sendall(data)
                echoed += 1
    return {"pid": os.getpid(), "echoed": echoed}


def call_client(
    host: str, port: int, proto: str, size: int, max_seconds: float
) -> dict[str, object]:
    """Waits for a line on stdin (the probe is set up by then), then one of each: socket,
    connect, write, read, sendto, recvfrom, close. Reports the fd and every byte count."""
    print(json.dumps({"ready": os.getpid()}), flush=True)
    sys.stdin.readline()
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    # Blocking, so each call is exactly one syscall (a timeout would add polls and make the fd
    # non-blocking for os.read); the alarm bounds the time instead.
    signal.alarm(max(1, int(max_seconds)))
    s = socket.socket(socket.AF_INET, kind)
    s.connect((host, port))
    fd = s.fileno()
    first, second = b"w" * size, b"s" * (size // 2)
    wrote = os.write(fd, first)
    got_read = _read_exactly(lambda n: os.read(fd, n), wrote, proto)
    sent = s.send(second)
    got_recv = _read_exactly(s.recv, sent, proto)
    local = s.getsockname()
    s.close()
    return {
        "pid": os.getpid(),
        "fd": fd,
        "wrote": wrote,
        "read": got_read,
        "sent": sent,
        "recv": got_recv,
        "lport": local[1],
    }


def _read_exactly(read: Callable[[int], bytes], want: int, proto: str) -> list[int]:
    """The size of each read it took to get `want` bytes back (UDP: one datagram)."""
    sizes: list[int] = []
    while sum(sizes) < want:
        sizes.append(len(read(65536)))
        if proto == "udp" or not sizes[-1]:
            break
    return sizes


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument(
        "mode",
        choices=[
            "udp-recv",
            "udp-send",
            "tcp-recv",
            "tcp-send",
            "udp-loop",
            "accept-server",
            "connect-many",
            "echo-server",
            "call-client",
        ],
    )
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--size", type=int, default=1000)
    p.add_argument("--idle", type=float, default=1.5)
    p.add_argument("--max-seconds", type=float, default=20.0)
    p.add_argument("--pace-every", type=int, default=0)
    p.add_argument("--name", help="command name to show in netwatch (prctl PR_SET_NAME)")
    p.add_argument("--api", choices=["accept", "accept4-null"], default="accept")
    p.add_argument("--uid", type=int, help="accept-server: drop to this UID after listen()")
    p.add_argument("--pace", type=float, default=0.0, help="connect-many: seconds between")
    p.add_argument("--proto", choices=["tcp", "udp"], default="tcp")
    a = p.parse_args()
    if a.name:
        set_comm(a.name)
    result: Mapping[str, object]
    if a.mode == "udp-recv":
        result = udp_recv(a.host, a.port, a.idle, a.max_seconds)
    elif a.mode == "udp-send":
        result = udp_send(a.host, a.port, a.count, a.size, a.max_seconds, a.pace_every)
    elif a.mode == "accept-server":
        result = accept_server(a.host, a.port, a.count, a.api, a.uid, a.max_seconds)
    elif a.mode == "connect-many":
        result = connect_many(a.host, a.port, a.count, a.pace, a.max_seconds)
    elif a.mode == "echo-server":
        result = echo_server(a.host, a.port, a.proto, a.count, a.max_seconds)
    elif a.mode == "call-client":
        result = call_client(a.host, a.port, a.proto, a.size, a.max_seconds)
    elif a.mode == "udp-loop":
        result = udp_loop(a.host, a.port, a.size, a.max_seconds)
    elif a.mode == "tcp-recv":
        result = tcp_recv(a.host, a.port, a.max_seconds)
    else:
        result = tcp_send(a.host, a.port, a.count, a.size, a.max_seconds)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
