"""What every probe's read() keeps around its rows: the seconds since the previous read, and
how much was lost since then, out of the cumulative loss counts the kernel and readers keep."""

from __future__ import annotations

import time


class ReadBook:
    def __init__(self) -> None:
        self._last_read = 0.0
        self._lost_before = 0

    def start(self) -> None:
        """At attach: the first interval runs from here."""
        self._last_read = time.monotonic()

    def interval(self) -> float:
        now = time.monotonic()
        seconds, self._last_read = now - self._last_read, now
        return round(seconds, 3)

    def lost_since(self, lost_total: int) -> int:
        lost, self._lost_before = lost_total - self._lost_before, lost_total
        return lost
