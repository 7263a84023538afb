"""A thread of a probe's own that empties its ring buffer, so that neither the UI nor a slow
interval can make the kernel's buffer overflow."""

from __future__ import annotations

import threading
from collections.abc import Callable


class DrainThread:
    """Calls `step` over and over (it should block briefly: a poll with a timeout) until
    stopped; `pause` seconds between steps, for steps that do not block. While held, it waits
    without waking: a probe that is detached has nothing to drain."""

    def __init__(
        self,
        name: str,
        step: Callable[[], bool | None],
        pause: float = 0.0,
        max_pause: float | None = None,
    ) -> None:
        """`max_pause`: while `step` returns False (it found nothing), the pause doubles up to
        this; the first step that finds something brings it back to `pause`."""
        self._step = step
        self._pause = pause
        self._max_pause = pause if max_pause is None else max(pause, max_pause)
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        pause = self._pause
        while not self._stop.wait(pause):
            held = not self._running.is_set()
            found = self._step()
            pause = self._pause if found is not False else min(2 * pause, self._max_pause)
            if held:
                self._running.wait()

    def hold(self) -> None:
        """No more steps until `release`, after one more (for what came before the hold)."""
        self._running.clear()

    def release(self) -> None:
        self._running.set()

    def stop(self) -> None:
        """Idempotent; returns once the thread is out of `step` (the probe may then detach)."""
        self._stop.set()
        self._running.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
