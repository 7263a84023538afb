"""Snapshot files: new files only (never a symlink followed, never an overwrite), mode 0600."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from netwatch.recording import create_new_file


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
    for ext, text in contents.items():
        path = directory / f"{stem}.{ext}"
        try:
            with create_new_file(path) as out:
                out.write(text)
        except OSError as exc:
            raise SnapshotError(f"cannot write snapshot {path}: {exc.strerror}") from exc
        written.append(path)
    return SnapshotPaths(tuple(written))
