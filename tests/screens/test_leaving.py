"""Leaving the TUI: the probes' detaching begins at the exit itself, not after Textual has
stopped reading the terminal (0.2 s of its own), so that a Ctrl-C leaves within a second."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.helpers.screens import scripted_app


async def test_exit_starts_closing_every_probe_and_stops_the_compiles_at_once(
    tmp_path: Path,
) -> None:
    app, source = scripted_app(tmp_path)
    closed, told = threading.Event(), threading.Event()
    close = source.close

    def noted_close() -> None:
        closed.set()
        close()  # ends the worker's read, which blocks until then

    source.close = noted_close  # type: ignore[method-assign]
    app.leaving = told.set
    async with app.run_test(size=(110, 30)):
        app.exit()
        # Blocking the event loop here: only a close started by exit() itself can finish.
        assert closed.wait(2.0) and told.is_set()
