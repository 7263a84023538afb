"""The Calls tab's filter and thread order.

Filter keys: `pid:`, `tid:`, `comm:` (the exact command name, as the kernel compares it),
`call:` (a call's name, or a prefix ending in `*`), where the thread's process runs
(`container:`, `cgroup:`, `netns:`, as on the Traffic tab), and free text over a thread's label
and a call's name and arguments. Positive pid/tid/comm terms are also handed to the kernel, so
threads nobody asked for cost nothing; negated terms, places and free text are applied here.
"""

from __future__ import annotations

from dataclasses import dataclass

from netwatch.model.containers import NO_CONTEXT, ProcContext
from netwatch.model.filter import (
    ID_MAX,
    PLACE_KEYS,
    FilterError,
    Term,
    parse_terms,
    place_matches,
)
from netwatch.tabs.calls.model import CallNode, ThreadCalls

CALL_FILTER_KEYS = ("pid", "tid", "comm", "call", *PLACE_KEYS)
MAX_KERNEL_IDS = 16  # pids and tids the probe compares in place (calls.bpf.c's MAX_IDS)
THREAD_SORTS = ("recent", "calls", "time")
THREAD_SORT_LABELS = {"recent": "recent activity", "calls": "call count", "time": "total time"}


@dataclass(frozen=True, slots=True)
class KernelThreads:
    """The threads the probe should trace: every non-empty set must match."""

    pids: tuple[int, ...] = ()
    tids: tuple[int, ...] = ()
    comms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CallsFilter:
    text: str
    terms: tuple[Term, ...]

    def matches_thread(self, t: ThreadCalls, place: ProcContext = NO_CONTEXT) -> bool:
        return all(
            self._thread_term(term, t, place) != term.negate for term in self.terms if term.key
        )

    def matches_name(self, name: str) -> bool:
        """The `call:` terms alone: what the summary, which has names but no calls, can apply."""
        return all(
            any(_name_matches(v, name) for v in term.values) != term.negate
            for term in self.terms
            if term.key == "call"
        )

    def matches_call(self, t: ThreadCalls, c: CallNode) -> bool:
        if not self.matches_name(c.name):
            return False
        hay = f"{t.label} {c.name} {c.enter.args_text()}"
        return self.matches_text(hay + (f" {c.exit.args_text()}" if c.exit else ""))

    def matches_text(self, hay: str) -> bool:
        """The free-text terms against a call's text (the tree's whole call, or a streamed
        line's own)."""
        hay = hay.lower()
        return all((t.values[0] in hay) != t.negate for t in self.terms if not t.key)

    @staticmethod
    def _thread_term(term: Term, t: ThreadCalls, place: ProcContext) -> bool:
        if term.key == "pid":
            return any(int(v) == t.pid for v in term.values)
        if term.key == "tid":
            return any(int(v) == t.tid for v in term.values)
        if term.key == "comm":
            return any(v == t.comm for v in term.values)
        if term.key in PLACE_KEYS:
            return place_matches(term, place)
        return True  # call: and free text are decided per call

    def kernel_threads(self) -> KernelThreads:
        # Two positive terms of one key AND together; the kernel's set can only OR, so it
        # gets the intersection.
        def one_set(key: str) -> list[str]:
            sets = [set(t.values) for t in self.terms if t.key == key and not t.negate]
            if not sets:
                return []
            # Nothing in common: a set no thread matches (pid and tid 0 make no syscalls).
            return sorted(set.intersection(*sets)) or ["0"]

        return KernelThreads(
            tuple(int(v) for v in one_set("pid")),
            tuple(int(v) for v in one_set("tid")),
            tuple(one_set("comm")),
        )


def _name_matches(pattern: str, name: str) -> bool:
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


def parse_calls_filter(text: str) -> CallsFilter:
    terms = parse_terms(
        text,
        CALL_FILTER_KEYS,
        numeric={"pid": ID_MAX, "tid": ID_MAX, "netns": ID_MAX},
        exact=("comm", "container", "cgroup"),
    )
    for term in terms:
        if term.key in ("pid", "tid") and not term.negate and len(term.values) > MAX_KERNEL_IDS:
            raise FilterError(f"at most {MAX_KERNEL_IDS} values for {term.key}:")
        if term.key == "comm":
            for v in term.values:
                if len(v.encode()) > 15:
                    raise FilterError(f"comm: '{v}' is longer than the kernel's 15 bytes")
    return CallsFilter(text.strip(), terms)


def sort_threads(threads: list[ThreadCalls], by: str, reverse: bool) -> list[ThreadCalls]:
    """Most recent, most calls or most time first (reverse: least first), with the threads of
    one process kept together, placed by their process's first thread; ties by thread id."""
    if by not in THREAD_SORTS:
        raise ValueError(by)
    keys = {
        "recent": lambda t: t.last_ts,
        "calls": lambda t: float(t.count),
        "time": lambda t: t.total_us,
    }
    key = keys[by]
    ordered = sorted(sorted(threads, key=lambda t: t.tid), key=key, reverse=not reverse)
    place: dict[int, int] = {}
    for i, t in enumerate(ordered):
        place.setdefault(t.pid, i)
    return sorted(ordered, key=lambda t: place[t.pid])  # stable: thread order kept within
