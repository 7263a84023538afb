"""Reads a BPF ring buffer straight from its memory mapping, many records per call.

BCC's ring buffer reader calls back into Python once per record (through ctypes), which cost
more than decoding the record did: a busy thread's calls outran it. The kernel's layout
(kernel/bpf/ringbuf.c, the same one libbpf reads): page 0 holds the consumer position (ours to
write), page 1 the producer position, then the data pages, mapped twice in a row so a record
that wraps reads as one piece. Each record is an 8-byte header (length, with a busy and a
discard bit, then a page offset) and its data, padded to 8 bytes.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import select
import struct
import threading
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

from netwatch.probes.drain import DrainThread

BUSY = 1 << 31
DISCARD = 1 << 30
HEADER = struct.Struct("<II")
# How long a drain that waits for the kernel's wakeup sleeps at most before looking anyway
# (and at whether it is being stopped).
WAKEUP_WAIT_S = 0.5


class Found(NamedTuple):
    data: bytes  # the data of every committed record of the size asked for, joined
    used: int  # bytes of the chunk read (a record still being written, and what follows, not)
    skipped: int  # records of another size
    discarded: int  # records the kernel discarded


def records_in(chunk: bytes, record_size: int) -> Found:
    """The records at the start of `chunk`, the ring's bytes from the consumer position on."""
    whole = _same_size_records(chunk, record_size)
    if whole is not None:
        return Found(whole, len(chunk), 0, 0)
    parts = []
    skipped = discarded = 0
    at = 0
    end = len(chunk)
    while at < end:
        length, _ = HEADER.unpack_from(chunk, at)
        if length & BUSY:
            break  # reserved, not yet submitted: it and what follows wait for next time
        size = length & ~(BUSY | DISCARD)
        if length & DISCARD:
            discarded += 1
        elif size == record_size:
            parts.append(chunk[at + 8 : at + 8 + size])
        else:
            skipped += 1
        at += _frame(size)
    return Found(b"".join(parts), at, skipped, discarded)


def _frame(record_size: int) -> int:
    """A record's bytes in the ring: its header, its data, padding to 8 bytes."""
    return (record_size + 8 + 7) & ~7


@lru_cache(maxsize=8)
def _framed(record_size: int) -> struct.Struct:
    """A record with its header before it and its padding after, the header's bytes skipped."""
    return struct.Struct(f"<8x{record_size}s{_frame(record_size) - 8 - record_size}x")


