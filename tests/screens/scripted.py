"""A source the test feeds by hand: each read() returns the next pushed sample (blocking)."""

from __future__ import annotations

import queue

from netwatch.sources.base import Health
from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow, TrafficSample


class ScriptedSource:
    interval = 0.01
    read_waits = True  # until the test pushes a sample

    def __init__(self) -> None:
        self._queue: queue.Queue[object | None] = queue.Queue()
        self.reads = 0

    def push(self, *rows: tuple[TrafficKey, Counters], ts: float = 1.0) -> None:
        self._queue.put(TrafficSample(ts, 1.0, tuple(TrafficRow(k, c) for k, c in rows)))

    def push_sample(self, sample: object) -> None:
        self._queue.put(sample)

    def open(self) -> None:
        pass

    def read(self) -> object | None:
        sample = self._queue.get()
        self.reads += 1
        return sample

    def close(self) -> None:
        self._queue.put(None)

    def health(self) -> Health:
        return Health("attached", "scripted")
