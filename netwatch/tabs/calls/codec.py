"""The Calls tab's items in a recording: each one a JSON list
[ts, pid, tid, comm, kind, name, [[arg, value], ...], ret, dur_us]
under "events", and where processes first seen in it run, [pid, cgroup, netns] under
"context" (absent in older recordings), read back with every field checked."""

from __future__ import annotations

from typing import Any

from netwatch.recording.codec import (
    I64_MAX,
    I64_MIN,
    ID_MAX,
    TS_MAX,
    BadRecord,
    Codec,
    fields,
    finite,
    text,
    whole,
)
from netwatch.recording.context import context_in, context_out
from netwatch.tabs.calls.model import KINDS, CallEvent, CallsSample
from netwatch.tabs.calls.replay import replay_calls

ARGS_MAX = 64


def call_out(e: CallEvent) -> list[Any]:
    return [
        round(e.ts, 6),
        *(e.pid, e.tid, e.comm, e.kind, e.name),
        [list(a) for a in e.args],
        e.ret,
        e.dur_us,
    ]


def _arg(pair: Any) -> tuple[str, str]:
    key, value = fields(pair, 2, "a call argument")
    return text(key, "an argument name", 64), text(value, "an argument")


def call_in(item: Any) -> CallEvent:
    ts, pid, tid, comm, kind, name, args, ret, dur_us = fields(item, 9, "a call event")
    if kind not in KINDS:
        raise BadRecord(f"unknown event kind {str(kind)[:20]!r}")
    if type(args) is not list or len(args) > ARGS_MAX:
        raise BadRecord(f"arguments are not a list of at most {ARGS_MAX}")
    return CallEvent(
        finite(ts, 0, TS_MAX, "ts"),
        whole(pid, 0, ID_MAX, "pid"),
        whole(tid, 0, ID_MAX, "tid"),
        text(comm, "comm"),
        kind,
        text(name, "name", 64),
        tuple(_arg(a) for a in args),
        whole(ret, I64_MIN, I64_MAX, "ret"),
        finite(dur_us, 0, TS_MAX * 1e6, "dur_us"),
    )


CODEC = Codec("events", call_out, call_in, CallsSample, replay_calls, context_out, context_in)
