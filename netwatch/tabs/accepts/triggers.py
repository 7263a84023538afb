"""The Accepts tab's flight-recorder triggers (netwatch/recording/triggers.py)."""

from __future__ import annotations

from netwatch.recording.triggers import Measure
from netwatch.tabs.accepts.model import AcceptsSample


def _accepts(sample: AcceptsSample, _: str) -> float:
    return len(sample.events)


MEASURES = {"accepts": Measure(_accepts, "TCP connections accepted")}
