"""Live Calls probe: a client in one namespace talks to an echo server in another; the probe,
filtered in the kernel to the client's PID, must show the client's calls in order with their
fds and byte counts, each nested event under the call it fired in, and nothing of the server."""

from __future__ import annotations

import errno
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.host.procinfo import started_at
from netwatch.tabs.calls.model import ENTER, EXIT, CallsState
from netwatch.tabs.calls.probe import CallsProbe
from tests.helpers.calls_live import (
    SIZE,
    calls_of,
    finish,
    nested,
    run_client,
    socket_calls,
    start,
)
from tests.helpers.paths import GEN
from tests.netns import Link, veth_pair

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("live_bpf")]


@pytest.fixture
def link() -> Iterator[Link]:
    with veth_pair("k") as pair:
        yield pair


@pytest.mark.parametrize(("proto", "port"), [("tcp", 7400), ("udp", 7401)])
def test_client_calls_in_order_with_fds_bytes_and_nested_events(
    link: Link, proto: str, port: int
) -> None:
    report, events = run_client(link, proto, port)
    pid, fd = report["pid"], report["fd"]
    assert isinstance(fd, int)

    # Only the client: the server answered every message, and none of its calls were traced.
    assert events and {e.pid for e in events} == {pid}

    nodes = socket_calls(calls_of(events), fd)
    names = [n.name for n in nodes]
    # One read per chunk the client needed; TCP may deliver the echo in more than one piece.
    reads, recvs = report["read"], report["recv"]
    assert isinstance(reads, list) and isinstance(recvs, list)
    assert names == ["socket", "connect", "write", *["read"] * len(reads), "sendto",
                     *["recvfrom"] * len(recvs), "getsockname", "close"]  # fmt: skip

    # Every call closed (depth back to zero), on the client's fd, each with its result.
    for node in nodes:
        assert node.exit is not None, node.name
        if node.name != "socket":
            assert node.enter.arg("fd") == str(fd), node.name
    by_name = {n.name: n for n in nodes}
    assert by_name["connect"].enter.arg("addr") == f"{link.b.addr}:{port}"
    assert by_name["connect"].exit.ret == 0  # type: ignore[union-attr]
    assert by_name["write"].exit.ret == report["wrote"] == SIZE  # type: ignore[union-attr]
    assert by_name["sendto"].exit.ret == report["sent"] == SIZE // 2  # type: ignore[union-attr]
    assert [n.exit.ret for n in nodes if n.name == "read"] == reads  # type: ignore[union-attr]
    assert [n.exit.ret for n in nodes if n.name == "recvfrom"] == recvs  # type: ignore[union-attr]
    assert sum(reads) == SIZE and sum(recvs) == SIZE // 2

    # Nested events sit under the call they fired in, with that call's byte counts.
    for node, size in ((by_name["write"], SIZE), (by_name["sendto"], SIZE // 2)):
        sends = nested(node, "sock_send_length")
        assert [e.arg("bytes") for e in sends] == [str(size)]
        # The call's own packets (an ARP exchange may run inside it too, with no socket).
        queued = [
            e for e in nested(node, "net_dev_queue") if e.arg("lport") == str(report["lport"])
        ]
        assert {e.arg("dev") for e in queued} == {link.a.dev}
        assert all(e.arg("socket") is None for e in queued)
        # Wire bytes: payload + per packet Ethernet 14 + IPv4 20 (+ TCP 32 with timestamps;
        # UDP: one 8-byte header, the datagram fragmented).
        wire = sum(int(e.arg("len") or 0) for e in queued)
        n = len(queued)
        assert wire == (size + n * (14 + 20 + 32) if proto == "tcp" else size + 8 + n * 34)
    for node in (n for n in nodes if n.name in ("read", "recvfrom")):
        recv = nested(node, "sock_recv_length")
        assert [e.arg("bytes") for e in recv] == [str(node.exit.ret)]  # type: ignore[union-attr]
        assert not nested(node, "sock_send_length")
    for node in nodes:
        assert all(node.enter.ts <= e.ts <= node.exit.ts for e in node.events)  # type: ignore[union-attr]
    if proto == "tcp":
        states = [e.arg("state") for e in nested(by_name["connect"], "inet_sock_set_state")]
        assert states[0] == "CLOSE->SYN_SENT"
        closing = [
            e.arg("state")
            for e in nested(by_name["close"], "inet_sock_set_state")
            if e.arg("socket") != "other"
        ]
        # Whichever side closed first: the server may already have sent its FIN.
        assert closing[0] in ("ESTABLISHED->FIN_WAIT1", "CLOSE_WAIT->LAST_ACK")


def test_kinds_alternate_enter_exit_per_thread(link: Link) -> None:
    """The stream itself: per thread, enter and exit alternate and events only come between."""
    _, events = run_client(link, "udp", 7402)
    depth = 0
    for ev in events:
        if ev.kind == ENTER:
            assert depth == 0
            depth = 1
        elif ev.kind == EXIT:
            assert depth == 1
            depth = 0
        else:
            assert depth == 1
    assert depth == 0


def test_suspended_probe_sees_nothing_and_resumes(link: Link) -> None:
    server = start(link.b, "echo-server", link.b.addr, "7403", "--proto", "udp", "--count", "4")
    probe = CallsProbe(interval=1.0, start_suspended=True, comms=["calls-peer"])
    probe.open()
    try:
        assert probe.health().state == "suspended"
        rounds = []
        for resume in (False, True):
            if resume:
                probe.resume()
                assert probe.health().state == "attached"
            client = subprocess.Popen(
                link.a.exec_argv(sys.executable, GEN, "call-client", link.b.addr, "7403",
                                 "--proto", "udp", "--size", "100", "--name", "calls-peer"),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            client.communicate("go\n", timeout=60)
            time.sleep(0.2)
            sample = probe.read()
            assert sample is not None
            rounds.append({e.pid for e in sample.events})
        finish(server)
    finally:
        probe.close()
    assert rounds[0] == set()
    assert rounds[1] == {client.pid}


def test_threads_outside_the_filter_are_never_traced_not_even_while_attaching(
    link: Link,
) -> None:
    """BCC attaches while it loads, before the filter is written: a busy bystander running
    through that moment must still leave no trace."""
    busy = subprocess.Popen(
        link.a.exec_argv(sys.executable, GEN, "udp-loop", link.a.addr, "7404",
                         "--max-seconds", "8", "--name", "bystander"),
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        probe = CallsProbe(interval=1.0, comms=["nobody-runs-me"])
        probe.open()
        try:
            time.sleep(1.0)
            sample = probe.read()
        finally:
            probe.close()
    finally:
        busy.kill()
        busy.wait()
    assert sample is not None and sample.events == () and sample.lost == 0


def test_a_blocked_accept_shows_as_running_then_returns_once() -> None:
    """A call that has not returned is read from the probe's per-thread slot (its record only
    comes at the return): shown once as running, then closed by its record, never twice."""
    code = (
        "import socket, ctypes, time\n"
        "ctypes.CDLL(None).prctl(15, b'nw-blocked', 0, 0, 0)\n"
        "time.sleep(1.5)\n"  # the probe attaches meanwhile
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        "print(s.getsockname()[1], flush=True)\n"
        "c, _ = s.accept()\n"  # blocking, no timeout: one accept4 that waits
        "c.close(); s.close()\n"
    )
    state = CallsState()
    probe = CallsProbe(interval=1.0, comms=["nw-blocked"])
    probe.open()
    try:
        server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        port = int(server.stdout.readline())
        time.sleep(0.5)  # blocked in accept4 now
        for _ in range(2):  # read twice while it blocks: announced once
            sample = probe.read()
            assert sample is not None
            state.apply(sample)
            time.sleep(0.2)
        (thread,) = state.threads.values()
        assert [c.name for c in thread.calls] == ["socket", "bind", "listen", "getsockname",
                                                  "accept4"]  # fmt: skip
        assert thread.open is not None and thread.open.name == "accept4"
        assert thread.open.exit is None  # running
        # Where it runs, and since when: its start pairs the PID with this process (#24).
        assert abs(state.context_of(server.pid).started - started_at(server.pid)) < 0.05
        with socket.create_connection(("127.0.0.1", port)):
            pass
        server.wait(timeout=30)
        time.sleep(0.3)
        sample = probe.read()
        assert sample is not None
        state.apply(sample)
    finally:
        probe.close()
    names = [c.name for c in thread.calls]
    assert names[:5] == ["socket", "bind", "listen", "getsockname", "accept4"]
    assert names.count("accept4") == 1 and state.orphans == 0
    accept = thread.calls[4]
    assert accept.exit is not None and accept.exit.ret >= 0 and accept.exit.dur_us > 500_000


def test_curls_non_blocking_connects_show_how_each_ended(link: Link) -> None:
    # #24: every curl that got HTTP 200 showed `connect ... ERRORS 3`: its non-blocking
    # connect's -EINPROGRESS counted as an error, the handshake's end never tied to it. Here
    # curl connects to a server (established), to a closed port (refused: a reset), and to a
    # port whose SYNs a firewall drops (timeout, with one SYN retry in its namespace).
    assert shutil.which("curl"), "curl is a test dependency: ./setup.sh test installs it"
    subprocess.run(link.a.exec_argv("sysctl", "-qw", "net.ipv4.tcp_syn_retries=1"), check=True)
    rules = (
        "add table inet nwsyn\n"
        "add chain inet nwsyn input { type filter hook input priority 0 ; }\n"
        "add rule inet nwsyn input tcp dport 7403 drop\n"
    )
    subprocess.run(link.b.exec_argv("nft", "-f", "-"), input=rules, text=True, check=True)
    server = subprocess.Popen(
        link.b.exec_argv(sys.executable, "-m", "http.server", "--bind", link.b.addr, "7402"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    probe = CallsProbe(interval=1.0, comms=["curl"])
    probe.open()
    state = CallsState()
    try:
        time.sleep(0.5)  # listening
        codes = []
        for port in (7402, 7402, 7409, 7403):
            curl = subprocess.run(
                link.a.exec_argv("curl", "-s", "-o", "/dev/null", "--connect-timeout", "15",
                                 f"http://{link.b.addr}:{port}/"),
                timeout=30,
            )  # fmt: skip
            codes.append(curl.returncode)
        time.sleep(0.3)
        sample = probe.read()
        assert sample is not None and sample.lost == 0
        state.apply(sample)
    finally:
        probe.close()
        server.kill()
        server.wait()
    assert codes == [0, 0, 7, 28]  # curl's own: ok, ok, couldn't connect, timed out
    inet = [
        c for t in state.threads.values() for c in t.calls
        if c.name == "connect" and c.exit is not None and c.exit.ret == -errno.EINPROGRESS
    ]  # fmt: skip
    outcomes = [c.outcome.arg("outcome") if c.outcome else None for c in inet]
    assert outcomes == ["established", "established", "refused", "timeout"]
    # The reset that refused it, sent by the peer namespace's kernel (its TCP control socket,
    # a raw socket), in a softirq that ran inside curl's call: a reason by name, no port.
    # Kernels before 6.10 trace only resets a full socket sends (6.1: none for a closed port).
    resets = [e for c in inet for e in c.events if e.name == "tcp_send_reset"]
    assert all("lport" not in dict(e.args) for e in resets), [e.args for e in resets]
    if "reason" in Path("/sys/kernel/tracing/events/tcp/tcp_send_reset/format").read_text():
        assert resets, "no reset seen inside the refused connect"
        assert {dict(e.args).get("reason") for e in resets} == {"NO_SOCKET"}
    timed_out = inet[-1].outcome
    assert timed_out is not None and 2.0 < timed_out.dur_us / 1e6 < 6.0  # SYN, one retry, gone
    folds = [t.fold["connect"] for t in state.threads.values() if "connect" in t.fold]
    # The two that reached the server: no error at all. glibc's looks for nscd's unix socket
    # (absent here: ENOENT) are said apart, not counted as errors.
    assert [f.errors for f in folds[:2]] == [0, 0], [f.errors_text() for f in folds]
    assert folds[2].by_errno == {"-ECONNREFUSED": 1}
    assert folds[3].by_errno == {"-ETIMEDOUT": 1}
