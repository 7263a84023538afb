"""The Drops tab's flight-recorder triggers (netwatch/recording/triggers.py)."""

from __future__ import annotations

from netwatch.recording.triggers import Measure
from netwatch.tabs.drops.model import DropsSample


def _drops(sample: DropsSample, reason: str) -> float:
    return sum(r.count for r in sample.rows if not reason or r.key.reason == reason)


MEASURES = {
    "drops": Measure(_drops, "packets the kernel dropped, of one reason if given", detail="REASON"),
}
