"""The ring buffer's records as the drain finds them in its copy of the ring (the kernel's
layout: an 8-byte header, length with a busy and a discard bit, then the data padded to 8
bytes): every committed one, none still being written, and the others counted."""

from __future__ import annotations

import struct

from netwatch.probes.ringbuf import BUSY, DISCARD, records_in


def framed(data: bytes, flags: int = 0) -> bytes:
    pad = -(len(data) + 8) % 8
    return struct.pack("<II", len(data) | flags, 0) + data + b"\xee" * pad


def payloads(n: int, size: int) -> list[bytes]:
    return [bytes([i % 251]) * size for i in range(n)]


def test_records_of_one_size_all_committed_are_taken_whole() -> None:
    for size in (288, 20, 464):  # the Connections', an odd size padded, the Calls' own
        data = payloads(1000, size)
        chunk = b"".join(framed(d) for d in data)
        found = records_in(chunk, size)
        assert found.data == b"".join(data)
        assert (found.used, found.skipped, found.discarded) == (len(chunk), 0, 0)


def test_a_record_still_being_written_stops_the_read_there() -> None:
    data = payloads(5, 288)
    chunk = b"".join(framed(d) for d in data[:3]) + framed(data[3], BUSY) + framed(data[4])
    found = records_in(chunk, 288)
    assert found.data == b"".join(data[:3])  # the fifth waits behind the fourth
    assert found.used == 3 * 296


def test_discarded_records_and_records_of_another_size_are_counted_not_taken() -> None:
    data = payloads(4, 288)
    chunk = (framed(data[0]) + framed(data[1], DISCARD) + framed(b"x" * 40) + framed(data[2])
             + framed(data[3]))  # fmt: skip
    found = records_in(chunk, 288)
    assert found.data == data[0] + data[2] + data[3]
    assert (found.used, found.skipped, found.discarded) == (len(chunk), 1, 1)


def test_an_empty_ring_gives_nothing() -> None:
    assert records_in(b"", 288) == (b"", 0, 0, 0)
