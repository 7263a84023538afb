"""A recording's records, written out as plain JSON lists and read back checked: the envelope
here, each tab's items in its own codec.py (netwatch/tabs/NAME/codec.py).

A recording is a file anyone can hand the operator, so reading one trusts nothing: every field
must have its type and a sane range (finite times, ids that fit the kernel's, addresses that
parse), and a line that fails is one error naming it, never a traceback later in a screen.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from netwatch.model.sample import Sample

# Bounds for what a record may hold. Times: the Unix epoch to the year 2242 (2**33 s).
TS_MAX = float(2**33)
INTERVAL_MAX = 86_400.0
ID_MIN, ID_MAX = -1, 2**32 - 1  # -1: the "no process" of unattributed rows
NETNS_MAX = 2**32 - 1  # a network namespace's inode number: 32 bits in nsfs
CGROUP_PATH_MAX = 4096
U64_MAX = 2**64 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
TEXT_MAX = 4096  # a command name is 15 bytes; a Calls argument (an AF_UNIX path) far less
INT_DIGITS_MAX = 20  # enough for any 64-bit number; json would otherwise parse 10**5000
# Rows (or events) of one record that are replayed. A live interval holds far fewer (the probes'
# maps are smaller); a record with more is made to exhaust memory (a million-row record took
# the replay UI to 3.7 GB): the rest are counted in the sample's `cut`, and said, not kept.
MAX_ITEMS_PER_RECORD = 100_000


class BadRecord(ValueError):
    """A record that does not hold what its tab's format says; the message names the field."""


# ---- checked conversions ----------------------------------------------------------------------
def whole(value: Any, low: int, high: int, what: str) -> int:
    if type(value) is not int or not low <= value <= high:  # bool is an int: refused too
        raise BadRecord(f"{what} is not a whole number from {low} to {high}")
    return value


def finite(value: Any, low: float, high: float, what: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or not low <= value <= high:
        raise BadRecord(f"{what} is not a finite number from {low:g} to {high:g}")
    return float(value)


def text(value: Any, what: str, limit: int = TEXT_MAX) -> str:
    if type(value) is not str or len(value) > limit:
        raise BadRecord(f"{what} is not text of at most {limit} characters")
    return value


def address(value: Any, what: str) -> str:
    shown = text(value, what, 64)
    try:
        ipaddress.ip_address(shown)
    except ValueError:
        raise BadRecord(f"{what} is not an IP address") from None
    return shown


def fields(value: Any, size: int, what: str) -> list[Any]:
    if type(value) is not list or len(value) != size:
        raise BadRecord(f"{what} is not a list of {size} fields")
    return value


def _reject_constant(name: str) -> float:
    raise BadRecord(f"{name} is not a number a recording may hold")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > INT_DIGITS_MAX:
        raise BadRecord(f"a number of {len(digits)} digits")
    return int(digits)


def parse_json_line(line: bytes) -> Any:
    """One line as JSON, refusing NaN, Infinity and numbers too long to be a field."""
    try:
        return json.loads(line, parse_constant=_reject_constant, parse_int=_bounded_int)
    except RecursionError:
        raise BadRecord("nested too deeply") from None
    except UnicodeDecodeError:
        raise BadRecord("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadRecord(exc.msg) from None


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
        raise BadRecord(f"no '{codec.key}' list")
    over = max(0, len(items) - MAX_ITEMS_PER_RECORD)
    return codec.sample(
        finite(record.get("ts"), 0, TS_MAX, "ts"),
        finite(record.get("interval"), 0, INTERVAL_MAX, "interval"),
        tuple(codec.read(item) for item in items[:MAX_ITEMS_PER_RECORD]),
        whole(record.get("lost", 0), 0, U64_MAX, "lost"),
        cut=over,
        **(codec.more_in(record) if codec.more_in is not None else {}),
    )
