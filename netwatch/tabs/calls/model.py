"""Socket-layer calls per thread: events, the bounded tree they build, and its folded summary.

A call opens on its enter event and closes on its exit; what happened in between hangs under it,
in order: the socket-layer events, and (function depth, where the kernel allows it) the
net/socket.c functions it went through, each entered and returned. Syscalls do not nest, so
calls are depth 1; functions nest inside them from depth 2 down, and an event sits one level
below the innermost open function: the depth socket-trace.stp's `thread_indent` printed.
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from netwatch.model.containers import Contexts, ProcContext
from netwatch.model.sample import EventsSample

ENTER = "enter"
EXIT = "exit"
EVENT = "event"
# A whole call, returned, that the bounded tree would drop at once (a busy thread's older calls
# within one batch): counted and folded into the summary, never drawn. Its ret and dur_us are
# the call's; the Calls tab's reader makes these instead of decoding calls in full.
FOLDED = "folded"
# A net/socket.c function entered, and returned (its ret and dur_us; its result text in the
# "result" argument, none for a void function).
FUNC_ENTER = "func_enter"
FUNC_EXIT = "func_exit"
# How a connect that returned -EINPROGRESS ended, when its handshake did: ret 0 (established)
# or the -errno the kernel gave (refused, timed out, unreachable), dur_us the time from the
# connect's start, ts when it ended. It belongs to the thread's connect that began at
# ts - dur_us; the tree shows it under that connect and the summary counts it there.
OUTCOME = "outcome"
KINDS = frozenset({ENTER, EXIT, EVENT, FOLDED, FUNC_ENTER, FUNC_EXIT, OUTCOME})
# A call's return that says "not yet", not "failed": a non-blocking connect under way, a
# non-blocking read with nothing to read, a call a signal interrupted (to be restarted).
NOT_ERRORS = frozenset({-errno.EINPROGRESS, -errno.EAGAIN, -errno.EALREADY, -errno.EINTR})

DEFAULT_MAX_CALLS = 500  # per thread
DEFAULT_MAX_THREADS = 200
# How the probe follows net/socket.c's functions (--functions).
FUNCTION_MODES = ("auto", "fentry", "kprobes", "off")
MAX_EVENTS_PER_CALL = 64  # a large write queues hundreds of packets; the rest are counted


class CallEvent(NamedTuple):
    """One line of the tree. A named tuple, not a frozen dataclass: a busy thread makes
    hundreds of thousands a second, and building these was a third of decoding."""

    ts: float  # wall clock, seconds
    pid: int
    tid: int
    comm: str
    kind: str  # ENTER, EXIT, EVENT, FUNC_ENTER, FUNC_EXIT, FOLDED or OUTCOME
    name: str  # the syscall, the tracepoint of a nested event, or the function
    args: tuple[tuple[str, str], ...] = ()
    ret: int = 0  # exits: the return value (negative: -errno)
    dur_us: float = 0.0  # exits: time since the enter

    def arg(self, key: str) -> str | None:
        for k, v in self.args:
            if k == key:
                return v
        return None

    def args_text(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.args)


def result_text(ret: int) -> str:
    """A return value as the user reads it: the number, or the errno's name."""
    if ret < 0 and -ret in errno.errorcode:
        return f"-{errno.errorcode[-ret]}"
    return str(ret)


# How a connect's handshake ended, by the errno the kernel left (0: no error).
OUTCOMES = {
    0: "aborted",  # the process closed it while connecting
    -errno.ECONNREFUSED: "refused",
    -errno.ETIMEDOUT: "timeout",
    -errno.EHOSTUNREACH: "unreachable",
    -errno.ENETUNREACH: "unreachable",
    -errno.EHOSTDOWN: "unreachable",
    -errno.ENETDOWN: "unreachable",
}


def outcome_name(established: bool, ret: int) -> str:
    return "established" if established else OUTCOMES.get(ret, "failed")


def duration_text(us: float) -> str:
    if us < 1000:
        return f"{us:.0f} us"
    if us < 1_000_000:
        return f"{us / 1000:.1f} ms"
    return f"{us / 1e6:.2f} s"


