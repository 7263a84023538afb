"""The one read loop (netwatch/sources/runner.py) that the TUI's workers, batch and record share."""

from __future__ import annotations

import gc
import time

from netwatch.sources.base import Health
from netwatch.sources.runner import COUNTED, ENDED, STOPPED, run


class Counting:
    """Yields 0, 1, 2, ... up to `end` (then None, as a recording's end), noting when."""

    def __init__(self, end: int | None = None, interval: float = 0.02, slow: float = 0.0) -> None:
        """`slow`: how long the first read takes."""
        self.interval = interval
        self.end = end
        self.slow = slow
        self.reads: list[float] = []

    def open(self) -> None:
        pass

    def read(self) -> int | None:
        self.reads.append(time.monotonic())
        if len(self.reads) == 1:
            time.sleep(self.slow)
        n = len(self.reads) - 1
        return None if self.end is not None and n >= self.end else n

    def close(self) -> None:
        pass

    def health(self) -> Health:
        return Health("attached")


def test_each_tick_reads_every_source_once_until_count() -> None:
    a, b = Counting(), Counting()
    got: list[tuple[str, int]] = []
    why = run({"a": a, "b": b}, lambda tab, s: got.append((tab, s)), interval=0.02, count=3)
    assert why == COUNTED
    assert got == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    gaps = [t2 - t1 for t1, t2 in zip(a.reads, a.reads[1:], strict=False)]
    assert all(g >= 0.015 for g in gaps), gaps  # paced by the interval, not as fast as it can


def test_after_tick_runs_once_every_source_of_the_tick_is_in() -> None:
    """The exporter publishes there: a scrape must never see one tab's newest interval beside
    another's previous one."""
    got: list[object] = []
    run({"a": Counting(), "b": Counting()}, lambda tab, s: got.append((tab, s)),
        interval=0.0, count=2, after_tick=lambda: got.append("tick"))  # fmt: skip
    assert got == [("a", 0), ("b", 0), "tick", ("a", 1), ("b", 1), "tick"]


def test_a_source_that_ends_leaves_the_others_running_until_they_end_too() -> None:
    got: list[tuple[str, int]] = []
    why = run({"short": Counting(end=1), "long": Counting(end=3)},
              lambda tab, s: got.append((tab, s)), interval=0.0)  # fmt: skip
    assert why == ENDED
    assert got == [("short", 0), ("long", 0), ("long", 1), ("long", 2)]


def test_stop_and_a_refused_sample_end_the_loop() -> None:
    stop_after = time.monotonic() + 0.1
    why = run({"a": Counting()}, lambda *_: None, interval=0.02,
              should_stop=lambda: time.monotonic() > stop_after)  # fmt: skip
    assert why == STOPPED
    seen: list[int] = []

    def take(_: str, s: int) -> bool:
        seen.append(s)
        return s < 2

    why = run({"a": Counting()}, take, interval=0.0)
    assert why == STOPPED and seen == [0, 1, 2]


def test_a_slow_reader_gets_no_burst_of_catch_up_reads() -> None:
    slow = Counting(interval=0.02, slow=0.2)  # the first read takes ten intervals
    run({"a": slow}, lambda *_: None, interval=0.02, count=5)
    gaps = [t2 - t1 for t1, t2 in zip(slow.reads[1:], slow.reads[2:], strict=False)]
    assert all(g >= 0.015 for g in gaps), gaps  # paced again at once, not nine reads in a row


def test_ticks_count_from_since_so_a_slow_read_before_the_loop_does_not_stretch_the_first() -> None:
    """`record` reads every source once before the loop; a slow last read there (Drops' first
    resolves kernel symbols) stretched the first interval of the tabs read before it to 1.28 s
    in CI. Counted from that read's start, the first tick is one interval after it."""
    a, b = Counting(), Counting(slow=0.3)
    warm_up = time.monotonic()
    a.read()
    b.read()  # 0.3 s
    run({"a": a, "b": b}, lambda *_: None, interval=0.5, count=1, since=warm_up)
    assert 0.45 <= a.reads[1] - a.reads[0] <= 0.6, a.reads
    late = Counting(slow=0.3)
    start = time.monotonic()
    late.read()
    run({"late": late}, lambda *_: None, interval=0.5, count=1)  # from now, as before
    assert late.reads[1] - start >= 0.75


class Bulky(Counting):
    """A read that makes many small container objects, as a churning host's read does."""

    def read(self) -> list[list[int]] | None:  # type: ignore[override]
        n = super().read()
        return None if n is None else [[n, i] for i in range(50_000)]


def test_no_cycle_collection_runs_between_a_read_and_its_sample_being_let_go() -> None:
    """The objects of a delivered sample are freed by reference counting; a collection set off
    in between scanned them all (17 ms a read on a churning host)."""
    collections: list[str] = []
    seen: list[bool] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append("collected")

    def deliver(tab: str, sample: list[list[int]]) -> None:
        seen.append(gc.isenabled())
        collections.append("delivered")

    gc.collect()
    gc.callbacks.append(note)
    try:
        run({"a": Bulky(end=3)}, deliver, interval=0.0)
    finally:
        gc.callbacks.remove(note)
    assert seen == [False, False, False]
    assert gc.isenabled()  # resumed after each
    assert "collected" not in collections  # 150,000 lists made and freed, none scanned


def test_the_wait_for_a_sample_to_be_taken_runs_with_the_collector_on() -> None:
    """The TUI's workers wait in handed_on until the UI has taken the sample, for as long as the
    UI needs: the collector must not stay paused meanwhile (pauses from several threads hold it
    off until the last ends)."""
    during: list[tuple[str, bool]] = []

    def taken(tab: str) -> bool:
        during.append(("taken", gc.isenabled()))
        return True

    why = run({"a": Bulky(end=2)}, lambda tab, s: during.append(("deliver", gc.isenabled())),
              interval=0.0, handed_on=taken)  # fmt: skip
    assert why == ENDED
    assert during == [("deliver", False), ("taken", True)] * 2


def test_a_read_that_waits_for_a_replay_clock_waits_with_the_collector_on() -> None:
    """A replay's read waits on its clock, for as long as playback is paused: a pause of the
    collector around it would stop collection in every thread meanwhile."""
    during: list[tuple[str, bool]] = []

    class Waiting(Counting):
        read_waits = True

        def read(self) -> int | None:
            during.append(("read", gc.isenabled()))
            return super().read()

    why = run({"a": Waiting(end=1)}, lambda tab, s: during.append(("deliver", gc.isenabled())),
              interval=0.0)  # fmt: skip
    assert why == ENDED
    assert during == [("read", True), ("deliver", False), ("read", True)]
