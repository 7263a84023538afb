"""The exporter's snapshot in Prometheus's text format, through the client library (served by
http_server.py, or written by textfile.py for node_exporter's textfile collector)."""

from __future__ import annotations

import platform
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from netwatch import __version__
from netwatch.export.series import OTHER, TableView
from netwatch.export.spec import Family, TableSpec
from netwatch.export.state import Snapshot


class Published:
    """The newest snapshot, swapped whole: a scrape takes a reference and reads it at leisure."""

    def __init__(self, first: Snapshot) -> None:
        self.current = first
        # Counted only when writing a textfile: None leaves the metric out.
        self.textfile_errors: int | None = None


class SnapshotCollector(Collector):
    def __init__(self, published: Published) -> None:
        self._published = published

    def collect(self) -> Iterator[Metric]:
        snap = self._published.current
        for spec, view in snap.tables:
            for family in spec.families:
                yield _family(spec, family, view)
        yield from _probe_families(snap)
        if self._published.textfile_errors is not None:
            yield CounterMetricFamily(
                "netwatch_textfile_write_errors",
                "Writes of --textfile that failed (the last good file stays in place)",
                value=self._published.textfile_errors,
            )


def _rows(view: TableView) -> Iterator[tuple[list[str], tuple[float, ...]]]:
    for labels, values in view.rows:
        yield list(labels), values
    if view.other is not None:
        yield [OTHER] * len(view.labels), view.other


def _family(spec: TableSpec, family: Family, view: TableView) -> Metric:
    # The client library takes a counter's name without _total (it drops it, and writes it
    # back on the samples), and adds a histogram's suffixes.
    if not family.histogram:
        counter = CounterMetricFamily(family.name, family.help, labels=spec.labels)
        for labels, values in _rows(view):
            counter.add_metric(labels, values[family.column])
        return counter
    histogram = HistogramMetricFamily(family.name, family.help, labels=spec.labels)
    bounds = [*(repr(b) for b in family.buckets), "+Inf"]
    for labels, values in _rows(view):
        total = values[family.column + 1]
        per_bucket = values[family.column + 2 : family.column + 2 + len(bounds)]
        cumulative, running = [], 0.0
        for bound, n in zip(bounds, per_bucket, strict=True):
            running += n
            cumulative.append((bound, running))
        histogram.add_metric(labels, cumulative, total)
    return histogram


def _probe_families(snap: Snapshot) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "netwatch_probe_up", "1 while the probe is attached and counting, else 0", labels=["probe"]
    )
    lost = CounterMetricFamily(
        "netwatch_probe_lost_events",
        "Events a probe could not deliver (a full ring buffer or map), since the exporter started",
        labels=["probe"],
    )
    info = GaugeMetricFamily(
        "netwatch_build_info",
        "netwatch's version, the running kernel, and the mechanism each probe uses on it",
        labels=["version", "kernel", "probe", "mechanism"],
    )
    for probe, status in snap.probes:
        up.add_metric([probe], 1.0 if status.up else 0.0)
        lost.add_metric([probe], status.lost)
        info.add_metric([__version__, platform.release(), probe, status.mechanism], 1.0)
    yield up
    yield lost
    yield info
    folded = CounterMetricFamily(
        "netwatch_series_folded",
        "Label sets folded into [other] to keep each metric under --max-series",
        labels=["table"],
    )
    for spec, view in snap.tables:
        folded.add_metric([spec.name], view.folded)
    yield folded
    yield GaugeMetricFamily(
        "netwatch_last_interval_timestamp_seconds",
        "When the newest interval in these counters ended (a stalled read loop stops it)",
        value=snap.ts,
    )


def registry_for(published: Published) -> CollectorRegistry:
    """netwatch's metrics and its own process's CPU and memory (process_*)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(published))
    ProcessCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
