"""A recording's records, written out as plain JSON lists and read back checked: the envelope
here, each tab's items in its own codec.py (netwatch/tabs/NAME/codec.py).

A recording is a file anyone can hand the operator, so reading one trusts nothing: every field
is read through netwatch.recording.checks, and a line that fails is one error naming it, never
a traceback later in a screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from netwatch.model.sample import Sample
from netwatch.recording import checks


@dataclass(frozen=True, slots=True)
class Codec:
    """How one tab's samples are written to a recording and read back (in its codec.py)."""

    key: str  # "rows" or "events": the list its items are under
    write: Callable[[Any], list[Any]]  # one item as a plain JSON list
    read: Callable[[Any], Any]  # and back, checked; BadRecord names what is wrong
    sample: Callable[..., Any]  # its Sample type: (ts, interval, items, lost)
    replay: Callable[..., Any]  # its replay source: (samples, path, speed, clock)
    # Fields of its own beside the envelope, as a record's keys, and back as the sample's
    # keyword arguments (checked). Optional in a record: files without them still read.
    more_out: Callable[[Any], dict[str, Any]] | None = None
    more_in: Callable[[dict[str, Any]], dict[str, Any]] | None = None


# Each tab's codec by its name: what the recording layer is handed (netwatch.tabs.codecs), so
# it never looks a tab up itself.
Codecs = Mapping[str, Codec]


def record_out(codec: Codec, tab: str, sample: Sample[Any]) -> dict[str, Any]:
    """One line of the file: the sample's envelope and its rows (or events) as plain lists."""
    record = {
        "tab": tab,
        "ts": round(sample.ts, 6),
        "interval": sample.interval,
        "lost": sample.lost,
        codec.key: [codec.write(item) for item in sample.items],
    }
    if codec.more_out is not None:
        record.update(codec.more_out(sample))
    return record


def record_in(codec: Codec, record: dict[str, Any]) -> Any:
    """A sample from its parsed record, by its tab's codec; BadRecord names what is wrong."""
    items = record.get(codec.key)
    if type(items) is not list:
        raise checks.BadRecord(f"no '{codec.key}' list")
    over = max(0, len(items) - checks.MAX_ITEMS_PER_RECORD)
    return codec.sample(
        checks.time(record.get("ts"), "ts"),
        checks.finite(record.get("interval"), 0, checks.INTERVAL_MAX, "interval"),
        tuple(codec.read(item) for item in items[: checks.MAX_ITEMS_PER_RECORD]),
        checks.count(record.get("lost", 0), "lost"),
        cut=over,
        **(codec.more_in(record) if codec.more_in is not None else {}),
    )
