"""Socket-layer calls per thread: events, the bounded tree they build, and its folded summary.

A call opens on its enter event and closes on its exit; what happened in between hangs under it,
in order: the socket-layer events, and (function depth, where the kernel allows it) the
net/socket.c functions it went through, each entered and returned. Syscalls do not nest, so
calls are depth 1; functions nest inside them from depth 2 down, and an event sits one level
below the innermost open function: the depth socket-trace.stp's `thread_indent` printed.
"""

from __future__ import annotations

import errno
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from netwatch.model.containers import Contexts, ProcContext
from netwatch.model.sample import EventsSample
from netwatch.model.untrusted import printable

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


class ThreadIndent:
    """socket-trace.stp's `thread_indent`: microseconds since the thread's outermost call began
    (the clock restarts whenever the thread is back at depth 0), and the depth of each line."""

    def __init__(self) -> None:
        self._start: dict[int, float] = {}
        self._functions: dict[int, int] = {}  # tid -> functions open inside its call

    def place(self, ev: CallEvent) -> tuple[int, int]:
        """(microseconds, depth) of an event, in the order the events happened. A thread is
        remembered only while it is inside a call, so a long run over short-lived threads
        does not grow."""
        if ev.kind == OUTCOME:  # comes after its connect returned: outside any call
            return 0, 1
        if ev.kind == ENTER:  # syscalls do not nest: an enter always starts the clock again
            self._start[ev.tid] = ev.ts
            self._functions.pop(ev.tid, None)
            return 0, 1
        if ev.kind == EXIT:
            # Its enter may have come before tracing did: then it began dur_us ago.
            start = self._start.pop(ev.tid, ev.ts - ev.dur_us / 1e6)
            self._functions.pop(ev.tid, None)
            return round((ev.ts - start) * 1e6), 1
        start = self._start.setdefault(ev.tid, ev.ts)
        us = round((ev.ts - start) * 1e6)
        open_ = self._functions.get(ev.tid, 0)
        if ev.kind == FUNC_ENTER:
            self._functions[ev.tid] = open_ + 1
            return us, 2 + open_
        if ev.kind == FUNC_EXIT:
            open_ = max(0, open_ - 1)
            self._functions[ev.tid] = open_
            return us, 2 + open_
        return us, 2 + open_

    def line(self, ev: CallEvent) -> str:
        """One line in the seed's format: `<us> <comm>(<tid>):<indent>-> <name>`, with `<-` on
        returns (result and duration appended) and `*` on the events inside a call. The comm
        and arguments are a local user's text: the line is shown escaped."""
        return printable(self._line(ev))

    def _line(self, ev: CallEvent) -> str:
        us, depth = self.place(ev)
        head = f"{us} {ev.comm}({ev.tid}):{' ' * depth}"
        args = ev.args_text()
        if ev.kind == ENTER:
            return f"{head}-> {ev.name}" + (f" {args}" if args else "")
        if ev.kind == EXIT:
            tail = f" {args}" if args else ""
            return f"{head}<- {ev.name} = {result_text(ev.ret)}{tail} ({duration_text(ev.dur_us)})"
        if ev.kind == FUNC_ENTER:
            return f"{head}-> {ev.name}"
        if ev.kind == OUTCOME:  # `= connect refused -ECONNREFUSED (3.0 s)`: since it began
            error = f" {result_text(ev.ret)}" if ev.ret < 0 else ""
            return f"{head}= {ev.name} {ev.arg('outcome')}{error} ({duration_text(ev.dur_us)})"
        if ev.kind == FUNC_EXIT:
            result = ev.arg("result")
            shown = f" = {result}" if result else ""
            return f"{head}<- {ev.name}{shown} ({duration_text(ev.dur_us)})"
        return f"{head}* {ev.name}" + (f" {args}" if args else "")

    def record(self, ev: CallEvent) -> dict[str, object]:
        """One JSON object: the line's fields, and the structured arguments."""
        us, depth = self.place(ev)
        # A function is an enter and an exit like a call, one level deeper; "layer" says which.
        kind = {FUNC_ENTER: ENTER, FUNC_EXIT: EXIT}.get(ev.kind, ev.kind)
        obj: dict[str, object] = {
            "ts": round(ev.ts, 6),  # Unix seconds, as every batch command's JSON has it
            "offset_us": us,  # the seed's: since the thread's outermost call began
            "pid": ev.pid,
            "tid": ev.tid,
            "comm": ev.comm,
            "depth": depth,
            "kind": kind,
            "layer": _LAYERS.get(ev.kind, "event"),
            "name": ev.name,
            "args": typed_args(ev.args) if ev.kind != FUNC_EXIT else {},
            # The names before one grammar (#24), kept one release for scripts (README).
            "ts_us": us,
            "time": round(ev.ts, 6),
        }
        if ev.kind in (EXIT, OUTCOME):
            obj["ret"] = ev.ret
            obj["result"] = result_text(ev.ret)
            obj["dur_us"] = round(ev.dur_us, 3)
        elif ev.kind == FUNC_EXIT:
            obj["ret"] = ev.ret
            obj["result"] = ev.arg("result") or ""
            obj["dur_us"] = round(ev.dur_us, 3)
        return obj


def typed_args(args: tuple[tuple[str, str], ...]) -> dict[str, object]:
    """A call's arguments for JSON: numbers as numbers (fd, size, lport, bytes...), the rest
    (names, addresses, flags) as text."""
    return {k: int(v) if _INTEGER.fullmatch(v) else v for k, v in args}


_INTEGER = re.compile(r"-?[0-9]{1,20}")


_LAYERS = {
    ENTER: "syscall",
    EXIT: "syscall",
    OUTCOME: "syscall",
    FUNC_ENTER: "function",
    FUNC_EXIT: "function",
}
