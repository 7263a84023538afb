"""The Accepts tab's own command-line options: how much of the log the view keeps."""

from __future__ import annotations

import argparse

from netwatch.cli.types import count
from netwatch.tabs.accepts.model import DEFAULT_MAX_ROWS


def ui(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-rows",
        type=count,
        default=DEFAULT_MAX_ROWS,
        help="accepted connections kept in the Accepts log, oldest dropped first "
        f"(default {DEFAULT_MAX_ROWS})",
    )
