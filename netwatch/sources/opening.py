"""Opening live sources for the commands without a screen (the batch commands, `record`,
`export`), so that a signal is answered at once, not after the BPF compile under way.

A compile runs inside BCC's C code for a second or more (several under emulation), and Python
runs a signal handler only once the main thread is back in Python: opened on the main thread,
Ctrl-C waited for the compile, and `record` went on to compile every other tab first. Here the
opening runs on a helper thread while the main thread watches `should_stop`. On a stop, no
further compile starts (`stop_compiling`) and `Stopped` is raised; the caller closes what it
has, and the CLI ends the process at once if a compile is still running: LLVM cannot be
stopped, the process must not finalize under it, and the kernel releases whatever a probe
attached when its descriptors close.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from netwatch.probes.loader import compiling, stop_compiling
from netwatch.sources.base import Source, SourceError

POLL_S = 0.02  # how often the main thread looks at should_stop while sources open
SETTLE_S = 1.0  # the most a stop waits for an open past its compile to finish its bookkeeping


class Stopped(Exception):
    """A signal came while the sources were opening."""


def open_sources(
    sources: Mapping[str, Source[Any]],
    should_stop: Callable[[], bool],
    *,
    failed: Callable[[str, SourceError], None] | None = None,
    opened: Callable[[str], None] = lambda tab: None,
) -> None:
    """Open each source in turn, calling `opened(tab)` after each. A SourceError goes to
    `failed(tab, error)` and the next source is opened, or without `failed` is raised here.
    Raises Stopped if `should_stop()` says so first."""
    leave = threading.Event()
    errors: list[BaseException] = []

    def open_each() -> None:
        for tab, source in list(sources.items()):
            if leave.is_set():
                return
            try:
                source.open()
            except SourceError as exc:
                if leave.is_set():
                    return  # refused because netwatch is leaving: not the probe's failure
                if failed is None:
                    errors.append(exc)
                    return
                failed(tab, exc)
                continue
            except BaseException as exc:  # raised again on the main thread, as if opened there
                errors.append(exc)
                return
            opened(tab)

    opener = threading.Thread(target=open_each, name="netwatch-open", daemon=True)
    opener.start()
    while opener.is_alive():
        if should_stop():
            leave.set()
            stop_compiling()
            # Between compiles: let an open finish storing what it attached, so that the
            # caller's close detaches it; but not a compile the opener began a moment before
            # it saw the stop (it checks before it starts): that runs on, and the caller
            # leaves without it. Waiting it out cost up to a whole compile (0.6-0.8 s here).
            settled = time.monotonic() + SETTLE_S
            while opener.is_alive() and not compiling() and time.monotonic() < settled:
                opener.join(POLL_S)
            raise Stopped
        opener.join(POLL_S)
    if errors:
        raise errors[0]
