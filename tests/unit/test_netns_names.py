"""`netns:NAME` in any tab's filter (#24): live, a name is this machine's, resolved to the
namespace's inode before the tab's parser (which compares inodes) sees it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netwatch.host.netns import NetnsNames, named_namespaces, shown, with_inodes
from netwatch.model.filter import FilterError
from netwatch.tabs.traffic.view_model import parse_traffic_filter

NAMES = {4026531840: "host", 4026532239: "web-b", 4026532240: "nginx(812)"}


def test_names_become_inodes_and_everything_else_stays() -> None:
    text = with_inodes("pid:3 netns:web-b,4026531840 !netns:host comm:curl", NAMES)
    assert text == "pid:3 netns:4026532239,4026531840 !netns:4026531840 comm:curl"
    assert parse_traffic_filter(text).terms  # what the tab's own parser takes
    assert with_inodes("netns:nginx(812)", NAMES) == "netns:4026532240"
    assert with_inodes("dev:eth0 free text", NAMES) == "dev:eth0 free text"
    with pytest.raises(FilterError, match="no network namespace is named 'web-c' here"):
        with_inodes("netns:web-c", NAMES)


def test_ip_netns_names_come_from_their_bind_mounts(tmp_path: Path) -> None:
    # /run/netns/NAME is a bind mount of the namespace; any file shows the lookup by inode.
    (tmp_path / "web-a").write_text("")
    (tmp_path / "web-b").write_text("")
    names = named_namespaces([tmp_path])
    assert names == {os.stat(tmp_path / n).st_ino: n for n in ("web-a", "web-b")}
    assert shown(4026532239, "web-b") == "web-b (4026532239)" and shown(7, "") == "7"
    assert shown(0, "") == "-"


def test_this_machines_own_namespace_is_host() -> None:
    here = os.stat("/proc/self/ns/net").st_ino
    assert NetnsNames(walk=False).name(here) == "host"
    assert with_inodes("netns:host", NetnsNames(walk=False).names()) == f"netns:{here}"
