from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from netwatch.ui.snapshot import SnapshotError, write_snapshot


def test_snapshot_files_are_new_private_and_never_clobber(tmp_path: Path) -> None:
    first = write_snapshot(tmp_path, "traffic", {"txt": "a\n", "json": "{}\n"})
    second = write_snapshot(tmp_path, "traffic", {"txt": "b\n", "json": "{}\n"})
    assert len(set(first.paths) | set(second.paths)) == 4
    for p in (*first.paths, *second.paths):
        assert p.stat().st_mode & 0o777 == 0o600
    assert first.paths[0].read_text() == "a\n"


def test_snapshot_into_missing_or_unwritable_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="does not exist"):
        write_snapshot(tmp_path / "nope", "traffic", {"txt": ""})
    # Root ignores directory modes; /proc/self is a directory nobody can create files in.
    with pytest.raises(SnapshotError, match="cannot write snapshot /proc/self/netwatch-traffic-"):
        write_snapshot(Path("/proc/self"), "traffic", {"txt": ""})


def test_snapshot_does_not_follow_a_planted_symlink(tmp_path: Path) -> None:
    import time

    victim = tmp_path / "victim"
    now = time.time()
    planted = set()
    for t in (now, now + 1, now + 2):  # the snapshot may start in the next second
        name = f"netwatch-traffic-{time.strftime('%Y%m%d-%H%M%S', time.localtime(t))}.txt"
        (tmp_path / name).symlink_to(victim)
        planted.add(name)
    paths = write_snapshot(tmp_path, "traffic", {"txt": "x"}).paths
    assert not victim.exists()
    assert paths[0].name not in planted and paths[0].read_text() == "x"


def test_snapshot_on_a_full_disk_leaves_nothing_behind(
    small_disk: Callable[[str], Path],
) -> None:
    mnt = small_disk("64k")
    big = "x" * 200_000  # the SVG of a large screen, say: more than the disk holds
    with pytest.raises(SnapshotError, match="No space left on device") as err:
        write_snapshot(mnt, "traffic", {"txt": "a\n", "json": "{}\n", "svg": big})
    assert "\n" not in str(err.value)
    assert list(mnt.iterdir()) == []  # no 0-byte .txt, no cut .svg, no temporary file
    ok = write_snapshot(mnt, "traffic", {"txt": "a\n", "json": "{}\n"})
    assert [p.read_text() for p in ok.paths] == ["a\n", "{}\n"]
