"""A flight recorder: every tab's samples kept for the last WINDOW seconds only, written out as a
normal recording when asked (SIGUSR1, the TUI's key) or when a trigger fires.

No signals, sources or clocks of its own here: the command hands each sample in with the time
it came, and asks after each tick whether a file is due, so tests drive it by hand."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from netwatch.model.untrusted import printable
from netwatch.recording.codec import Codecs
from netwatch.recording.file import RecordingWriter, create_new_file, encode_record
from netwatch.recording.ring import Held, RecordRing
from netwatch.recording.triggers import Trigger

ASKED = "SIGUSR1"
MAX_SAME_SECOND = 100  # files one second may name (-2, -3...) before a write gives up


@dataclass(frozen=True, slots=True)
class FlightOptions:
    window: float  # seconds kept
    output: Path  # FILE: each file is FILE's stem, the time, FILE's suffix
    triggers: Sequence[Trigger] = ()
    after: float = 10.0  # seconds recorded after a trigger fires, before the file is written
    cooldown: float = 60.0  # seconds after a triggered file before a trigger may fire again
    keep: int = 0  # files this run leaves (the oldest it wrote removed first); 0: all


@dataclass(frozen=True, slots=True)
class Written:
    path: Path
    why: str
    records: int
    seconds: float  # the span its records cover


@dataclass(slots=True)
class _Pending:
    why: str
    fired: float  # wall clock
    write_at: float  # monotonic


class FlightRecorder:
    def __init__(
        self, options: FlightOptions, codecs: Codecs, wall: Callable[[], float] = time.time
    ) -> None:
        self.options = options
        self._codecs = codecs
        self._wall = wall
        self.ring: RecordRing[bytes] = RecordRing(options.window, len)
        self._pending: _Pending | None = None
        self._quiet_until = float("-inf")  # triggers rest until then (the cooldown)
        self._written: deque[Path] = deque()
        self._first_at: float | None = None

    # ---- what comes in -----------------------------------------------------------------------
    def take(self, tab: str, sample: Any, now: float) -> None:
        if self._first_at is None:
            self._first_at = now
        self.ring.add(tab, encode_record(self._codecs, tab, sample), now)
        if self._pending is not None or now < self._quiet_until:
            return
        for trigger in self.options.triggers:
            rate = trigger.rate(tab, sample)
            if rate is not None and rate > trigger.per_second:
                why = f"{trigger.text} (measured {rate:,.0f}/s)"
                self._pending = _Pending(why, self._wall(), now + self.options.after)
                return

    def ask(self, now: float, why: str = ASKED) -> None:
        """Write what the window holds at the next tick (an operator's ask: no cooldown)."""
        self._pending = _Pending(why, self._wall(), now)

    @property
    def pending(self) -> str | None:
        return None if self._pending is None else self._pending.why

    # ---- what goes out -----------------------------------------------------------------------
    def due(self, now: float) -> bool:
        return self._pending is not None and now >= self._pending.write_at

    def write(self, now: float) -> Written:
        """The file the pending ask or trigger makes (due or not: a run that stops writes what
        it was waiting to). OSError if it cannot be created or written."""
        pending = self._pending
        assert pending is not None
        self._pending = None
        if pending.why != ASKED:
            self._quiet_until = now + self.options.cooldown
        self.ring.trim(now)
        after = 0.0 if pending.why == ASKED else self.options.after
        lines = (held.item for held in self.ring.items())
        path, records = write_flight(
            self.options.output, self._codecs, lines, pending, self.options.window, after
        )
        self._written.append(path)
        self._forget_old()
        start = max(self._first_at or now, now - self.options.window)
        return Written(path, pending.why, records, now - start)

    def _forget_old(self) -> None:
        """--keep: only files this run wrote are removed (a path another made is not ours)."""
        keep = self.options.keep
        while keep and len(self._written) > keep:
            old = self._written.popleft()
            try:
                os.unlink(old)
            except OSError:
                pass  # moved or removed already: nothing of ours left to remove


def new_stamped_file(output: Path, when: float) -> tuple[Path, IO[str]]:
    """A new file named `output`'s stem, the local time of `when`, and its suffix (-2, -3...
    when that name is taken: never overwritten, never through a symlink)."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(when))
    suffix = output.suffix or ".nwrec"
    for n in range(1, MAX_SAME_SECOND + 1):
        path = output.with_name(f"{output.stem}-{stamp}{'' if n == 1 else f'-{n}'}{suffix}")
        try:
            return path, create_new_file(path)
        except FileExistsError:
            continue
    raise FileExistsError(f"{output.parent}: {MAX_SAME_SECOND} files named for one second")


def save_samples(
    output: Path, codecs: Codecs, held: Sequence[Held[Any]], why: str, window: float
) -> Written:
    """Samples a screen kept (the TUI's window) as a recording named like a flight recorder's
    files; encoded here, not as they came, so keeping them costs the screen nothing."""
    lines = (encode_record(codecs, h.tab, h.item) for h in held)
    path, records = write_flight(output, codecs, lines, _Pending(why, time.time(), 0.0), window)
    seconds = held[-1].item.ts - held[0].item.ts + held[0].item.interval if held else 0.0
    return Written(path, why, records, seconds)


def write_flight(
    output: Path,
    codecs: Codecs,
    lines: Iterable[bytes],
    pending: _Pending,
    window: float,
    after: float = 0.0,
) -> tuple[Path, int]:
    """A new stamped file holding `lines` under a header saying what made it; its path and
    how many records it holds."""
    path, stream = new_stamped_file(output, pending.fired)
    header = {"flight": {"trigger": pending.why, "fired": round(pending.fired, 3),
                         "window": window, "after": after}}  # fmt: skip
    writer = RecordingWriter(stream, codecs, path, header=header)
    records = 0
    try:
        for line in lines:
            writer.write_encoded(line)
            records += 1
    finally:
        writer.close()
    return path, records


MAX_NOTE = 160


def flight_note(header: dict[str, Any]) -> str | None:
    """What made a flight recording, as replay shows it; None for an ordinary recording. The
    header is anyone's file: only a string and a number are taken from it, escaped and cut."""
    flight = header.get("flight")
    if not isinstance(flight, dict):
        return None
    why = flight.get("trigger")
    fired = flight.get("fired")
    text = f"flight recording made by {why if isinstance(why, str) else '?'}"
    if isinstance(fired, (int, float)) and not isinstance(fired, bool) and 0 < fired < 2**34:
        text += time.strftime(" at %Y-%m-%d %H:%M:%S", time.localtime(fired))
    return printable(text)[:MAX_NOTE]
