"""Each tab's record in a recording file, written out as plain JSON lists and read back checked.

A recording is a file anyone can hand the operator, so reading one trusts nothing: every field
must have its type and a sane range (finite times, ids that fit the kernel's, addresses that
parse), and a line that fails is one error naming it, never a traceback later in a screen.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable
from typing import Any

from netwatch.model.accepts import AcceptEvent, AcceptsSample
from netwatch.model.calls import (
    ENTER,
    EVENT,
    EXIT,
    FOLDED,
    FUNC_ENTER,
    FUNC_EXIT,
    CallEvent,
    CallsSample,
)
from netwatch.model.drops import DropKey, DropRow, DropsSample
from netwatch.model.sample import Sample
from netwatch.model.traffic import Counters, TrafficKey, TrafficRow, TrafficSample

# Bounds for what a record may hold. Times: the Unix epoch to the year 2242 (2**33 s).
TS_MAX = float(2**33)
INTERVAL_MAX = 86_400.0
ID_MIN, ID_MAX = -1, 2**32 - 1  # -1: the "no process" of unattributed rows
U64_MAX = 2**64 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
TEXT_MAX = 4096  # a command name is 15 bytes; a Calls argument (an AF_UNIX path) far less
ARGS_MAX = 64
INT_DIGITS_MAX = 20  # enough for any 64-bit number; json would otherwise parse 10**5000
FAMILIES = frozenset({"ipv4", "ipv6", "ipv4-mapped"})


class BadRecord(ValueError):
    """A record that does not hold what its tab's format says; the message names the field."""


# ---- checked conversions ----------------------------------------------------------------------
def _int(value: Any, low: int, high: int, what: str) -> int:
    if type(value) is not int or not low <= value <= high:  # bool is an int: refused too
        raise BadRecord(f"{what} is not a whole number from {low} to {high}")
    return value


