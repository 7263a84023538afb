"""A recording written and read back, as the tests of each tab's fields need one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netwatch.recording.file import RecordingWriter, create_new_file, load_recording
from netwatch.tabs import codecs


def round_trip(path: Path, tab: str, *samples: Any) -> list[Any]:
    """`samples` of `tab` written to a new recording at `path`, and what reading it gives."""
    writer = RecordingWriter(create_new_file(path), codecs(tab))
    for sample in samples:
        writer.write(tab, sample)
    writer.close()
    return list(load_recording(path, codecs())[tab])
