"""The Drops tab as the user sees it: filter, grouping, sort, and the heatmap's intensity scale."""

from __future__ import annotations

import math
from dataclasses import dataclass

from netwatch.model.filter import ID_MAX, FilterError, Term, parse_terms
from netwatch.tabs.drops.model import DropRow, GroupStats, protocol_name

DROP_FILTER_KEYS = ("reason", "func", "proto", "dev", "netns")
SORTS = ("total", "last", "name")
SORT_LABELS = {"total": "total drops", "last": "last interval", "name": "location or name"}
# Glyphs carry the level without colour (NO_COLOR, 16-colour terminals); colour adds to them.
GLYPHS = " \u2591\u2592\u2593\u2588"
LEVELS = len(GLYPHS) - 1


@dataclass(frozen=True, slots=True)
class DropsFilter:
    """Which drops count: terms over each row (location, reason, protocol, device, namespace),
    so a row of several namespaces counts only the drops of the ones asked for (#24)."""

    text: str
    terms: tuple[Term, ...]

    def matches_row(self, row: DropRow) -> bool:
        return all(_matches(t, row) != t.negate for t in self.terms)


def parse_drops_filter(text: str) -> DropsFilter:
    terms = parse_terms(text, DROP_FILTER_KEYS, numeric={"netns": ID_MAX}, exact=("dev",))
    return DropsFilter(text.strip(), terms)


def _matches(term: Term, row: DropRow) -> bool:
    if term.key == "reason":
        return any(v in row.key.reason.lower() for v in term.values)
    if term.key == "func":
        return any(v in row.function.lower() for v in term.values)
    if term.key == "proto":
        return protocol_name(row.key.protocol).lower() in term.values
    if term.key == "dev":
        return any(
            row.dev.startswith(v[:-1]) if v.endswith("*") else row.dev == v for v in term.values
        )
    if term.key == "netns":
        return any(int(v) == row.netns for v in term.values)
    haystack = f"0x{row.key.location:x} {row.symbol} {row.key.reason}".lower()
    return term.values[0] in haystack


@dataclass(frozen=True, slots=True)
class DropsSpec:
    grouping: str = "location"
    sort: str = "total"
    descending: bool = True
    log_scale: bool = True
    filter: DropsFilter | None = None


def sort_groups(groups: list[GroupStats], sort: str, descending: bool) -> list[GroupStats]:
    if sort not in SORTS:
        raise FilterError(f"unknown sort {sort}")
    groups = sorted(groups, key=lambda g: g.name)
    if sort == "name":
        return sorted(groups, key=lambda g: g.symbol or g.name, reverse=descending)
    return sorted(groups, key=lambda g: g.total if sort == "total" else g.last, reverse=descending)


def level(count: int, peak: int, log_scale: bool) -> int:
    """0 for no drops, else 1..LEVELS relative to the busiest cell shown."""
    if count <= 0 or peak <= 0:
        return 0
    if log_scale:
        fraction = math.log1p(count) / math.log1p(peak)
    else:
        fraction = count / peak
    return max(1, min(LEVELS, math.ceil(fraction * LEVELS)))


# A heatmap of this many cells or more shows one interval per cell (a minute or more at 1 s).
# A narrower one (under ~140 terminal columns) sums several intervals to a cell, the smallest
# of BUCKETS that reaches back HORIZON intervals, so an 80-column screen still shows minutes:
# few round steps, so cells do not change meaning with every new interval.
ONE_PER_CELL_MIN = 60
HORIZON = 300
BUCKETS = (1, 2, 5, 10, 15, 25, 50)


def bucket_for(width: int, intervals: int) -> int:
    """Intervals per cell for a heatmap `width` cells wide, `intervals` into the session."""
    if width >= ONE_PER_CELL_MIN:
        return 1
    span = min(intervals, HORIZON)
    return next((b for b in BUCKETS if width * b >= span), BUCKETS[-1])


def bucketed(history: list[int], samples: int, width: int, bucket: int) -> list[int]:
    """The last `width` cells of `history` (one count per interval, newest last), each the sum
    of `bucket` intervals. Cells are aligned to the session's intervals (the newest one fills
    as intervals come), so an older cell keeps its sum while time moves on."""
    if bucket == 1:
        return ([0] * max(0, width - len(history)) + history)[-width:]
    newest = samples % bucket or bucket
    sums = [sum(history[-newest:])] if history else [0]
    end = len(history) - newest
    while len(sums) < width and end > 0:
        sums.append(sum(history[max(0, end - bucket) : end]))
        end -= bucket
    sums += [0] * (width - len(sums))
    return sums[::-1]


def _highest_at(lv: int, peak: int, log_scale: bool) -> int:
    """The largest count in 1..peak drawn at level `lv` or below (0 if none): `level` only grows
    with the count, so a binary search finds it in O(log peak) steps."""
    lo, hi = 0, peak
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if level(mid, peak, log_scale) <= lv:
            lo = mid
        else:
            hi = mid - 1
    return lo


def legend(peak: int, log_scale: bool, bucket: int = 1, interval: float = 1.0) -> str:
    """Which counts per interval each glyph stands for, at the current peak. O(LEVELS x log
    peak): a walk count by count hung the UI on a peak of 1e8 drops."""
    if peak <= 0:
        return "no drops in view"
    parts = []
    low = 1
    for lv in range(1, LEVELS + 1):
        high = _highest_at(lv, peak, log_scale)
        if high >= low:
            parts.append(f"{GLYPHS[lv]} {low}" + (f"-{high}" if high > low else ""))
            low = high + 1
        if low > peak:
            break
    scale = "log" if log_scale else "linear"
    if bucket == 1:
        return f"{scale} scale, drops per interval: " + "  ".join(parts)
    # A narrow screen: each cell sums several intervals, and says how long a cell is.
    return f"1 cell = {bucket} x {interval:g} s, {scale}, drops per cell: " + "  ".join(parts)
