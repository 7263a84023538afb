"""The replay's position bar, above the status line: playing or paused, the speed, where in the
recording (its own clock time and the time from its start), a bar, and the keys that move it."""

from __future__ import annotations

import time

from netwatch.recording.clock import ReplayClock
from netwatch.screens.plain import PlainStatic

KEYS = "Space pause  . , step  [ ] ±10s  { } ±1min  ( ) speed"
MIN_BAR = 10


def clock_text(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


def span_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return (
        f"{seconds // 60}:{seconds % 60:02d}"
        if seconds < 3600
        else (f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}")
    )


def speed_text(speed: float) -> str:
    return f"x{speed:g}" if speed >= 1 else f"x1/{round(1 / speed)}"


def bar_line(clock: ReplayClock, width: int) -> str:
    """One line of `width` cells: `▶ x4 12:03:15 2:10/12:00 [━━━━╸───] Space pause ...`."""
    at = clock.position()
    length = max(clock.end - clock.start, 0.0)
    state = "❚❚" if clock.paused else ("■" if clock.ended else "▶")
    head = (f"{state} {speed_text(clock.speed)} {clock_text(at)} "
            f"{span_text(at - clock.start)}/{span_text(length)} ")  # fmt: skip
    tail = f"  {KEYS}" if width - len(head) - len(KEYS) - 2 >= MIN_BAR + 2 else ""
    room = max(MIN_BAR, width - len(head) - len(tail) - 2)
    done = round(room * (at - clock.start) / length) if length > 0 else room
    done = max(0, min(room, done))
    bar = "━" * done + ("╸" if done < room else "") + "─" * max(0, room - done - 1)
    return f"{head}[{bar}]{tail}"


class ReplayBar(PlainStatic):
    """Redrawn a few times a second from the clock (it moves between samples too)."""

    DEFAULT_CSS = "ReplayBar { height: 1; padding: 0 1; }"

    def __init__(self, clock: ReplayClock, **kwargs: object) -> None:
        super().__init__("", fixed_height=True, **kwargs)
        self.clock = clock

    def on_mount(self) -> None:
        self.set_interval(0.25, self.show_position)

    def show_position(self) -> None:
        self.update(bar_line(self.clock, max(20, self.size.width - 2)))
