"""The Drops tab's live source, or the one line that says why this kernel cannot run it."""

from __future__ import annotations

import argparse

from netwatch.probes.requirements import lacking
from netwatch.sources.base import Source
from netwatch.tabs.drops.model import DropsSample


def live_source(interval: float) -> Source[DropsSample] | str:
    from netwatch.tabs.drops.probe import TRACEPOINTS, DropsProbe

    return lacking("Drops", TRACEPOINTS) or DropsProbe(interval)


def for_ui(args: argparse.Namespace) -> Source[DropsSample] | str:
    return live_source(args.interval)
