"""The Connections probe: conns.bpf.c's records (drained in a thread of their own, as the
Accepts probe drains its own) and, each interval, every namespace's tcp_info through sock_diag,
joined by the tracker into one row per connection.

Why both: the kernel's tracepoints see every connection open and end, however short (a refused
connect lives microseconds), but say nothing of a live one between; tcp_info has its RTT,
retransmits and limited-by times now, for the connections alive now. Reading tcp_info from the
socket in BPF would need a program on the packet path (tcp_probe) or an iterator BCC does not
offer; sock_diag costs nothing between reads (docs/benchmarks.md has its price per socket)."""

from __future__ import annotations

import time
from pathlib import Path

from netwatch.host.procinfo import boot_to_wall
from netwatch.model.gcpause import cycles_not_collected
from netwatch.probes.btf_attach import BtfAttachError, BtfLink, open_tp_btf, raw_forced
from netwatch.probes.cgroups import CgroupPaths
from netwatch.probes.loader import compile_probe, kernel_btf, offset_defines, percpu_counter
from netwatch.probes.skeleton import ProbeSkeleton
from netwatch.sources.base import Health
from netwatch.tabs.conns.decode import RECORD_SIZE, decode_all
from netwatch.tabs.conns.model import ConnsSample
from netwatch.tabs.conns.probe.diag import Namespaces
from netwatch.tabs.conns.probe.tracker import Tracker

BPF_SOURCE = Path(__file__).with_name("conns.bpf.c")
TRACEPOINTS = (  # the first two attached raw (their arguments only), checked here by name
    "sock/inet_sock_set_state",
    "tcp/tcp_send_reset",
    "syscalls/sys_exit_accept",
    "syscalls/sys_exit_accept4",
)
RINGBUF_PAGES = 2048  # 8 MiB: about 29,000 records of slack if the drain thread stalls
# Connections the kernel follows at once: a slot each in an array of 2**CONN_SLOT_BITS, those
# whose slot is taken in a hash map of MAX_OVERFLOW; more are counted as lost.
CONN_SLOT_BITS = 16
MAX_OVERFLOW = 32768
MAX_PENDING_RECORDS = 500_000
DRAIN_INTERVAL_S = 0.02
# Records come without a wakeup (one per record cost a churning host 5% of its connects): the
# drain looks every DRAIN_INTERVAL_S while they come, up to DRAIN_IDLE_S apart while none do.
DRAIN_IDLE_S = 0.2
TRACED = ["inet_sock_set_state", "tcp_send_reset"]  # the BTF build's, by tp_btf
MECHANISM = "sock:inet_sock_set_state, tcp:tcp_send_reset, accept exits; tcp_info via sock_diag"


class ConnsProbe(ProbeSkeleton):
    def __init__(self, interval: float) -> None:
        super().__init__(interval)
        self._wall_offset = time.time() - time.monotonic()
        self._cgroups = CgroupPaths()
        self._tracker = Tracker(self._wall_offset, boot_to_wall(), self._cgroups.path_or_name)
        self._namespaces = Namespaces()
        self.attach_mode = ""

    def open(self) -> None:
        btf = kernel_btf("conns")
        text = BPF_SOURCE.read_text()
        defines = offset_defines("conns", text, btf)
        defines += [
            f"-DRINGBUF_PAGES={RINGBUF_PAGES}",
            f"-DCONN_SLOT_BITS={CONN_SLOT_BITS}",
            f"-DMAX_OVERFLOW={MAX_OVERFLOW}",
        ]
        # BTF tracepoints first: a refused connect costs half as much with loads for helper
        # calls (docs/benchmarks.md). Raw ones where the kernel refuses tracing programs.
        why_raw = raw_forced()
        links: list[BtfLink] = []
        bpf = None
        if why_raw is None:
            try:
                bpf, links = open_tp_btf("conns", text, defines, TRACED, btf)
            except BtfAttachError as exc:
                why_raw = str(exc)
        if bpf is None:
            bpf = compile_probe("conns", text.encode(), defines)
        self.attach_mode = "BTF tracepoints" if why_raw is None else f"raw tracepoints ({why_raw})"
        self._links = links
        self._start_ring(bpf, "conns", RECORD_SIZE, MAX_PENDING_RECORDS, DRAIN_INTERVAL_S,
                         woken=False, max_pause=DRAIN_IDLE_S)  # fmt: skip
        self._health = Health("attached", f"{MECHANISM}; {self.attach_mode}")

    def read(self) -> ConnsSample | None:
        with self._lock:
            if self._bpf is None:
                return None
            interval, raw, lost_total = self._drain()
            lost_total += percpu_counter(self._bpf, b"lost", 1)  # no room in the table
        with cycles_not_collected():
            events = decode_all(raw)
            socks = self._namespaces.read({ev.netns for ev in events if ev.netns})
            rows, more = self._tracker.step(events, socks, time.monotonic_ns(), interval)
        spaces, failed = self._namespaces.count(), self._namespaces.failed
        unread = f", {failed} could not be entered" if failed else ""
        self._health = Health(
            "attached", f"{MECHANISM} in {spaces} namespaces{unread}; {self.attach_mode}"
        )
        lost = self._book.lost_since(lost_total)
        return ConnsSample(time.time(), interval, tuple(rows), lost, more=more)

    def _release(self) -> None:
        self._namespaces.close()
