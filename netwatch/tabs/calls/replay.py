"""A recording of the Calls tab, played as the live probe is: the app suspends, resumes and
narrows either alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from netwatch.recording.clock import ReplayClock
from netwatch.recording.replay import ClockedReplay, ReplaySource
from netwatch.tabs.calls.model import CallsSample


class _AsTheProbe:
    """What the app and the Calls view ask of the live probe, answered for a recording."""

    def suspend(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def set_threads(self, pids: Iterable[int], tids: Iterable[int], comms: Iterable[str]) -> None:
        pass  # a recording holds what it holds: the view filters it

    def coverage(self) -> str:
        return "as recorded"


class ReplayCallsSource(_AsTheProbe, ReplaySource[CallsSample]):
    pass


class ClockedCallsReplay(_AsTheProbe, ClockedReplay[CallsSample]):
    pass


def replay_calls(
    samples: Sequence[CallsSample], path: Path, speed: float = 1.0, clock: ReplayClock | None = None
) -> ReplayCallsSource | ClockedCallsReplay:
    if clock is not None:
        return ClockedCallsReplay(samples, path, clock)
    return ReplayCallsSource(samples, path, speed)
