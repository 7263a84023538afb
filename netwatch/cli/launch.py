"""The console script's first code: signals are answered before anything else is imported.

Importing the CLI, its model and BCC takes a few tenths of a second. A SIGINT in that window
would print a KeyboardInterrupt traceback, and SIGTERM or SIGHUP would end the process by their
default action. Until the CLI installs its own handlers, each of them ends the process at once
with 128 + the signal's number: nothing has touched the terminal or the kernel yet.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _stop_before_start(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def entry() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop_before_start)
    from netwatch.cli.main import main

    sys.exit(main())
