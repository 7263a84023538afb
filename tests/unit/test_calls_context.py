"""Where a traced thread's process runs (#14): carried through recordings and through
`calls --batch --replay`'s thread selection."""

from __future__ import annotations

from pathlib import Path

from netwatch.model.containers import ProcContext
from netwatch.tabs.calls.batch import _ThreadsOf
from netwatch.tabs.calls.model import ENTER, CallEvent, CallsSample
from tests.recordings import round_trip

PLACE = ProcContext("/system.slice/docker-" + "3f" * 32 + ".scope", 4026532001)
SAMPLE = CallsSample(
    1.0,
    1.0,
    (CallEvent(1.0, 7, 7, "curl", ENTER, "connect"), CallEvent(1.0, 8, 8, "wget", ENTER, "read")),
    0,
    {7: PLACE},
)


def test_a_calls_recording_keeps_where_its_processes_ran(tmp_path: Path) -> None:
    path = tmp_path / "c.nwrec"
    (read,) = round_trip(path, "calls", SAMPLE)
    assert read == SAMPLE and read.context[7].container == "3f3f3f3f3f3f"


def test_replaying_some_threads_keeps_the_context() -> None:
    (kept,) = list(_ThreadsOf([SAMPLE], [7], [], []))
    assert [e.pid for e in kept.events] == [7] and kept.context == {7: PLACE}
