"""Calls as text and JSON: socket-trace.stp's lines (its `thread_indent`) and the objects
`calls --batch --json` prints, for the batch command and the tab's snapshots."""

from __future__ import annotations

import re

from netwatch.model.untrusted import printable
from netwatch.tabs.calls.model import (
    ENTER,
    EXIT,
    FUNC_ENTER,
    FUNC_EXIT,
    OUTCOME,
    CallEvent,
    duration_text,
    result_text,
)


class ThreadIndent:
    """socket-trace.stp's `thread_indent`: microseconds since the thread's outermost call began
    (the clock restarts whenever the thread is back at depth 0), and the depth of each line."""

    def __init__(self) -> None:
        self._start: dict[int, float] = {}
        self._functions: dict[int, int] = {}  # tid -> functions open inside its call

    def place(self, ev: CallEvent) -> tuple[int, int]:
        """(microseconds, depth) of an event, in the order the events happened. A thread is
        remembered only while it is inside a call, so a long run over short-lived threads
        does not grow."""
        if ev.kind == OUTCOME:  # comes after its connect returned: outside any call
            return 0, 1
        if ev.kind == ENTER:  # syscalls do not nest: an enter always starts the clock again
            self._start[ev.tid] = ev.ts
            self._functions.pop(ev.tid, None)
            return 0, 1
        if ev.kind == EXIT:
            # Its enter may have come before tracing did: then it began dur_us ago.
            start = self._start.pop(ev.tid, ev.ts - ev.dur_us / 1e6)
            self._functions.pop(ev.tid, None)
            return round((ev.ts - start) * 1e6), 1
        start = self._start.setdefault(ev.tid, ev.ts)
        us = round((ev.ts - start) * 1e6)
        open_ = self._functions.get(ev.tid, 0)
        if ev.kind == FUNC_ENTER:
            self._functions[ev.tid] = open_ + 1
            return us, 2 + open_
        if ev.kind == FUNC_EXIT:
            open_ = max(0, open_ - 1)
            self._functions[ev.tid] = open_
            return us, 2 + open_
        return us, 2 + open_

    def line(self, ev: CallEvent) -> str:
        """One line in the seed's format: `<us> <comm>(<tid>):<indent>-> <name>`, with `<-` on
        returns (result and duration appended) and `*` on the events inside a call. The comm
        and arguments are a local user's text: the line is shown escaped."""
        return printable(self._line(ev))

    def _line(self, ev: CallEvent) -> str:
        us, depth = self.place(ev)
        head = f"{us} {ev.comm}({ev.tid}):{' ' * depth}"
        args = ev.args_text()
        if ev.kind == ENTER:
            return f"{head}-> {ev.name}" + (f" {args}" if args else "")
        if ev.kind == EXIT:
            tail = f" {args}" if args else ""
            return f"{head}<- {ev.name} = {result_text(ev.ret)}{tail} ({duration_text(ev.dur_us)})"
        if ev.kind == FUNC_ENTER:
            return f"{head}-> {ev.name}"
        if ev.kind == OUTCOME:  # `= connect refused -ECONNREFUSED (3.0 s)`: since it began
            error = f" {result_text(ev.ret)}" if ev.ret < 0 else ""
            return f"{head}= {ev.name} {ev.arg('outcome')}{error} ({duration_text(ev.dur_us)})"
        if ev.kind == FUNC_EXIT:
            result = ev.arg("result")
            shown = f" = {result}" if result else ""
            return f"{head}<- {ev.name}{shown} ({duration_text(ev.dur_us)})"
        return f"{head}* {ev.name}" + (f" {args}" if args else "")

    def record(self, ev: CallEvent) -> dict[str, object]:
        """One JSON object: the line's fields, and the structured arguments."""
        us, depth = self.place(ev)
        # A function is an enter and an exit like a call, one level deeper; "layer" says which.
        kind = {FUNC_ENTER: ENTER, FUNC_EXIT: EXIT}.get(ev.kind, ev.kind)
        obj: dict[str, object] = {
            "ts": round(ev.ts, 6),  # Unix seconds, as every batch command's JSON has it
            "offset_us": us,  # the seed's: since the thread's outermost call began
            "pid": ev.pid,
            "tid": ev.tid,
            "comm": ev.comm,
            "depth": depth,
            "kind": kind,
            "layer": _LAYERS.get(ev.kind, "event"),
            "name": ev.name,
            "args": typed_args(ev.args) if ev.kind != FUNC_EXIT else {},
            # The names before one grammar (#24), kept one release for scripts (README).
            "ts_us": us,
            "time": round(ev.ts, 6),
        }
        if ev.kind in (EXIT, OUTCOME):
            obj["ret"] = ev.ret
            obj["result"] = result_text(ev.ret)
            obj["dur_us"] = round(ev.dur_us, 3)
        elif ev.kind == FUNC_EXIT:
            obj["ret"] = ev.ret
            obj["result"] = ev.arg("result") or ""
            obj["dur_us"] = round(ev.dur_us, 3)
        return obj


def typed_args(args: tuple[tuple[str, str], ...]) -> dict[str, object]:
    """A call's arguments for JSON: numbers as numbers (fd, size, lport, bytes...), the rest
    (names, addresses, flags) as text."""
    return {k: int(v) if _INTEGER.fullmatch(v) else v for k, v in args}


_INTEGER = re.compile(r"-?[0-9]{1,20}")


_LAYERS = {
    ENTER: "syscall",
    EXIT: "syscall",
    OUTCOME: "syscall",
    FUNC_ENTER: "function",
    FUNC_EXIT: "function",
}
