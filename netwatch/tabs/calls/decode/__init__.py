"""The Calls probe's records (calls.bpf.c's `struct call_event_t`) to CallEvents.

Kept apart from the probe so it is tested without root: the probe hands over raw bytes, many
records at a time, and they are unpacked here in one pass.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from netwatch.model.cdata import c_string
from netwatch.tabs.calls.decode.args import (
    F_OTHER_SOCK,
    SockFields,
    enter_args,
    exit_args,
    msg_flags,
    signed,
    state_name,
)
from netwatch.tabs.calls.model import (
    ENTER,
    EVENT,
    EXIT,
    FOLDED,
    FUNC_ENTER,
    FUNC_EXIT,
    OUTCOME,
    CallEvent,
    outcome_name,
    result_text,
)

# calls.bpf.c's enum call_op and enum event_op, in order (tests/unit checks they agree).
CALL_NAMES = (
    "",
    "socket", "socketpair", "bind", "listen", "accept", "accept4", "connect",
    "shutdown", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
    "setsockopt", "getsockopt", "getsockname", "getpeername",
    "read", "write", "readv", "writev", "close",
    "poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2",
)  # fmt: skip
EVENT_NAMES = (
    "",
    "sock_send_length", "sock_recv_length", "skb_copy_datagram_iovec", "inet_sock_set_state",
    "net_dev_queue", "kfree_skb", "tcp_retransmit_skb", "tcp_send_reset", "tcp_receive_reset",
    "tcp_destroy_sock", "tcp_rcv_space_adjust", FUNC_ENTER, FUNC_EXIT,
)  # fmt: skip
_EV_FUNC_ENTER = EVENT_NAMES.index(FUNC_ENTER)
_EV_FUNC_EXIT = EVENT_NAMES.index(FUNC_EXIT)


def _event(fields: tuple[Any, ...]) -> CallEvent:
    """A CallEvent from all nine fields, without NamedTuple's keyword-handling constructor
    (a third of decoding's time otherwise)."""
    return tuple.__new__(CallEvent, fields)


MEMO_SIZE = 4096  # described argument sets kept; cleared when full
MAX_WAITING = 4096  # events of one call held back until its record comes
MAX_THREADS_REMEMBERED = 16384  # as many as the probe has per-thread slots
MAX_INLINE = 4  # calls.bpf.c's events carried inside a call's record
KIND_CALL = 1
KIND_EVENT = 3
KIND_OUTCOME = 4
TCP_ESTABLISHED = 1
# calls.bpf.c's struct call_record_t: header, socket as the call began and as it returned,
# then MAX_INLINE events (struct nested_t).
_HEADER = "QQQQqQII16sHHHH"  # ts a0 a1 a2 ret dur pid tid comm kind op n_inline n_overflow
_VIEW = "iHHHHHH16s"  # fd family port lport proto flags pad addr
_NESTED = "QQQqHHHHHHI16s16s"  # ts a0 a1 value op flags family port lport proto pad addr dev
RECORD = struct.Struct("<" + _HEADER + _VIEW * 2 + _NESTED * MAX_INLINE)
_HEAD = struct.Struct("<" + _HEADER)
_VIEW_S = struct.Struct("<" + _VIEW)
_NEST = struct.Struct("<" + _NESTED)
_ARGS = struct.Struct("<QQQ")
_TS = struct.Struct("<Q")
_FUNC = struct.Struct("<QQQqH")  # a nested event's ts, address, duration, return value, op
_TID = struct.Struct("<I")
_KIND = struct.Struct("<H")
ENTER_OFF = _HEAD.size
EXIT_OFF = ENTER_OFF + _VIEW_S.size
EVENTS_OFF = EXIT_OFF + _VIEW_S.size
# The per-thread slot around a record in the inflight map: sk, addr_ptr, active, deferred.
INFLIGHT = struct.Struct("<QQII")

Symbolize = Callable[[int], str]
ReasonName = Callable[[int], str]
# A function's address to (its name, what it returns: "void", "pointer" or "number", and the
# size of the number in bytes).
FunctionOf = Callable[[int], tuple[str, str, int]]
MAX_ERRNO = 4095  # the kernel's ERR_PTR range: -4095..-1 returned as a pointer


def _unnamed_function(ip: int) -> tuple[str, str, int]:
    return f"0x{ip:x}", "number", 8


def function_result(value: int, returns: str, size: int) -> tuple[int, str]:
    """A function's raw return register as (the number, the text shown): nothing for void, NULL,
    an errno or "ptr" for a pointer (never the address), the signed value for a number."""
    if returns == "void":
        return 0, ""
    if returns == "pointer":
        error = signed(value)
        if -MAX_ERRNO <= error < 0:
            return error, result_text(error)
        return (0, "NULL") if value == 0 else (1, "ptr")
    number = signed(value, 8 * size)
    return number, result_text(number)


class Decoder:
    """Turns raw records into CallEvents. Kernel clock to wall clock by a fixed offset."""

    def __init__(
        self,
        wall_offset: float,
        symbolize: Symbolize = hex,
        reason_name: ReasonName = str,
        function_of: FunctionOf = _unnamed_function,
        reset_reasons: Mapping[int, str] | None = None,
    ) -> None:
        self.wall_offset = wall_offset
        self.symbolize = symbolize
        self.reason_name = reason_name
        self.function_of = function_of
        self.reset_reasons = reset_reasons or {}  # tcp_send_reset's, this kernel's numbering
        self._functions: dict[int, tuple[str, str, int]] = {}
        self.undecodable = 0
        self._args: dict[bytes, tuple[tuple[str, str], ...]] = {}
        self._events: dict[bytes, tuple[str, tuple[tuple[str, str], ...]]] = {}
        self._comms: dict[bytes, str] = {}
        # tid -> (its call's start, events sent on their own, waiting for the call's record)
        self._waiting: dict[int, tuple[int, list[CallEvent]]] = {}
        # tid -> start of its call already shown as running
        self._announced: dict[int, int] = {}

    def decode_many(self, blob: bytes, keep_last: int | None = None) -> Iterator[CallEvent]:
        """Records to events, a call as its enter, the events inside it and its exit. Events
        sent on their own (past a call's inline slots) wait for their call's record.

        With `keep_last`, a thread's calls in this batch beyond its last `keep_last` come out
        as one FOLDED event each (name, result, duration): a tree that keeps `keep_last` calls
        per thread would drop them at once, and decoding them in full is most of the cost."""
        usable = len(blob) - len(blob) % RECORD.size
        head = _HEAD.unpack_from
        to_fold = self._calls_to_fold(blob, usable, keep_last) if keep_last else {}
        for off in range(0, usable, RECORD.size):
            ts, a0, _, _, ret, dur, pid, tid, comm_raw, kind, op, n_inline, _ = head(blob, off)
            if not 0 < op < len(CALL_NAMES) or kind not in (KIND_CALL, KIND_EVENT, KIND_OUTCOME):
                self.undecodable += 1
                continue
            comm = self._comm(comm_raw)
            if kind == KIND_OUTCOME:  # a0: the state it went to
                outcome = (("outcome", outcome_name(a0 == TCP_ESTABLISHED, ret)),)
                yield _event(((ts + dur) / 1e9 + self.wall_offset, pid, tid, comm, OUTCOME,
                              CALL_NAMES[op], outcome, ret, dur / 1000))  # fmt: skip
                continue
            if kind == KIND_CALL and to_fold.get(tid, 0) > 0:
                to_fold[tid] -= 1
                self._announced.pop(tid, None)
                self._waiting.pop(tid, None)  # events of a call that is only counted
                yield _event((ts / 1e9 + self.wall_offset, pid, tid, comm, FOLDED,
                              CALL_NAMES[op], (), ret, dur / 1000))  # fmt: skip
                continue
            if kind == KIND_EVENT:
                self._hold(tid, ts, self._event_at(blob, off + EVENTS_OFF, pid, tid, comm))
                continue
            if self._announced.pop(tid, None) != ts:
                yield self._enter_at(blob, off, ts, pid, tid, comm, op)
            if len(self._announced) > MAX_THREADS_REMEMBERED:  # threads that died mid-call
                del self._announced[next(iter(self._announced))]
            for i in range(min(n_inline, MAX_INLINE)):
                nested = self._event_at(blob, off + EVENTS_OFF + i * _NEST.size, pid, tid, comm)
                if nested is None:
                    self.undecodable += 1
                else:
                    yield nested
            if tid in self._waiting:
                start, held = self._waiting.pop(tid)
                if start == ts:
                    yield from held
                else:
                    self.undecodable += len(held)
            name = CALL_NAMES[op]
            key = blob[off + 74 : off + 76] + blob[off + EXIT_OFF : off + EVENTS_OFF]
            args = self._args.get(key)
            if args is None:
                view = SockFields(*_VIEW_S.unpack_from(blob, off + EXIT_OFF))
                args = self._remember(key, tuple(exit_args(name, view)))
            yield _event(((ts + dur) / 1e9 + self.wall_offset, pid, tid, comm, EXIT, name, args,
                          ret, dur / 1000))  # fmt: skip

    @staticmethod
    def _calls_to_fold(blob: bytes, usable: int, keep_last: int) -> dict[int, int]:
        """tid -> how many of its first calls in `blob` to fold."""
        calls: dict[int, int] = {}
        for off in range(0, usable, RECORD.size):
            tid, kind = _TID.unpack_from(blob, off + 52)[0], _KIND.unpack_from(blob, off + 72)[0]
            if kind == KIND_CALL:
                calls[tid] = calls.get(tid, 0) + 1
        return {tid: n - keep_last for tid, n in calls.items() if n > keep_last}

    def _hold(self, tid: int, call_start: int, ev: CallEvent | None) -> None:
        """An event sent on its own waits for its call's record."""
        if ev is None:
            self.undecodable += 1
            return
        if tid not in self._waiting and len(self._waiting) >= MAX_THREADS_REMEMBERED:
            _, dropped = self._waiting.pop(next(iter(self._waiting)))
            self.undecodable += len(dropped)
        waiting = self._waiting.setdefault(tid, (call_start, []))
        if waiting[0] != call_start:  # its call's record was lost: these can never be placed
            self.undecodable += len(waiting[1])
            waiting = self._waiting[tid] = (call_start, [])
        if len(waiting[1]) < MAX_WAITING:
            waiting[1].append(ev)
        else:
            self.undecodable += 1

    def announce(self, slot: bytes) -> CallEvent | None:
        """A call still in progress (read from the probe's per-thread slots): its enter now,
        so that a call blocked for minutes shows as running; its record later skips it."""
        if len(slot) < INFLIGHT.size + RECORD.size:
            return None
        _sk, _ptr, active, deferred = INFLIGHT.unpack_from(slot)
        if not active or deferred:
            return None
        off = INFLIGHT.size
        ts, _, _, _, _, _, pid, tid, comm_raw, kind, op, _, _ = _HEAD.unpack_from(slot, off)
        if kind != KIND_CALL or not 0 < op < len(CALL_NAMES) or self._announced.get(tid) == ts:
            return None
        self._announced[tid] = ts
        return self._enter_at(slot, off, ts, pid, tid, self._comm(comm_raw), op)

    def _comm(self, raw: bytes) -> str:
        name = self._comms.get(raw)
        if name is None:
            if len(self._comms) >= MEMO_SIZE:
                self._comms.clear()
            name = self._comms[raw] = c_string(raw)
        return name

    def _remember(
        self, key: bytes, args: tuple[tuple[str, str], ...]
    ) -> tuple[tuple[str, str], ...]:
        # A busy thread repeats the same call on the same socket: its arguments are described
        # once and found by their raw bytes after that (describing is most of decoding's cost).
        if len(self._args) >= MEMO_SIZE:
            self._args.clear()
        self._args[key] = args
        return args

    def _enter_at(
        self, blob: bytes, off: int, ts: int, pid: int, tid: int, comm: str, op: int
    ) -> CallEvent:
        name = CALL_NAMES[op]
        # The three arguments, the op and the socket as the call began.
        key = (
            blob[off + 8 : off + 32]
            + blob[off + 74 : off + 76]
            + blob[off + ENTER_OFF : off + EXIT_OFF]
        )
        args = self._args.get(key)
        if args is None:
            a = _ARGS.unpack_from(blob, off + 8)
            view = SockFields(*_VIEW_S.unpack_from(blob, off + ENTER_OFF))
            args = self._remember(key, tuple(enter_args(name, a, view)))
        return _event((ts / 1e9 + self.wall_offset, pid, tid, comm, ENTER, name, args, 0, 0.0))

    def _event_at(self, blob: bytes, at: int, pid: int, tid: int, comm: str) -> CallEvent | None:
        ts, ip, dur, value, op = _FUNC.unpack_from(blob, at)
        if op in (_EV_FUNC_ENTER, _EV_FUNC_EXIT):
            return self._function_at(ts, ip, dur, value, op, pid, tid, comm)
        key = blob[at + 8 : at + _NEST.size]  # all but its time
        found = self._events.get(key)
        if found is None:
            _, a0, a1, value, op, flags, family, port, lport, proto, _, addr, dev = (
                _NEST.unpack_from(blob, at)
            )
            if not 0 < op < len(EVENT_NAMES):
                return None
            name = EVENT_NAMES[op]
            sock = SockFields(-1, family, port, lport, proto, flags, 0, addr)
            found = (name, tuple(self._event_args(name, (a0, a1, 0), value, sock, dev)))
            if len(self._events) >= MEMO_SIZE:
                self._events.clear()
            self._events[key] = found
        ts = _TS.unpack_from(blob, at)[0]
        return _event(
            (ts / 1e9 + self.wall_offset, pid, tid, comm, EVENT, found[0], found[1], 0, 0.0)
        )

    def _function_at(
        self, ts: int, ip: int, dur: int, value: int, op: int, pid: int, tid: int, comm: str
    ) -> CallEvent:
        """A net/socket.c function's entry or return (function depth)."""
        known = self._functions.get(ip)
        if known is None:
            if len(self._functions) >= MEMO_SIZE:
                self._functions.clear()
            known = self._functions[ip] = self.function_of(ip)
        name, returns, size = known
        wall = ts / 1e9 + self.wall_offset
        if op == _EV_FUNC_ENTER:
            return _event((wall, pid, tid, comm, FUNC_ENTER, name, (), 0, 0.0))
        number, text = function_result(value, returns, size)
        args = (("result", text),) if text else ()
        return _event((wall, pid, tid, comm, FUNC_EXIT, name, args, number, dur / 1000))

    def _event_args(
        self, name: str, a: tuple[int, int, int], value: int, sock: SockFields, dev: bytes
    ) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if name in ("sock_send_length", "sock_recv_length"):
            out.append(("bytes", result_text(value)))
            if a[0]:
                out.append(("flags", msg_flags(a[0])))
        elif name == "skb_copy_datagram_iovec":
            out.append(("len", str(value)))
        elif name == "inet_sock_set_state":
            out.append(("state", f"{state_name(a[0])}->{state_name(a[1])}"))
        elif name == "net_dev_queue":
            out.append(("dev", c_string(dev) or "?"))
            out.append(("len", str(value)))
        elif name == "kfree_skb":
            out.append(("reason", self.reason_name(a[1])))
            out.append(("location", self.symbolize(a[0])))
        elif name == "tcp_retransmit_skb":
            out.append(("err", str(value)))
        elif name == "tcp_send_reset" and a[0]:
            out.append(("reason", self.reset_reasons.get(a[0], str(a[0]))))
        out += sock.describe(with_fd=False)
        if sock.flags & F_OTHER_SOCK:
            out.append(("socket", "other"))
        return out
