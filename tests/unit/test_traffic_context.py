"""Where a Traffic row's process runs (#14): cgroup ids to paths, the filter keys, the grouping in
`top --batch --by`, and the context in recordings (old files without it still read)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from netwatch.cli.batch import Output
from netwatch.model.containers import MAX_CONTEXTS, ProcContext
from netwatch.model.filter import FilterError
from netwatch.probes.cgroups import CgroupPaths, cgroup2_mount
from netwatch.recording.file import RecordingError, load_recording
from netwatch.tabs import codecs
from netwatch.tabs.traffic.batch import printer
from netwatch.tabs.traffic.model import (
    Counters,
    TrafficKey,
    TrafficRow,
    TrafficSample,
    TrafficState,
)
from netwatch.tabs.traffic.view_model import parse_traffic_filter
from tests.recordings import round_trip

DOCKER = "/system.slice/docker-" + "3f" * 32 + ".scope"
CRI = "/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + "c0" * 32 + ".scope"
WEB = TrafficKey(10, 0, "eth0", "nginx")
API = TrafficKey(11, 0, "eth0", "api")
HOST = TrafficKey(12, 0, "eth0", "sshd")
CONTEXT = {10: ProcContext(DOCKER, 4026532001), 11: ProcContext(CRI, 4026532002)}
SAMPLE = TrafficSample(
    5.0,
    1.0,
    (
        TrafficRow(WEB, Counters(3, 4, 300, 400)),
        TrafficRow(API, Counters(1, 1, 100, 100)),
        TrafficRow(HOST, Counters(2, 0, 200, 0)),
    ),
    0,
    CONTEXT,
)


def test_cgroup_ids_are_the_directories_inodes_found_again_after_a_new_one(
    tmp_path: Path,
) -> None:
    (tmp_path / "system.slice" / "a.service").mkdir(parents=True)
    paths = CgroupPaths(tmp_path, rescan_s=0.0)
    inode = os.stat(tmp_path / "system.slice" / "a.service").st_ino
    assert paths.path_of(inode) == "/system.slice/a.service"
    assert paths.path_of(os.stat(tmp_path).st_ino) == "/"
    (tmp_path / "kubepods.slice").mkdir()
    assert paths.path_of(os.stat(tmp_path / "kubepods.slice").st_ino) == "/kubepods.slice"
    # Gone since: the name stays for what was counted while it existed.
    (tmp_path / "system.slice" / "a.service").rmdir()
    assert paths.path_of(inode) == "/system.slice/a.service"
    assert paths.path_of(0) == "" and paths.path_of(2**63) == ""


def test_an_unknown_id_walks_the_tree_at_most_once_per_rescan_interval(tmp_path: Path) -> None:
    paths = CgroupPaths(tmp_path, rescan_s=3600.0)
    assert paths.path_of(2**40) == ""  # walks
    (tmp_path / "late").mkdir()
    assert paths.path_of(os.stat(tmp_path / "late").st_ino) == ""  # not walked again so soon


def test_the_cgroup2_mount_is_found_wherever_it_is(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "25 30 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n"
    )
    assert cgroup2_mount(str(info)) == Path("/sys/fs/cgroup/unified")
    info.write_text("26 25 0:23 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n")
    assert cgroup2_mount(str(info)) == Path("/sys/fs/my cgroup")
    info.write_text("25 30 0:22 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n")
    assert cgroup2_mount(str(info)) is None
    assert cgroup2_mount(str(tmp_path / "absent")) is None


@pytest.mark.parametrize(
    ("typed", "pids"),
    [
        ("container:3f3f3f3f3f3f", [10]),
        ("container:3f*", [10]),
        ("container:*", [10, 11]),
        ("!container:*", [12]),
        (f"cgroup:{DOCKER}", [10]),
        ("cgroup:/kubepods.slice*", [11]),
        ("netns:4026532002", [11]),
        ("!netns:4026532002", [10, 12]),
        ("c0c0c0", [11]),  # free text finds the container too
    ],
)
def test_filter_keys_of_where_a_process_runs(typed: str, pids: list[int]) -> None:
    f = parse_traffic_filter(typed)
    matched = [
        k.pid for k in (WEB, API, HOST) if f.matches(k, str, CONTEXT.get(k.pid, ProcContext()))
    ]
    assert matched == pids


def test_bad_netns_is_refused_in_words() -> None:
    with pytest.raises(FilterError, match="netns must be a number"):
        parse_traffic_filter("netns:abc")


def test_top_batch_by_container_sums_each_containers_processes() -> None:
    out = io.StringIO()
    how = Output(json=True, pids=frozenset(), timestamps=False)
    printer(how, out, by="container")(SAMPLE)
    rows = {r["comm"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert set(rows) == {"3f3f3f3f3f3f", "c0c0c0c0c0c0", "(no container)"}
    assert rows["3f3f3f3f3f3f"]["container"] == "3f3f3f3f3f3f"
    assert rows["3f3f3f3f3f3f"]["netns"] == 4026532001
    assert rows["c0c0c0c0c0c0"]["recv_bytes"] == 100 and rows["c0c0c0c0c0c0"]["processes"] == 1
    assert rows["(no container)"]["container"] is None

    text = io.StringIO()
    printer(Output(json=False, pids=frozenset(), timestamps=False), text, by="container")(SAMPLE)
    lines = text.getvalue().splitlines()
    assert lines[0] == "# by container: PID = processes"
    assert lines[2].split()[0] == "1" and lines[2].split()[-1] == "3f3f3f3f3f3f"


def test_top_batch_json_process_rows_carry_cgroup_container_and_netns() -> None:
    out = io.StringIO()
    printer(Output(json=True, pids=frozenset(), timestamps=False), out)(SAMPLE)
    rows = {r["pid"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert (rows[10]["cgroup"], rows[10]["container"], rows[10]["netns"]) == (
        DOCKER, "3f3f3f3f3f3f", 4026532001)  # fmt: skip
    assert (rows[12]["cgroup"], rows[12]["container"], rows[12]["netns"]) == (None, None, None)


def test_recordings_carry_the_context_and_old_ones_without_it_still_read(tmp_path: Path) -> None:
    path = tmp_path / "r.nwrec"
    assert round_trip(path, "traffic", SAMPLE) == [SAMPLE]

    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    del record["context"]
    old = tmp_path / "old.nwrec"
    old.write_text(lines[0] + "\n" + json.dumps(record) + "\n")
    (read,) = load_recording(old, codecs())["traffic"]
    assert read.rows == SAMPLE.rows and read.context == {}

    record["context"] = [[10, DOCKER, "not a number"]]
    bad = tmp_path / "bad.nwrec"
    bad.write_text(lines[0] + "\n" + json.dumps(record) + "\n")
    with pytest.raises(RecordingError, match="netns"):
        list(load_recording(bad, codecs())["traffic"])


def test_the_state_keeps_a_bounded_latest_context_per_process() -> None:
    state = TrafficState()
    state.apply(SAMPLE)
    assert state.context_of(10).container == "3f3f3f3f3f3f"
    assert state.context_of(12) == ProcContext()
    moved = TrafficSample(6.0, 1.0, (), 0, {10: ProcContext(CRI, 7)})
    state.apply(moved)
    assert state.context_of(10).netns == 7
    many = {pid: ProcContext("/x", pid) for pid in range(100, 100 + MAX_CONTEXTS)}
    state.apply(TrafficSample(7.0, 1.0, (), 0, many))
    assert len(state.contexts) == MAX_CONTEXTS and state.context_of(10) == ProcContext()


@pytest.mark.usefixtures("root")
def test_on_the_real_cgroup2_each_unknown_id_is_one_lookup_never_a_walk() -> None:
    # 2,000 cgroups, as a user given a delegated subtree can make: each id resolved by its
    # file handle; the tree is never walked (it was walked once per unknown id, rate-limited).
    mount = cgroup2_mount()
    assert mount is not None
    top = mount / f"nwtest-{os.getpid()}"
    made = [top / f"c{i}" for i in range(2000)]
    top.mkdir()
    try:
        for d in made:
            d.mkdir()
        paths = CgroupPaths(rescan_s=0.0)
        for d in made:
            assert paths.path_of(os.stat(d).st_ino) == f"/{top.name}/{d.name}"
        assert paths.walks == 0
        removed = made[0]
        known = os.stat(removed).st_ino
        unseen = os.stat(made[1]).st_ino
        paths.path_of(known)
        removed.rmdir()
        made[1].rmdir()
        fresh = CgroupPaths(rescan_s=0.0)
        assert paths.path_of(known) == f"/{top.name}/{removed.name}"  # kept after removal
        assert fresh.path_of(unseen) == ""  # removed before it was ever looked up
        assert fresh.walks == 0
    finally:
        for d in made:
            if d.exists():
                d.rmdir()
        top.rmdir()
