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
# Option names by level, as Linux's uapi headers number them (asm-generic/socket.h, linux/tcp.h,
# linux/in.h, linux/in6.h, linux/udp.h): the ones programs set; another prints as its number.
_OPTNAMES = {
    1: {1: "SO_DEBUG", 2: "SO_REUSEADDR", 3: "SO_TYPE", 4: "SO_ERROR", 5: "SO_DONTROUTE",
        6: "SO_BROADCAST", 7: "SO_SNDBUF", 8: "SO_RCVBUF", 9: "SO_KEEPALIVE",
        10: "SO_OOBINLINE", 12: "SO_PRIORITY", 13: "SO_LINGER", 15: "SO_REUSEPORT",
        16: "SO_PASSCRED", 17: "SO_PEERCRED", 18: "SO_RCVLOWAT", 19: "SO_SNDLOWAT",
        20: "SO_RCVTIMEO_OLD", 21: "SO_SNDTIMEO_OLD", 25: "SO_BINDTODEVICE",
        26: "SO_ATTACH_FILTER", 29: "SO_TIMESTAMP_OLD", 30: "SO_ACCEPTCONN", 31: "SO_PEERSEC",
        32: "SO_SNDBUFFORCE", 33: "SO_RCVBUFFORCE", 36: "SO_MARK", 38: "SO_PROTOCOL",
        39: "SO_DOMAIN", 42: "SO_BUSY_POLL", 46: "SO_MAX_PACING_RATE", 49: "SO_INCOMING_CPU",
        60: "SO_ZEROCOPY", 66: "SO_RCVTIMEO_NEW", 67: "SO_SNDTIMEO_NEW"},
    6: {1: "TCP_NODELAY", 2: "TCP_MAXSEG", 3: "TCP_CORK", 4: "TCP_KEEPIDLE",
        5: "TCP_KEEPINTVL", 6: "TCP_KEEPCNT", 7: "TCP_SYNCNT", 8: "TCP_LINGER2",
        9: "TCP_DEFER_ACCEPT", 10: "TCP_WINDOW_CLAMP", 11: "TCP_INFO", 12: "TCP_QUICKACK",
        13: "TCP_CONGESTION", 14: "TCP_MD5SIG", 18: "TCP_USER_TIMEOUT", 23: "TCP_FASTOPEN",
        25: "TCP_NOTSENT_LOWAT", 26: "TCP_CC_INFO", 30: "TCP_FASTOPEN_CONNECT",
        31: "TCP_ULP", 33: "TCP_FASTOPEN_KEY", 34: "TCP_FASTOPEN_NO_COOKIE",
        35: "TCP_ZEROCOPY_RECEIVE", 37: "TCP_TX_DELAY"},
    0: {1: "IP_TOS", 2: "IP_TTL", 3: "IP_HDRINCL", 4: "IP_OPTIONS", 8: "IP_RECVTTL",
        10: "IP_MTU_DISCOVER", 11: "IP_RECVERR", 13: "IP_RECVTOS", 14: "IP_MTU",
        15: "IP_FREEBIND", 19: "IP_TRANSPARENT", 24: "IP_BIND_ADDRESS_NO_PORT",
        32: "IP_MULTICAST_IF", 33: "IP_MULTICAST_TTL", 34: "IP_MULTICAST_LOOP",
        35: "IP_ADD_MEMBERSHIP", 36: "IP_DROP_MEMBERSHIP"},
    41: {16: "IPV6_UNICAST_HOPS", 23: "IPV6_MTU_DISCOVER", 24: "IPV6_MTU", 25: "IPV6_RECVERR",
         26: "IPV6_V6ONLY", 49: "IPV6_RECVPKTINFO", 67: "IPV6_TCLASS"},
    17: {1: "UDP_CORK", 100: "UDP_ENCAP", 102: "UDP_SEGMENT", 104: "UDP_GRO"},
}  # fmt: skip
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
        out.append(("optname", _OPTNAMES.get(a1, {}).get(a2, str(a2))))
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
