"""A thread of a probe's own that empties its ring buffer, so that neither the UI nor a slow
interval can make the kernel's buffer overflow."""

from __future__ import annotations

import threading
from collections.abc import Callable


class DrainThread:
    """Calls `step` over and over (it should block briefly: a poll with a timeout) until
    stopped; `pause` seconds between steps, for steps that do not block."""

    def __init__(self, name: str, step: Callable[[], None], pause: float = 0.0) -> None:
        self._step = step
        self._pause = pause
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._pause):
            self._step()

    def stop(self) -> None:
        """Idempotent; returns once the thread is out of `step` (the probe may then detach)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
