"""An IP address as every tab writes it: dotted IPv4, compressed IPv6, and `::ffff:a.b.c.d`
for an IPv4 peer on an IPv6 socket (as `ss` writes it), with the family named to match."""

from __future__ import annotations

import ipaddress

AF_INET = 2


def address(raw: bytes, family: int) -> tuple[str, str]:
    """The text of a kernel address (4 bytes for AF_INET, else 16) and its family's name:
    "ipv4", "ipv6" or "ipv4-mapped"."""
    if family == AF_INET:
        return str(ipaddress.IPv4Address(raw[:4])), "ipv4"
    v6 = ipaddress.IPv6Address(raw[:16])
    if v6.ipv4_mapped is not None:
        return f"::ffff:{v6.ipv4_mapped}", "ipv4-mapped"
    return str(v6), "ipv6"


def v6_text(text: str) -> str:
    """An IPv6 address given as text (sock_diag's), written as `address` writes it."""
    return address(ipaddress.IPv6Address(text).packed, 10)[0]
