"""What the Calls tab asks of its source beyond reading: live probe and recording alike."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from netwatch.sources.base import Source
from netwatch.tabs.calls.model import CallsSample


class CallsSource(Source[CallsSample], Protocol):
    """The Calls probe streams per call, so it is only attached while someone looks, and the
    threads it traces are chosen in the kernel."""

    def suspend(self) -> None: ...

    def resume(self) -> None: ...

    def set_threads(
        self, pids: Iterable[int], tids: Iterable[int], comms: Iterable[str]
    ) -> None: ...

    def coverage(self) -> str:
        """How deep the calls are followed (function depth, missing events), in a phrase."""
        ...