@dataclass(frozen=True, slots=True)
class CallsSample(EventsSample[CallEvent]):
    """The calls' events that streamed in since the last read, and where the processes first
    seen (or seen again after a while) in them run, by PID."""

    context: Mapping[int, ProcContext] = field(default_factory=dict)


@dataclass(slots=True)
class CallNode:
    id: int
    enter: CallEvent
    exit: CallEvent | None = None
    events: list[CallEvent] = field(default_factory=list)
    events_dropped: int = 0
    outcome: CallEvent | None = None  # a non-blocking connect's, when its handshake ended
    functions_open: int = 0  # function entries kept whose return has not come
    functions_unkept: int = 0  # entries not kept (past the bound) whose return has not come

    def keep(self, ev: CallEvent) -> None:
        """Bounded: past MAX_EVENTS_PER_CALL, the returns of functions already kept still are,
        so that what is kept nests. Entries are dropped only once the bound is reached, so
        the innermost open functions are the dropped ones and their returns come first."""
        if ev.kind == FUNC_EXIT:
            if self.functions_unkept:
                self.functions_unkept -= 1
                self.events_dropped += 1
            elif self.functions_open:
                self.functions_open -= 1
                self.events.append(ev)
            else:  # its entry came before the call was traced
                self.events_dropped += 1
        elif len(self.events) < MAX_EVENTS_PER_CALL:
            self.functions_open += ev.kind == FUNC_ENTER
            self.events.append(ev)
        else:
            self.functions_unkept += ev.kind == FUNC_ENTER
            self.events_dropped += 1

    @property
    def name(self) -> str:
        return self.enter.name


@dataclass(slots=True)
class OpStats:
    count: int = 0
    total_us: float = 0.0
    max_us: float = 0.0
    errors: int = 0  # returns that failed, and connects whose handshake did
    by_errno: dict[str, int] = field(default_factory=dict)  # "-ECONNREFUSED" -> how many
    pending: int = 0  # returns that said "not yet" (NOT_ERRORS), not counted as errors
    # connects to a unix socket path with no socket there (ENOENT): a library looking for an
    # optional service (glibc's nscd, systemd's notify socket), not a failure of the network
    absent: int = 0

    def failed(self, ret: int) -> None:
        self.errors += 1
        name = result_text(ret)
        self.by_errno[name] = self.by_errno.get(name, 0) + 1

    def errors_text(self) -> str:
        """`2 ENOENT, 1 ECONNREFUSED`: the errors by errno, most first; then what is not one."""
        ranked = sorted(self.by_errno.items(), key=lambda kv: (-kv[1], kv[0]))
        parts = [f"{n} {name.lstrip('-')}" for name, n in ranked]
        if self.absent:
            parts.append(f"{self.absent} unix socket absent")
        return ", ".join(parts)


@dataclass(slots=True)
class ThreadCalls:
    pid: int
    tid: int
    comm: str
    calls: deque[CallNode] = field(default_factory=deque)
    open: CallNode | None = None
    last_ts: float = 0.0
    count: int = 0  # calls seen, including those dropped from `calls`
    total_us: float = 0.0
    dropped: int = 0
    fold: dict[str, OpStats] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.comm}({self.tid})"


