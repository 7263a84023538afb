"""The Connections tab's flight-recorder triggers (netwatch/recording/triggers.py)."""

from __future__ import annotations

from netwatch.recording.triggers import Measure
from netwatch.tabs.conns.model import ConnsSample


def _retrans(sample: ConnsSample, _: str) -> float:
    return sum(r.retrans or 0 for r in sample.rows)


def _resets(sample: ConnsSample, _: str) -> float:
    return sum(r.resets_sent + r.resets_received for r in sample.rows)


def _refused(sample: ConnsSample, _: str) -> float:
    return sum(1 for r in sample.rows if r.end == "refused")


MEASURES = {
    "retrans": Measure(_retrans, "TCP segments retransmitted"),
    "resets": Measure(_resets, "TCP resets sent and received"),
    "refused": Measure(_refused, "TCP connects refused"),
}
