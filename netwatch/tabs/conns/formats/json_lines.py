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

from netwatch.tabs.conns.model import ConnRow

MAX_CACHED = 8192  # distinct strings and owners kept encoded
_STRINGS: dict[str, str] = {}
_OWNERS: dict[tuple[int, str, str, str, int], str] = {}
_encode_string = json.encoder.encode_basestring_ascii  # json.dumps' own (ensure_ascii)
_INF = float("inf")


def _text(value: str | None) -> str:
    """A string as JSON; None and "" as null, as fields() gives them where it maps "" to None."""
    if not value:
        return "null"
    encoded = _STRINGS.get(value)
    if encoded is None:
        if len(_STRINGS) >= MAX_CACHED:
            _STRINGS.clear()
        encoded = _STRINGS[value] = _encode_string(value)
    return encoded


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
    return _odd(value) or "%.3f" % value


def _time(value: float | None) -> str:
    """round(value, 6), as fields() gives times."""
    if value is None:
        return "null"
    return _odd(value) or "%.6f" % value


def _owner(row: ConnRow, user: str) -> str:
    key = (row.pid, row.comm, user, row.cgroup, row.netns)
    text = _OWNERS.get(key)
    if text is None:
        if len(_OWNERS) >= MAX_CACHED:
            _OWNERS.clear()
        text = _OWNERS[key] = (
            f'"pid":{row.pid or "null"},"comm":{_text(row.comm)},"user":{_text(user)},'
            f'"container":{_text(row.container)},"netns":{row.netns or "null"},'
        )
    return text


def _line(head: str, r: ConnRow, user: str) -> str:
    return (
        f'{head}{_owner(r, user)}"family":{_word(r.family)},"laddr":{_word(r.laddr)},'
        f'"lport":{r.lport},"raddr":{_word(r.raddr)},"rport":{r.rport},'
        f'"side":{_text(r.side)},"state":{_word(r.state)},"since":{_time(r.since)},'
        f'"xmit_bytes":{_num(r.xmit_bytes)},"recv_bytes":{_num(r.recv_bytes)},'
        f'"srtt_ms":{_ms(r.srtt_ms)},"rttvar_ms":{_ms(r.rttvar_ms)},'
        f'"min_rtt_ms":{_ms(r.min_rtt_ms)},"retrans":{_num(r.retrans)},'
        f'"retrans_total":{_num(r.retrans_total)},"resets_sent":{r.resets_sent},'
        f'"resets_received":{r.resets_received},"connect_ms":{_ms(r.connect_ms)},'
        f'"busy_ms":{_ms(r.busy_ms)},"rwnd_limited_ms":{_ms(r.rwnd_limited_ms)},'
        f'"sndbuf_limited_ms":{_ms(r.sndbuf_limited_ms)},'
        f'"end":{"null" if r.end is None else _word(r.end)},'
        f'"cid":{r.cid},"segs_out":{_num(r.segs_out)},"cwnd":{_num(r.cwnd)},'
        f'"ssthresh":{_num(r.ssthresh)},"mss":{_num(r.mss)},'
        f'"pacing_rate":{_num(r.pacing_rate)},"delivery_rate":{_num(r.delivery_rate)},'
        f'"started":{_num(r.started or None)},"ended_at":{_time(r.ended_at)}}}'
    )


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
