"""The Connections tab's live source, or the one line that says why this kernel cannot run it."""

from __future__ import annotations

import argparse

from netwatch.probes.requirements import lacking
from netwatch.sources.base import Source
from netwatch.tabs.conns.model import ConnsSample


def live_source(interval: float) -> Source[ConnsSample] | str:
    from netwatch.tabs.conns.probe import TRACEPOINTS, ConnsProbe

    return lacking("Connections", TRACEPOINTS) or ConnsProbe(interval)


def for_ui(args: argparse.Namespace) -> Source[ConnsSample] | str:
    return live_source(args.interval)
