"""Where stderr goes while the full-screen UI owns the terminal, and the log kept when a run
fails: BCC's compiler chatter must not land on the screen, and a crash must leave its traceback
somewhere the user is told about."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from netwatch.recording.file import create_new_file
from netwatch.ui.terminal import TerminalOut

LOG_DIR = Path("/var/log/netwatch")


@contextmanager
def terminal_aside(on_lost: Callable[[], None]) -> Iterator[IO[bytes]]:
    """BCC and LLVM write compiler chatter to fd 2, which would land on the full-screen UI.

    Textual draws on sys.__stderr__, so it gets the terminal (a duplicate of its descriptor, as
    a TerminalOut that survives the terminal's loss), while fd 2 itself goes to an unnamed
    temporary file: however the process ends, no log is left behind unless kept on purpose.
    """
    log = tempfile.TemporaryFile()
    terminal = os.dup(2)
    original = sys.__stderr__
    # typeshed marks __stderr__ Final; replacing it is exactly what is wanted here.
    setattr(sys, "__stderr__", TerminalOut(terminal, on_lost))  # noqa: B010
    os.dup2(log.fileno(), 2)
    try:
        yield log
    finally:
        os.dup2(terminal, 2)
        os.close(terminal)
        setattr(sys, "__stderr__", original)  # noqa: B010


def keep_log(log: IO[bytes]) -> Path | None:
    """Copy what fd 2 caught (compiler output, a traceback) to LOG_DIR, or the temporary
    directory if that cannot be written; None if there was nothing."""
    log.seek(0)
    data = log.read()
    if not data:
        return None
    name = time.strftime("netwatch-%Y%m%d-%H%M%S") + f"-{os.getpid()}.log"
    for directory in (LOG_DIR, Path(tempfile.gettempdir())):
        try:
            directory.mkdir(mode=0o700, exist_ok=True)
            with create_new_file(directory / name) as out:
                out.write(data.decode("utf-8", "replace"))
            return directory / name
        except OSError:
            continue
    return None


def traceback_in(log: IO[bytes]) -> str:
    log.seek(0)
    text = log.read().decode("utf-8", "replace")
    # Textual prints a Rich traceback, whose heading is styled between the words.
    found = text.rfind("Traceback")
    if found < 0:
        return ""
    return text[text.rfind("\n", 0, found) + 1 :][-50_000:]
