"""The clock a replay is played by: one for all the tabs of a recording, so that pausing, stepping,
seeking and the speed apply to every tab at once, and a position bar can show where it is.

It runs in the recording's own time (the samples' timestamps). Each tab's ClockedReplay blocks in
`wait_for` until its next sample is due; the UI's keys move the clock from another thread. A
seek backwards bumps `rewinds`: a source that sees it starts over and hands the view everything
up to the new position at once (recording.Catchup), since a view's state only moves forward.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SPEEDS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


class ReplayClock:
    def __init__(self, speed: float = 1.0, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._cond = threading.Condition()
        self.start = 0.0  # recorded time of the first sample of any tab
        self.end = 0.0  # and of the last
        self.step_s = 1.0  # the recorded interval: what `.` and `,` move by
        self._known = False
        self.speed = speed
        self.paused = False
        self.rewinds = 0
        self.closed = False
        self._at = 0.0  # recorded time at the wall-clock moment _since
        self._since = now()

    # ---- the recording's extent, told by each tab's source --------------------------------
    def cover(self, first: float, last: float, interval: float) -> None:
        """A tab's samples run from `first` to `last`, `interval` apart."""
        with self._cond:
            if not self._known:
                self.start, self.end, self.step_s, self._known = first, last, interval, True
                self._at, self._since = first, self._now()
            else:
                if first < self.start and self._at <= self.start:
                    self._at = first  # not moved yet: start at the earliest tab's first sample
                self.start = min(self.start, first)
                self.end = max(self.end, last)
            self._cond.notify_all()

    # ---- reading it -----------------------------------------------------------------------
    def position(self) -> float:
        with self._cond:
            return self._position()

    def _position(self) -> float:
        if self.paused:
            return self._at
        return min(self.end, self._at + (self._now() - self._since) * self.speed)

    @property
    def ended(self) -> bool:
        return self._known and self.position() >= self.end

    def wait_for(self, ts: float, rewinds: int, timeout: float = 0.5) -> bool:
        """Block until the clock reaches `ts` (True), or until a rewind after `rewinds`, the
        clock's closing or `timeout` (False; the caller looks at why and may wait again)."""
        deadline = self._now() + timeout
        with self._cond:
            while not self.closed and self.rewinds == rewinds:
                if self._position() >= ts:
                    return True
                left = deadline - self._now()
                if left <= 0:
                    return False
                due = (ts - self._position()) / self.speed if not self.paused else left
                self._cond.wait(min(left, max(0.001, due)))
            return False

    # ---- moving it (the UI's keys) ----------------------------------------------------------
    def _set(self, position: float) -> None:
        """Under the lock: move to `position` (within the recording), rewinding if backwards."""
        position = max(self.start, min(self.end, position))
        if position < self._position():
            self.rewinds += 1
        self._at, self._since = position, self._now()
        self._cond.notify_all()

    def toggle_pause(self) -> None:
        with self._cond:
            self._at, self._since = self._position(), self._now()
            self.paused = not self.paused
            if not self.paused and self._at >= self.end:
                # Playing again at the end starts from the beginning, as a player does.
                self._set(self.start)
            self._cond.notify_all()

    def seek(self, seconds: float) -> None:
        with self._cond:
            self._set(self._position() + seconds)

    def step(self, intervals: int) -> None:
        """Pause, and move by whole intervals: one sample forward (or back)."""
        with self._cond:
            self._at, self._since = self._position(), self._now()
            self.paused = True
            self._set(self._at + intervals * self.step_s)

    def faster(self, steps: int) -> None:
        with self._cond:
            self._at, self._since = self._position(), self._now()
            here = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self.speed))
            self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, here + steps))]
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
