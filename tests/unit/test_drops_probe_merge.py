"""The Drops decoder adds up one key's counts from the hash and from every CPU's hot slots."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from netwatch.model.dropreasons import KfreeSkbFormat
from netwatch.tabs.drops.decode import merge_drop_counts
from netwatch.tabs.drops.model import DropKey


def val(
    count: int, first: int = 0, last: int = 0, dev: bytes = b"", port: int = 0, netns: int = 0
) -> Any:
    return SimpleNamespace(
        count=count, first_ns=first, last_ns=last, dev=dev, port=port, netns=netns
    )


DEV = 0xFFFF8880_0ABC0000  # the kernel's device pointer: part of a row's identity


def key(location: int, reason: int = 2, protocol: int = 0x800, where: int = DEV) -> Any:
    return SimpleNamespace(location=location, reason=reason, protocol=protocol, where=where)


def test_a_key_in_slots_on_two_cpus_and_in_the_hash_is_one_row() -> None:
    hot = [(None, [SimpleNamespace(key=key(0xA), val=val(5, 100, 900, b"eth0", 53)),
                   SimpleNamespace(key=key(0xA), val=val(7, 50, 400, b"eth1", 0))])]  # fmt: skip
    # As the probe reads them: the hash's keys with a value per CPU, then each hot slot in use.
    counted = [
        (key(0xA, reason=3), [val(1, 70, 950, b"eth2", 80, 4026532001), val(0)]),
        (key(0xB), [val(2, 10, 20)]),
        (key(0xB, where=DEV + 0x1000), [val(4, 10, 20, b"veth9", 0, 4026532002)]),
        *((h.key, [h.val]) for _, slots in hot for h in slots),
    ]
    reasons = KfreeSkbFormat(True, True, True, {2: "NO_SOCKET", 3: "NO_SOCKET"})
    rows = merge_drop_counts(counted, reasons.reason_name)
    a = rows[(DropKey(0xA, "NO_SOCKET", 0x800), DEV)]
    # Summed, earliest first, newest device, port and network namespace.
    assert a == (13, 50, 950, "eth2", 80, 4026532001)
    # The same place on another device (or namespace): a row of its own, counted apart (#24).
    assert rows[(DropKey(0xB, "NO_SOCKET", 0x800), DEV)][0] == 2
    assert rows[(DropKey(0xB, "NO_SOCKET", 0x800), DEV + 0x1000)][:4] == (4, 10, 20, "veth9")
