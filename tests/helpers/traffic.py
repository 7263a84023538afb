"""Traffic samples made by hand, for the model tests."""

from __future__ import annotations

from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow, TrafficSample


def sample(ts: float, *rows: tuple[TrafficKey, Counters], interval: float = 2.0) -> TrafficSample:
    return TrafficSample(ts, interval, tuple(TrafficRow(k, c) for k, c in rows))
