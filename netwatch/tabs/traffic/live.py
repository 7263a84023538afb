"""The Traffic tab's live source, or the one line that says why this kernel cannot run it."""

from __future__ import annotations

import argparse

from netwatch.probes.requirements import lacking
from netwatch.sources.base import Source
from netwatch.tabs.traffic.model import TrafficSample


def live_source(interval: float) -> Source[TrafficSample] | str:
    from netwatch.tabs.traffic.probe import TRACEPOINTS, TrafficProbe

    return lacking("Traffic", TRACEPOINTS) or TrafficProbe(interval)


def for_ui(args: argparse.Namespace) -> Source[TrafficSample] | str:
    return live_source(args.interval)