@dataclass(slots=True)
class CallsState:
    """Every thread's recent calls. Bounded: `max_calls` per thread and `max_threads` threads,
    the oldest dropped first and counted."""

    max_calls: int = DEFAULT_MAX_CALLS
    max_threads: int = DEFAULT_MAX_THREADS
    threads: dict[int, ThreadCalls] = field(default_factory=dict)
    calls_dropped: int = 0
    threads_dropped: int = 0
    orphans: int = 0  # exits and events with no call open (it began before tracing did)
    lost: int = 0
    total_calls: int = 0
    last: CallsSample | None = None
    samples: int = 0
    contexts: Contexts = field(default_factory=Contexts)  # where each process runs
    _next_id: int = 0

    def emptied(self) -> CallsState:
        """A state with the same settings and no samples (a replay that went back)."""
        return CallsState(max_calls=self.max_calls, max_threads=self.max_threads)

    def apply(self, sample: CallsSample) -> None:
        self.last = sample
        self.samples += 1
        self.lost += sample.lost
        self.contexts.update(sample.context)
        for ev in sample.events:
            self.add(ev)
        self._trim_threads()

    def context_of(self, pid: int) -> ProcContext:
        return self.contexts.of(pid)

    def add(self, ev: CallEvent) -> None:
        thread = self.threads.get(ev.tid)
        if thread is None:
            if ev.kind == FOLDED:
                thread = self.threads[ev.tid] = ThreadCalls(ev.pid, ev.tid, ev.comm)
            elif ev.kind != ENTER:
                self.orphans += 1
                return
            thread = self.threads[ev.tid] = ThreadCalls(ev.pid, ev.tid, ev.comm)
        thread.last_ts = ev.ts
        thread.comm = ev.comm  # exec renames a thread
        if ev.kind == ENTER:
            self._enter(thread, ev)
        elif ev.kind == FOLDED:
            thread.count += 1
            thread.dropped += 1
            self.total_calls += 1
            self.calls_dropped += 1
            self._fold(thread, ev)
        elif ev.kind == OUTCOME:
            self._outcome(thread, ev)
        elif thread.open is None or (ev.kind == EXIT and thread.open.name != ev.name):
            self.orphans += 1
        elif ev.kind == EXIT:
            self._exit(thread, thread.open, ev)
        else:
            thread.open.keep(ev)

    def _enter(self, thread: ThreadCalls, ev: CallEvent) -> None:
        dangling = thread.open
        if dangling is not None and dangling in thread.calls:
            # Shown as running, but its record never came (lost, or a torn read of the slot):
            # a thread is in one call at a time, so this one is over. Not counted as a call.
            thread.calls.remove(dangling)
            thread.count -= 1
            self.total_calls -= 1
            self.orphans += 1
        self._next_id += 1
        node = CallNode(self._next_id, ev)
        thread.open = node
        thread.calls.append(node)
        thread.count += 1
        self.total_calls += 1
        if len(thread.calls) > self.max_calls:
            thread.calls.popleft()
            thread.dropped += 1
            self.calls_dropped += 1

    def _exit(self, thread: ThreadCalls, node: CallNode, ev: CallEvent) -> None:
        node.exit = ev
        thread.open = None
        unix = (node.enter.arg("addr") or "").startswith(("unix", "/", "@"))
        self._fold(thread, ev, absent=ev.ret == -errno.ENOENT and unix)

    def _outcome(self, thread: ThreadCalls, ev: CallEvent) -> None:
        """Put a connect's outcome under the connect it ends (the one that began at
        ts - dur_us); a connect already dropped from the tree is still counted."""
        began = ev.ts - ev.dur_us / 1e6
        node = next(
            (
                n
                for n in reversed(thread.calls)
                if n.name == ev.name and n.outcome is None and abs(n.enter.ts - began) < 1e-5
            ),
            None,
        )
        if node is not None:
            node.outcome = ev
            node.keep(ev)
        if ev.ret < 0:
            thread.fold.setdefault(ev.name, OpStats()).failed(ev.ret)

    @staticmethod
    def _fold(thread: ThreadCalls, ev: CallEvent, absent: bool = False) -> None:
        thread.total_us += ev.dur_us
        stats = thread.fold.setdefault(ev.name, OpStats())
        stats.count += 1
        stats.total_us += ev.dur_us
        stats.max_us = max(stats.max_us, ev.dur_us)
        if ev.ret in NOT_ERRORS:
            stats.pending += 1
        elif absent:
            stats.absent += 1
        elif ev.ret < 0:
            stats.failed(ev.ret)

    def _trim_threads(self) -> None:
        excess = len(self.threads) - self.max_threads
        if excess <= 0:
            return
        for thread in sorted(self.threads.values(), key=lambda t: t.last_ts)[:excess]:
            del self.threads[thread.tid]
            self.threads_dropped += 1
            self.calls_dropped += len(thread.calls)
