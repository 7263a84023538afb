"""Recording files: a versioned JSON-lines format that replays on any machine without root.

Line 1 is a header object:
  {"format": "netwatch-recording", "version": 1, "created": <unix ts>, "host": ..., "kernel": ...,
   "tabs": ["traffic"]}
Each later line is one record with a "tab" field. Traffic records:
  {"tab": "traffic", "ts": <unix ts>, "interval": <s>, "lost": <n>,
   "rows": [[pid, uid, dev, comm, reason, xmit_pk, recv_pk, xmit_bytes, recv_bytes], ...]}
Drops records:
  {"tab": "drops", "ts": <unix ts>, "interval": <s>, "lost": <n>,
   "rows": [[location, reason, protocol, symbol, count, dev, port], ...]}
Accepts records:
  {"tab": "accepts", "ts": <unix ts>, "interval": <s>, "lost": <n>,
   "events": [[ts, pid, tid, uid, comm, family, laddr, lport, raddr, rport], ...]}
Calls records (one per event: a call's enter or exit, or a socket-layer event inside a call):
  {"tab": "calls", "ts": <unix ts>, "interval": <s>, "lost": <n>,
   "events": [[ts, pid, tid, comm, kind, name, [[arg, value], ...], ret, dur_us], ...]}
Readers skip records of tabs they do not know, so later tabs can add their own records.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar, Generic, Protocol, Self, TypeVar

from netwatch.model.accepts import AcceptEvent, AcceptsSample
from netwatch.model.calls import ENTER, EVENT, EXIT, CallEvent, CallsSample
from netwatch.model.drops import DropKey, DropRow, DropsSample
from netwatch.model.traffic import Counters, TrafficKey, TrafficRow, TrafficSample
from netwatch.sources import Health, SourceError

FORMAT_NAME = "netwatch-recording"
FORMAT_VERSION = 1


class RecordingError(SourceError):
    """The file is not a readable netwatch recording."""


class _Sample(Protocol):
    """What every tab's sample has around its rows: when, over how long, and how much was lost."""

    @property
    def ts(self) -> float: ...

    @property
    def interval(self) -> float: ...

    @property
    def lost(self) -> int: ...


def _record(tab: str, sample: _Sample, key: str, items: list[list[Any]]) -> dict[str, Any]:
    """One line of the file: the sample's envelope and its rows (or events) as plain lists."""
    return {
        "tab": tab,
        "ts": round(sample.ts, 6),
        "interval": sample.interval,
        "lost": sample.lost,
        key: items,
    }


# Each tab's row as a list in the file, and back. The order is the documented format.
def _traffic_row_out(r: TrafficRow) -> list[Any]:
    return [r.key.pid, r.key.uid, r.key.dev, r.key.comm, r.key.reason, *r.counts.as_tuple()]


def _traffic_row_in(item: list[Any]) -> TrafficRow:
    pid, uid, dev, comm, reason, a, b, c, d = item
    return TrafficRow(
        TrafficKey(int(pid), int(uid), str(dev), str(comm), str(reason)),
        Counters(int(a), int(b), int(c), int(d)),
    )


def _drop_row_out(r: DropRow) -> list[Any]:
    return [r.key.location, r.key.reason, r.key.protocol, r.symbol, r.count, r.dev, r.port]


def _drop_row_in(item: list[Any]) -> DropRow:
    loc, reason, proto, symbol, count, dev, port = item
    return DropRow(
        DropKey(int(loc), str(reason), int(proto)), str(symbol), int(count), str(dev), int(port)
    )


def _accept_out(e: AcceptEvent) -> list[Any]:
    return [
        round(e.ts, 6),
        e.pid,
        e.tid,
        e.uid,
        e.comm,
        e.family,
        e.laddr,
        e.lport,
        e.raddr,
        e.rport,
    ]


def _accept_in(item: list[Any]) -> AcceptEvent:
    ts, pid, tid, uid, comm, family, laddr, lport, raddr, rport = item
    return AcceptEvent(
        float(ts),
        int(pid),
        int(tid),
        int(uid),
        str(comm),
        str(family),
        str(laddr),
        int(lport),
        str(raddr),
        int(rport),
    )


def _call_out(e: CallEvent) -> list[Any]:
    return [
        round(e.ts, 6),
        e.pid,
        e.tid,
        e.comm,
        e.kind,
        e.name,
        [list(a) for a in e.args],
        e.ret,
        e.dur_us,
    ]


def _call_in(item: list[Any]) -> CallEvent:
    ts, pid, tid, comm, kind, name, args, ret, dur_us = item
    if kind not in (ENTER, EXIT, EVENT):
        raise ValueError(f"unknown event kind {kind!r}")
    return CallEvent(
        float(ts),
        int(pid),
        int(tid),
        str(comm),
        str(kind),
        str(name),
        tuple((str(k), str(v)) for k, v in args),
        int(ret),
        float(dur_us),
    )


# tab -> (the key its items are under, how one item is read back, the sample type to build)
_READERS: dict[str, tuple[str, Callable[[list[Any]], Any], Callable[..., Any]]] = {
    "traffic": ("rows", _traffic_row_in, TrafficSample),
    "drops": ("rows", _drop_row_in, DropsSample),
    "accepts": ("events", _accept_in, AcceptsSample),
    "calls": ("events", _call_in, CallsSample),
}


