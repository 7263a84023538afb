"""The Calls probe's records (calls.bpf.c's `struct call_event_t`) to CallEvents.

Kept apart from the probe so it is tested without root: the probe hands over raw bytes, many
records at a time, and they are unpacked here in one pass.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Callable, Iterator
from typing import Any

from netwatch.model.calls import ENTER, EVENT, EXIT, CallEvent, result_text

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
    "tcp_destroy_sock", "tcp_rcv_space_adjust",
)  # fmt: skip

MEMO_SIZE = 4096  # described argument sets kept; cleared when full
MAX_WAITING = 4096  # events of one call held back until its record comes
MAX_THREADS_REMEMBERED = 16384  # as many as the probe has per-thread slots
MAX_INLINE = 4  # calls.bpf.c's events carried inside a call's record
KIND_CALL = 1
KIND_EVENT = 3
# calls.bpf.c's struct call_record_t: header, socket as the call began and as it returned,
# then MAX_INLINE events (struct nested_t).
_HEADER = "QQQQqQII16sHHHH"  # ts a0 a1 a2 ret dur pid tid comm kind op n_inline n_overflow
_VIEW = "iHHHHHH16s"  # fd family port lport proto flags pad addr
_NESTED = "QQQqHHHHHHI16s16s"  # ts a0 a1 value op flags family port lport proto pad addr dev
RECORD = struct.Struct("<" + _HEADER + _VIEW * 2 + _NESTED * MAX_INLINE)
_H, _V, _N = 13, 8, 13  # fields in each part
ENTER_AT, EXIT_AT, EVENTS_AT = _H, _H + _V, _H + 2 * _V
# The per-thread slot around a record in the inflight map: sk, addr_ptr, active, deferred.
INFLIGHT = struct.Struct("<QQII")
F_OTHER_SOCK = 1
F_ADDR = 2
F_PEER = 4

TCP_STATES = (
    "", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
    "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV", "BOUND_INACTIVE",
)  # fmt: skip
_PROTOCOLS = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", 136: "udplite", 262: "mptcp"}
_FAMILIES = {1: "unix", 2: "inet", 10: "inet6", 16: "netlink", 17: "packet"}
_SOCK_TYPES = {1: "STREAM", 2: "DGRAM", 3: "RAW", 5: "SEQPACKET"}
_SHUT = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}
_LEVELS = {1: "SOL_SOCKET", 0: "IPPROTO_IP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP", 41: "IPV6"}
_MSG_FLAGS = (
    (0x1, "OOB"), (0x2, "PEEK"), (0x4, "DONTROUTE"), (0x20, "TRUNC"), (0x40, "DONTWAIT"),
    (0x80, "EOR"), (0x100, "WAITALL"), (0x4000, "NOSIGNAL"), (0x8000, "MORE"),
    (0x10000, "WAITFORONE"), (0x4000000, "ZEROCOPY"), (0x40000000, "CMSG_CLOEXEC"),
)  # fmt: skip

Symbolize = Callable[[int], str]
ReasonName = Callable[[int], str]


def msg_flags(value: int) -> str:
    if not value:
        return "0"
    names = [name for bit, name in _MSG_FLAGS if value & bit]
    rest = value & ~sum(bit for bit, _ in _MSG_FLAGS)
    return "|".join(names + ([hex(rest)] if rest else []))


def _sock_type(value: int) -> str:
    name = _SOCK_TYPES.get(value & 0xF, str(value & 0xF))
    extra = ["NONBLOCK"] * bool(value & 0o4000) + ["CLOEXEC"] * bool(value & 0o2000000)
    return "|".join([name, *extra])


def _address(family: int, raw: bytes, port: int) -> str:
    if family == socket.AF_INET:
        return f"{ipaddress.IPv4Address(raw[:4])}:{port}"
    if family == socket.AF_INET6:
        v6 = ipaddress.IPv6Address(raw[:16])
        mapped = v6.ipv4_mapped
        return f"[{'::ffff:' + str(mapped) if mapped else v6}]:{port}"
    if family == socket.AF_UNIX:
        return "unix"
    return f"family {family}"


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


class Decoder:
    """Turns raw records into CallEvents. Kernel clock to wall clock by a fixed offset."""

    def __init__(
        self,
        wall_offset: float,
        symbolize: Symbolize = hex,
        reason_name: ReasonName = str,
    ) -> None:
        self.wall_offset = wall_offset
        self.symbolize = symbolize
        self.reason_name = reason_name
        self.undecodable = 0
        self._args: dict[tuple[Any, ...], tuple[tuple[str, str], ...]] = {}
        self._comms: dict[bytes, str] = {}
        # tid -> (its call's start, events sent on their own, waiting for the call's record)
        self._waiting: dict[int, tuple[int, list[CallEvent]]] = {}
        # tid -> start of its call already shown as running
        self._announced: dict[int, int] = {}

    def decode_many(self, blob: bytes) -> Iterator[CallEvent]:
        """Records to events, a call as its enter, the events inside it and its exit. Events
        sent on their own (past a call's inline slots) wait for their call's record."""
        usable = len(blob) - len(blob) % RECORD.size
        for f in RECORD.iter_unpack(blob[:usable]):
            kind, op, tid = f[9], f[10], f[7]
            if not 0 < op < len(CALL_NAMES) or kind not in (KIND_CALL, KIND_EVENT):
                self.undecodable += 1
                continue
            if kind == KIND_EVENT:
                ev = self._nested(f, f[EVENTS_AT : EVENTS_AT + _N])
                if ev is None:
                    self.undecodable += 1
                    continue
                if tid not in self._waiting and len(self._waiting) >= MAX_THREADS_REMEMBERED:
                    _, dropped = self._waiting.pop(next(iter(self._waiting)))
                    self.undecodable += len(dropped)
                waiting = self._waiting.setdefault(tid, (f[0], []))
                if waiting[0] != f[0]:  # its call's record was lost: these can never be placed
                    self.undecodable += len(waiting[1])
                    waiting = self._waiting[tid] = (f[0], [])
                if len(waiting[1]) < MAX_WAITING:
                    waiting[1].append(ev)
                else:
                    self.undecodable += 1
                continue
            if self._announced.pop(tid, None) != f[0]:
                yield self._enter(f)
            if len(self._announced) > MAX_THREADS_REMEMBERED:  # threads that died mid-call
                del self._announced[next(iter(self._announced))]
            for i in range(min(f[11], MAX_INLINE)):
                at = EVENTS_AT + i * _N
                nested = self._nested(f, f[at : at + _N])
                if nested is None:
                    self.undecodable += 1
                else:
                    yield nested
            if tid in self._waiting:
                start, held = self._waiting.pop(tid)
                if start == f[0]:
                    yield from held
                else:
                    self.undecodable += len(held)
            yield self._exit(f)

    def announce(self, slot: bytes) -> CallEvent | None:
        """A call still in progress (read from the probe's per-thread slots): its enter now,
        so that a call blocked for minutes shows as running; its record later skips it."""
        if len(slot) < INFLIGHT.size + RECORD.size:
            return None
        _sk, _ptr, active, deferred = INFLIGHT.unpack_from(slot)
        if not active or deferred:
            return None
        f = RECORD.unpack_from(slot, INFLIGHT.size)
        if (
            f[9] != KIND_CALL
            or not 0 < f[10] < len(CALL_NAMES)
            or self._announced.get(f[7]) == f[0]
        ):
            return None
        self._announced[f[7]] = f[0]
        return self._enter(f)

    def _comm(self, raw: bytes) -> str:
        name = self._comms.get(raw)
        if name is None:
            if len(self._comms) >= MEMO_SIZE:
                self._comms.clear()
            name = self._comms[raw] = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        return name

    def _described(
        self, key: tuple[Any, ...], describe: Callable[[], list[tuple[str, str]]]
    ) -> tuple[tuple[str, str], ...]:
        # A busy thread repeats the same call on the same socket: its arguments are described
        # once and looked up after that (describing them is most of a record's decoding cost).
        args = self._args.get(key)
        if args is None:
            if len(self._args) >= MEMO_SIZE:
                self._args.clear()
            args = self._args[key] = tuple(describe())
        return args

    def _enter(self, f: tuple[Any, ...]) -> CallEvent:
        op, view = f[10], f[ENTER_AT:EXIT_AT]
        name = CALL_NAMES[op]
        args = self._described(
            (1, op, f[1], f[2], f[3], view),
            lambda: _enter_args(name, (f[1], f[2], f[3]), _Sock(*view)),
        )
        return CallEvent(
            f[0] / 1e9 + self.wall_offset, f[6], f[7], self._comm(f[8]), ENTER, name, args
        )

    def _exit(self, f: tuple[Any, ...]) -> CallEvent:
        op, view = f[10], f[EXIT_AT:EVENTS_AT]
        name = CALL_NAMES[op]
        args = self._described((2, op, view), lambda: _exit_args(name, _Sock(*view)))
        return CallEvent(
            (f[0] + f[5]) / 1e9 + self.wall_offset,
            f[6],
            f[7],
            self._comm(f[8]),
            EXIT,
            name,
            args,
            f[4],
            f[5] / 1000,
        )

    def _nested(self, f: tuple[Any, ...], e: tuple[Any, ...]) -> CallEvent | None:
        ts, a0, a1, value, op, flags, family, port, lport, proto, _pad, addr, dev = e
        if not 0 < op < len(EVENT_NAMES):
            return None
        name = EVENT_NAMES[op]
        args = self._described(
            (3, op, a0, a1, value, flags, family, port, lport, proto, addr, dev),
            lambda: self._event_args(
                name, (a0, a1, 0), value, _Sock(-1, family, port, lport, proto, flags, 0, addr), dev
            ),
        )
        return CallEvent(
            ts / 1e9 + self.wall_offset, f[6], f[7], self._comm(f[8]), EVENT, name, args
        )

    def _event_args(
        self, name: str, a: tuple[int, int, int], value: int, sock: _Sock, dev: bytes
    ) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if name in ("sock_send_length", "sock_recv_length"):
            out.append(("bytes", result_text(value)))
            if a[0]:
                out.append(("flags", msg_flags(a[0])))
        elif name == "skb_copy_datagram_iovec":
            out.append(("len", str(value)))
        elif name == "inet_sock_set_state":
            out.append(("state", f"{_state(a[0])}->{_state(a[1])}"))
        elif name == "net_dev_queue":
            out.append(("dev", dev.split(b"\0", 1)[0].decode("utf-8", "replace") or "?"))
            out.append(("len", str(value)))
        elif name == "kfree_skb":
            out.append(("reason", self.reason_name(a[1])))
            out.append(("location", self.symbolize(a[0])))
        elif name == "tcp_retransmit_skb":
            out.append(("err", str(value)))
        elif name == "tcp_send_reset" and a[0]:
            out.append(("reason", str(a[0])))
        out += sock.describe(with_fd=False)
        if sock.flags & F_OTHER_SOCK:
            out.append(("socket", "other"))
        return out


def _state(number: int) -> str:
    return TCP_STATES[number] if 0 < number < len(TCP_STATES) else str(number)


class _Sock:
    """The address and socket fields of one record."""

    __slots__ = ("addr", "family", "fd", "flags", "lport", "port", "proto")

    def __init__(
        self,
        fd: int,
        family: int,
        port: int,
        lport: int,
        proto: int,
        flags: int,
        _pad: int,
        addr: bytes,
    ) -> None:
        self.fd, self.family, self.port, self.lport = fd, family, port, lport
        self.proto, self.flags, self.addr = proto, flags, addr

    def address(self) -> str:
        return _address(self.family, self.addr, self.port)

    def describe(self, with_fd: bool = True) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if with_fd and self.fd >= 0:
            out.append(("fd", str(self.fd)))
        inet = self.family in (socket.AF_INET, socket.AF_INET6)
        if self.proto and inet:
            out.append(("proto", _PROTOCOLS.get(self.proto, str(self.proto))))
        elif self.family and not inet and not self.flags & F_ADDR:
            out.append(("proto", _FAMILIES.get(self.family, str(self.family))))
        if self.lport:
            out.append(("lport", str(self.lport)))
        if self.flags & F_PEER:
            out.append(("peer", self.address()))
        return out


def _enter_args(name: str, a: tuple[int, int, int], sock: _Sock) -> list[tuple[str, str]]:
    a0, a1, a2 = a
    if name in ("socket", "socketpair"):
        family = _FAMILIES.get(a0, str(a0))
        return [("family", family), ("type", _sock_type(a1)), ("protocol", str(a2))]
    if name.startswith(("poll", "ppoll")):
        return [("nfds", str(a1))]
    if name in ("select", "pselect6"):
        return [("nfds", str(a0))]
    if name.startswith("epoll"):
        return [("epfd", str(_signed(a0) & 0xFFFFFFFF)), ("maxevents", str(a2))]
    out = sock.describe()
    if sock.flags & F_ADDR:
        out.append(("to" if name == "sendto" else "addr", sock.address()))
    if name in ("sendto", "recvfrom", "read", "write"):
        out.append(("size", str(a2)))
    if name in ("sendto", "recvfrom"):
        out.append(("flags", msg_flags(a1)))  # the probe puts the flags argument here
    elif name in ("sendmsg", "recvmsg"):
        out.append(("flags", msg_flags(a2)))
    elif name in ("sendmmsg", "recvmmsg"):
        out.append(("vlen", str(a2)))
    elif name in ("readv", "writev"):
        out.append(("iovcnt", str(a2)))
    elif name == "listen":
        out.append(("backlog", str(a1)))
    elif name == "shutdown":
        out.append(("how", _SHUT.get(a1, str(a1))))
    elif name in ("setsockopt", "getsockopt"):
        out.append(("level", _LEVELS.get(a1, str(a1))))
        out.append(("optname", str(a2)))
    return out


def _exit_args(name: str, sock: _Sock) -> list[tuple[str, str]]:
    if name in ("socket", "accept", "accept4"):
        out = sock.describe()
        if name != "socket" and sock.flags & F_ADDR:
            out.append(("peer", sock.address()))
        return out
    if name == "recvfrom" and sock.flags & F_ADDR:
        return [("from", sock.address())]
    return []
