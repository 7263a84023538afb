"""The Calls probe's records, built byte for byte as calls.bpf.c lays them out, decoded."""

from __future__ import annotations

import errno
import re
import socket
import struct

import pytest

from netwatch.model.dropreasons import symbolic_names
from netwatch.tabs.calls.decode import (
    CALL_NAMES,
    EVENT_NAMES,
    INFLIGHT,
    KIND_CALL,
    KIND_EVENT,
    KIND_OUTCOME,
    MAX_INLINE,
    RECORD,
    Decoder,
    function_result,
)
from netwatch.tabs.calls.decode.args import F_ADDR, F_OTHER_SOCK, F_PEER, msg_flags
from netwatch.tabs.calls.model import ENTER, EVENT, EXIT, FUNC_ENTER, FUNC_EXIT, OUTCOME, CallEvent
from tests.helpers.paths import bpf_source

BPF_C = bpf_source("calls")
V4 = socket.inet_aton("10.0.0.2") + bytes(12)
NO_VIEW = (-1, 0, 0, 0, 0, 0, 0, bytes(16))
NO_EVENT = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, bytes(16), bytes(16))


def view(fd: int = 3, port: int = 0, lport: int = 0, proto: int = 6, flags: int = 0,
         addr: bytes = bytes(16), family: int = 2) -> tuple[object, ...]:  # fmt: skip
    return (fd, family, port, lport, proto, flags, 0, addr)


def event(ts: int, op: str, value: int = 0, a0: int = 0, a1: int = 0, lport: int = 0,
          flags: int = 0, dev: bytes = b"") -> tuple[object, ...]:  # fmt: skip
    return (ts, a0, a1, value, EVENT_NAMES.index(op), flags, 2, 0, lport, 6, 0, bytes(16), dev)


def record(
    op: str,
    *,
    ts: int = 1_000_000,
    args: tuple[int, int, int] = (3, 0, 0),
    ret: int = 0,
    dur: int = 5000,
    tid: int = 42,
    enter: tuple[object, ...] = NO_VIEW,
    exit: tuple[object, ...] | None = None,
    events: list[tuple[object, ...]] | None = None,
    kind: int = KIND_CALL,
    overflow: int = 0,
) -> bytes:
    evs = list(events or [])
    inline = evs[:MAX_INLINE] + [NO_EVENT] * (MAX_INLINE - len(evs[:MAX_INLINE]))
    fields = [ts, *args, ret, dur, 40, tid, b"client", kind, CALL_NAMES.index(op),
              len(evs[:MAX_INLINE]), overflow, *enter, *(exit or enter)]  # fmt: skip
    for e in inline:
        fields += e
    return RECORD.pack(*fields)


def decode(*records: bytes) -> list[CallEvent]:
    return list(Decoder(0.0).decode_many(b"".join(records)))


def test_names_agree_with_the_bpf_enums() -> None:
    def enum(name: str) -> list[str]:
        body = re.search(r"enum " + name + r" \{(.*?)\};", BPF_C, re.S)
        assert body is not None
        return [w.strip() for w in body.group(1).replace("\n", " ").split(",") if w.strip()]

    calls = enum("call_op")
    assert [c.removeprefix("OP_").lower() for c in calls[1:]] == list(CALL_NAMES[1:])
    events = enum("event_op")
    assert len(events) == len(EVENT_NAMES)
    assert EVENT_NAMES.index(FUNC_ENTER) == events.index("EV_FUNC_ENTER")
    assert EVENT_NAMES.index(FUNC_EXIT) == events.index("EV_FUNC_EXIT")


def test_record_layout_matches_the_c_struct() -> None:
    # 80 header + 2 x 32 socket views + MAX_INLINE x 80 events; the C says MAX_INLINE too.
    assert RECORD.size == 80 + 2 * 32 + MAX_INLINE * 80 == 464
    assert f"#define MAX_INLINE {MAX_INLINE}" in BPF_C
    assert INFLIGHT.size == 24  # sk, addr_ptr, active, deferred before the record


