"""cgroup v2 ids, as BPF's bpf_get_current_cgroup_id() gives them, to the cgroup's path.

The id is the kernfs node id of the cgroup's directory in the cgroup2 filesystem (its inode
number), wherever that is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host
like ours). It is also the directory's file handle: open_by_handle_at() opens the cgroup from
its id in one system call, and /proc/self/fd names its path. So an unknown id costs a lookup,
not a walk of the whole tree (10,000 cgroups made by a user took the exporter from 0.25% to
12.7% of a core when each unknown id re-walked them); lookups are bounded per second. Where
handles cannot be used (no CAP_DAC_READ_SEARCH, a filesystem that is not kernfs), the tree is
walked instead, at most once per `rescan_s`. Ids once resolved are kept (bounded), so a
cgroup removed since, with its container, keeps its name. An id that is found nowhere is gone
for good (ids are never reused): it is not looked for again.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import time
from pathlib import Path

from netwatch.model.containers import UNKNOWN_PARENTS

MAX_KNOWN = 65536  # ids remembered
MAX_WALKED = 100_000  # directories looked at in one walk (a host with far more is unusual)
MAX_LOOKUPS_PER_S = 2000  # handle lookups; ids past that wait for the next second
FILEID_KERNFS = 0xFE
O_PATH = 0o10000000
AT_EMPTY_PATH = 0x1000  # the handle of the descriptor itself: the cgroup2 root


class _FileHandle(ctypes.Structure):
    _fields_ = [
        ("handle_bytes", ctypes.c_uint),
        ("handle_type", ctypes.c_int),
        ("f_handle", ctypes.c_ubyte * 8),
    ]


class KernfsHandles:
    """Opens a cgroup2 directory from its id; None from `open` if this root is not kernfs or
    handles are not ours to use."""

    def __init__(self, root: Path) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._mount_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.root = str(root)

    @classmethod
    def open(cls, root: Path) -> KernfsHandles | None:
        try:
            handles = cls(root)
        except OSError:
            return None
        if not handles._is_kernfs():
            handles.close()
            return None
        return handles

    def _is_kernfs(self) -> bool:
        handle, mount_id = _FileHandle(8, 0), ctypes.c_int()
        name_to_handle_at = getattr(self._libc, "name_to_handle_at", None)
        if name_to_handle_at is None:
            return False
        done = name_to_handle_at(
            self._mount_fd, b"", ctypes.byref(handle), ctypes.byref(mount_id), AT_EMPTY_PATH
        )
        if done != 0 or handle.handle_type != FILEID_KERNFS or handle.handle_bytes != 8:
            return False
        # And the kernel lets us open by handle (CAP_DAC_READ_SEARCH).
        return self.path_of(struct.unpack("<Q", bytes(handle.f_handle))[0]) is not None

    def path_of(self, cgroup_id: int) -> str | None:
        """The cgroup's path under the root ("/" for the root), "" if no cgroup has this id
        (removed), None if the lookup itself failed."""
        handle = _FileHandle(8, FILEID_KERNFS, (ctypes.c_ubyte * 8)(*struct.pack("<Q", cgroup_id)))
        fd = self._libc.open_by_handle_at(self._mount_fd, ctypes.byref(handle),
                                          O_PATH | os.O_CLOEXEC)  # fmt: skip
        if fd < 0:
            return "" if ctypes.get_errno() in (errno.ESTALE, errno.ENOENT) else None
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return None
        finally:
            os.close(fd)
        if path == self.root:
            return "/"
        if not path.startswith(self.root + "/"):
            return None
        return path[len(self.root) :]

    def close(self) -> None:
        os.close(self._mount_fd)


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
        self.walks = 0
        self._handles = KernfsHandles.open(self.root) if self.root is not None else None
        self._budget_at, self._budget = 0.0, MAX_LOOKUPS_PER_S

    def path_of(self, cgroup_id: int) -> str:
        """ "/" for the root, "/system.slice/x.service" and the like; "" if unknown."""
        if cgroup_id == 0 or self.root is None:
            return ""
        path = self._known.get(cgroup_id)
        if path is not None or cgroup_id in self._gone:
            return path or ""
        if self._handles is not None:
            path = self._look_up(cgroup_id)
        elif time.monotonic() - self._walked_at >= self.rescan_s:
            self._walk()
            path = self._known.get(cgroup_id)
            if path is None:
                self._forget(cgroup_id)
        return path or ""

    def _look_up(self, cgroup_id: int) -> str | None:
        assert self._handles is not None
        now = time.monotonic()
        if now - self._budget_at >= 1.0:
            self._budget_at, self._budget = now, MAX_LOOKUPS_PER_S
        if self._budget <= 0:
            return None  # asked again later
        self._budget -= 1
        path = self._handles.path_of(cgroup_id)
        if path == "":
            self._forget(cgroup_id)
        elif path is not None:
            if len(self._known) >= MAX_KNOWN:
                self._known = {}
            self._known[cgroup_id] = path
        return path

    def _forget(self, cgroup_id: int) -> None:
        if len(self._gone) >= MAX_KNOWN:
            self._gone.clear()
        self._gone.add(cgroup_id)

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
        self.walks += 1
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
