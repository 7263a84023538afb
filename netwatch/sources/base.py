"""The one interface every tab's data comes through: a live probe or a recording being replayed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable


class SourceError(Exception):
    """A source cannot open or read; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Health:
    """What the status line says about a source."""

    state: str  # "attaching", "attached", "degraded", "replay", "ended", "failed"
    detail: str = ""


SampleT = TypeVar("SampleT", covariant=True)


class Source(Protocol[SampleT]):
    """Opened once, read once per interval, closed once. `read` returns what arrived since the
    previous read, or None when the source has nothing more (a recording's end)."""

    interval: float

    def open(self) -> None: ...

    def read(self) -> SampleT | None: ...

    def close(self) -> None: ...

    def health(self) -> Health: ...


@runtime_checkable
class AttachedWhileShown(Protocol):
    """A source that costs enough to be attached only while its tab is shown: the app
    suspends it when its tab is left and resumes it when the tab comes back."""

    def suspend(self) -> None: ...

    def resume(self) -> None: ...
