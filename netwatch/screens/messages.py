"""Messages from probe workers (threads) to the UI thread. Small dataclasses, as Toolong does."""

from __future__ import annotations

from textual.message import Message

from netwatch.sources.base import Health


class SampleArrived(Message):
    """One interval's sample for one tab (a TrafficSample, a DropsSample, ...)."""

    def __init__(self, tab: str, sample: object) -> None:
        super().__init__()
        self.tab = tab
        self.sample = sample


class HealthChanged(Message):
    def __init__(self, tab: str, health: Health) -> None:
        super().__init__()
        self.tab = tab
        self.health = health
