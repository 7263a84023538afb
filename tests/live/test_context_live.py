"""Issue #14 with real kernel objects: processes in cgroup v2 directories named as docker and as
containerd under kubepods name their containers, inside network namespaces of the test's own.
procinfo and the Traffic tab's process detail report them (root, not BPF); the Traffic probe
charges each side's traffic with its container and its netns, as the kernel saw them (BPF)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.host.procinfo import process_info
from netwatch.tabs.traffic.decode.connections import TCP_STATES
from netwatch.tabs.traffic.model import Counters
from netwatch.tabs.traffic.probe import TrafficProbe
from tests.conftest import require_live_bpf
from tests.helpers.cgroups import cgroup_dirs, in_cgroup, remove_cgroup
from tests.helpers.paths import GEN
from tests.netns import veth_pair

pytestmark = pytest.mark.live

CONTAINER_ID = "c0ffee" + "0123456789abcdef" * 3 + "a1b2c3d4e5"
# Where the runtimes put them: only there is a 64-hex name taken for a container (#27).
SLICE = "system.slice"


@pytest.fixture
def contained() -> Iterator[tuple[int, str, int]]:
    """A sleeping process in `<slice>/docker-<id>.scope` and in a netns of its own; yields
    (pid, cgroup path, netns inode), and removes all of it."""
    if os.geteuid() != 0:
        require_live_bpf()  # skips, or fails under NETWATCH_REQUIRE_BPF=1
    proc = None
    try:
        with (
            cgroup_dirs(f"{SLICE}/docker-{CONTAINER_ID}.scope") as (scope,),
            veth_pair("ctx") as link,
        ):
            proc = subprocess.Popen(link.b.exec_argv("sleep", "30"))
            deadline = time.monotonic() + 5
            netns = os.stat(f"/run/netns/{link.b.ns}").st_ino
            # `ip netns exec` runs sleep in the namespace: wait until it has replaced itself.
            while os.stat(f"/proc/{proc.pid}/ns/net").st_ino != netns:
                assert time.monotonic() < deadline, "the process never entered its netns"
                time.sleep(0.02)
            (scope / "cgroup.procs").write_text(str(proc.pid))
            yield proc.pid, f"/{SLICE}/docker-{CONTAINER_ID}.scope", netns
            proc.kill()
            proc.wait()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()


def test_procinfo_names_the_container_its_cgroup_and_its_netns(
    contained: tuple[int, str, int],
) -> None:
    pid, cgroup, netns = contained
    info = process_info(pid)
    assert info.cgroup == cgroup
    assert info.container == CONTAINER_ID[:12]
    assert info.netns == netns and netns != os.stat("/proc/self/ns/net").st_ino


async def test_the_process_detail_shows_them(
    contained: tuple[int, str, int], tmp_path: Path
) -> None:
    from textual.widgets import Static

    from netwatch.tabs.traffic.model import Counters, TrafficKey
    from netwatch.tabs.traffic.screen import TrafficView
    from netwatch.tabs.traffic.screen.detail import ProcessDetail
    from netwatch.ui.app import NetwatchApp
    from tests.helpers.screens import wait_for
    from tests.screens.scripted import ScriptedSource

    pid, cgroup, netns = contained
    source = ScriptedSource()
    # Live: a replay's detail reads nothing of this machine (#24).
    app = NetwatchApp({"traffic": source}, snapshot_dir=tmp_path, replay=False)
    async with app.run_test(size=(120, 40)) as pilot:
        source.push((TrafficKey(pid, 0, "nwtbctx", "sleep"), Counters(1, 1, 100, 100)))
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.table.row_count == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProcessDetail))
        text = str(app.screen.query_one("#detail-process", Static).render())
        assert f"container: {CONTAINER_ID[:12]}" in text
        # The namespace by name beside its inode (#24).
        assert f"({netns})" in text and f"cgroup:  {cgroup}" in text


DOCKER_ID = "d0c4e7" + "0123456789abcdef" * 3 + "0a1b2c3d4e"
CRI_ID = "c71c0e" + "fedcba9876543210" * 3 + "9f8e7d6c5b"
DOCKER_SCOPE = f"{SLICE}/docker-{DOCKER_ID}.scope"
POD_SLICE = f"kubepods.slice/kubepods-pod{os.getpid()}.slice"
CRI_SCOPE = f"{POD_SLICE}/cri-containerd-{CRI_ID}.scope"


@pytest.mark.usefixtures("live_bpf")
def test_each_sides_traffic_names_its_container_and_netns(
    probe: TrafficProbe,
) -> None:
    """A TCP server in a containerd (kubepods) cgroup in one netns, its client in a docker
    cgroup in another, joined by veth. The server's received bytes: within 5% of its veth's."""
    with cgroup_dirs(DOCKER_SCOPE, CRI_SCOPE) as (docker, cri), veth_pair("cgx") as link:
        before_b = link.b.counters()
        server = subprocess.Popen(
            in_cgroup(cri, link.b.exec_argv(sys.executable, GEN, "tcp-recv", link.b.addr, "5311")),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        assert json.loads(server.stdout.readline())["ready"] == server.pid
        client = subprocess.run(
            in_cgroup(docker, link.a.exec_argv(sys.executable, GEN, "tcp-send", link.b.addr,
                                               "5311", "--count", "500", "--size", "8192")),
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        sent = json.loads(client.stdout)
        out, _ = server.communicate(timeout=60)
        got = json.loads(out.strip().splitlines()[-1])
        assert got["payload"] == sent["payload"] == 500 * 8192
        # The client's container is gone before netwatch first reads: as `docker run --rm` of
        # a short job would be. The kernel kept the cgroup's own name.
        remove_cgroup(docker)
        netns = {h.ns: os.stat(f"/run/netns/{h.ns}").st_ino for h in (link.a, link.b)}
        time.sleep(0.3)  # the last softirq, on the other CPU
        sample = probe.read()
        assert sample is not None
        wire_rx = link.b.counters()["rx_bytes"] - before_b["rx_bytes"]

    rx = sum(r.counts.recv_bytes for r in sample.rows if r.key.pid == got["pid"])
    assert abs(rx - wire_rx) <= 0.05 * wire_rx, (rx, wire_rx)
    # The server's connection (its port, the client's address) got those bytes: within 5% of
    # the veth's count, and exactly what its process's rows got (#14: the views add up).
    conns = [c for c in sample.connections if c.key.pid == got["pid"]]
    (conn,) = [c for c in conns if c.key.lport == 5311 and c.key.raddr == link.a.addr]
    assert conn.key.proto == "tcp" and abs(conn.counts.recv_bytes - wire_rx) <= 0.05 * wire_rx
    assert conn.state in TCP_STATES[1:] and 0 < time.time() - conn.since < 60
    rows = [r.counts for r in sample.rows if r.key.pid == got["pid"]]
    assert sum((c.counts for c in conns), Counters()) == sum(rows, Counters())
    (back,) = [c for c in sample.connections if c.key.pid == sent["pid"]]
    assert (back.key.rport, back.key.raddr) == (5311, link.b.addr)
    server_ctx, client_ctx = sample.context[got["pid"]], sample.context[sent["pid"]]
    assert server_ctx.cgroup == f"/{CRI_SCOPE}" and server_ctx.container == CRI_ID[:12]
    assert client_ctx.cgroup == f"…/docker-{DOCKER_ID}.scope"
    assert client_ctx.container == DOCKER_ID[:12]
    assert (server_ctx.netns, client_ctx.netns) == (netns[link.b.ns], netns[link.a.ns])
    assert len(set(netns.values()) | {os.stat("/proc/self/ns/net").st_ino}) == 3


@pytest.mark.usefixtures("live_bpf")
def test_an_accept_names_the_servers_container_and_the_connections_netns() -> None:
    from netwatch.tabs.accepts.probe import AcceptsProbe

    accepts = AcceptsProbe(interval=1.0)
    accepts.open()
    try:
        with cgroup_dirs(CRI_SCOPE) as (cri,), veth_pair("cga") as link:
            netns = os.stat(f"/run/netns/{link.b.ns}").st_ino
            server = subprocess.Popen(
                in_cgroup(cri, link.b.exec_argv(sys.executable, GEN, "accept-server",
                                                link.b.addr, "5312", "--count", "3")),
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert server.stdout is not None
            assert json.loads(server.stdout.readline())["ready"] == server.pid
            subprocess.run(
                link.a.exec_argv(sys.executable, GEN, "connect-many", link.b.addr, "5312",
                                 "--count", "3"),
                capture_output=True, text=True, timeout=60, check=True,
            )  # fmt: skip
            server.communicate(timeout=60)
            time.sleep(0.3)  # the drain thread looks every 20 ms
            sample = accepts.read()
    finally:
        accepts.close()
    assert sample is not None and sample.lost == 0
    mine = [e for e in sample.events if e.pid == server.pid]
    assert len(mine) == 3
    for e in mine:
        assert (e.cgroup, e.container, e.netns) == (f"/{CRI_SCOPE}", CRI_ID[:12], netns)


@pytest.mark.usefixtures("live_bpf")
def test_calls_name_the_threads_container_and_netns() -> None:
    """A process in a docker-named cgroup in its own netns makes a socket call while the Calls
    probe traces it: the sample says where that process runs, and the tab's thread header and
    its `container:` filter use it."""
    from netwatch.tabs.calls.model import CallsState
    from netwatch.tabs.calls.probe import CallsProbe
    from netwatch.tabs.calls.view_model import parse_calls_filter

    code = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "s.sendto(b'x', ('127.0.0.1', 9))\n"
        "sys.stdin.readline()\n"
    )
    with cgroup_dirs(DOCKER_SCOPE) as (docker,), veth_pair("cgc") as link:
        netns = os.stat(f"/run/netns/{link.a.ns}").st_ino
        proc = subprocess.Popen(
            in_cgroup(docker, link.a.exec_argv(sys.executable, "-c", code)),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        try:
            assert proc.stdout.readline().strip() == "ready"
            calls = CallsProbe(interval=1.0, pids=[proc.pid])
            calls.open()
            try:
                proc.stdin.write("go\n")
                proc.stdin.flush()
                time.sleep(0.5)
                sample = calls.read()
            finally:
                calls.close()
        finally:
            proc.stdin.write("end\n")
            proc.stdin.flush()
            proc.wait(timeout=30)
    assert sample is not None
    assert any(e.pid == proc.pid and e.name == "sendto" for e in sample.events)
    place = sample.context[proc.pid]
    assert (place.cgroup, place.container, place.netns) == (
        f"/{DOCKER_SCOPE}", DOCKER_ID[:12], netns)  # fmt: skip
    state = CallsState()
    state.apply(sample)
    (thread,) = [t for t in state.threads.values() if t.pid == proc.pid]
    place_of = state.context_of(thread.pid)
    assert parse_calls_filter(f"container:{DOCKER_ID[:12]}").matches_thread(thread, place_of)
    assert not parse_calls_filter("!container:*").matches_thread(thread, place_of)
