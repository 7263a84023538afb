"""The textfile for node_exporter's collector, written so that no other user can steer it.

node_exporter's textfile directory is often owned by another user (prometheus), who can plant a
symlink or a file under any name there. So nothing here opens a name that user could have made
for us: the directory is opened once and held; the temporary file is created under an
unpredictable name with O_EXCL and O_NOFOLLOW (a planted name fails instead of being followed or
truncated), written, synced, and renamed over the target, which replaces whatever the target
name is (a planted symlink included) instead of writing through it.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


class TextfileRefused(Exception):
    """The target or its directory is one netwatch will not write into; the message says why."""


def check_directory(st: os.stat_result, where: str) -> None:
    """Refuse a directory that any user may rename entries in: without the sticky bit a
    world-writable directory lets anybody swap our file between the write and the read."""
    if not stat.S_ISDIR(st.st_mode):
        raise TextfileRefused(f"{where} is not a directory")
    if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
        raise TextfileRefused(f"{where} is writable by every user and has no sticky bit")


class TextfileWriter:
    """Writes whole files to one target path; `write` raises OSError or TextfileRefused."""

    def __init__(self, path: str) -> None:
        target = Path(path)
        self.path = path
        self._name = target.name
        directory = str(target.parent)
        self._dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            check_directory(os.fstat(self._dir_fd), directory)
            self._check_target()
        except BaseException:
            os.close(self._dir_fd)
            raise

    def _check_target(self) -> None:
        try:
            st = os.stat(self._name, dir_fd=self._dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode):
            raise TextfileRefused(f"{self.path} is a symbolic link")
        if not stat.S_ISREG(st.st_mode):
            raise TextfileRefused(f"{self.path} is not a regular file")

    def write(self, data: bytes) -> None:
        # Checked every time: a user who can write the directory may have swapped the target
        # for a symlink since the last interval. The rename below would replace the link, not
        # follow it, but a link there is worth saying out loud.
        check_directory(os.fstat(self._dir_fd), str(Path(self.path).parent))
        self._check_target()
        # Not ending in .prom: node_exporter never reads it half-written.
        tmp = f".{self._name}.{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o644, dir_fd=self._dir_fd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, self._name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=self._dir_fd)
            except OSError:
                pass
            raise
        os.fsync(self._dir_fd)

    def close(self) -> None:
        os.close(self._dir_fd)
