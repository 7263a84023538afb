"""Recording files: a versioned JSON-lines format that replays on any machine without root.

Line 1 is a header object:
  {"format": "netwatch-recording", "version": 1, "created": <unix ts>, "host": ..., "kernel": ...,
   "tabs": ["traffic"]}
Each later line is one record of one tab's interval:
  {"tab": NAME, "ts": <unix ts>, "interval": <s>, "lost": <n>, KEY: [item, ...], ...}
where KEY is "rows" for a counting tab and "events" for a streaming one, each item a plain JSON
list, and a tab may add fields of its own; what they hold is the tab's, documented and checked
in its codec.py (netwatch/tabs/NAME/codec.py), which this layer is handed and never looks up.
Readers skip records of tabs they do not know, so later tabs can add their own records. A reader
checks every field (netwatch/recording/codec.py, and each tab's codec.py), refuses lines over
32 MiB, and plays a file cut short (a full disk) up to its last complete record, with a warning.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import stat
import time
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar, overload

from netwatch.model.sample import Sample
from netwatch.recording.checks import BadRecord, parse_json_line
from netwatch.recording.codec import (
    Codecs,
    record_in,
    record_out,
)
from netwatch.sources.base import SourceError

FORMAT_NAME = "netwatch-recording"
FORMAT_VERSION = 1
# One record is one tab's interval. The longest seen (an unfiltered Calls interval on a busy
# host) is a few MiB; past this a line is not a record but a way to exhaust memory.
MAX_LINE_BYTES = 32 * 1024 * 1024
HEADER_MAX_BYTES = 64 * 1024


class RecordingError(SourceError):
    """The file is not a readable netwatch recording."""


class RecordingWriteError(RecordingError):
    """The recording could not be written on (a full disk): what was written before stays."""


class RecordingWriter:
    """Appends records to a new file. Each record goes out whole with one write, so a stopped
    run keeps every record before it; if the disk fills, the part written is cut off again, so
    the file ends on a complete record."""

    def __init__(
        self,
        stream: IO[str],
        codecs: Codecs,
        path: Path | None = None,
        header: Mapping[str, Any] | None = None,
    ) -> None:
        self._codecs = codecs
        self._stream = stream
        self._fd = stream.fileno()
        self._good = 0  # where the last complete record ends
        self.path = path or Path(f"/proc/self/fd/{self._fd}")
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "created": round(time.time(), 3),
            "host": platform.node(),
            "kernel": platform.release(),
            "tabs": list(codecs),
            **(header or {}),  # a flight recording's trigger (record --ring)
        }
        self._write(encoded(header))

    def write(self, tab: str, sample: Sample[Any]) -> None:
        self._write(encode_record(self._codecs, tab, sample))

    def write_encoded(self, line: bytes) -> None:
        """A record encode_record() made earlier (a flight recorder's ring holds them)."""
        self._write(line)

    def _write(self, line: bytes) -> None:
        data = memoryview(line)
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as exc:
            try:  # cutting the partial record off frees space, so it works on a full disk
                os.ftruncate(self._fd, self._good)
            except OSError:
                pass
            reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "write failed")
            raise RecordingWriteError(f"cannot write to {self.path}: {reason}") from exc
        self._good += len(data.obj)  # type: ignore[arg-type]

    def close(self) -> None:
        self._stream.close()


def encoded(obj: Mapping[str, Any]) -> bytes:
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def encode_record(codecs: Codecs, tab: str, sample: Sample[Any]) -> bytes:
    """One line of a recording: `tab`'s sample as its codec writes it."""
    return encoded(record_out(codecs[tab], tab, sample))


# ---- reading: the file is indexed once, and each record is parsed when it is played ---------
@dataclass(slots=True)
class _TabIndex:
    offsets: array[int] = field(default_factory=lambda: array("q"))
    lengths: array[int] = field(default_factory=lambda: array("q"))
    lines: array[int] = field(default_factory=lambda: array("q"))


