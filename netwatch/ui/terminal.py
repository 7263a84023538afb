"""The TUI's hold on the terminal, and every way out of it.

netwatch runs as root over SSH, so the ways out include the bad ones: a signal in the first
tenth of a second, during a BPF compile, or after the SSH connection (the terminal) is gone. Each
must restore the terminal if there is one, detach every probe, and end the process soon. Three
pieces do that:
- `TerminalOut`, the file Textual draws on: a write to a dead terminal (EIO after a hangup, EPIPE)
  marks it lost and asks the app to leave, instead of killing Textual's writer thread, whose
  full queue then deadlocked the exit;
- `exit_on_signals`: SIGINT, SIGTERM and SIGHUP ask the app to leave at any moment, before its
  event loop runs as well as after (the request is kept until the app can act on it);
- `ExitGuard`: once leaving was asked for, if the process is still here after a grace period
  (a compile that will not be interrupted, a terminal that blocks), it restores the terminal
  modes it saved at start and ends the process. The kernel detaches every BPF program, link and
  perf event with the descriptors that held them, so ending is itself a clean detach.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

# What Textual turns on, turned off: mouse reporting, focus events, bracketed paste, the
# keyboard protocol, the alternate screen and the hidden cursor.
RESET_SEQUENCE = (
    "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?1004l\x1b[?2004l"
    "\x1b[<u\x1b[?1049l\x1b[?25h"
)
LOST_ERRNOS = frozenset({errno.EIO, errno.EPIPE, errno.EBADF, errno.ENXIO, errno.ENOTTY})


class TerminalOut(io.TextIOBase):
    """A text file on the terminal's descriptor that never raises: once the terminal is gone,
    writes are dropped and `on_lost` is called (once)."""

    encoding = "utf-8"

    def __init__(self, fd: int, on_lost: Callable[[], None] = lambda: None) -> None:
        super().__init__()
        self._fd = fd
        self.on_lost = on_lost
        self.lost = False

    def write(self, text: str) -> int:
        if self.lost:
            return len(text)
        data = memoryview(text.encode("utf-8", "replace"))
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as exc:
            if exc.errno not in LOST_ERRNOS and exc.errno != errno.EAGAIN:
                raise
            self.lost = True
            self.on_lost()
        return len(text)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return not self.lost

    def writable(self) -> bool:
        return True


class ExitGuard:
    """Saves the terminal's modes now; after `arm`, restores them and ends the process if it
    has not ended by itself within the grace period.

    It keeps a descriptor of its own on the terminal: by the time it fires, fd 2 points at the
    compiler log (crashlog.terminal_aside), and restoring "fd 2" wrote the reset sequence and
    the modes into that file, leaving the operator's terminal raw, on the alternate screen,
    with mouse reporting on."""

    def __init__(self, fd: int) -> None:
        try:
            self._modes: list[object] | None = termios.tcgetattr(fd)
            self._fd = os.dup(fd)
        except (termios.error, OSError):
            self._modes = None  # not a terminal: nothing to restore
            self._fd = -1
        self._armed = threading.Event()
        self.code = 1

    def arm(self, grace: float) -> None:
        if self._armed.is_set():
            return
        self._armed.set()
        threading.Thread(
            target=self._end_after, args=(grace,), name="netwatch-exit-guard", daemon=True
        ).start()

    def restore_terminal(self) -> None:
        """Best effort and never blocking: the terminal may be gone or stalled."""
        if self._modes is None:
            return
        with contextlib.suppress(OSError, termios.error):
            os.set_blocking(self._fd, False)
            os.write(self._fd, RESET_SEQUENCE.encode())
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(self._fd, termios.TCSANOW, self._modes)  # type: ignore[arg-type]

    def _end_after(self, grace: float) -> None:
        threading.Event().wait(grace)
        self.restore_terminal()
        said = b"netwatch: stopped (shutdown took too long; probes released)\n"
        # On the terminal where the operator looks, and in fd 2's log too.
        for fd in {self._fd, 2} - {-1}:
            with contextlib.suppress(OSError):
                os.write(fd, said)
        os._exit(self.code)


@contextlib.contextmanager
def exit_on_signals(request_exit: Callable[[], None]) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP call `request_exit()` (a monitor stopped by a signal has
    done its job: the app then exits 0); the previous handlers are put back afterwards."""

    def handler(signum: int, frame: FrameType | None) -> None:
        request_exit()

    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def close_within(closers: list[Callable[[], None]], seconds: float) -> bool:
    """Run each closer in its own thread; True if all of them finished within `seconds`."""
    return finished_within(start_closing(closers), seconds)


def start_closing(closers: list[Callable[[], None]]) -> list[threading.Thread]:
    """Each closer started in a thread of its own, not waited for."""
    threads = [
        threading.Thread(target=_quietly, args=(c,), name="netwatch-close", daemon=True)
        for c in closers
    ]
    for t in threads:
        t.start()
    return threads


def finished_within(threads: list[threading.Thread], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


def _quietly(closer: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):
        closer()


def end_now(code: int) -> None:
    """Leave without waiting for threads still compiling or attaching (the kernel releases
    what they hold), after the output that was meant to be seen."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
