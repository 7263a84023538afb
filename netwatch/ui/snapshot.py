"""Snapshot files: new files only (never a symlink followed, never an overwrite), mode 0600,
each written whole or not at all."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from netwatch.recording.file import create_new_file


class SnapshotError(Exception):
    """A snapshot could not be written; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class SnapshotPaths:
    paths: tuple[Path, ...]


def write_snapshot(directory: Path, tab: str, contents: dict[str, str]) -> SnapshotPaths:
    """Write one file per extension in `contents`, all sharing a timestamped stem."""
    if not directory.is_dir():
        raise SnapshotError(f"snapshot directory {directory} does not exist")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(100):
        stem = f"netwatch-{tab}-{stamp}" + (f"-{attempt}" if attempt else "")
        # lexists: a dangling symlink planted under our name counts as taken.
        if not any(os.path.lexists(directory / f"{stem}.{ext}") for ext in contents):
            break
    else:
        raise SnapshotError(f"too many snapshots named netwatch-{tab}-{stamp} in {directory}")
    written: list[Path] = []
    try:
        for ext, text in contents.items():
            path = directory / f"{stem}.{ext}"
            _write_whole(path, text)
            written.append(path)
    except SnapshotError:
        for path in written:  # all of a snapshot, or none of it
            path.unlink(missing_ok=True)
        raise
    return SnapshotPaths(tuple(written))


def _write_whole(path: Path, text: str) -> None:
    """`path` appears complete or not at all: written under a temporary name beside it, then
    linked into place. link() never replaces an existing name and never follows a symlink
    planted there, as O_EXCL|O_NOFOLLOW would not."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with create_new_file(tmp) as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.link(tmp, path)
    except OSError as exc:
        raise SnapshotError(f"cannot write snapshot {path}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)
