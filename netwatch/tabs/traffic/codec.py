"""The Traffic tab's items in a recording: each one a JSON list
[pid, uid, dev, comm, reason, xmit_pk, recv_pk, xmit_bytes, recv_bytes]
under "rows", and where those processes run, [pid, cgroup, netns] under "context" (absent in
recordings made before netwatch knew it), read back with every field checked."""

from __future__ import annotations

from typing import Any

from netwatch.record_codec import (
    ID_MAX,
    ID_MIN,
    U64_MAX,
    Codec,
    context_in,
    context_out,
    fields,
    text,
    whole,
)
from netwatch.replay import replay_source
from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow, TrafficSample


def traffic_row_out(r: TrafficRow) -> list[Any]:
    return [r.key.pid, r.key.uid, r.key.dev, r.key.comm, r.key.reason, *r.counts.as_tuple()]


def traffic_row_in(item: Any) -> TrafficRow:
    pid, uid, dev, comm, reason, *counts = fields(item, 9, "a traffic row")
    return TrafficRow(
        TrafficKey(
            whole(pid, ID_MIN, ID_MAX, "pid"),
            whole(uid, ID_MIN, ID_MAX, "uid"),
            text(dev, "dev"),
            text(comm, "comm"),
            text(reason, "reason"),
        ),
        Counters(*(whole(c, 0, U64_MAX, "a counter") for c in counts)),
    )


CODEC = Codec(
    "rows", traffic_row_out, traffic_row_in, TrafficSample, replay_source, context_out, context_in
)