def test_a_call_becomes_enter_events_exit_in_order() -> None:
    mine = view(port=7000, lport=40000, flags=F_PEER, addr=V4)
    evs = decode(
        record(
            "sendto",
            args=(3, 0, 1500),
            ret=1500,
            dur=20_000,
            enter=mine,
            events=[
                event(1_005_000, "net_dev_queue", value=1514, lport=40000, dev=b"veth0"),
                event(1_015_000, "sock_send_length", value=1500, lport=40000),
            ],
        )
    )
    assert [(e.kind, e.name) for e in evs] == [
        (ENTER, "sendto"),
        (EVENT, "net_dev_queue"),
        (EVENT, "sock_send_length"),
        (EXIT, "sendto"),
    ]
    enter, dev, sent, exit_ = evs
    assert enter.arg("fd") == "3" and enter.arg("peer") == "10.0.0.2:7000"
    assert enter.arg("size") == "1500" and enter.arg("lport") == "40000"
    assert dev.arg("dev") == "veth0" and dev.arg("len") == "1514"
    assert sent.arg("bytes") == "1500"
    assert exit_.ret == 1500 and exit_.dur_us == 20.0
    assert exit_.ts == pytest.approx(enter.ts + 20e-6)
    assert enter.tid == exit_.tid == 42 and enter.comm == "client"


def test_events_past_the_inline_slots_wait_for_their_call() -> None:
    inline = [event(1_000_100 + i, "net_dev_queue", value=66) for i in range(MAX_INLINE)]
    extra = [
        record("close", kind=KIND_EVENT, events=[event(1_000_900 + i, "tcp_destroy_sock")])
        for i in range(2)
    ]
    call = record("close", events=inline, overflow=2)
    evs = decode(*extra, call)
    names = [e.name for e in evs]
    assert names == ["close", *["net_dev_queue"] * MAX_INLINE, *["tcp_destroy_sock"] * 2, "close"]
    assert [e.ts for e in evs[1:-1]] == sorted(e.ts for e in evs[1:-1])


def test_waiting_events_of_a_lost_call_are_counted_not_misplaced() -> None:
    d = Decoder(0.0)
    orphan = record("close", ts=500, kind=KIND_EVENT, events=[event(600, "tcp_destroy_sock")])
    later = record("close", ts=1_000_000)
    evs = list(d.decode_many(orphan + later))
    assert [e.kind for e in evs] == [ENTER, EXIT]
    assert d.undecodable == 1


def test_a_running_call_is_announced_once_and_not_repeated_by_its_record() -> None:
    d = Decoder(0.0)
    call = record("accept4", ts=7_000, args=(3, 0, 0), enter=view(lport=8080))
    slot = INFLIGHT.pack(0, 0, 1, 0) + call
    first = d.announce(slot)
    assert first is not None and first.kind == ENTER and first.name == "accept4"
    assert d.announce(slot) is None  # still running: already shown
    assert d.announce(INFLIGHT.pack(0, 0, 0, 0) + call) is None  # not in a call
    assert d.announce(INFLIGHT.pack(0, 0, 1, 1) + call) is None  # a poll: only with events
    evs = list(d.decode_many(call))
    assert [e.kind for e in evs] == [EXIT]


def test_arguments_by_call() -> None:
    enter = decode(record("socket", args=(2, 1 | 0o2000000, 0)))[0]
    assert enter.args_text() == "family=inet type=STREAM|CLOEXEC protocol=0"
    connect = decode(record("connect", enter=view(port=80, flags=F_ADDR, addr=V4)))[0]
    assert connect.arg("addr") == "10.0.0.2:80"
    recv = decode(
        record(
            "recvfrom",
            args=(5, 0x40, 100),
            ret=7,
            enter=view(fd=5),
            exit=view(fd=5, port=53, flags=F_ADDR, addr=V4),
        )
    )
    assert recv[0].arg("flags") == "DONTWAIT" and recv[0].arg("size") == "100"
    assert recv[-1].arg("from") == "10.0.0.2:53"
    refused = decode(record("connect", ret=-111))[-1]
    assert refused.ret == -111


def test_event_fields() -> None:
    state = event(10, "inet_sock_set_state", a0=7, a1=2, lport=1234)
    other = event(11, "sock_recv_length", value=-11, flags=F_OTHER_SOCK)
    evs = decode(record("connect", events=[state, other]))
    assert evs[1].arg("state") == "CLOSE->SYN_SENT" and evs[1].arg("lport") == "1234"
    assert evs[2].arg("bytes") == "-EAGAIN" and evs[2].arg("socket") == "other"


