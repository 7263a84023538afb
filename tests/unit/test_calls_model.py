"""The Calls tree: bounds, folding, the seed's thread_indent lines, the filter, the order."""

from __future__ import annotations

import errno
import json
import re

import pytest

from netwatch.model.filter import FilterError
from netwatch.tabs.calls.formats import ThreadIndent
from netwatch.tabs.calls.model import (
    ENTER,
    EVENT,
    EXIT,
    FUNC_ENTER,
    FUNC_EXIT,
    MAX_EVENTS_PER_CALL,
    OUTCOME,
    CallEvent,
    CallsSample,
    CallsState,
    duration_text,
    result_text,
)
from netwatch.tabs.calls.view_model import (
    MAX_KERNEL_IDS,
    KernelThreads,
    parse_calls_filter,
    sort_threads,
)

# socket-trace.stp's line: `<us> <comm>(<tid>):<indent><-> or <- or *> <name>[ rest]`
SEED_LINE = re.compile(r"^(\d+) (.+)\((\d+)\):( +)(->|<-|\*) (\w+)(.*)$")


def ev(kind: str, name: str, ts: float, tid: int = 7, pid: int = 7, comm: str = "nc",
       ret: int = 0, dur_us: float = 0.0, **args: str) -> CallEvent:  # fmt: skip
    return CallEvent(ts, pid, tid, comm, kind, name, tuple(args.items()), ret, dur_us)


def call(name: str, start: float, dur_us: float, tid: int = 7, ret: int = 0,
         inside: tuple[str, ...] = (), **args: str) -> list[CallEvent]:  # fmt: skip
    events = [CallEvent(start, 7, tid, "nc", ENTER, name, tuple(args.items()))]
    events += [ev(EVENT, e, start + (i + 1) * 1e-6, tid) for i, e in enumerate(inside)]
    events.append(ev(EXIT, name, start + dur_us / 1e6, tid, ret=ret, dur_us=dur_us))
    return events


def state_of(*events: CallEvent, max_calls: int = 500, max_threads: int = 200) -> CallsState:
    s = CallsState(max_calls=max_calls, max_threads=max_threads)
    s.apply(CallsSample(0.0, 1.0, tuple(events)))
    return s


def test_calls_hold_their_events_and_fold_by_name() -> None:
    s = state_of(
        *call("connect", 1.0, 50, inside=("inet_sock_set_state",), fd="3"),
        *call("sendto", 1.1, 20, inside=("net_dev_queue", "sock_send_length")),
        *call("sendto", 1.2, 40),
        *call("recvfrom", 1.3, 10, ret=-11),
    )
    t = s.threads[7]
    assert [c.name for c in t.calls] == ["connect", "sendto", "sendto", "recvfrom"]
    assert [e.name for e in t.calls[1].events] == ["net_dev_queue", "sock_send_length"]
    assert t.open is None and t.count == 4 and s.orphans == 0
    assert t.total_us == pytest.approx(120)
    sendto = t.fold["sendto"]
    assert (sendto.count, sendto.total_us, sendto.max_us, sendto.errors) == (2, 60, 40, 0)
    recvfrom = t.fold["recvfrom"]  # EAGAIN: "not yet", not a failure (#24)
    assert (recvfrom.errors, recvfrom.pending, recvfrom.by_errno) == (0, 1, {})


def test_per_thread_and_thread_bounds_drop_the_oldest_and_count_them() -> None:
    events = [e for i in range(10) for e in call("write", 1 + i, 1)]
    s = state_of(*events, max_calls=4)
    t = s.threads[7]
    assert len(t.calls) == 4 and t.dropped == 6 and s.calls_dropped == 6
    assert t.count == 10  # the fold still counts every call
    assert t.fold["write"].count == 10
    many = [e for tid in range(1, 6) for e in call("read", tid, 1, tid=tid)]
    s = state_of(*many, max_threads=3)
    assert sorted(s.threads) == [3, 4, 5]  # least recently active gone first
    assert s.threads_dropped == 2 and s.calls_dropped == 2


