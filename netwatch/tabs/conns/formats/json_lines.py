"""Connections as lines of `conns --batch --json`: the values `ConnRow.fields()` holds, key for
key and in its order, written without building that dict.

Why: a host refusing 60,000 connects a second has netwatch print 60,000 lines a second, and
the dict of 38 keys and its encoding cost 7 us a line, the largest share of netwatch's CPU
there (docs/benchmarks.md). Here the keys are written once, the sample's own values once per
sample, each owner's once per owner, each distinct string once.

A number may be written in another form than json.dumps would write it (`0.500` for `0.5`): a
rounded float goes through "%.Nf", whose digits are exactly those round(value, N) keeps, so
every reader parses the same value."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from math import copysign

from netwatch.model.containers import container_of
from netwatch.model.memo import remembered
from netwatch.tabs.conns.model import ConnRow

MAX_CACHED = 8192  # distinct strings and owners kept encoded
_STRINGS: dict[str, str] = {}
Owner = tuple[int, str, str, str, int]  # pid, comm, user, cgroup, netns
_OWNERS: dict[Owner, str] = {}
_STARTS: dict[float, str] = {}
_encode_string = json.encoder.encode_basestring_ascii  # json.dumps' own (ensure_ascii)
_INF = float("inf")


def _text(value: str | None) -> str:
    """A string as JSON; None and "" as null, as fields() gives them where it maps "" to None."""
    if not value:
        return "null"
    return remembered(_STRINGS, value, _encode_string, MAX_CACHED)


def _word(value: str) -> str:
    """A string fields() always gives, even empty (family, addresses, state, end)."""
    return _text(value) if value else '""'


def _odd(value: float) -> str | None:
    """json.dumps' names for NaN and the infinities; None for any finite value."""
    if value != value:
        return "NaN"
    if value in (_INF, -_INF):
        return "Infinity" if value > 0 else "-Infinity"
    return None


def _num(value: int | float | None) -> str:
    if value is None:
        return "null"
    if type(value) is float:
        return _odd(value) or float.__repr__(value)
    return str(value)


def _ms(value: float | None) -> str:
    """round(value, 3), as fields() gives milliseconds."""
    if value is None:
        return "null"
    if value == 0.0 and copysign(1.0, value) > 0:
        return "0.0"  # an idle or ended connection's every share: formatting costs 0.2 us
    return "%.3f" % value if value - value == 0.0 else _odd(value) or ""  # finite: x - x is 0


def _time(value: float | None) -> str:
    """round(value, 6), as fields() gives times."""
    if value is None:
        return "null"
    return "%.6f" % value if value - value == 0.0 else _odd(value) or ""


def _owner(row: ConnRow, user: str) -> str:
    return remembered(_OWNERS, (row.pid, row.comm, user, row.cgroup, row.netns), _owner_text,
                      MAX_CACHED)  # fmt: skip


def _owner_text(owner: Owner) -> str:
    pid, comm, user, cgroup, netns = owner
    return (
        f'"pid":{pid or "null"},"comm":{_text(comm)},"user":{_text(user)},'
        f'"container":{_text(container_of(cgroup))},"netns":{netns or "null"},'
    )


def _line(head: str, r: ConnRow, user: str) -> str:
    # None, an encoded string and an int are written inline, not through the helpers above: a
    # call each cost a refused connect's line half its time. The int fields hold ints (the
    # tracker's counters, the codec's checked values): an f-string writes one as json does.
    s = _STRINGS
    return (
        f'{head}{_owner(r, user)}"family":{s.get(r.family) or _word(r.family)},'
        f'"laddr":{s.get(r.laddr) or _word(r.laddr)},"lport":{r.lport},'
        f'"raddr":{s.get(r.raddr) or _word(r.raddr)},"rport":{r.rport},'
        f'"side":{s.get(r.side) or _text(r.side)},"state":{s.get(r.state) or _word(r.state)},'
        f'"since":{_time(r.since)},'
        f'"xmit_bytes":{"null" if r.xmit_bytes is None else r.xmit_bytes},'
        f'"recv_bytes":{"null" if r.recv_bytes is None else r.recv_bytes},'
        f'"srtt_ms":{"null" if r.srtt_ms is None else _ms(r.srtt_ms)},'
        f'"rttvar_ms":{"null" if r.rttvar_ms is None else _ms(r.rttvar_ms)},'
        f'"min_rtt_ms":{"null" if r.min_rtt_ms is None else _ms(r.min_rtt_ms)},'
        f'"retrans":{"null" if r.retrans is None else r.retrans},'
        f'"retrans_total":{"null" if r.retrans_total is None else r.retrans_total},'
        f'"resets_sent":{r.resets_sent},"resets_received":{r.resets_received},'
        f'"connect_ms":{"null" if r.connect_ms is None else _ms(r.connect_ms)},'
        f'"busy_ms":{_ms(r.busy_ms)},"rwnd_limited_ms":{_ms(r.rwnd_limited_ms)},'
        f'"sndbuf_limited_ms":{_ms(r.sndbuf_limited_ms)},'
        f'"end":{"null" if r.end is None else s.get(r.end) or _word(r.end)},"cid":{r.cid},'
        f'"segs_out":{"null" if r.segs_out is None else r.segs_out},'
        f'"cwnd":{"null" if r.cwnd is None else r.cwnd},'
        f'"ssthresh":{"null" if r.ssthresh is None else r.ssthresh},'
        f'"mss":{"null" if r.mss is None else r.mss},'
        f'"pacing_rate":{"null" if r.pacing_rate is None else r.pacing_rate},'
        f'"delivery_rate":{"null" if r.delivery_rate is None else r.delivery_rate},'
        f'"started":{_started(r.started)},"ended_at":{_time(r.ended_at)}}}'
    )


def _started(value: float) -> str:
    """A process's start, as _num(value or None) writes it, remembered: an owner's rows repeat
    it, and a float's shortest text costs 0.2 us. (0.0 and -0.0, equal as keys, are both null.)"""
    return remembered(_STARTS, value, _start_text, MAX_CACHED)


def _start_text(value: float) -> str:
    return _num(value or None)


def _head(ts: float, interval: float) -> str:
    return f'{{"ts":{_time(ts)},"interval":{_num(interval)},'


def json_line(row: ConnRow, user: str, ts: float, interval: float) -> str:
    """One row: the values of `row.fields(user, ts, interval)` as one JSON object."""
    return _line(_head(ts, interval), row, user)


def json_lines(
    rows: Iterable[ConnRow], user_of: Callable[[ConnRow], str], ts: float, interval: float
) -> list[str]:
    """Every row of one sample (taken at `ts`, over `interval`)."""
    head = _head(ts, interval)
    return [_line(head, row, user_of(row)) for row in rows]