def test_memo_never_mixes_different_arguments() -> None:
    d = Decoder(0.0)
    a = list(d.decode_many(record("write", args=(3, 0, 10), ret=10)))
    b = list(d.decode_many(record("write", args=(3, 0, 20), ret=20)))
    assert a[0].arg("size") == "10" and b[0].arg("size") == "20"
    assert a[-1].ret == 10 and b[-1].ret == 20


def test_garbage_is_counted() -> None:
    d = Decoder(0.0)
    bad = bytearray(record("write"))
    struct.pack_into("<H", bad, 74, 999)  # op out of range
    assert list(d.decode_many(bytes(bad))) == []
    assert d.undecodable == 1


def test_msg_flags() -> None:
    assert msg_flags(0) == "0"
    assert msg_flags(0x40 | 0x4000) == "DONTWAIT|NOSIGNAL"
    assert msg_flags(0x80000000) == "0x80000000"


def test_a_busy_threads_older_calls_in_a_batch_are_folded_not_decoded() -> None:
    from netwatch.tabs.calls.model import FOLDED, CallsSample, CallsState

    blob = b"".join(
        record("write", ts=1_000 * i, ret=i, dur=2_000, tid=7, events=[event(1_000 * i + 1,
               "sock_send_length", value=i)])
        for i in range(1, 11)
    ) + record("read", ts=50_000, tid=8)  # fmt: skip
    evs = list(Decoder(0.0).decode_many(blob, keep_last=3))
    folded = [e for e in evs if e.kind == FOLDED]
    assert [e.ret for e in folded] == list(range(1, 8)) and {e.tid for e in folded} == {7}
    assert all(e.name == "write" and e.dur_us == 2.0 for e in folded)
    state = CallsState(max_calls=3)
    state.apply(CallsSample(0.0, 1.0, tuple(evs)))
    t7 = state.threads[7]
    # Kept and counted exactly as if every call had been decoded and the oldest dropped.
    assert [c.exit.ret for c in t7.calls] == [8, 9, 10]  # type: ignore[union-attr]
    assert t7.count == 10 and t7.dropped == 7 and state.calls_dropped == 7
    assert t7.fold["write"].count == 10 and t7.fold["write"].total_us == 20.0
    assert [c.name for c in state.threads[8].calls] == ["read"] and state.orphans == 0
    full = CallsState(max_calls=3)
    full.apply(CallsSample(0.0, 1.0, tuple(Decoder(0.0).decode_many(blob))))
    assert full.threads[7].fold == t7.fold and full.calls_dropped == state.calls_dropped


FUNCTIONS = {
    0xFFFF0100: ("__sys_sendto", "number", 4),
    0xFFFF0200: ("__sock_sendmsg", "number", 4),
}


def function_event(ts: int, op: str, ip: int, ret: int = 0, dur: int = 0) -> tuple[object, ...]:
    """As calls.bpf.c's set_func lays one out: address in a0, duration in a1, return in value."""
    return (ts, ip, dur, ret, EVENT_NAMES.index(op), 0, 0, 0, 0, 0, 0, bytes(16), bytes(16))


def test_function_depth_events_become_named_entries_and_returns() -> None:
    decoder = Decoder(0.0, function_of=lambda ip: FUNCTIONS[ip])
    inline = [
        function_event(1_000_100, FUNC_ENTER, 0xFFFF0100),
        function_event(1_000_200, FUNC_ENTER, 0xFFFF0200),
        function_event(1_000_900, FUNC_EXIT, 0xFFFF0200, ret=1500, dur=700),
        # a 32-bit int's -EAGAIN, the register's upper half not sign-extended
        function_event(1_001_000, FUNC_EXIT, 0xFFFF0100, ret=0xFFFFFFF5, dur=900),
    ]
    evs = list(decoder.decode_many(record("sendto", ret=-11, events=inline)))
    assert [(e.kind, e.name) for e in evs] == [
        (ENTER, "sendto"),
        (FUNC_ENTER, "__sys_sendto"),
        (FUNC_ENTER, "__sock_sendmsg"),
        (FUNC_EXIT, "__sock_sendmsg"),
        (FUNC_EXIT, "__sys_sendto"),
        (EXIT, "sendto"),
    ]
    inner, outer = evs[3], evs[4]
    assert (inner.ret, inner.arg("result"), inner.dur_us) == (1500, "1500", 0.7)
    assert (outer.ret, outer.arg("result"), outer.dur_us) == (-11, "-EAGAIN", 0.9)
    assert evs[1].args == () and evs[1].ts == pytest.approx(1_000_100 / 1e9)


