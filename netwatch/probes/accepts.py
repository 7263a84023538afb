"""Loads accepts.bpf.c and drains its ring buffer in a thread of its own, so that neither the
UI nor a slow interval can make the kernel's buffer overflow; `read` hands over what arrived."""

from __future__ import annotations

import ctypes
import threading
import time
from pathlib import Path
from typing import Any

from netwatch.decode.accepts import AcceptRecord, decode
from netwatch.model.accepts import AcceptEvent, AcceptsSample
from netwatch.probes.drain import DrainThread
from netwatch.probes.loader import (
    FD_SOCKET_OFFSETS,
    SOCK_OFFSETS,
    compile_probe,
    detach,
    offset_defines,
    percpu_counter,
)
from netwatch.probes.pacing import ReadBook
from netwatch.sources import Health, SourceError

BPF_SOURCE = Path(__file__).with_name("accepts.bpf.c")
TRACEPOINTS = (
    "syscalls/sys_enter_accept",
    "syscalls/sys_enter_accept4",
    "syscalls/sys_exit_accept",
    "syscalls/sys_exit_accept4",
)
RINGBUF_PAGES = 1024  # 4 MiB: about 50,000 accepts of slack if the drain thread stalls
DRAIN_POLL_MS = 50

_OFFSETS = (
    *FD_SOCKET_OFFSETS,
    *SOCK_OFFSETS,
    ("SKC_RCV_SADDR_OFF", ("sock_common", "skc_rcv_saddr")),
    ("SKC_V6_RCV_SADDR_OFF", ("sock_common", "skc_v6_rcv_saddr")),
)


class AcceptsProbe:
    """The live Accepts source. `open` compiles, attaches and starts the drain thread."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._bpf: Any = None
        self._lock = threading.Lock()
        self._close_lock = threading.Lock()
        self._pending: list[AcceptEvent] = []
        self._drain_errors = 0
        self._drain: DrainThread | None = None
        self._health = Health("attaching", "compiling BPF")
        self._book = ReadBook()
        # bpf_ktime_get_ns is CLOCK_MONOTONIC; events are shown in wall-clock time.
        self._wall_offset = time.time() - time.monotonic()

    def open(self) -> None:
        defines = offset_defines("accepts", _OFFSETS)
        defines.append(f"-DRINGBUF_PAGES={RINGBUF_PAGES}")
        bpf = compile_probe("accepts", BPF_SOURCE.read_bytes(), defines)
        try:
            bpf[b"events"].open_ring_buffer(self._on_event)
        except Exception as exc:
            detach(bpf)
            raise SourceError(f"accepts probe: cannot open its ring buffer: {exc}") from exc
        self._bpf = bpf
        self._book.start()
        self._drain = DrainThread(
            "netwatch-accepts-drain", lambda: bpf.ring_buffer_poll(DRAIN_POLL_MS)
        )
        self._drain.start()
        self._health = Health("attached", "accept/accept4 (io_uring accepts not seen)")

    def _on_event(self, ctx: Any, data: Any, size: int) -> None:
        # BCC's ctypes callback swallows exceptions ("Exception ignored"): count them instead.
        try:
            ev = ctypes.cast(data, ctypes.POINTER(AcceptRecord)).contents
            decoded = decode(ev, self._wall_offset)
            with self._lock:
                self._pending.append(decoded)
        except Exception:
            self._drain_errors += 1

    def read(self) -> AcceptsSample | None:
        if self._bpf is None:
            return None
        interval = self._book.interval()
        with self._lock:
            events, self._pending = self._pending, []
        lost_total = percpu_counter(self._bpf, b"lost") + self._drain_errors
        lost = self._book.lost_since(lost_total)
        return AcceptsSample(time.time(), interval, tuple(events), lost)

    def close(self) -> None:
        # Called from the UI thread, the worker and the CLI alike: once, whoever comes first.
        with self._close_lock:
            if self._drain is not None:
                self._drain.stop()
            bpf, self._bpf = self._bpf, None
            if bpf is not None:
                detach(bpf)
            self._health = Health("detached")

    def health(self) -> Health:
        return self._health
