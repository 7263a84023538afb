"""The replay's clock (#13: pause, step, seek, speed) and the sources it paces, without a screen:
time is a fake the test moves, so nothing here waits on the wall clock."""

from __future__ import annotations

import threading
import time

from netwatch.model.sample import Catchup
from netwatch.recording.clock import SPEEDS, ReplayClock
from netwatch.recording.file import open_recording
from netwatch.recording.replay import ClockedReplay
from netwatch.tabs import codecs
from tests.helpers.paths import DEMO


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def clock_over(
    start: float = 100.0, end: float = 160.0, speed: float = 1.0
) -> tuple[ReplayClock, FakeTime]:
    now = FakeTime()
    clock = ReplayClock(speed=speed, now=now)
    clock.cover(start, end, 1.0)
    return clock, now


def test_it_runs_at_its_speed_and_stops_at_the_end() -> None:
    clock, now = clock_over(speed=4.0)
    assert clock.position() == 100.0
    now.now += 2.5
    assert clock.position() == 110.0
    now.now += 100
    assert clock.position() == 160.0 and clock.ended


def test_pause_freezes_it_and_play_at_the_end_starts_over() -> None:
    clock, now = clock_over()
    now.now += 5
    clock.toggle_pause()
    now.now += 30
    assert clock.position() == 105.0 and clock.paused
    clock.toggle_pause()
    now.now += 1
    assert clock.position() == 106.0
    now.now += 100  # at the end
    clock.toggle_pause()
    clock.toggle_pause()  # play again: from the start, a rewind
    assert clock.position() == 100.0 and clock.rewinds == 1


def test_seeking_back_is_a_rewind_forward_is_not_and_both_stay_inside() -> None:
    clock, now = clock_over()
    now.now += 30
    clock.seek(+10)
    assert clock.position() == 140.0 and clock.rewinds == 0
    clock.seek(+60)
    assert clock.position() == 160.0  # not past the end
    clock.seek(-10)
    assert clock.position() == 150.0 and clock.rewinds == 1
    clock.seek(-600)
    assert clock.position() == 100.0 and clock.rewinds == 2  # not before the start


def test_a_step_pauses_and_moves_one_interval() -> None:
    clock, now = clock_over()
    now.now += 3.5
    clock.step(1)
    assert clock.paused and clock.position() == 104.5
    now.now += 10
    clock.step(-1)
    assert clock.position() == 103.5 and clock.rewinds == 1


def test_speed_keys_move_through_the_speeds_and_stop_at_their_ends() -> None:
    clock, now = clock_over()
    now.now += 2
    clock.faster(1)
    assert clock.speed == 2.0 and clock.position() == 102.0  # no jump when the speed changes
    now.now += 1
    assert clock.position() == 104.0
    for _ in range(20):
        clock.faster(1)
    assert clock.speed == SPEEDS[-1]
    for _ in range(20):
        clock.faster(-1)
    assert clock.speed == SPEEDS[0]


def test_a_wait_ends_on_its_time_on_a_rewind_and_on_close() -> None:
    clock = ReplayClock(speed=1.0)
    clock.cover(time.monotonic(), time.monotonic() + 60, 1.0)
    assert clock.wait_for(clock.position() + 0.05, clock.rewinds, timeout=2)
    ended: list[bool] = []
    waiter = threading.Thread(target=lambda: ended.append(clock.wait_for(1e12, 0, timeout=5)))
    waiter.start()
    clock.seek(-1)  # a rewind
    waiter.join(2)
    assert ended == [False]
    waiter = threading.Thread(target=lambda: ended.append(clock.wait_for(1e12, 1, timeout=5)))
    waiter.start()
    clock.close()
    waiter.join(2)
    assert ended == [False, False]


def test_the_source_hands_over_what_a_seek_made_due_at_once() -> None:
    recording = open_recording(DEMO, codecs())
    samples = recording.samples("traffic")
    ts = [s.ts for s in samples]
    now = FakeTime()
    clock = ReplayClock(now=now)
    source = ClockedReplay(samples, DEMO, clock)
    source.open()
    assert clock.start == ts[0] and clock.end == ts[-1]
    assert source.read() == samples[0]  # due at once: the clock starts at the first
    clock.seek(ts[3] - ts[0])  # the next three are due together (reads drift by a ms or so)
    caught = source.read()
    assert isinstance(caught, Catchup) and not caught.reset
    assert [s.ts for s in caught.samples] == ts[1:4]
    clock.seek(-2.5)  # back: from a fresh state, everything up to there
    caught = source.read()
    assert isinstance(caught, Catchup) and caught.reset
    assert [s.ts for s in caught.samples] == [t for t in ts if t <= ts[0] + 0.5]
    clock.seek(ts[1] - clock.position())  # exactly to the next: one sample, as it is
    assert source.read() == samples[1]
    clock.close()
    assert source.read() is None
    recording.close()


def test_a_tab_that_starts_earlier_moves_the_start_until_the_clock_has_moved() -> None:
    clock, _ = clock_over(start=100.0, end=160.0)
    clock.cover(95.0, 150.0, 1.0)  # another tab, covered before playing: it starts earlier
    assert (clock.start, clock.end, clock.position()) == (95.0, 160.0, 95.0)
    clock.seek(20)
    clock.cover(90.0, 170.0, 1.0)  # once moved, a new start does not move the position
    assert (clock.start, clock.end, clock.position()) == (90.0, 170.0, 115.0)