def _float(value: Any, low: float, high: float, what: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or not low <= value <= high:
        raise BadRecord(f"{what} is not a finite number from {low:g} to {high:g}")
    return float(value)


def _text(value: Any, what: str, limit: int = TEXT_MAX) -> str:
    if type(value) is not str or len(value) > limit:
        raise BadRecord(f"{what} is not text of at most {limit} characters")
    return value


def _address(value: Any, what: str) -> str:
    text = _text(value, what, 64)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise BadRecord(f"{what} is not an IP address") from None
    return text


def _items(value: Any, size: int, what: str) -> list[Any]:
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


# ---- each tab's row or event, out and back in ---------------------------------------------
def traffic_row_out(r: TrafficRow) -> list[Any]:
    return [r.key.pid, r.key.uid, r.key.dev, r.key.comm, r.key.reason, *r.counts.as_tuple()]


def traffic_row_in(item: Any) -> TrafficRow:
    pid, uid, dev, comm, reason, *counts = _items(item, 9, "a traffic row")
    return TrafficRow(
        TrafficKey(
            _int(pid, ID_MIN, ID_MAX, "pid"),
            _int(uid, ID_MIN, ID_MAX, "uid"),
            _text(dev, "dev"),
            _text(comm, "comm"),
            _text(reason, "reason"),
        ),
        Counters(*(_int(c, 0, U64_MAX, "a counter") for c in counts)),
    )


def drop_row_out(r: DropRow) -> list[Any]:
    return [r.key.location, r.key.reason, r.key.protocol, r.symbol, r.count, r.dev, r.port]


def drop_row_in(item: Any) -> DropRow:
    loc, reason, proto, symbol, count, dev, port = _items(item, 7, "a drops row")
    return DropRow(
        DropKey(
            _int(loc, 0, U64_MAX, "location"),
            _text(reason, "reason"),
            _int(proto, 0, 0xFFFF, "protocol"),
        ),
        _text(symbol, "symbol"),
        _int(count, 0, U64_MAX, "count"),
        _text(dev, "dev"),
        _int(port, 0, 0xFFFF, "port"),
    )


def accept_out(e: AcceptEvent) -> list[Any]:
    return [
        round(e.ts, 6),
        *(e.pid, e.tid, e.uid, e.comm, e.family),
        *(e.laddr, e.lport, e.raddr, e.rport),
    ]


def accept_in(item: Any) -> AcceptEvent:
    ts, pid, tid, uid, comm, family, laddr, lport, raddr, rport = _items(item, 10, "an accept")
    if family not in FAMILIES:
        raise BadRecord("family is not one of " + ", ".join(sorted(FAMILIES)))
    return AcceptEvent(
        _float(ts, 0, TS_MAX, "ts"),
        _int(pid, 0, ID_MAX, "pid"),
        _int(tid, 0, ID_MAX, "tid"),
        _int(uid, 0, ID_MAX, "uid"),
        _text(comm, "comm"),
        family,
        _address(laddr, "local address"),
        _int(lport, 0, 0xFFFF, "port"),
        _address(raddr, "source address"),
        _int(rport, 0, 0xFFFF, "source port"),
    )


def call_out(e: CallEvent) -> list[Any]:
    return [
        round(e.ts, 6),
        *(e.pid, e.tid, e.comm, e.kind, e.name),
        [list(a) for a in e.args],
        e.ret,
        e.dur_us,
    ]


def _arg(pair: Any) -> tuple[str, str]:
    key, value = _items(pair, 2, "a call argument")
    return _text(key, "an argument name", 64), _text(value, "an argument")


def call_in(item: Any) -> CallEvent:
    ts, pid, tid, comm, kind, name, args, ret, dur_us = _items(item, 9, "a call event")
    if kind not in (ENTER, EXIT, EVENT, FUNC_ENTER, FUNC_EXIT, FOLDED):
        raise BadRecord(f"unknown event kind {str(kind)[:20]!r}")
    if type(args) is not list or len(args) > ARGS_MAX:
        raise BadRecord(f"arguments are not a list of at most {ARGS_MAX}")
    return CallEvent(
        _float(ts, 0, TS_MAX, "ts"),
        _int(pid, 0, ID_MAX, "pid"),
        _int(tid, 0, ID_MAX, "tid"),
        _text(comm, "comm"),
        kind,
        _text(name, "name", 64),
        tuple(_arg(a) for a in args),
        _int(ret, I64_MIN, I64_MAX, "ret"),
        _float(dur_us, 0, TS_MAX * 1e6, "dur_us"),
    )


# tab -> (the key its items are under, how one item is written and read, the sample type)
Codec = tuple[str, Callable[[Any], list[Any]], Callable[[Any], Any], Callable[..., Any]]
CODECS: dict[str, Codec] = {
    "traffic": ("rows", traffic_row_out, traffic_row_in, TrafficSample),
    "drops": ("rows", drop_row_out, drop_row_in, DropsSample),
    "accepts": ("events", accept_out, accept_in, AcceptsSample),
    "calls": ("events", call_out, call_in, CallsSample),
}


def record_out(tab: str, sample: Sample[Any]) -> dict[str, Any]:
    """One line of the file: the sample's envelope and its rows (or events) as plain lists."""
    key, write_item, _, _ = CODECS[tab]
    items = sample.items
    return {
        "tab": tab,
        "ts": round(sample.ts, 6),
        "interval": sample.interval,
        "lost": sample.lost,
        key: [write_item(item) for item in items],
    }


def record_in(tab: str, record: dict[str, Any]) -> Any:
    """A sample of `tab` from its parsed record; BadRecord names what is wrong."""
    key, _, read_item, build = CODECS[tab]
    items = record.get(key)
    if type(items) is not list:
        raise BadRecord(f"no '{key}' list")
    return build(
        _float(record.get("ts"), 0, TS_MAX, "ts"),
        _float(record.get("interval"), 0, INTERVAL_MAX, "interval"),
        tuple(read_item(item) for item in items),
        _int(record.get("lost", 0), 0, U64_MAX, "lost"),
    )
