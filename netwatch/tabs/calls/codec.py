"""The Calls tab's items in a recording: each one a JSON list
[ts, pid, tid, comm, kind, name, [[arg, value], ...], ret, dur_us]
under "events", and where processes first seen in it run, [pid, cgroup, netns, started] under
"context" (absent in older recordings), read back with every field checked."""

from __future__ import annotations

from typing import Any

from netwatch.recording import checks
from netwatch.recording.codec import Codec
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
    key, value = checks.fields(pair, 2, "a call argument")
    return checks.text(key, "an argument name", 64), checks.text(value, "an argument")


def call_in(item: Any) -> CallEvent:
    ts, pid, tid, comm, kind, name, args, ret, dur_us = checks.fields(item, 9, "a call event")
    if kind not in KINDS:
        raise checks.BadRecord(f"unknown event kind {str(kind)[:20]!r}")
    if type(args) is not list or len(args) > ARGS_MAX:
        raise checks.BadRecord(f"arguments are not a list of at most {ARGS_MAX}")
    return CallEvent(
        checks.time(ts, "ts"),
        checks.ident(pid, "pid"),
        checks.ident(tid, "tid"),
        checks.text(comm, "comm"),
        kind,
        checks.text(name, "name", 64),
        tuple(_arg(a) for a in args),
        checks.whole(ret, checks.I64_MIN, checks.I64_MAX, "ret"),
        checks.finite(dur_us, 0, checks.TS_MAX * 1e6, "dur_us"),
    )


CODEC = Codec("events", call_out, call_in, CallsSample, replay_calls, context_out, context_in)