def test_function_results_by_return_type() -> None:
    assert function_result(123, "void", 0) == (0, "")  # the register holds leftovers
    assert function_result(0, "pointer", 8) == (0, "NULL")
    assert function_result(0xFFFF888812345678, "pointer", 8) == (1, "ptr")  # never the address
    assert function_result((1 << 64) - 12, "pointer", 8) == (-12, "-ENOMEM")  # ERR_PTR
    assert function_result(0x1_0000_0005, "number", 4) == (5, "5")
    assert function_result(0xFF, "number", 1) == (-1, "-EPERM")
    assert function_result(-104, "number", 8) == (-104, "-ECONNRESET")


def test_a_connects_outcome_record_becomes_its_outcome_event() -> None:
    # calls.bpf.c's KIND_OUTCOME: ts the connect's start, dur to the handshake's end, a0 the
    # state it went to (1 ESTABLISHED, 7 CLOSE), ret -sk_err on CLOSE.
    assert "#define KIND_OUTCOME 4" in BPF_C
    ok, refused, closed = decode(
        record("connect", kind=KIND_OUTCOME, args=(1, 0, 0), dur=300_000),
        record("connect", kind=KIND_OUTCOME, args=(7, 0, 0), ret=-errno.ECONNREFUSED),
        record("connect", kind=KIND_OUTCOME, args=(7, 0, 0), ret=0),
    )
    assert (ok.kind, ok.name, ok.arg("outcome"), ok.ret) == (OUTCOME, "connect", "established", 0)
    assert ok.ts == pytest.approx(1_300_000 / 1e9) and ok.dur_us == pytest.approx(300)
    assert (refused.arg("outcome"), refused.ret) == ("refused", -errno.ECONNREFUSED)
    assert closed.arg("outcome") == "aborted"  # closed by the process while connecting


def test_enums_print_by_name_socket_options_and_this_kernels_reset_reasons() -> None:
    # #24: setsockopt's option and a reset's reason printed as bare numbers.
    (tcp,) = [e for e in decode(record("setsockopt", args=(3, 6, 1))) if e.kind == ENTER]
    assert (dict(tcp.args)["level"], dict(tcp.args)["optname"]) == ("IPPROTO_TCP", "TCP_NODELAY")
    (so,) = [e for e in decode(record("setsockopt", args=(3, 1, 15))) if e.kind == ENTER]
    assert dict(so.args)["optname"] == "SO_REUSEPORT"
    (odd,) = [e for e in decode(record("setsockopt", args=(3, 6, 999))) if e.kind == ENTER]
    assert dict(odd.args)["optname"] == "999"  # not in the table: its number
    # The names come from the running kernel's format file, numbered its own way.
    fmt = ('print fmt: "reason=%s", REC->state ? __print_symbolic(REC->state, { TCP_CLOSE, '
           '"TCP_CLOSE" }) : "", __print_symbolic(REC->reason, { 0, "NOT_SPECIFIED" }, '
           '{ 1, "NO_SOCKET" }, { 11, "TCP_ABORT_ON_CLOSE" })')  # fmt: skip
    reasons = symbolic_names(fmt, "reason")
    assert reasons == {0: "NOT_SPECIFIED", 1: "NO_SOCKET", 11: "TCP_ABORT_ON_CLOSE"}
    rst = record("connect", events=[event(1_001_000, "tcp_send_reset", a0=1)])
    (reset,) = [e for e in Decoder(0.0, reset_reasons=reasons).decode_many(rst) if e.kind == EVENT]
    assert dict(reset.args)["reason"] == "NO_SOCKET"


def test_option_names_agree_with_pythons_socket_module() -> None:
    import socket

    from netwatch.tabs.calls.decode.args import _OPTNAMES

    known = [(n, name) for table in _OPTNAMES.values() for n, name in table.items()
             if hasattr(socket, name)]  # fmt: skip
    assert len(known) > 30
    assert [(n, name) for n, name in known if getattr(socket, name) != n] == []
