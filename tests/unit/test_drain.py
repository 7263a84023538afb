"""The ring-buffer drain thread (probes/drain.py): held while its probe is detached, it stops
waking up (issue #13's idle cost), after one last step for what came before."""

from __future__ import annotations

import threading
import time

from netwatch.probes.drain import DrainThread


def steps_during(drain: DrainThread, counter: list[int], seconds: float) -> int:
    before = counter[0]
    time.sleep(seconds)
    return counter[0] - before


def test_a_held_drain_takes_one_more_step_then_none_until_released() -> None:
    counter = [0]
    stepped = threading.Event()

    def step() -> None:
        counter[0] += 1
        stepped.set()

    drain = DrainThread("test-drain", step, pause=0.01)
    drain.start()
    try:
        assert stepped.wait(2)
        assert steps_during(drain, counter, 0.2) >= 5  # every 10 ms or so
        drain.hold()
        time.sleep(0.1)  # the step under way, and the one after the hold
        assert steps_during(drain, counter, 0.3) == 0
        drain.release()
        assert steps_during(drain, counter, 0.2) >= 5
    finally:
        drain.stop()


def test_stop_ends_a_held_drain() -> None:
    drain = DrainThread("test-drain", lambda: None, pause=0.01)
    drain.start()
    drain.hold()
    time.sleep(0.05)
    started = time.monotonic()
    drain.stop()
    assert time.monotonic() - started < 1
    assert not drain._thread.is_alive()


def test_a_drain_that_finds_nothing_looks_less_often_until_something_comes() -> None:
    counter = [0]
    found = [False]

    def step() -> bool:
        counter[0] += 1
        return found[0]

    drain = DrainThread("test-drain", step, pause=0.01, max_pause=0.16)
    drain.start()
    try:
        time.sleep(0.4)  # 10, 20, 40, 80, 160 ms: at its slowest by now
        idle = steps_during(drain, counter, 0.5)
        assert 2 <= idle <= 5  # every 160 ms, against ~50 at the base pause
        found[0] = True
        time.sleep(0.2)  # the wait under way ends, then the pause is back at 10 ms
        assert steps_during(drain, counter, 0.3) >= 15
    finally:
        drain.stop()
