"""Messages from probe workers (threads) to the UI thread. Small dataclasses, as Toolong does."""

from __future__ import annotations

from textual.message import Message

from netwatch.model.traffic import TrafficSample
from netwatch.sources import Health


class TrafficArrived(Message):
    def __init__(self, sample: TrafficSample) -> None:
        super().__init__()
        self.sample = sample


class HealthChanged(Message):
    def __init__(self, tab: str, health: Health) -> None:
        super().__init__()
        self.tab = tab
        self.health = health
