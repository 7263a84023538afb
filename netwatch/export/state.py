"""What the exporter has counted: each tab's tables, each probe's health and lost events, and
the immutable snapshot a scrape reads. Counting and snapshots happen on the read loop's thread;
a scrape only takes the newest snapshot, so it never waits for a probe and never sees half an
interval."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netwatch.export.series import FoldedTable, Labels, TableView
from netwatch.export.spec import TableSpec, TabMetrics
from netwatch.model.untrusted import printable
from netwatch.sources.base import Health

UP_STATES = frozenset({"attached", "degraded", "replay"})


@dataclass(frozen=True, slots=True)
class ProbeStatus:
    up: bool
    mechanism: str  # what this kernel let the probe use, or why it is down
    lost: int  # events the probe could not deliver, since the exporter started


@dataclass(frozen=True, slots=True)
class Snapshot:
    ts: float  # wall clock at the end of the newest interval (before one: the start)
    tables: tuple[tuple[TableSpec, TableView], ...]
    probes: tuple[tuple[str, ProbeStatus], ...]


class ExportState:
    def __init__(
        self,
        metrics: Mapping[str, TabMetrics],
        max_series: int,
        down: Mapping[str, str] | None = None,
    ) -> None:
        self._metrics = dict(metrics)
        self._tables: dict[str, tuple[TableSpec, FoldedTable]] = {}
        for tab_metrics in self._metrics.values():
            for spec in tab_metrics.tables():
                table = FoldedTable(spec.labels, spec.width, max_series)
                self._tables[spec.name] = (spec, table)
        self._health: dict[str, Health] = {
            tab: Health("attaching", "compiling BPF") for tab in self._metrics
        }
        for tab, why in (down or {}).items():
            self._health[tab] = Health("failed", why)
        self._lost: dict[str, int] = dict.fromkeys(self._health, 0)
        self._ts = time.time()

    def _add(self, table: str, labels: Labels, values: Sequence[float], weight: float) -> None:
        self._tables[table][1].add(labels, values, weight)

    def count(self, tab: str, sample: Any) -> None:
        self._metrics[tab].count(sample, self._add)
        self._lost[tab] += sample.lost

    def set_health(self, tab: str, health: Health) -> None:
        self._health[tab] = health

    def end_interval(self, seconds: float, ts: float | None = None) -> None:
        for _, table in self._tables.values():
            table.end_interval(seconds)
        self._ts = time.time() if ts is None else ts

    def snapshot(self) -> Snapshot:
        return Snapshot(
            self._ts,
            tuple((spec, table.view()) for spec, table in self._tables.values()),
            tuple((tab, self._status(tab, h)) for tab, h in self._health.items()),
        )

    def _status(self, tab: str, health: Health) -> ProbeStatus:
        # The reason a probe is down can quote what the kernel or a path said.
        mechanism = printable(health.detail or health.state)
        return ProbeStatus(health.state in UP_STATES, mechanism, self._lost[tab])
