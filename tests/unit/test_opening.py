"""Sources opened off the main thread (netwatch/sources/opening.py): a stop is answered while an
open is under way, no source opens after it, and errors reach the caller as if opened in line."""

from __future__ import annotations

import threading
import time

import pytest

from netwatch.sources.base import Health, SourceError
from netwatch.sources.opening import Stopped, open_sources


class Opening:
    def __init__(self, log: list[str], name: str, seconds: float = 0.0,
                 error: Exception | None = None) -> None:  # fmt: skip
        self.log, self.name, self.seconds, self.error = log, name, seconds, error
        self.interval = 1.0

    def open(self) -> None:
        self.log.append(f"open {self.name}")
        time.sleep(self.seconds)
        if self.error is not None:
            raise self.error
        self.log.append(f"opened {self.name}")

    def read(self) -> None:
        return None

    def close(self) -> None:
        pass

    def health(self) -> Health:
        return Health("attached")


def test_every_source_opens_in_order_and_each_is_announced() -> None:
    log: list[str] = []
    sources = {n: Opening(log, n) for n in ("a", "b", "c")}
    open_sources(sources, lambda: False, opened=lambda tab: log.append(f"told {tab}"))
    assert log == [f"{w} {n}" for n in "abc" for w in ("open", "opened", "told")]


@pytest.fixture
def left(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """stop_compiling is process-wide (no compile starts after it): recorded here instead."""
    calls: list[str] = []
    monkeypatch.setattr("netwatch.sources.opening.stop_compiling", lambda: calls.append("stop"))
    return calls


def test_a_stop_during_a_compile_is_answered_at_once_and_nothing_opens_after(
    left: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "netwatch.sources.opening.compiling", lambda: True
    )  # the slow open compiles
    log: list[str] = []
    sources = {"slow": Opening(log, "slow", seconds=1.5), "next": Opening(log, "next")}
    asked = threading.Event()
    threading.Timer(0.2, asked.set).start()
    start = time.monotonic()
    with pytest.raises(Stopped):
        open_sources(sources, asked.is_set)
    assert time.monotonic() - start < 0.5  # not the 1.5 s the open takes
    time.sleep(1.6)
    assert log == ["open slow", "opened slow"]  # "next" never opened
    assert left == ["stop"]


def test_a_stop_between_compiles_lets_the_open_under_way_finish_for_the_close(
    left: list[str],
) -> None:
    """Past its compile, an open is storing what it attached: the caller's close must find it."""
    log: list[str] = []
    sources = {"a": Opening(log, "a", seconds=0.4), "b": Opening(log, "b")}
    asked = threading.Event()
    threading.Timer(0.1, asked.set).start()
    with pytest.raises(Stopped):
        open_sources(sources, asked.is_set)
    assert log == ["open a", "opened a"] and left == ["stop"]


def test_a_failed_open_is_raised_or_handed_to_failed_and_the_rest_still_open() -> None:
    log: list[str] = []
    bad = SourceError("drops probe failed to load: no BTF")
    sources = {"a": Opening(log, "a", error=bad), "b": Opening(log, "b")}
    with pytest.raises(SourceError, match="no BTF"):
        open_sources(sources, lambda: False)
    assert log == ["open a"]
    log.clear()
    failures: list[tuple[str, SourceError]] = []
    open_sources(sources, lambda: False, failed=lambda tab, e: failures.append((tab, e)))
    assert failures == [("a", bad)] and log == ["open a", "open b", "opened b"]


def test_any_other_error_is_raised_on_the_callers_thread() -> None:
    sources = {"a": Opening([], "a", error=RuntimeError("a bug"))}
    with pytest.raises(RuntimeError, match="a bug"):
        open_sources(sources, lambda: False)


def test_leaving_detach_does_not_wait_for_a_compile_holding_bccs_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A compile another probe began just before the stop holds BCC's lock for a second or
    # more; a detach on the way out waited for it (0.6-0.8 s added to a Ctrl-C in `record`).
    from netwatch.probes import BCC_LOCK, loader

    leaving, compiling = threading.Event(), threading.Event()
    monkeypatch.setattr(loader, "LEAVING", leaving)
    monkeypatch.setattr(loader, "_compiling", compiling)
    cleaned: list[bool] = []

    class Compiled:
        def cleanup(self) -> None:
            cleaned.append(True)

    held, release = threading.Event(), threading.Event()

    def compile_for_a_while() -> None:
        with BCC_LOCK:
            compiling.set()
            held.set()
            release.wait(10)
            compiling.clear()

    compiler = threading.Thread(target=compile_for_a_while)
    compiler.start()
    try:
        held.wait(5)
        leaving.set()
        started = time.monotonic()
        loader.detach(Compiled())
        assert time.monotonic() - started < 0.3 and cleaned == []
    finally:
        release.set()
        compiler.join()
    loader.detach(Compiled())  # with no compile under way, it detaches as before
    assert cleaned == [True]


def test_a_detach_closes_its_tracepoints_side_by_side_and_outside_bccs_lock() -> None:
    # The kernel waits out a grace period as each perf-event tracepoint closes (76 ms on our
    # VM): one after another, under BCC's lock, Accepts' four made a Ctrl-C take a second.
    from netwatch.probes import BCC_LOCK, loader

    names = [b"syscalls:sys_exit_accept", b"syscalls:sys_exit_accept4", b"sock:a", b"sock:b"]
    all_closing = threading.Barrier(len(names), timeout=5)  # broken unless all are at once
    log: list[str] = []

    class Compiled:
        def __init__(self) -> None:
            self.tracepoint_fds = {name: 3 for name in names}

        def detach_tracepoint(self, name: bytes) -> None:
            assert not BCC_LOCK.locked()
            all_closing.wait()
            del self.tracepoint_fds[name]

        def cleanup(self) -> None:
            assert BCC_LOCK.locked()
            log.append(f"cleanup, {len(self.tracepoint_fds)} tracepoints left")

    loader.detach(Compiled())
    assert not all_closing.broken and log == ["cleanup, 0 tracepoints left"]