class RecordingWriter:
    """Appends records to a new file; each record is flushed so an interrupted run keeps them."""

    def __init__(self, stream: IO[str], tabs: list[str]) -> None:
        self._stream = stream
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "created": round(time.time(), 3),
            "host": platform.node(),
            "kernel": platform.release(),
            "tabs": tabs,
        }
        self._write(header)

    def write_traffic(self, sample: TrafficSample) -> None:
        self._write(_record("traffic", sample, "rows", [_traffic_row_out(r) for r in sample.rows]))

    def write_drops(self, sample: DropsSample) -> None:
        self._write(_record("drops", sample, "rows", [_drop_row_out(r) for r in sample.rows]))

    def write_accepts(self, sample: AcceptsSample) -> None:
        self._write(_record("accepts", sample, "events", [_accept_out(e) for e in sample.events]))

    def write_calls(self, sample: CallsSample) -> None:
        self._write(_record("calls", sample, "events", [_call_out(e) for e in sample.events]))

    def _write(self, obj: dict[str, Any]) -> None:
        self._stream.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


@dataclass(frozen=True, slots=True)
class Recording:
    header: dict[str, Any]
    traffic: tuple[TrafficSample, ...]
    drops: tuple[DropsSample, ...] = ()
    accepts: tuple[AcceptsSample, ...] = ()
    calls: tuple[CallsSample, ...] = ()


def load_recording(path: Path) -> Recording:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror}") from exc
    if not data:
        raise RecordingError(f"{path}: empty file, not a netwatch recording")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path}: not a netwatch recording (binary data)") from exc
    lines = text.split("\n")
    truncated = lines[-1] != ""
    header = _parse_header(path, lines[0])
    samples: dict[str, list[Any]] = {tab: [] for tab in _READERS}
    body = lines[1:-1] if not truncated else lines[1:]
    for number, line in enumerate(body, start=2):
        if truncated and number == len(lines):
            raise RecordingError(f"{path}: truncated at line {number} (incomplete last record)")
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordingError(f"{path}: corrupt record at line {number}: {exc.msg}") from exc
        if not isinstance(record, dict) or "tab" not in record:
            raise RecordingError(f"{path}: corrupt record at line {number}: no 'tab' field")
        if record["tab"] in _READERS:  # tabs this version does not know are skipped
            samples[record["tab"]].append(_parse_sample(path, number, record))
    return Recording(
        header,
        tuple(samples["traffic"]),
        tuple(samples["drops"]),
        tuple(samples["accepts"]),
        tuple(samples["calls"]),
    )


def _parse_header(path: Path, line: str) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise RecordingError(f"{path}: not a netwatch recording (no netwatch header on line 1)")
    version = header.get("version")
    if version != FORMAT_VERSION:
        raise RecordingError(
            f"{path}: recording format version {version} is not supported (this netwatch reads "
            f"version {FORMAT_VERSION})"
        )
    return header


def _parse_sample(path: Path, number: int, record: dict[str, Any]) -> Any:
    tab = record["tab"]
    key, read_item, build = _READERS[tab]
    try:
        items = tuple(read_item(item) for item in record[key])
        return build(
            float(record["ts"]), float(record["interval"]), items, int(record.get("lost", 0))
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{path}: corrupt {tab} record at line {number}") from exc


T = TypeVar("T", bound=_Sample)


class ReplaySource(Generic[T]):
    """Plays one tab's recorded samples one per read, at the recorded interval (or faster)."""

    tab: ClassVar[str]  # the Recording field this source plays

    @classmethod
    def from_file(cls, path: Path, speed: float = 1.0) -> Self:
        return cls(getattr(load_recording(path), cls.tab), path, speed)

    def __init__(self, samples: tuple[T, ...], path: Path, speed: float = 1.0) -> None:
        self._samples = samples
        self._path = path
        self._next = 0
        recorded = self._samples[0].interval if self._samples else 1.0
        self.interval = recorded / speed

    def open(self) -> None:
        self._next = 0

    def read(self) -> T | None:
        if self._next >= len(self._samples):
            return None
        sample = self._samples[self._next]
        self._next += 1
        return sample

    def close(self) -> None:
        pass

    def health(self) -> Health:
        if not self._samples:
            return Health("ended", f"{self._path.name} holds nothing for this tab")
        if self._next >= len(self._samples):
            return Health("ended", f"end of recording {self._path.name}")
        return Health("replay", f"{self._path.name} {self._next}/{len(self._samples)}")


class ReplayTrafficSource(ReplaySource[TrafficSample]):
    tab = "traffic"


class ReplayDropsSource(ReplaySource[DropsSample]):
    tab = "drops"


def create_new_file(path: Path) -> IO[str]:
    """Open a file that must not exist yet: never follows a symlink, never overwrites, mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8")


class ReplayAcceptsSource(ReplaySource[AcceptsSample]):
    tab = "accepts"


class ReplayCallsSource(ReplaySource[CallsSample]):
    """Offers what the live Calls probe offers, so the app suspends and filters either alike."""

    tab = "calls"

    def suspend(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def set_threads(self, pids: Iterable[int], tids: Iterable[int], comms: Iterable[str]) -> None:
        pass  # a recording holds what it holds: the view filters it
