"""TCP health scenarios for the Connections tests: failed connects, resets, a slow reader.
Every mode is bounded in count and time, prints {"ready": PID} when a server is listening and
one JSON line of what it did at the end.

  connect-fail HOST PORT --count N [--give-up S] [--pace S]  N connects, one after another; each
                                                   outcome counted (refused, timeout, ...);
                                                   --give-up: close it after S s (aborted)
  reset-server HOST PORT --count N                 accept N, close each with SO_LINGER 0
  reset-client HOST PORT --count N                 connect N times, wait for each reset
  slow-recv HOST PORT --read-size B --pause S      accept one, read B bytes every S seconds
  bulk-send HOST PORT --seconds S [--cc NAME]      send as fast as it can for S seconds
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import select
import socket
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, by path
from tests.traffic_gen import set_comm


def _listener(host: str, port: int, rcvbuf: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((host, port))
    s.listen(1024)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    return s


def connect_fail(
    host: str, port: int, count: int, give_up: float, pace: float, max_seconds: float
) -> dict[str, object]:
    outcomes: dict[str, int] = {}
    ports: list[int] = []
    took: list[float] = []  # each connect's seconds, from before it to after its outcome
    deadline = time.monotonic() + max_seconds
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        s.setblocking(False)
        began = time.monotonic()
        code = s.connect_ex((host, port))
        ports.append(s.getsockname()[1])
        if code == errno.EINPROGRESS:
            wait = give_up if give_up else max(0.0, deadline - time.monotonic())
            select.select([], [s], [], wait)
            code = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code == 0 and give_up:
                try:
                    s.getpeername()
                except OSError:
                    code = -1  # still connecting: given up on
        took.append(time.monotonic() - began)
        name = {0: "established", errno.ECONNREFUSED: "refused", errno.ETIMEDOUT: "timeout",
                errno.EHOSTUNREACH: "unreachable", -1: "given_up"}.get(code, str(code))  # fmt: skip
        outcomes[name] = outcomes.get(name, 0) + 1
        s.close()
        time.sleep(pace)
    return {"pid": os.getpid(), "outcomes": outcomes, "ports": ports, "took": took}


def reset_server(host: str, port: int, count: int, max_seconds: float) -> dict[str, object]:
    listener = _listener(host, port)
    listener.settimeout(max_seconds)
    closed = 0
    deadline = time.monotonic() + max_seconds
    while closed < count and time.monotonic() < deadline:
        conn, _ = listener.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # linger 0: an abortive close, a reset to the peer
        closed += 1
    return {"pid": os.getpid(), "reset": closed}


def reset_client(host: str, port: int, count: int, max_seconds: float) -> dict[str, object]:
    resets = 0
    ports = []
    for _ in range(count):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.settimeout(max_seconds)
            try:
                # The reset may come before connect() has returned: established, then reset.
                s.connect((host, port))
                ports.append(s.getsockname()[1])
                s.recv(1)
            except ConnectionResetError:
                resets += 1
    return {"pid": os.getpid(), "resets": resets, "ports": ports}


def slow_recv(
    host: str, port: int, read_size: int, pause: float, max_seconds: float
) -> dict[str, object]:
    listener = _listener(host, port, rcvbuf=4096)
    listener.settimeout(max_seconds)
    conn, _ = listener.accept()
    got = 0
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        chunk = conn.recv(read_size)
        if not chunk:
            break
        got += len(chunk)
        time.sleep(pause)
    conn.close()
    return {"pid": os.getpid(), "payload": got}


def bulk_send(host: str, port: int, seconds: float, cc: str) -> dict[str, object]:
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    if cc:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
    s.settimeout(seconds + 30)
    s.connect((host, port))
    data = b"b" * 65536
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sent += s.send(data)
    lport = s.getsockname()[1]
    s.shutdown(socket.SHUT_WR)
    s.settimeout(30)
    try:
        s.recv(1)  # the peer's close: every segment has crossed
    except OSError:
        pass
    s.close()
    return {"pid": os.getpid(), "payload": sent, "lport": lport}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["connect-fail", "reset-server", "reset-client", "slow-recv",
                                    "bulk-send"])  # fmt: skip
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--give-up", type=float, default=0.0)
    p.add_argument("--read-size", type=int, default=4096)
    p.add_argument("--pause", type=float, default=0.01)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--max-seconds", type=float, default=30.0)
    p.add_argument("--cc", default="", help="bulk-send: its congestion control (cubic, bbr)")
    p.add_argument("--pace", type=float, default=0.0, help="connect-fail: seconds between")
    p.add_argument("--name", help="command name to show in netwatch (prctl PR_SET_NAME)")
    a = p.parse_args()
    if a.name:
        set_comm(a.name)
    if a.mode == "connect-fail":
        result = connect_fail(a.host, a.port, a.count, a.give_up, a.pace, a.max_seconds)
    elif a.mode == "reset-server":
        result = reset_server(a.host, a.port, a.count, a.max_seconds)
    elif a.mode == "reset-client":
        result = reset_client(a.host, a.port, a.count, a.max_seconds)
    elif a.mode == "slow-recv":
        result = slow_recv(a.host, a.port, a.read_size, a.pause, a.max_seconds)
    else:
        result = bulk_send(a.host, a.port, a.seconds, a.cc)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
