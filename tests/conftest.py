"""Shared fixtures: live tests skip without root/BPF, and fail under NETWATCH_REQUIRE_BPF=1."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from netwatch.probes.requirements import check_live_requirements


def require_live_bpf() -> None:
    # Root, BCC, headers, tracefs: what every probe needs. A tracepoint a test needs and the
    # kernel lacks is that test's failure, not a reason to skip it.
    problems = check_live_requirements(())
    if not problems:
        return
    reason = f"live BPF unavailable: {problems[0].message}"
    if os.environ.get("NETWATCH_REQUIRE_BPF") == "1":
        pytest.fail(f"NETWATCH_REQUIRE_BPF=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def live_bpf() -> None:
    require_live_bpf()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mounts a tmpfs of the given size (e.g. "64k") to fill up; unmounted afterwards."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root")
        mnt = tmp_path / f"disk{len(mounted)}"
        mnt.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                       check=True)  # fmt: skip
        mounted.append(mnt)
        return mnt

    yield mount
    for mnt in mounted:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.fixture
def root() -> None:
    """Tests that act as another user (setpriv) or mount: root, without BPF. CI runs as root,
    so there a skip is a failure as for the live tests."""
    if os.geteuid() == 0:
        return
    if os.environ.get("NETWATCH_REQUIRE_BPF") == "1":
        pytest.fail("NETWATCH_REQUIRE_BPF=1 but not root")
    pytest.skip("needs root (acts as another user)")