def test_a_running_call_stays_open_and_a_stale_announcement_is_replaced() -> None:
    s = state_of(ev(ENTER, "accept4", 1.0, fd="3"))
    t = s.threads[7]
    assert t.open is not None and t.open.exit is None
    # Its record never came (lost): the next call replaces the dangling announcement.
    s.apply(CallsSample(0.0, 1.0, tuple(call("read", 2.0, 5))))
    assert [c.name for c in t.calls] == ["read"] and s.orphans == 1


def test_exits_and_events_without_a_call_are_orphans() -> None:
    s = state_of(ev(EXIT, "read", 1.0, dur_us=3), ev(EVENT, "net_dev_queue", 1.1))
    assert s.orphans == 2 and not s.threads


def test_thread_indent_lines_follow_the_seed_format() -> None:
    indent = ThreadIndent()
    events = call("connect", 100.0, 76, inside=("inet_sock_set_state",), fd="4")
    events += call("sendto", 100.5, 21, ret=5, fd="4", size="5")
    lines = [indent.line(e) for e in events]
    assert lines == [
        "0 nc(7): -> connect fd=4",
        "1 nc(7):  * inet_sock_set_state",
        "76 nc(7): <- connect = 0 (76 us)",
        "0 nc(7): -> sendto fd=4 size=5",
        "21 nc(7): <- sendto = 5 (21 us)",
    ]
    for line in lines:
        m = SEED_LINE.match(line)
        assert m is not None, line
        depth = len(m.group(4))
        assert depth == (2 if m.group(5) == "*" else 1)


def test_thread_indent_clock_is_per_thread_and_errors_are_named() -> None:
    indent = ThreadIndent()
    a = call("read", 10.0, 5, tid=1)
    b = call("recvfrom", 10.000002, 30, tid=2, ret=-111)
    lines = [indent.line(e) for e in (a[0], b[0], a[1], b[1])]
    assert lines[1].startswith("0 nc(2): -> recvfrom")
    assert lines[3] == "30 nc(2): <- recvfrom = -ECONNREFUSED (30 us)"


def test_thread_indent_json_has_the_issue_fields() -> None:
    indent = ThreadIndent()
    objs = [indent.record(e) for e in call("sendto", 5.0, 12, ret=9, inside=("x",), fd="3")]
    json.dumps(objs)
    for o in objs:
        assert {"ts_us", "pid", "tid", "comm", "depth", "kind", "name"} <= set(o)
    assert [o["kind"] for o in objs] == ["enter", "event", "exit"]
    assert [o["depth"] for o in objs] == [1, 2, 1]
    assert (
        objs[-1]["ret"] == 9 and objs[-1]["dur_us"] == 12 and objs[0]["args"] == {"fd": 3}
    )  # a number (#24)


def test_result_and_duration_text() -> None:
    assert (
        result_text(5) == "5" and result_text(-11) == "-EAGAIN" and result_text(-99999) == "-99999"
    )
    assert duration_text(12) == "12 us" and duration_text(2500) == "2.5 ms"
    assert duration_text(3_000_000) == "3.00 s"


def test_filter_parses_and_refuses_clearly() -> None:
    f = parse_calls_filter("pid:10,20 comm:curl call:send* !tid:11")
    assert f.kernel_threads() == KernelThreads((10, 20), (), ("curl",))
    with pytest.raises(FilterError, match="unknown filter key"):
        parse_calls_filter("port:80")
    with pytest.raises(FilterError, match="number"):
        parse_calls_filter("pid:abc")
    with pytest.raises(FilterError, match="15 bytes"):
        parse_calls_filter("comm:a-very-long-command-name")
    too_many = ",".join(str(i) for i in range(MAX_KERNEL_IDS + 1))
    with pytest.raises(FilterError, match="at most"):
        parse_calls_filter(f"pid:{too_many}")


def test_kernel_threads_and_of_one_key_is_their_intersection() -> None:
    assert parse_calls_filter("pid:1,2 pid:2,3").kernel_threads().pids == (2,)
    # Nothing in common: the kernel gets a set no thread matches, never "everything".
    assert parse_calls_filter("pid:1 pid:2").kernel_threads().pids == (0,)
    assert parse_calls_filter("!pid:5 free").kernel_threads() == KernelThreads()


