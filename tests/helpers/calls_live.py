"""Live Calls helpers several test modules run: a client traced by the Calls probe between two
namespaces, and its calls picked out of what the probe delivered."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from netwatch.tabs.calls.model import CallEvent, CallNode, CallsSample, CallsState
from netwatch.tabs.calls.probe import CallsProbe
from tests.helpers.paths import GEN
from tests.netns import Host, Link

SIZE = 3000  # more than one 1500-byte frame: the write queues several packets


def start(host: Host, *argv: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        host.exec_argv(sys.executable, GEN, *argv, "--max-seconds", "30"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())["ready"] == proc.pid
    return proc


def finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    return dict(json.loads(out.strip().splitlines()[-1]))


def run_client(link: Link, proto: str, port: int) -> tuple[dict[str, object], list[CallEvent]]:
    """Server and client started, the probe opened on the client's PID alone, then the client
    told to go. Returns the client's report and every event the probe delivered."""
    client = start(link.a, "call-client", link.b.addr, str(port), "--proto", proto,
                   "--size", str(SIZE))  # fmt: skip
    probe = CallsProbe(interval=1.0, pids=[client.pid])
    probe.open()
    try:
        # The server only once the probe is open: a compile under emulation (the 6.1 VM) can
        # take longer than the server waits for its client.
        server = start(link.b, "echo-server", link.b.addr, str(port), "--proto", proto,
                       "--count", "2")  # fmt: skip
        assert client.stdin is not None
        client.stdin.write("go\n")
        client.stdin.flush()
        report = finish(client)
        finish(server)
        time.sleep(0.2)  # the drain thread consumes every 10 ms
        sample = probe.read()
    finally:
        probe.close()
    assert sample is not None and sample.lost == 0
    return report, list(sample.events)


def calls_of(events: list[CallEvent]) -> list[CallNode]:
    state = CallsState()
    state.apply(CallsSample(0.0, 1.0, tuple(events)))
    assert state.orphans == 0
    (thread,) = state.threads.values()
    return list(thread.calls)


def socket_calls(nodes: list[CallNode], fd: int) -> list[CallNode]:
    """From the socket() that returned `fd` to the close() of it."""
    begin = next(
        i for i, n in enumerate(nodes) if n.name == "socket" and n.exit and n.exit.ret == fd
    )
    end = next(i for i, n in enumerate(nodes) if n.name == "close" and n.enter.arg("fd") == str(fd))
    return nodes[begin : end + 1]


def nested(node: CallNode, name: str) -> list[CallEvent]:
    return [e for e in node.events if e.name == name]