def _same_size_records(chunk: bytes, record_size: int) -> bytes | None:
    """The data of `chunk`'s records, joined, when every one is committed and of `record_size`
    bytes, as every record of a probe is: found and copied without a Python step per record
    (a churning host sends 60,000 a second); None otherwise, for the loop that tells each."""
    frame = _frame(record_size)
    if not chunk or len(chunk) % frame:
        return None
    lengths = memoryview(chunk).cast("I")[:: frame // 4]  # each header's length word
    if lengths.tolist().count(record_size) != len(lengths):  # busy, discarded or another size
        return None
    return b"".join(map(itemgetter(0), _framed(record_size).iter_unpack(chunk)))


class RingReader:
    """Owns the mapping of one ring buffer map; `read` takes every committed record."""

    def __init__(self, map_fd: int, data_size: int) -> None:
        if data_size <= 0 or data_size & (data_size - 1) or data_size % mmap.PAGESIZE:
            raise ValueError(f"ring buffer size {data_size} is not a power-of-two of pages")
        page = mmap.PAGESIZE
        self._mask = data_size - 1
        self._consumer_map = mmap.mmap(
            map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0
        )
        self._producer_map = mmap.mmap(
            map_fd, page + 2 * data_size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page
        )
        # Eight-byte views: one load and one store each, as the kernel expects of positions.
        self._consumer = memoryview(self._consumer_map).cast("Q")
        self._producer = memoryview(self._producer_map).cast("Q")
        self._data = page
        self.discarded = 0

    def read(self, record_size: int) -> tuple[bytes, int]:
        """The data of every committed record of `record_size` bytes, joined, and how many
        records of another size were skipped."""
        consumer = self._consumer[0]
        producer = self._producer[0]
        if consumer >= producer:
            return b"", 0
        start = self._data + (consumer & self._mask)
        chunk = self._producer_map[start : start + (producer - consumer)]
        found = records_in(chunk, record_size)
        self.discarded += found.discarded
        self._consumer[0] = consumer + found.used  # after the copy: the kernel may reuse it
        return found.data, found.skipped

    def close(self) -> None:
        self._consumer.release()
        self._producer.release()
        self._consumer_map.close()
        self._producer_map.close()


class RingDrain(DrainThread):
    """One streaming probe's ring buffer, emptied by a thread of its own every `pause` seconds
    into a bounded backlog of raw records that `take` hands over. Both streaming probes
    (Accepts, Calls) read theirs this way; decoding happens in bulk when the backlog is taken.
    What the backlog cannot hold (the reader is too far behind) and records of another size are
    counted in `lost`, never dropped silently.

    `woken`: the BPF side submits with a wakeup (flags 0), so the thread sleeps in epoll until
    a record comes instead of looking every `pause`; `pause` still spaces the reads under load,
    so a storm is copied in batches. A probe that submits without wakeups (Calls, where the
    wakeup's cost per record counts) is looked at every `pause` while records come, less often
    (up to `max_pause`) while none do, and not at all while held (detached)."""

    def __init__(
        self,
        name: str,
        bpf_map: Any,
        record_size: int,
        max_pending: int,
        pause: float,
        *,
        woken: bool = False,
        max_pause: float | None = None,
    ) -> None:
        self._ring = RingReader(bpf_map.map_fd, bpf_map.max_entries)
        self._poller: select.epoll | None = None
        # Written by stop: wakes the wait below at once, so that closing the probe (Ctrl-C)
        # never waits out WAKEUP_WAIT_S.
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        if woken:
            self._poller = select.epoll()
            self._poller.register(bpf_map.map_fd, select.EPOLLIN)
            self._poller.register(self._wake_r, select.EPOLLIN)
        self._record_size = record_size
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._copying = threading.Lock()
        self._raw: list[bytes] = []
        self._pending = 0  # records in _raw
        self._lost = 0
        # A DrainThread whose step is _pull: `hold` while the probe is detached, `release`.
        super().__init__(name, self._pull, pause=pause, max_pause=max_pause)

    def _pull(self) -> bool:
        """Whether it found anything."""
        if self._poller is not None:
            self._poller.poll(WAKEUP_WAIT_S)
        return self._copy()

    def _copy(self) -> bool:
        """The ring's committed records into the backlog (the thread's step, and each take);
        whether it found anything. Copy only: the drain must keep up with bursts."""
        with self._copying:  # one copy at a time: each moves the consumer and appends in order
            data, misfits = self._ring.read(self._record_size)
            records = len(data) // self._record_size
            with self._lock:
                self._lost += misfits
                if self._pending + records > self._max_pending:
                    self._lost += records  # the reader is behind: bounded memory, counted
                elif data:
                    self._raw.append(data)
                    self._pending += records
        return bool(data or misfits)

    def take(self) -> bytes:
        """Every record committed until now, joined: what the thread drained, and what the ring
        holds at this moment. The thread may look only every `max_pause` seconds; a probe that
        reads other state right after (the Connections probe's sock_diag dump) must not find a
        connection there whose records are still in the ring."""
        self._copy()
        with self._lock:
            raw, self._raw = self._raw, []
            self._pending = 0
        return b"".join(raw)

    @property
    def lost(self) -> int:
        return self._lost

    def stop(self) -> None:
        with contextlib.suppress(OSError):  # already woken, or closed
            os.write(self._wake_w, b"x")
        super().stop()

    def close(self) -> None:
        """Stops the thread, then unmaps (the kernel may reuse what was read)."""
        self.stop()
        if self._poller is not None:
            self._poller.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._ring.close()