def test_filter_matches_threads_and_calls() -> None:
    s = state_of(*call("sendto", 1, 1, tid=7, fd="3"), *call("read", 2, 1, tid=8, fd="9"))
    t7, t8 = s.threads[7], s.threads[8]
    f = parse_calls_filter("tid:7")
    assert f.matches_thread(t7) and not f.matches_thread(t8)
    f = parse_calls_filter("call:send*")
    assert f.matches_call(t7, t7.calls[0]) and not f.matches_call(t8, t8.calls[0])
    f = parse_calls_filter("fd=9")
    assert f.matches_call(t8, t8.calls[0]) and not f.matches_call(t7, t7.calls[0])
    f = parse_calls_filter("comm:nc")  # exact, as the kernel compares it
    assert f.matches_thread(t7)
    assert not parse_calls_filter("comm:n").matches_thread(t7)


def test_threads_sort_and_stay_with_their_process() -> None:
    events = [
        *call("read", 1, 100, tid=1),
        *call("read", 5, 1, tid=2),
        *call("read", 3, 1, tid=3),
    ]
    s = state_of(*events)
    for t in s.threads.values():
        t.pid = 1 if t.tid in (1, 3) else 2  # threads 1 and 3 are one process
    threads = list(s.threads.values())
    # Most recent first, but thread 1 follows thread 3 of its own process.
    assert [t.tid for t in sort_threads(threads, "recent", False)] == [2, 3, 1]
    assert [t.tid for t in sort_threads(threads, "time", False)] == [1, 3, 2]
    assert [t.tid for t in sort_threads(threads, "recent", True)] == [1, 3, 2]


def test_thread_indent_forgets_threads_once_their_calls_return() -> None:
    indent = ThreadIndent()
    for tid in range(1000):
        for e in call("read", float(tid), 5, tid=tid, inside=("x",)):
            indent.line(e)
    assert indent._start == {}  # a long batch run over short-lived threads does not grow


def function_call(start: float) -> list[CallEvent]:
    """sendto -> __sys_sendto -> __sock_sendmsg (a packet queued inside) and back."""
    return [
        ev(ENTER, "sendto", start, fd="4"),
        ev(FUNC_ENTER, "__sys_sendto", start + 1e-6),
        ev(FUNC_ENTER, "__sock_sendmsg", start + 2e-6),
        ev(EVENT, "net_dev_queue", start + 3e-6, dev="lo"),
        ev(FUNC_EXIT, "__sock_sendmsg", start + 9e-6, ret=5, dur_us=7, result="5"),
        ev(FUNC_EXIT, "__sys_sendto", start + 10e-6, ret=5, dur_us=9, result="5"),
        ev(FUNC_EXIT, "__sock_release", start + 11e-6, dur_us=1),  # void: no result
        ev(EXIT, "sendto", start + 12e-6, ret=5, dur_us=12),
    ]


def test_thread_indent_nests_functions_one_space_per_depth() -> None:
    indent = ThreadIndent()
    events = function_call(100.0)
    del events[6]  # the unpaired return is the next test's
    assert [indent.line(e) for e in events] == [
        "0 nc(7): -> sendto fd=4",
        "1 nc(7):  -> __sys_sendto",
        "2 nc(7):   -> __sock_sendmsg",
        "3 nc(7):    * net_dev_queue dev=lo",
        "9 nc(7):   <- __sock_sendmsg = 5 (7 us)",
        "10 nc(7):  <- __sys_sendto = 5 (9 us)",
        "12 nc(7): <- sendto = 5 (12 us)",
    ]
    indent = ThreadIndent()
    objs = [indent.record(e) for e in events]
    assert [(o["kind"], o["layer"], o["depth"]) for o in objs] == [
        ("enter", "syscall", 1), ("enter", "function", 2), ("enter", "function", 3),
        ("event", "event", 4), ("exit", "function", 3), ("exit", "function", 2),
        ("exit", "syscall", 1),
    ]  # fmt: skip
    assert objs[4]["ret"] == 5 and objs[4]["result"] == "5" and objs[4]["dur_us"] == 7
    assert objs[4]["args"] == {}


