"""A recording of the Calls tab, played as the live probe is: the app suspends, resumes and
narrows either alike."""

from __future__ import annotations

from collections.abc import Iterable

from netwatch.recording import ReplaySource
from netwatch.tabs.calls.model import CallsSample


class ReplayCallsSource(ReplaySource[CallsSample]):
    def suspend(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def set_threads(self, pids: Iterable[int], tids: Iterable[int], comms: Iterable[str]) -> None:
        pass  # a recording holds what it holds: the view filters it

    def coverage(self) -> str:
        return "as recorded"
