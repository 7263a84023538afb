"""Where a sample's processes run (`context`: cgroup, netns and start time by PID), as a record's
"context" field and back, checked; the tabs whose samples carry it use these in their codec."""

from __future__ import annotations

from typing import Any

from netwatch.model.containers import ProcContext
from netwatch.recording import checks


def context_out(sample: Any) -> dict[str, Any]:
    """A sample's `context` (where its processes run, by PID) as a record's "context"."""
    return {"context": [[pid, c.cgroup, c.netns, c.started] for pid, c in sample.context.items()]}


def context_in(record: dict[str, Any]) -> dict[str, Any]:
    """And back, checked, as the sample's keyword argument; absent in older recordings."""
    items = record.get("context", [])
    if type(items) is not list:
        raise checks.BadRecord("'context' is not a list")
    context: dict[int, ProcContext] = {}
    for item in items[: checks.MAX_ITEMS_PER_RECORD]:  # one per row's process at most
        if type(item) is list and len(item) == 3:  # recorded before the start was
            item = [*item, 0]
        pid, cgroup, netns, started = checks.fields(item, 4, "a process's context")
        context[checks.ident(pid, "pid")] = ProcContext(
            checks.cgroup(cgroup), checks.netns(netns), checks.time(started, "started")
        )
    return {"context": context}
