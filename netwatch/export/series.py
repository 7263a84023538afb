"""Counters that live as long as the exporter, with a bounded number of label sets.

Per-process and per-cgroup labels are what blow up a Prometheus server: a host that runs a
short-lived job a second makes a new label set a second. So each table keeps at most
`max_series` label sets, the fold included. When more arrive, the least active ones (activity
decays with a half-life, so a burst long ago counts for little) are folded: their counts move
into one label set whose every value is OTHER, and their own series stop. A sum over the
metric therefore stays exact and every exposed counter stays monotonic.

Newcomers are weighed at the end of the interval that brought them, against the label sets
already shown, so a stream of tiny newcomers goes straight into the fold instead of pushing an
established series out and back every interval (churn that Prometheus pays for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OTHER = "[other]"
HALF_LIFE_S = 120.0  # how fast a label set's past activity stops protecting it from the fold

Labels = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TableView:
    """One table as a scrape sees it: every exposed label set with its values, and the fold."""

    labels: tuple[str, ...]
    rows: tuple[tuple[Labels, tuple[float, ...]], ...]
    other: tuple[float, ...] | None  # None until something was folded
    folded: int  # label sets folded so far


class FoldedTable:
    """Label sets to value vectors (all monotonic), at most `max_series` exposed."""

    def __init__(self, labels: Sequence[str], width: int, max_series: int) -> None:
        if max_series < 1:
            raise ValueError("max_series must be at least 1")
        self.labels = tuple(labels)
        self.width = width
        self.max_series = max_series
        self._values: dict[Labels, list[float]] = {}
        self._activity: dict[Labels, float] = {}
        self._new: dict[Labels, list[float]] = {}  # newcomers this interval, not yet shown
        self._other: list[float] | None = None
        self._owed: dict[Labels, list[float]] = {}  # dips not yet made up, per label set
        self.folded = 0

    def __len__(self) -> int:
        return len(self._values) + (self._other is not None)

    def add(self, key: Labels, values: Sequence[float], weight: float) -> None:
        """Count `values` (one per column) for `key`; `weight` is how active this makes it.

        A counter must never go down (Prometheus reads a dip as a reset, and `increase()` would
        jump by the whole value), yet a source can hand over a negative amount: the Traffic
        probe's per-interval rows are differences of kernel totals, which dip when counted
        traffic is taken back out. A dip is owed instead, and paid from what comes next, so
        the counter holds still until the true total passes it again."""
        row = self._values.get(key)
        if row is None:
            row = self._new.get(key)
            if row is None:
                row = self._new[key] = [0.0] * self.width
        if min(values, default=0) < 0 or key in self._owed:
            values = self._settle(key, values)
        for i, v in enumerate(values):
            row[i] += v
        self._activity[key] = self._activity.get(key, 0.0) + max(weight, 0.0)

    def _settle(self, key: Labels, values: Sequence[float]) -> list[float]:
        owed = self._owed.get(key) or [0.0] * self.width
        out = []
        for i, v in enumerate(values):
            if v < 0:
                owed[i] -= v
                v = 0.0
            else:
                paid = min(v, owed[i])
                owed[i] -= paid
                v -= paid
            out.append(v)
        if any(owed):
            self._owed[key] = owed
        else:
            self._owed.pop(key, None)
        return out

    def end_interval(self, seconds: float) -> None:
        """Admit this interval's newcomers where there is room, fold the least active label
        sets where there is not, and age every label set's activity by `seconds`."""
        if self._new:
            # The fold takes a place of its own once it exists.
            limit = self.max_series if self._other is None else self.max_series - 1
            if len(self._values) + len(self._new) > limit:
                self._fold_least_active(self.max_series - 1)
            self._values.update(self._new)
            self._new.clear()
        keep = 0.5 ** (seconds / HALF_LIFE_S)
        activity = self._activity
        for key in activity:
            activity[key] *= keep

    def _fold_least_active(self, room: int) -> None:
        activity = self._activity
        candidates = sorted(
            [*self._values, *self._new], key=lambda k: activity.get(k, 0.0), reverse=True
        )
        other = self._other if self._other is not None else [0.0] * self.width
        for key in candidates[room:]:
            row = self._values.pop(key, None)
            if row is None:
                row = self._new.pop(key)
            for i, v in enumerate(row):
                other[i] += v
            del activity[key]
            # What it owed is forgiven: a dip after its fold is too late to matter.
            self._owed.pop(key, None)
            self.folded += 1
        self._other = other

    def view(self) -> TableView:
        """An immutable copy for scrapes: they read it while the next interval is counted."""
        return TableView(
            self.labels,
            tuple((k, tuple(v)) for k, v in self._values.items()),
            tuple(self._other) if self._other is not None else None,
            self.folded,
        )
