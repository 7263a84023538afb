"""Issue #14's first piece, with real kernel objects: a process in a cgroup v2 directory named
as docker names its containers, inside a network namespace of the test's own, is reported with
its cgroup path, its container's short id and its netns inode, by procinfo and on the Traffic
tab's process detail. Needs root (cgroups, namespaces), not BPF."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.procinfo import process_info
from tests.conftest import require_live_bpf
from tests.netns import veth_pair

pytestmark = pytest.mark.live

CONTAINER_ID = "c0ffee" + "0123456789abcdef" * 3 + "a1b2c3d4e5"
SLICE = f"netwatch-test-{os.getpid()}.slice"


def cgroup2_root() -> Path:
    """Where this host mounts the v2 hierarchy: /sys/fs/cgroup, or .../unified when hybrid."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[2] == "cgroup2":
            return Path(fields[1])
    pytest.fail("no cgroup2 hierarchy mounted")


@pytest.fixture
def contained() -> Iterator[tuple[int, str, int]]:
    """A sleeping process in `<slice>/docker-<id>.scope` and in a netns of its own; yields
    (pid, cgroup path, netns inode), and removes all of it."""
    if os.geteuid() != 0:
        require_live_bpf()  # skips, or fails under NETWATCH_REQUIRE_BPF=1
    root = cgroup2_root()
    scope = root / SLICE / f"docker-{CONTAINER_ID}.scope"
    scope.mkdir(parents=True)
    proc = None
    try:
        with veth_pair("ctx") as link:
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
        for d in (scope, root / SLICE):
            for _ in range(50):  # the kernel frees a cgroup a moment after its last process
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


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

    from netwatch.app import NetwatchApp
    from netwatch.tabs.traffic.model import Counters, TrafficKey
    from netwatch.tabs.traffic.screen import TrafficView
    from netwatch.tabs.traffic.screen_detail import ProcessDetail
    from tests.screens.scripted import ScriptedSource
    from tests.screens.test_traffic_screen import wait_for

    pid, cgroup, netns = contained
    source = ScriptedSource()
    app = NetwatchApp({"traffic": source}, snapshot_dir=tmp_path, replay=True)
    async with app.run_test(size=(120, 40)) as pilot:
        source.push((TrafficKey(pid, 0, "nwtbctx", "sleep"), Counters(1, 1, 100, 100)))
        view = app.query_one(TrafficView)
        await wait_for(pilot, lambda: view.table.row_count == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProcessDetail))
        text = str(app.screen.query_one("#detail-process", Static).render())
        assert f"container: {CONTAINER_ID[:12]}" in text
        assert f"netns: {netns}" in text and f"cgroup:  {cgroup}" in text
