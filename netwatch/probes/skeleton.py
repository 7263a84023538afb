"""What every probe holds the same way: its interval, its compiled BPF object behind one lock,
its health for the status line, the bookkeeping of its reads, and a close that any thread may
call, once or many times. Each tab's probe.py fills in open() and read()."""

from __future__ import annotations

import threading
from typing import Any

from netwatch.probes.btf_attach import BtfLink
from netwatch.probes.loader import detach, percpu_counter
from netwatch.probes.pacing import ReadBook
from netwatch.probes.prog_stats import skipped_runs
from netwatch.probes.ringbuf import RingDrain
from netwatch.sources.base import Health, SourceError


class ProbeSkeleton:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._bpf: Any = None  # BCC's BPF object once open() has compiled and attached
        self._ring: RingDrain | None = None  # the streaming probes' ring-buffer drain
        self._links: list[BtfLink] = []  # programs attached by BTF, beside BCC's own
        # close() runs from the UI thread, the worker and the CLI alike: once, whoever comes
        # first; the counting probes read under it, so a read never meets a detached map.
        self._lock = threading.Lock()
        self._health = Health("attaching", "compiling BPF")
        self._book = ReadBook()

    def health(self) -> Health:
        return self._health

    def close(self) -> None:
        with self._lock:
            ring, self._ring = self._ring, None
            if ring is not None:
                ring.close()
            self._close_links()
            self._release()
            bpf, self._bpf = self._bpf, None
            if bpf is not None:
                detach(bpf)
            self._health = Health("detached")

    def _start_ring(self, bpf: Any, probe: str, record_size: int, max_pending: int,
                    drain_s: float, woken: bool = True,
                    max_pause: float | None = None) -> None:  # fmt: skip
        """A streaming probe's start: its ring buffer `events` drained in a thread of its own
        from now on (the BPF object and self._links detached if that cannot be), then it counts
        as attached."""
        try:
            ring = RingDrain(f"netwatch-{probe}-drain", bpf[b"events"], record_size,
                             max_pending, drain_s, woken=woken, max_pause=max_pause)  # fmt: skip
        except Exception as exc:
            self._close_links()
            detach(bpf)
            raise SourceError(f"{probe} probe: cannot open its ring buffer: {exc}") from exc
        self._bpf = bpf
        self._ring = ring
        self._book.start()
        ring.start()

    def _drain(self) -> tuple[float, bytes, int]:
        """A streaming probe's read: the seconds since the last, the records waiting in its
        ring buffer, and how many were lost in all so far (the kernel's failed reserves, counted
        in its `lost` map, the drain's own, and runs the kernel skipped)."""
        interval = self._book.interval()
        ring = self._ring
        raw = ring.take() if ring is not None else b""
        lost_total = percpu_counter(self._bpf, b"lost") + (ring.lost if ring is not None else 0)
        return interval, raw, lost_total + self._skipped_runs()

    def _skipped_runs(self) -> int:
        """Runs of the probe's programs that the kernel skipped (one would have nested in
        itself, prog_stats.py): events never seen, so counted as lost."""
        funcs = getattr(self._bpf, "funcs", None) or {}
        fds = [func.fd for func in funcs.values()] + [link.prog_fd for link in self._links]
        return skipped_runs(fds)

    def _close_links(self) -> None:
        """Detach the programs attached by BTF (before the BPF object they were loaded from)."""
        links, self._links = self._links, []
        for link in links:
            link.close()

    def _release(self) -> None:
        """What else the probe holds (function probes, namespaces' sockets), let go before its
        BPF object is detached."""