def test_a_void_function_returns_without_a_value_and_depth_never_goes_below_the_call() -> None:
    indent = ThreadIndent()
    lines = [indent.line(e) for e in function_call(5.0)]
    assert lines[6] == "11 nc(7):  <- __sock_release (1 us)"  # its entry came before tracing
    assert lines[7] == "12 nc(7): <- sendto = 5 (12 us)"


def test_functions_hang_under_their_call_and_a_full_call_still_keeps_their_returns() -> None:
    s = state_of(*function_call(1.0))
    node = s.threads[7].calls[0]
    assert [e.kind for e in node.events][:4] == [FUNC_ENTER, FUNC_ENTER, EVENT, FUNC_EXIT]
    assert node.events_dropped == 1  # the return whose entry was never seen
    # A call that fills its events: the entries kept get their returns; those past the bound
    # are dropped with their returns, and what is kept still nests.
    many = [ev(ENTER, "sendmmsg", 1.0)]
    many += [
        ev(FUNC_ENTER, "___sys_sendmsg", 1.0 + i * 1e-6) for i in range(MAX_EVENTS_PER_CALL + 5)
    ]
    many += [
        ev(FUNC_EXIT, "___sys_sendmsg", 2.0 + i * 1e-6) for i in range(MAX_EVENTS_PER_CALL + 5)
    ]
    many.append(ev(EXIT, "sendmmsg", 3.0))
    node = state_of(*many).threads[7].calls[0]
    kinds = [e.kind for e in node.events]
    assert kinds == [FUNC_ENTER] * MAX_EVENTS_PER_CALL + [FUNC_EXIT] * MAX_EVENTS_PER_CALL
    assert node.events_dropped == 10 and node.functions_open == 0


def test_a_non_blocking_connects_outcome_is_tied_to_it_and_only_failures_are_errors() -> None:
    # #24: curl's connects returned -EINPROGRESS and were counted as errors; the handshake's
    # end (a record of its own, later) says how each went.
    inprogress = -errno.EINPROGRESS
    events = [
        *call("connect", 1.0, 50, ret=inprogress),
        *call("connect", 2.0, 50, ret=inprogress),
        *call("connect", 3.0, 50, ret=inprogress),
        *call("connect", 4.0, 50, ret=-errno.ENOENT),  # not a unix socket: failed
        *call("connect", 5.0, 50, ret=-errno.ENOENT, addr="unix"),  # glibc looking for nscd
        ev(OUTCOME, "connect", 1.0012, dur_us=1200, outcome="established"),
        ev(OUTCOME, "connect", 2.5, ret=-errno.ECONNREFUSED, dur_us=500_000, outcome="refused"),
        ev(OUTCOME, "connect", 3.001, dur_us=1000, outcome="aborted"),
        ev(OUTCOME, "connect", 9.0, dur_us=1000, outcome="established"),  # no connect began then
    ]
    s = state_of(*events)
    t = s.threads[7]
    assert [c.outcome.arg("outcome") if c.outcome else None for c in t.calls] == [
        "established",
        "refused",
        "aborted",
        None,
        None,
    ]
    assert t.calls[0].events[-1].kind == OUTCOME  # drawn under its connect
    connect = t.fold["connect"]
    assert (connect.count, connect.pending, connect.absent) == (5, 3, 1)
    assert connect.errors == 2
    assert connect.errors_text() == "1 ECONNREFUSED, 1 ENOENT, 1 unix socket absent"

    indent = ThreadIndent()
    refused = ev(OUTCOME, "connect", 2.5, ret=-errno.ECONNREFUSED, dur_us=500_000,
                 outcome="refused")  # fmt: skip
    assert indent.line(refused) == "0 nc(7): = connect refused -ECONNREFUSED (500.0 ms)"
    obj = indent.record(refused)
    assert (obj["kind"], obj["result"], obj["dur_us"], obj["args"]) == (
        "outcome",
        "-ECONNREFUSED",
        500_000,
        {"outcome": "refused"},
    )
