"""The Connections tab's items in a recording: each row a JSON list of ConnRow's fields in
their order (model.py), under "rows", read back with every field checked; the sample's
`more` (connections past the cap) beside them."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from netwatch.recording import checks
from netwatch.recording.codec import Codec
from netwatch.recording.replay import replay_source
from netwatch.tabs.conns.model import ENDS, FAMILIES, SIDES, STATES, ConnRow, ConnsSample

NAMES = tuple(f.name for f in fields(ConnRow))
_BIG = checks.U64_MAX
_MS_MAX = 1e12


def conn_out(r: ConnRow) -> list[Any]:
    return [getattr(r, name) for name in NAMES]


def _maybe(value: Any, check: Any, *args: Any) -> Any:
    return None if value is None else check(value, *args)


def _count(value: Any, what: str) -> int | None:
    return None if value is None else checks.whole(value, 0, _BIG, what)


def _ms(value: Any, what: str) -> float | None:
    return None if value is None else checks.finite(value, 0, _MS_MAX, what)


def conn_in(item: Any) -> ConnRow:
    if type(item) is list and len(item) == len(NAMES) - 1:  # recorded before connect_first
        item = [*item, False]
    v = dict(zip(NAMES, checks.fields(item, len(NAMES), "a connection"), strict=True))
    if type(v["connect_first"]) is not bool:
        raise checks.BadRecord("connect_first is not true or false")
    if v["family"] not in FAMILIES:
        raise checks.BadRecord("family is not one of " + ", ".join(FAMILIES))
    if v["side"] not in (*SIDES, ""):
        raise checks.BadRecord("side is not out, in or empty")
    if v["state"] not in STATES:
        raise checks.BadRecord("state is not a TCP state")
    if v["end"] is not None and v["end"] not in ENDS:
        raise checks.BadRecord("end is not one of " + ", ".join(ENDS))
    return ConnRow(
        cid=checks.whole(v["cid"], 0, _BIG, "cid"),
        netns=checks.netns(v["netns"]),
        family=v["family"],
        laddr=checks.address(v["laddr"], "local address"),
        lport=checks.port(v["lport"], "local port"),
        raddr=checks.address(v["raddr"], "remote address"),
        rport=checks.port(v["rport"], "remote port"),
        pid=checks.ident(v["pid"], "pid"),
        uid=_maybe(v["uid"], checks.ident, "uid"),
        comm=checks.text(v["comm"], "comm"),
        cgroup=checks.cgroup(v["cgroup"]),
        started=checks.time(v["started"], "started"),
        side=v["side"],
        state=v["state"],
        since=_maybe(v["since"], checks.time, "since"),
        xmit_bytes=_count(v["xmit_bytes"], "xmit_bytes"),
        recv_bytes=_count(v["recv_bytes"], "recv_bytes"),
        retrans=_count(v["retrans"], "retrans"),
        segs_out=_count(v["segs_out"], "segs_out"),
        resets_sent=checks.whole(v["resets_sent"], 0, _BIG, "resets_sent"),
        resets_received=checks.whole(v["resets_received"], 0, _BIG, "resets_received"),
        busy_ms=_ms(v["busy_ms"], "busy_ms"),
        rwnd_limited_ms=_ms(v["rwnd_limited_ms"], "rwnd_limited_ms"),
        sndbuf_limited_ms=_ms(v["sndbuf_limited_ms"], "sndbuf_limited_ms"),
        srtt_ms=_ms(v["srtt_ms"], "srtt_ms"),
        rttvar_ms=_ms(v["rttvar_ms"], "rttvar_ms"),
        min_rtt_ms=_ms(v["min_rtt_ms"], "min_rtt_ms"),
        retrans_total=_count(v["retrans_total"], "retrans_total"),
        xmit_total=_count(v["xmit_total"], "xmit_total"),
        recv_total=_count(v["recv_total"], "recv_total"),
        connect_ms=_ms(v["connect_ms"], "connect_ms"),
        end=v["end"],
        ended_at=_maybe(v["ended_at"], checks.time, "ended_at"),
        cwnd=_count(v["cwnd"], "cwnd"),
        ssthresh=_count(v["ssthresh"], "ssthresh"),
        mss=_count(v["mss"], "mss"),
        pacing_rate=_count(v["pacing_rate"], "pacing_rate"),
        delivery_rate=_count(v["delivery_rate"], "delivery_rate"),
        connect_first=v["connect_first"],
    )


def _more_out(sample: ConnsSample) -> dict[str, Any]:
    return {"more": sample.more} if sample.more else {}


def _more_in(record: dict[str, Any]) -> dict[str, Any]:
    return {"more": checks.count(record.get("more", 0), "more")}


CODEC = Codec("rows", conn_out, conn_in, ConnsSample, replay_source, _more_out, _more_in)
