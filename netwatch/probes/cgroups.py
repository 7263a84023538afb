"""cgroup v2 ids, as BPF's bpf_get_current_cgroup_id() gives them, to the cgroup's path.

The id is the inode number of the cgroup's directory in the cgroup2 filesystem, wherever that is
mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host like ours). An id not known
yet makes the tree be walked again, at most once per `rescan_s`; ids once resolved are kept
(bounded), so a cgroup removed since, with its container, keeps its name. An id a walk begun
after it was read did not find is gone for good (ids are never reused): it is not looked for
again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from netwatch.model.containers import UNKNOWN_PARENTS

MAX_KNOWN = 65536  # ids remembered
MAX_WALKED = 100_000  # directories looked at in one walk (a host with far more is unusual)


def cgroup2_mount(mountinfo: str = "/proc/self/mountinfo") -> Path | None:
    """Where the cgroup2 filesystem is mounted; None on a host without it (v1 only)."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                before, sep, after = line.partition(" - ")
                if sep and after.split(" ", 1)[0] == "cgroup2":
                    # The mount point, with the kernel's octal escapes for spaces and the like.
                    point = before.split(" ")[4]
                    return Path(point.encode().decode("unicode_escape"))
    except OSError:
        pass
    return None


class CgroupPaths:
    def __init__(self, root: Path | None = None, rescan_s: float = 1.0) -> None:
        self.root = root if root is not None else cgroup2_mount()
        self.rescan_s = rescan_s
        self._known: dict[int, str] = {}
        self._gone: set[int] = set()
        self._walked_at = -float("inf")

    def path_of(self, cgroup_id: int) -> str:
        """ "/" for the root, "/system.slice/x.service" and the like; "" if unknown."""
        if cgroup_id == 0 or self.root is None:
            return ""
        path = self._known.get(cgroup_id)
        if path is not None or cgroup_id in self._gone:
            return path or ""
        if time.monotonic() - self._walked_at >= self.rescan_s:
            self._walk()
            path = self._known.get(cgroup_id)
            if path is None:
                if len(self._gone) >= MAX_KNOWN:
                    self._gone.clear()
                self._gone.add(cgroup_id)
        return path or ""

    def path_or_name(self, cgroup_id: int, name: str) -> str:
        """The path; for a cgroup removed before it was found, its own `name` (as the kernel
        gave it) under UNKNOWN_PARENTS, which still names a container; "" if neither."""
        path = self.path_of(cgroup_id)
        if not path and name:
            return f"{UNKNOWN_PARENTS}/{name}"
        return path

    def _walk(self) -> None:
        assert self.root is not None
        self._walked_at = time.monotonic()
        found: dict[int, str] = {}
        try:
            found[os.stat(self.root).st_ino] = "/"
        except OSError:
            return
        pending = [(str(self.root), "")]
        while pending and len(found) < MAX_WALKED:
            directory, relative = pending.pop()
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            path = f"{relative}/{entry.name}"
                            found[entry.inode()] = path
                            pending.append((entry.path, path))
            except OSError:  # removed while walking, or not ours to read
                continue
        if len(self._known) + len(found) > MAX_KNOWN:
            self._known = {}  # what still exists is found again just below
        self._known.update(found)
