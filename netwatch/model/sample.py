"""The one envelope every tab's data travels in: what arrived over one interval.

A probe's read, a recording's record and a replayed read are all a Sample; each tab names its
own subtype only to say what its items are (`rows` of counts, or streamed `events`), so code
that moves samples around (the runner, recordings, the app) is written once for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT", covariant=True)


@dataclass(frozen=True, slots=True)
class Sample(Generic[ItemT]):
    ts: float  # wall clock when it was read, seconds
    interval: float  # seconds it covers
    items: tuple[ItemT, ...]  # per-interval rows, or the events that streamed in
    lost: int = 0  # what the source could not deliver in that interval
    # Items of a replayed record past recording.codec.MAX_ITEMS_PER_RECORD, not replayed (a live
    # interval never holds that many: such a record was made to exhaust memory).
    cut: int = field(default=0, kw_only=True)


@dataclass(frozen=True, slots=True)
class RowsSample(Sample[ItemT]):
    """A counting tab's interval: one row per key, its counts over that interval."""

    @property
    def rows(self) -> tuple[ItemT, ...]:
        return self.items


@dataclass(frozen=True, slots=True)
class EventsSample(Sample[ItemT]):
    """A streaming tab's interval: the events that arrived in it, in order."""

    @property
    def events(self) -> tuple[ItemT, ...]:
        return self.items


@dataclass(frozen=True, slots=True)
class Catchup:
    """A replay that was moved (a seek): the samples now due, handed over at once so the view
    draws once for all of them. `reset`: the replay went back, so the view starts over from
    these."""

    samples: tuple[Sample[object], ...]
    reset: bool
