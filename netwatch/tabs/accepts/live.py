"""The Accepts tab's live source, or the one line that says why this kernel cannot run it."""

from __future__ import annotations

import argparse

from netwatch.probes.requirements import lacking
from netwatch.sources.base import Source
from netwatch.tabs.accepts.model import AcceptsSample


def live_source(interval: float) -> Source[AcceptsSample] | str:
    from netwatch.tabs.accepts.probe import TRACEPOINTS, AcceptsProbe

    return lacking("Accepts", TRACEPOINTS) or AcceptsProbe(interval)


def for_ui(args: argparse.Namespace) -> Source[AcceptsSample] | str:
    return live_source(args.interval)
