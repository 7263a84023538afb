"""Recorded samples played back as a tab's source: paced by the runner (the batch commands'
--replay) or by one ReplayClock for every tab (the TUI's replay, with its keys)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from netwatch.model.sample import Catchup, Sample
from netwatch.recording.clock import ReplayClock
from netwatch.sources.base import Health

T = TypeVar("T", bound=Sample[Any])


class _Recorded(Generic[T]):
    """One tab's recorded samples and how far they have been played."""

    interval: float

    def __init__(self, samples: Sequence[T], path: Path) -> None:
        self._samples = samples
        self._path = path
        self._next = 0
        self._peeked: tuple[int, T] | None = None  # the next sample, read to learn when it is due

    def _sample(self, i: int) -> T:
        if self._peeked is None or self._peeked[0] != i:
            self._peeked = (i, self._samples[i])
        return self._peeked[1]

    def open(self) -> None:
        self._next = 0

    def close(self) -> None:
        pass

    def health(self) -> Health:
        if not self._samples:
            return Health("ended", f"{self._path.name} holds nothing for this tab")
        if self._next >= len(self._samples):
            return Health("ended", f"end of recording {self._path.name}")
        return Health("replay", f"{self._path.name} {self._next}/{len(self._samples)}")


class ReplaySource(_Recorded[T]):
    """Plays one tab's recorded samples one per read, at the recorded interval (or faster), as
    the runner paces it: the batch commands' --replay, and the tests."""

    def __init__(self, samples: Sequence[T], path: Path, speed: float = 1.0) -> None:
        super().__init__(samples, path)
        recorded = self._samples[0].interval if self._samples else 1.0
        self.interval = recorded / speed

    def read(self) -> T | None:
        if self._next >= len(self._samples):
            return None
        self._next += 1
        return self._sample(self._next - 1)


class ClockedReplay(_Recorded[T]):
    """Plays one tab's recorded samples each when the ReplayClock reaches its timestamp: the
    TUI's replay, whose keys pause, step and seek the clock for every tab at once. A read blocks
    until its sample is due; after a seek it hands over every sample due at once (Catchup)."""

    # read() waits for the replay clock, as long as playback is paused or at its end: the runner
    # keeps the cycle collector running through that wait.
    read_waits = True

    def __init__(self, samples: Sequence[T], path: Path, clock: ReplayClock) -> None:
        super().__init__(samples, path)
        self._clock = clock
        self._rewinds = 0
        self._closed = False
        self.interval = 0.0  # the reads wait for the clock: the runner need not wait too
        # Read now, so that a corrupt first record stops the replay before the screen opens.
        if self._samples:
            first, last, count = self._sample(0), self._samples[-1], len(self._samples)
            # The step is the recorded spacing: a first sample's interval is often longer (it
            # counts from when the probe attached).
            step = (last.ts - first.ts) / (count - 1) if count > 1 else first.interval
            clock.cover(first.ts, last.ts, step)

    def open(self) -> None:
        super().open()
        self._rewinds = self._clock.rewinds

    def read(self) -> T | Catchup | None:
        clock = self._clock
        while not (self._closed or clock.closed):
            if clock.rewinds != self._rewinds:
                self._rewinds = clock.rewinds
                self._next = 0
                return Catchup(tuple(self._due(clock.position())), reset=True)
            if self._next >= len(self._samples):
                clock.wait_for(math.inf, self._rewinds)  # the end: until a seek back
                continue
            if clock.wait_for(self._sample(self._next).ts, self._rewinds):
                due = self._due(clock.position())
                if len(due) == 1:
                    return due[0]
                return Catchup(tuple(due), reset=False)  # a seek forward: all at once
        return None

    def _due(self, position: float) -> list[T]:
        due = []
        while self._next < len(self._samples) and self._sample(self._next).ts <= position:
            due.append(self._sample(self._next))
            self._next += 1
        return due

    def close(self) -> None:
        self._closed = True
        self._clock.close()  # wakes every tab's read: the replay is over for all of them


def replay_source(
    samples: Sequence[T], path: Path, speed: float = 1.0, clock: ReplayClock | None = None
) -> ReplaySource[T] | ClockedReplay[T]:
    """A tab's replay: paced by the runner, or by `clock` when one is given."""
    if clock is not None:
        return ClockedReplay(samples, path, clock)
    return ReplaySource(samples, path, speed)
