"""The Traffic tab's flight-recorder triggers (netwatch/recording/triggers.py)."""

from __future__ import annotations

from netwatch.recording.triggers import Measure
from netwatch.tabs.traffic.model import TrafficSample


def _bytes(sample: TrafficSample, _: str) -> float:
    # The rows alone: the per-connection rows split the same bytes again.
    return sum(r.counts.xmit_bytes + r.counts.recv_bytes for r in sample.rows)


MEASURES = {"bytes": Measure(_bytes, "bytes sent and received, all traffic")}
