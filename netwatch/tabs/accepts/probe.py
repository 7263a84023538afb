"""Loads accepts.bpf.c and drains its ring buffer in a thread of its own, so that neither the
UI nor a slow interval can make the kernel's buffer overflow; `read` hands over what arrived.
The buffer is read from its memory mapping (probes/ringbuf.py), as the Calls probe reads its
own: many records per step, no Python callback per record."""

from __future__ import annotations

import time
from pathlib import Path

from netwatch.host.procinfo import boot_to_wall
from netwatch.probes.cgroups import CgroupPaths
from netwatch.probes.loader import (
    compile_probe,
    offset_defines,
)
from netwatch.probes.skeleton import ProbeSkeleton
from netwatch.sources.base import Health
from netwatch.tabs.accepts.decode import RECORD_SIZE, AcceptRecord, decode
from netwatch.tabs.accepts.model import AcceptsSample

BPF_SOURCE = Path(__file__).with_name("accepts.bpf.c")
TRACEPOINTS = (
    "syscalls/sys_enter_accept",
    "syscalls/sys_enter_accept4",
    "syscalls/sys_exit_accept",
    "syscalls/sys_exit_accept4",
)
RINGBUF_PAGES = 1024  # 4 MiB: about 50,000 accepts of slack if the drain thread stalls
# Records drained but not yet read (192 bytes each): past this the reader is too far behind.
MAX_PENDING_RECORDS = 500_000
DRAIN_INTERVAL_S = 0.02


class AcceptsProbe(ProbeSkeleton):
    """The live Accepts source. `open` compiles, attaches and starts the drain thread."""

    def __init__(self, interval: float) -> None:
        super().__init__(interval)
        # bpf_ktime_get_ns is CLOCK_MONOTONIC; events are shown in wall-clock time.
        self._wall_offset = time.time() - time.monotonic()
        self._boot_offset = boot_to_wall()  # a process's start, in wall time
        self._cgroups = CgroupPaths()

    def open(self) -> None:
        text = BPF_SOURCE.read_text()
        defines = offset_defines("accepts", text)
        defines.append(f"-DRINGBUF_PAGES={RINGBUF_PAGES}")
        bpf = compile_probe("accepts", text.encode(), defines)
        self._start_ring(bpf, "accepts", RECORD_SIZE, MAX_PENDING_RECORDS, DRAIN_INTERVAL_S)
        self._health = Health("attached", "accept/accept4 (io_uring accepts not seen)")

    def read(self) -> AcceptsSample | None:
        if self._bpf is None:
            return None
        interval, raw, lost_total = self._drain()
        events = [
            decode(
                AcceptRecord.from_buffer_copy(raw, off),
                self._wall_offset,
                self._cgroups.path_or_name,
                self._boot_offset,
            )
            for off in range(0, len(raw), RECORD_SIZE)
        ]
        lost = self._book.lost_since(lost_total)
        return AcceptsSample(time.time(), interval, tuple(events), lost)
