"""`i` on a Calls line: the whole call, every argument in full (a tree line is cut to the
screen's width, which lost a connect's peer address at 80 columns)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from textual.widget import Widget

from netwatch.screens.detail import DetailScreen
from netwatch.screens.plain import PlainStatic
from netwatch.tabs.calls.model import (
    FUNC_ENTER,
    FUNC_EXIT,
    OUTCOME,
    CallNode,
    ThreadCalls,
    duration_text,
    result_text,
)


def call_lines(thread: ThreadCalls, node: CallNode) -> list[str]:
    """The call as lines of text, each argument on its own line and nothing cut."""
    when = time.strftime("%H:%M:%S", time.localtime(node.enter.ts))
    lines = [f"{thread.label}  pid {thread.pid}", f"{when}  -> {node.name}"]
    lines += [f"    {k} = {v}" for k, v in node.enter.args]
    if node.exit is None:
        lines.append("  running")
    else:
        exit_ = node.exit
        lines.append(
            f"  <- {node.name} = {result_text(exit_.ret)}  ({duration_text(exit_.dur_us)})"
        )
        lines += [f"    {k} = {v}" for k, v in exit_.args]
    if node.outcome is not None:
        o = node.outcome
        error = f" {result_text(o.ret)}" if o.ret < 0 else ""
        lines.append(f"  = {o.arg('outcome')}{error} after {duration_text(o.dur_us)}")
    if node.events:
        lines += ["", f"inside it ({len(node.events)} kept, {node.events_dropped} not):"]
    for ev in node.events:
        offset = f"+{(ev.ts - node.enter.ts) * 1e6:.0f} us"
        mark = {FUNC_ENTER: "->", FUNC_EXIT: "<-", OUTCOME: "="}.get(ev.kind, "*")
        lines.append(f"  {offset:>12}  {mark} {ev.name} {ev.args_text()}")
    return lines


class CallDetail(DetailScreen):
    def __init__(self, thread: ThreadCalls, node: CallNode) -> None:
        super().__init__()
        self.thread = thread
        self.node = node

    def details(self) -> Iterable[Widget]:
        yield PlainStatic(call_lines(self.thread, self.node), id="call-detail")
