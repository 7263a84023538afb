"""A pause of Python's cycle collector around bulk work that makes no cycles.

Decoding 60,000 connection records makes 180,000 small objects; each 700 allocations start a
collection, and every tenth of those scans older generations too, the TUI's whole widget tree
included: a third of the decode's time on a churning host (bench/conn_churn.py). The objects
made hold no cycles, so reference counting frees them all; collection resumes after.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycles_not_collected() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
