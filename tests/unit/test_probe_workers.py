"""The TUI's probe workers without a screen: the thread that attaches and detaches the sources
shown only while their tab is does what it is asked in order, and ends when they are stopped."""

from __future__ import annotations

import threading

from netwatch.ui.probe_workers import CONTROL_POLL_S, ProbeWorkers


def control_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "netwatch-source-control"]


def test_the_control_thread_acts_in_order_and_ends_when_the_workers_stop() -> None:
    workers = ProbeWorkers({}, lambda tab, sample: None, lambda tab, health: None, replay=True)
    before = set(control_threads())
    done: list[str] = []
    finished = threading.Event()
    workers.control("calls", lambda: done.append("suspend"))
    workers.control("calls", lambda: done.append("resume"))
    workers.control("calls", finished.set)
    assert finished.wait(5)
    assert done == ["suspend", "resume"]
    (thread,) = set(control_threads()) - before
    workers.stop()
    thread.join(20 * CONTROL_POLL_S)
    assert not thread.is_alive()
