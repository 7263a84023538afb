"""cgroup v2 directories of a test's own, and processes started in them (containers, as the
runtimes lay them out, without a runtime)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def cgroup2_root() -> Path:
    """Where this host mounts the v2 hierarchy: /sys/fs/cgroup, or .../unified when hybrid."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[2] == "cgroup2":
            return Path(fields[1])
    pytest.fail("no cgroup2 hierarchy mounted")


def remove_cgroup(d: Path) -> None:
    for _ in range(100):  # the kernel frees a cgroup a moment after its last process
        try:
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


@contextmanager
def cgroup_dirs(*relative: str) -> Iterator[list[Path]]:
    """The cgroup v2 directories `relative` to the hierarchy's root (parents too), removed
    afterwards, innermost first, once the kernel has let their processes go."""
    root = cgroup2_root()
    made: list[Path] = []
    try:
        for rel in relative:
            path = root
            for part in Path(rel).parts:
                path = path / part
                if not path.exists():
                    path.mkdir()
                    made.append(path)
        yield [root / rel for rel in relative]
    finally:
        for d in reversed(made):
            remove_cgroup(d)


def in_cgroup(cgroup: Path, argv: list[str]) -> list[str]:
    """argv run from its first instruction in `cgroup`: the shell joins it, then execs."""
    return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup), *argv]
