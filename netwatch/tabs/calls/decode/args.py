"""Calls: what a system call's arguments and a socket's fields say, in words (`fd=3 proto=tcp
peer=10.0.0.2:80 flags=NOSIGNAL`), from the raw values of calls.bpf.c's records."""

from __future__ import annotations

import ipaddress
import socket

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


def signed(value: int, bits: int = 64) -> int:
    """The low `bits` of a register as a two's-complement number."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def state_name(number: int) -> str:
    return TCP_STATES[number] if 0 < number < len(TCP_STATES) else str(number)


class SockFields:
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


def enter_args(name: str, a: tuple[int, int, int], sock: SockFields) -> list[tuple[str, str]]:
    a0, a1, a2 = a
    if name in ("socket", "socketpair"):
        family = _FAMILIES.get(a0, str(a0))
        return [("family", family), ("type", _sock_type(a1)), ("protocol", str(a2))]
    if name.startswith(("poll", "ppoll")):
        return [("nfds", str(a1))]
    if name in ("select", "pselect6"):
        return [("nfds", str(a0))]
    if name.startswith("epoll"):
        return [("epfd", str(a0 & 0xFFFFFFFF)), ("maxevents", str(a2))]
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


def exit_args(name: str, sock: SockFields) -> list[tuple[str, str]]:
    if name in ("socket", "accept", "accept4"):
        out = sock.describe()
        if name != "socket" and sock.flags & F_ADDR:
            out.append(("peer", sock.address()))
        return out
    if name == "recvfrom" and sock.flags & F_ADDR:
        return [("from", sock.address())]
    return []
