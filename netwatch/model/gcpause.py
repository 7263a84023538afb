"""A pause of Python's cycle collector around bulk work that makes no cycles.

Decoding 60,000 connection records makes 180,000 small objects; each 700 allocations start a
collection, and every tenth of those scans older generations too, the TUI's whole widget tree
included: a third of the decode's time on a churning host (bench/conn_churn.py). The objects
made hold no cycles, so reference counting frees them all; collection resumes after.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The collector is one per process and the pauses come from several threads (each tab's worker,
# the batch printer): it stays paused until the last pause ends. Each pause restoring what it
# found instead let one thread's end resume collections inside another's pause (CI: a cycle
# collection in the runner's pause while another thread's pause ended).
_lock = threading.Lock()
_paused = 0
_resume = False  # whether the collector ran before the first pause of the current run


@contextmanager
def cycles_not_collected() -> Iterator[None]:
    global _paused, _resume
    with _lock:
        if _paused == 0:
            _resume = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _resume:
                gc.enable()
