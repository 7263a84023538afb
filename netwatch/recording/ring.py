"""A flight recorder's memory: what came in the last few seconds, the oldest dropped as new
things come. `record --ring` holds each record already encoded as the file's line (bytes,
weighed by their length); the TUI holds its samples as they are (weighed by their rows or
events) and encodes them only when asked to save. Its size follows the window and the
traffic, never how long it has run."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Held(Generic[T]):
    at: float  # when it was taken (time.monotonic())
    tab: str
    item: T
    weight: int


class RecordRing(Generic[T]):
    """What was taken in the last `seconds` (by the time each was taken, against `now`), and
    at most `max_weight` in all (the oldest go first past it; 0: no bound but the window)."""

    def __init__(self, seconds: float, weigh: Callable[[T], int], max_weight: int = 0) -> None:
        self.seconds = seconds
        self._weigh = weigh
        self._max_weight = max_weight
        self._held: deque[Held[T]] = deque()
        self.weight = 0

    def add(self, tab: str, item: T, now: float) -> None:
        weight = self._weigh(item)
        self._held.append(Held(now, tab, item, weight))
        self.weight += weight
        self.trim(now)

    def trim(self, now: float) -> None:
        """Forget what is older than the window. What was taken exactly `seconds` ago covers
        the interval that ended then, still inside the window: kept."""
        held = self._held
        while held and (
            now - held[0].at > self.seconds
            or (self._max_weight and self.weight > self._max_weight and len(held) > 1)
        ):
            self.weight -= held.popleft().weight

    def clear(self) -> None:
        self._held.clear()
        self.weight = 0

    def items(self) -> Iterator[Held[T]]:
        """What is held, oldest first (a copy: the ring may move while it is written out)."""
        return iter(list(self._held))

    def __len__(self) -> int:
        return len(self._held)
