"""The cycle collector's pause (netwatch/model/gcpause.py) when several threads pause at once."""

from __future__ import annotations

import gc
import threading

from netwatch.model.gcpause import cycles_not_collected


def test_the_collector_stays_paused_until_the_last_of_overlapping_pauses_ends() -> None:
    assert gc.isenabled()
    entered, leave = threading.Event(), threading.Event()

    def other_thread() -> None:
        with cycles_not_collected():
            entered.set()
            leave.wait(5)

    other = threading.Thread(target=other_thread)
    other.start()
    entered.wait(5)
    with cycles_not_collected():
        leave.set()
        other.join(5)
        assert not gc.isenabled()  # the other pause, begun first, has ended
        with cycles_not_collected():  # nested in one thread
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_leaves_a_collector_someone_else_disabled_disabled() -> None:
    gc.disable()
    try:
        with cycles_not_collected():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
