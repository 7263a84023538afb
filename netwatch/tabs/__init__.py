"""The tabs, in the order of the tab bar. Adding a tab: its folder `netwatch/tabs/NAME/` with the
parts netwatch/tabs/tab.py lists, then one line here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netwatch.recording.clock import ReplayClock
from netwatch.recording.codec import Codec
from netwatch.recording.file import open_recording
from netwatch.recording.triggers import Measure
from netwatch.sources.base import Source
from netwatch.tabs.tab import Tab, ViewOptions

TABS: tuple[Tab, ...] = (
    Tab("traffic", "Traffic", key="1", command="top"),
    Tab("calls", "Calls", key="2", command="calls", on_request=True),
    Tab("accepts", "Accepts", key="3", command="accepts"),
    Tab("drops", "Drops", key="4", command="drops"),
    Tab("conns", "Connections", key="5", command="conns"),
)
TAB_NAMES = tuple(t.name for t in TABS)
BY_NAME = {t.name: t for t in TABS}


def codecs(*names: str) -> dict[str, Codec]:
    """The named tabs' codecs (every tab's when none is named), in tab-bar order: what the
    recording layer is handed to write and read records."""
    return {t.name: t.codec() for t in TABS if not names or t.name in names}


def trigger_measures() -> dict[str, Measure]:
    """Every tab's flight-recorder triggers, by name."""
    return {name: m for t in TABS for name, m in t.triggers().items()}


def replay(
    tab: str, samples: Any, path: Path, speed: float = 1.0, clock: ReplayClock | None = None
) -> Source[Any]:
    """The source that plays `tab`'s recorded samples as its live source would offer them."""
    made: Source[Any] = BY_NAME[tab].codec().replay(samples, path, speed, clock)
    return made


def replay_file(
    tab: str, path: Path, speed: float = 1.0, clock: ReplayClock | None = None
) -> Source[Any]:
    return replay(tab, open_recording(path, codecs()).samples(tab), path, speed, clock)


__all__ = [
    "BY_NAME",
    "TABS",
    "TAB_NAMES",
    "Tab",
    "ViewOptions",
    "codecs",
    "replay",
    "replay_file",
    "trigger_measures",
]
