"""Which of the processes a probe has counted have exited since, by /proc: the moment noticed,
within an interval of the exit for a process that was sending (it goes quiet when it exits,
and a process that just went quiet is looked at first), later for one long idle (looked at in
turn, a bounded number each read)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from netwatch.host.procinfo import running

IN_TURN_PER_READ = 256  # idle processes looked at each read, besides those that just went quiet
MAX_WATCHED = 32768  # processes followed; past it the least recently active are let go


class ExitWatch:
    def __init__(self, alive: Callable[[int, float], bool] = running) -> None:
        self._alive = alive
        self._started: dict[int, float] = {}  # pid -> its start (0 unknown), most recent last
        self._in_turn: deque[int] = deque()
        self._active: set[int] = set()

    def read(self, active: Iterable[tuple[int, float]], now: float) -> list[tuple[int, float]]:
        """This read's active processes (pid, start); returns those found exited, with `now`."""
        current = set()
        for pid, started in active:
            current.add(pid)
            self._started.pop(pid, None)
            self._started[pid] = started
        if len(self._started) > MAX_WATCHED:
            for pid in list(self._started)[: len(self._started) - MAX_WATCHED]:
                del self._started[pid]
        look = [p for p in self._active - current if p in self._started]
        self._active = current
        for _ in range(min(IN_TURN_PER_READ, len(self._started))):
            if not self._in_turn:
                self._in_turn.extend(p for p in self._started if p not in current)
                if not self._in_turn:
                    break
            pid = self._in_turn.popleft()
            if pid in self._started and pid not in current:
                look.append(pid)
        exited = []
        for pid in dict.fromkeys(look):
            if not self._alive(pid, self._started[pid]):
                del self._started[pid]
                exited.append((pid, now))
        return exited
