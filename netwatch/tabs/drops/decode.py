"""Drops: the per-CPU counts drops.bpf.c keeps for a (location, reason, protocol, device or
namespace), from its hash and its hot slots, added up into one row per key."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from netwatch.model.cdata import c_string
from netwatch.tabs.drops.model import DropKey

# count, first seen (ns), last seen (ns), the newest device, local port and network namespace
DropCounts = tuple[int, int, int, str, int, int]
# A row's identity: its key, and where (the kernel's device or namespace pointer, never shown)
RowId = tuple[DropKey, int]


def merge_drop_counts(
    counted: Iterable[tuple[Any, list[Any]]], reason_name: Callable[[int], str]
) -> dict[RowId, DropCounts]:
    """(key, its value on each CPU) pairs to one row per key. A key may come more than once:
    in another CPU's hot slot, or under another reason number with the same name."""
    out: dict[RowId, DropCounts] = {}
    for k, per_cpu in counted:
        key = (DropKey(int(k.location), reason_name(int(k.reason)), int(k.protocol)), int(k.where))
        count = sum(int(v.count) for v in per_cpu)
        seen = [v for v in per_cpu if v.count]
        first = min((int(v.first_ns) for v in seen), default=0)
        newest = max(seen, key=lambda v: int(v.last_ns), default=None)
        last = int(newest.last_ns) if newest is not None else 0
        dev = c_string(newest.dev) if newest is not None else ""
        port = int(newest.port) if newest is not None else 0
        netns = int(newest.netns) if newest is not None else 0
        prev = out.get(key)
        if prev is not None:
            count += prev[0]
            first = min(f for f in (first, prev[1]) if f) if first or prev[1] else 0
            if prev[2] > last:
                last, dev, port, netns = prev[2], prev[3], prev[4], prev[5]
        out[key] = (count, first, last, dev, port, netns)
    return out
