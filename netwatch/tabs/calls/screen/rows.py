"""The Calls tab's rows: a process, a thread, a call with what happened inside it (functions
nested by depth, tracepoint events), and the summary's per-name folds. Pure functions of the
model, so the view only decides which threads and calls are drawn."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text

from netwatch.model.containers import NO_CONTEXT, ProcContext
from netwatch.screens.plain import shown
from netwatch.screens.table import RankedCell
from netwatch.tabs.calls.model import (
    FUNC_ENTER,
    FUNC_EXIT,
    NOT_ERRORS,
    OUTCOME,
    CallNode,
    OpStats,
    ThreadCalls,
    duration_text,
    result_text,
)
from netwatch.tabs.calls.view_model import CallsFilter

Row = tuple[str, dict[str, object]]
Expanded = Callable[[str], bool]  # is the node with this row key open?

# A table cell loses its leading whitespace when drawn, so the tree's indentation starts with
# a visible guide.
PAD = "│ "


def clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def call_key(node: CallNode) -> str:
    return f"c{node.id}"


def thread_key(t: ThreadCalls) -> str:
    return f"t{t.tid}"


def process_row(
    t: ThreadCalls, n: int, start: int, expanded: Expanded
) -> tuple[str, dict[str, object]]:
    key = f"p{t.pid}"
    mark = "▾" if expanded(key) else "▸"
    return (
        key,
        {
            "time": Text(""),
            "tree": RankedCell(f"{mark} process {t.pid}: {n} threads", start, justify="left"),
            "result": Text(""),
            "dur": Text(""),
        },
    )


def tree_rows(
    t: ThreadCalls,
    calls: list[CallNode],
    start: int,
    expanded: Expanded,
    pad: str = "",
    place: ProcContext = NO_CONTEXT,
    netns_name: str = "",
) -> list[tuple[str, dict[str, object]]]:
    """A thread's header (with the container and network namespace its process runs in,
    where known) and, open, its calls."""
    key = thread_key(t)
    open_ = expanded(key)
    head = f"{pad}{'▾' if open_ else '▸'} {t.label}  pid {t.pid}"
    if place.container:
        head += f"  container {place.container}"
    if place.netns:
        head += f"  netns {netns_name or place.netns}"
    if t.dropped:
        head += f"  ({t.dropped} older dropped)"
    rows: list[tuple[str, dict[str, object]]] = [
        (
            key,
            {
                "time": Text(clock(t.last_ts)),
                "tree": RankedCell(head, start, justify="left"),
                "result": Text(f"{t.count} calls", justify="right"),
                "dur": Text(duration_text(t.total_us), justify="right"),
            },
        )
    ]
    if not open_:
        return rows
    for node in calls:
        rows += call_rows(node, start + len(rows), expanded, pad + PAD)
    return rows


def call_rows(
    node: CallNode, start: int, expanded: Expanded, pad: str
) -> list[tuple[str, dict[str, object]]]:
    key = call_key(node)
    n_events = len(node.events) + node.events_dropped
    open_ = expanded(key)
    mark = ("▾" if open_ else "▸") if n_events else "·"
    text = f"{pad}{mark} -> {node.name} {node.enter.args_text()}"
    if n_events and not open_:
        text += f"  [{n_events} events]"
    if node.exit is None:
        result = Text("running", style="italic", justify="right")
        dur = Text("…", justify="right")
    elif node.outcome is not None:  # a non-blocking connect: how its handshake ended
        failed = node.outcome.ret < 0
        result = shown(node.outcome.arg("outcome") or "", style="red" if failed else "",
                       justify="right")  # fmt: skip
        dur = Text(duration_text(node.exit.dur_us), justify="right")
    else:
        ret = node.exit.ret
        outcome = result_text(ret) + (f" {node.exit.args_text()}" if node.exit.args else "")
        failed = ret < 0 and ret not in NOT_ERRORS  # EINPROGRESS, EAGAIN: not yet, not failed
        result = shown(outcome, style="red" if failed else "", justify="right")
        dur = Text(duration_text(node.exit.dur_us), justify="right")
    rows: list[tuple[str, dict[str, object]]] = [
        (
            key,
            {
                "time": Text(clock(node.enter.ts)),
                "tree": RankedCell(text, start, justify="left"),
                "result": result,
                "dur": dur,
            },
        )
    ]
    if not open_:
        return rows
    depth = 0  # net/socket.c functions open at this point of the call
    for i, ev in enumerate(node.events):
        offset = (ev.ts - node.enter.ts) * 1e6
        if ev.kind == FUNC_EXIT:
            depth = max(0, depth - 1)
        indent = f"{pad}{PAD}  " + "  " * depth
        result = Text("")
        dur = Text(f"+{offset:.0f} us", justify="right")
        if ev.kind == FUNC_ENTER:
            depth += 1
            line = f"{indent}-> {ev.name}"
        elif ev.kind == FUNC_EXIT:
            line = f"{indent}<- {ev.name}"
            outcome = ev.arg("result") or ""
            result = shown(outcome, style="red" if ev.ret < 0 else "", justify="right")
            dur = Text(duration_text(ev.dur_us), justify="right")
        elif ev.kind == OUTCOME:  # after the call returned; its time is from the call's start
            line = f"{indent}= {ev.name} {ev.arg('outcome')}"
            shown_ret = result_text(ev.ret) if ev.ret < 0 else ""
            result = shown(shown_ret, style="red", justify="right")
            dur = Text(duration_text(ev.dur_us), justify="right")
        else:
            line = f"{indent}* {ev.name} {ev.args_text()}"
        cell = RankedCell(line, start + len(rows), justify="left")
        if ev.arg("socket") == "other":
            cell.stylize("dim")  # a softirq's work for another socket, on this CPU
        elif ev.kind in (FUNC_ENTER, FUNC_EXIT):
            cell.stylize("cyan")
        rows.append(
            (
                f"{key}.{i}",
                {"time": Text(""), "tree": cell, "result": result, "dur": dur},
            )
        )
    if node.events_dropped:
        rows.append(
            (
                f"{key}.more",
                {
                    "time": Text(""),
                    "tree": RankedCell(
                        f"{pad}{PAD}  ... {node.events_dropped} more events not kept",
                        start + len(rows),
                        justify="left",
                    ),
                    "result": Text(""),
                    "dur": Text(""),
                },
            )
        )
    return rows


def fold_rows(
    t: ThreadCalls, start: int, calls_filter: CallsFilter | None
) -> list[tuple[str, dict[str, object]]]:
    rows: list[tuple[str, dict[str, object]]] = [
        (
            thread_key(t),
            {
                "tree": RankedCell(f"{t.label}  pid {t.pid}", start, justify="left"),
                "count": Text(str(t.count), justify="right"),
                "total": Text(duration_text(t.total_us), justify="right"),
                "max": Text(""),
                "errors": Text(""),
            },
        )
    ]
    ops = sorted(t.fold.items(), key=lambda kv: (-kv[1].total_us, kv[0]))
    if calls_filter is not None:
        ops = [(n, s) for n, s in ops if calls_filter.matches_name(n)]
    for name, stats in ops:
        rows.append(
            (
                f"f{t.tid}.{name}",
                {
                    "tree": RankedCell(f"{PAD}{name}", start + len(rows), justify="left"),
                    "count": Text(str(stats.count), justify="right"),
                    "total": Text(duration_text(stats.total_us), justify="right"),
                    "max": Text(duration_text(stats.max_us), justify="right"),
                    "errors": Text(
                        str(stats.errors),
                        style="red" if stats.errors else "",
                        justify="right",
                    ),
                },
            )
        )
        rows += breakdown_rows(t.tid, name, stats, start + len(rows))
    return rows


def breakdown_rows(tid: int, name: str, stats: OpStats, start: int) -> list[Row]:
    """Under a call's summary: its errors by errno, then the returns that are not errors (a
    non-blocking call's "not yet", a unix socket absent), each with how many."""
    lines = [(f"-{err.lstrip('-')}", "", str(n)) for err, n in sorted(
        stats.by_errno.items(), key=lambda kv: (-kv[1], kv[0]))]  # fmt: skip
    if stats.pending:
        lines.append(("not yet (EINPROGRESS, EAGAIN, ...): not errors", str(stats.pending), ""))
    if stats.absent:
        lines.append(("unix socket absent (ENOENT): not errors", str(stats.absent), ""))
    return [
        (
            f"f{tid}.{name}.{i}",
            {
                "tree": RankedCell(f"{PAD}{PAD}{label}", start + i, justify="left"),
                "count": Text(count, justify="right"),
                "total": Text(""),
                "max": Text(""),
                "errors": Text(errors, style="red" if errors else "", justify="right"),
            },
        )
        for i, (label, count, errors) in enumerate(lines)
    ]
