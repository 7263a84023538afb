"""The Connections tab's own command-line options: how long an ended connection stays."""

from __future__ import annotations

import argparse

from netwatch.cli.types import positive
from netwatch.tabs.conns.model import DEFAULT_ENDED_WINDOW_S


def ui(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ended-window",
        type=positive,
        default=DEFAULT_ENDED_WINDOW_S,
        metavar="S",
        help="seconds an ended connection stays on the Connections tab "
        f"(default {DEFAULT_ENDED_WINDOW_S:g})",
    )