def _open_regular(path: Path) -> int:
    """A descriptor on `path` if it is a regular file: a FIFO would block forever, and a device
    such as /dev/zero (or a link to one) never ends."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror}") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = (
            "a directory" if stat.S_ISDIR(mode)
            else "a FIFO" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file"
        )  # fmt: skip
        raise RecordingError(f"{path}: is {kind}, not a netwatch recording")
    return fd


def _tab_of(line: bytes) -> str | None:
    """The tab a record belongs to. Our writer puts it first; any other layout is parsed."""
    prefix = b'{"tab":"'
    if line.startswith(prefix):
        end = line.find(b'"', len(prefix))
        if end > 0:
            return line[len(prefix) : end].decode("ascii", "replace")
    record = parse_json_line(line)
    if not isinstance(record, dict) or "tab" not in record:
        raise BadRecord("no 'tab' field")
    tab = record["tab"]
    return tab if isinstance(tab, str) else None


class RecordingFile:
    """A recording opened for replay: the header checked, every line's place indexed by tab
    (8 bytes a record, whatever the file's size), and records parsed only when read."""

    def __init__(self, path: Path, codecs: Codecs) -> None:
        self.path = path
        self.warnings: list[str] = []
        self._codecs = codecs
        self._fd = _open_regular(path)
        self._tabs: dict[str, _TabIndex] = {tab: _TabIndex() for tab in codecs}
        try:
            self.header = self._index()
        except BaseException:
            os.close(self._fd)
            raise

    def _index(self) -> dict[str, Any]:
        with os.fdopen(os.dup(self._fd), "rb", buffering=1 << 20) as f:
            first = f.readline(HEADER_MAX_BYTES)
            if not first:
                raise RecordingError(f"{self.path}: empty file, not a netwatch recording")
            header = _parse_header(self.path, first)
            offset, number = len(first), 1
            while True:
                line = f.readline(MAX_LINE_BYTES + 1)
                if not line:
                    break
                number += 1
                if not line.endswith(b"\n"):
                    if len(line) > MAX_LINE_BYTES:
                        raise RecordingError(
                            f"{self.path}: line {number} is longer than "
                            f"{MAX_LINE_BYTES >> 20} MiB: not a netwatch record"
                        )
                    # A recording cut short (a full disk, a kill): its complete records stand.
                    self.warnings.append(
                        f"{self.path}: the last record (line {number}) is incomplete and was "
                        "left out"
                    )
                    break
                try:
                    tab = _tab_of(line)
                except BadRecord as exc:
                    raise RecordingError(
                        f"{self.path}: corrupt record at line {number}: {exc}"
                    ) from None
                index = self._tabs.get(tab or "")
                if index is not None:  # tabs this version does not know are skipped
                    index.offsets.append(offset)
                    index.lengths.append(len(line))
                    index.lines.append(number)
                offset += len(line)
        return header

    def samples(self, tab: str) -> RecordedSamples[Any]:
        return RecordedSamples(self, tab)

    def __len__(self) -> int:
        return sum(len(t.offsets) for t in self._tabs.values())

    def count(self, tab: str) -> int:
        return len(self._tabs[tab].offsets)

    def read(self, tab: str, i: int) -> Any:
        index = self._tabs[tab]
        number = index.lines[i]
        try:
            line = os.pread(self._fd, index.lengths[i], index.offsets[i])
            record = parse_json_line(line)
            if not isinstance(record, dict):
                raise BadRecord("not an object")
            return record_in(self._codecs[tab], record)
        except BadRecord as exc:
            raise RecordingError(
                f"{self.path}: corrupt {tab} record at line {number}: {exc}"
            ) from None
        except OSError as exc:
            raise RecordingError(f"{self.path}: cannot read: {exc.strerror}") from exc

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


S = TypeVar("S")


class RecordedSamples(Sequence[S]):
    """One tab's samples in a recording, read from the file as they are asked for."""

    def __init__(self, recording: RecordingFile, tab: str) -> None:
        self._recording = recording
        self._tab = tab

    def __len__(self) -> int:
        return self._recording.count(self._tab)

    @overload
    def __getitem__(self, i: int) -> S: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[S]: ...

    def __getitem__(self, i: int | slice) -> S | Sequence[S]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self._recording.read(self._tab, i % len(self))  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[S]:
        return (self[i] for i in range(len(self)))


def open_recording(path: Path, codecs: Codecs) -> RecordingFile:
    return RecordingFile(path, codecs)


@dataclass(frozen=True, slots=True)
class Recording:
    header: dict[str, Any]
    samples: dict[str, tuple[Any, ...]]  # by tab: every tab it was read with, maybe empty
    warnings: tuple[str, ...] = ()

    def __getitem__(self, tab: str) -> tuple[Any, ...]:
        return self.samples[tab]


def load_recording(path: Path, codecs: Codecs) -> Recording:
    """Every record, read and checked now: for small files and tests. Replay streams instead
    (RecordingFile), so a recording of any size plays in the same memory."""
    rec = RecordingFile(path, codecs)
    try:
        samples = {tab: tuple(rec.samples(tab)) for tab in codecs}
        return Recording(rec.header, samples, tuple(rec.warnings))
    finally:
        rec.close()


def _parse_header(path: Path, line: bytes) -> dict[str, Any]:
    try:
        header = parse_json_line(line)
    except BadRecord:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise RecordingError(f"{path}: not a netwatch recording (no netwatch header on line 1)")
    version = header.get("version")
    if version != FORMAT_VERSION:
        raise RecordingError(
            f"{path}: recording format version {str(version)[:20]} is not supported (this "
            f"netwatch reads version {FORMAT_VERSION})"
        )
    return header


def create_new_file(path: Path) -> IO[str]:
    """Open a file that must not exist yet: never follows a symlink, never overwrites, mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8")
