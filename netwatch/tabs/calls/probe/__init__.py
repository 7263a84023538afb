"""Loads calls.bpf.c, sets which threads it traces, and drains its ring buffer in a thread of
its own. It streams one record per call and per nested event, so it can be suspended (its
tracepoints detached) while nobody looks at the Calls tab, and resumed without recompiling."""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Iterable
from pathlib import Path

from netwatch.host.procinfo import cgroup_of, netns_of, started_at
from netwatch.model.containers import ProcContext
from netwatch.model.dropreasons import KfreeSkbFormat
from netwatch.model.symbols import SymbolTable
from netwatch.probes import BCC_LOCK
from netwatch.probes.kernel_files import load_drop_format, load_reset_reasons, load_symbols
from netwatch.probes.loader import (
    as_defines,
    compile_probe,
    detach,
    drop_probe,
    program_offsets,
)
from netwatch.probes.requirements import has_raw_tracepoint, tracepoint_fields
from netwatch.probes.ringbuf import RingDrain
from netwatch.probes.skeleton import ProbeSkeleton
from netwatch.sources.base import Health, SourceError
from netwatch.tabs.calls.decode import RECORD, Decoder, FunctionOf
from netwatch.tabs.calls.model import CallEvent, CallsSample
from netwatch.tabs.calls.probe.functions import FunctionDepth, attach_functions, load_btf
from netwatch.tabs.calls.view_model import MAX_KERNEL_IDS

BPF_SOURCE = Path(__file__).with_name("calls.bpf.c")
RAW_TRACEPOINTS = (
    "sys_enter",
    "sys_exit",
    "sock_send_length",
    "sock_recv_length",
    "skb_copy_datagram_iovec",
    "inet_sock_set_state",
    "net_dev_queue",
    "kfree_skb",
    "tcp_retransmit_skb",
    "tcp_send_reset",
    "tcp_receive_reset",
    "tcp_destroy_sock",
    "tcp_rcv_space_adjust",
)
# What the tab needs (category/event): the calls themselves. The socket-layer events inside them
# are shown where the kernel has them (sock_send_length and sock_recv_length came in 6.3).
TRACEPOINTS = ("raw_syscalls/sys_enter", "raw_syscalls/sys_exit")
DEFAULT_RINGBUF_MB = 16  # ~130,000 records of slack while the drain thread is off the CPU
DRAIN_INTERVAL_S = 0.01
# While no record comes, the drain looks less often, up to this: the ring buffer holds tens of
# thousands of records, so a burst that starts meanwhile waits, it is not lost.
DRAIN_IDLE_INTERVAL_S = 0.08
# Records drained but not yet read (464 bytes each): past ~46 MB the reader is too far behind.
MAX_PENDING_RECORDS = 100_000
RUNNING_SCAN_EVERY_S = 1.0
CALLS_READ_INTERVAL = 0.1  # seconds between reads in the UI (it redraws at its own pace)
PLACE_TTL_S = 10.0  # how long a process's looked-up cgroup and netns are taken as current
MAX_PLACED = 65536
FILTER_PID, FILTER_TID, FILTER_COMM, FILTER_READY = 1, 2, 4, 8


def _drop_format() -> KfreeSkbFormat | None:
    """This kernel's kfree_skb format, or None without one (its program is left out then)."""
    try:
        return load_drop_format()
    except OSError:
        return None


def _with_spans(off: dict[str, int]) -> dict[str, int]:
    """Where the probe reads several fields in one go: the span that holds them all."""
    regs = [off[f"REGS_ARG{i}_OFF"] for i in range(6)]
    if any(r % 8 for r in regs):
        raise SourceError("calls probe: this kernel's pt_regs is laid out unexpectedly")
    spans = {
        "REGS_SPAN_OFF": min(regs),
        "REGS_SPAN_WORDS": (max(regs) - min(regs)) // 8 + 1,
        "FDT_HEAD_LEN": _round8(max(off["FDT_MAX_FDS_OFF"] + 4, off["FDT_FD_OFF"] + 8)),
        "SKC_HEAD_LEN": _round8(
            max(
                off["SKC_DADDR_OFF"] + 4,
                *(off[m] + 2 for m in ("SKC_FAMILY_OFF", "SKC_NUM_OFF", "SKC_DPORT_OFF")),
            )
        ),
    }
    return off | spans


def _round8(n: int) -> int:
    return (n + 7) // 8 * 8


class _CommKey(ctypes.Structure):
    _fields_ = (("comm", ctypes.c_char * 16),)


class CallsProbe(ProbeSkeleton):
    """The live Calls source. `open` compiles and attaches; `suspend` / `resume` detach and
    re-attach the tracepoints; `set_threads` chooses the traced threads in the kernel."""

    def __init__(
        self,
        interval: float,
        *,
        pids: Iterable[int] = (),
        tids: Iterable[int] = (),
        comms: Iterable[str] = (),
        ringbuf_mb: int = DEFAULT_RINGBUF_MB,
        start_suspended: bool = False,
        keep_last: int | None = None,
        functions: str = "auto",
    ) -> None:
        """`keep_last`: for a reader that keeps only that many calls per thread (the Calls
        tab): older calls of a busy thread come as FOLDED events. Batch and record: None.
        `functions`: how to follow net/socket.c's functions (FUNCTION_MODES in the model)."""
        super().__init__(interval)
        self._threads = (tuple(pids), tuple(tids), tuple(comms))
        self._ringbuf_pages = max(1, ringbuf_mb * 256)  # ring buffer size: pages of 4 KiB
        self._keep_last = keep_last
        self._last_scan = 0.0
        self._suspended = start_suspended
        self._placed: dict[int, float] = {}  # pid -> when its place was last looked up
        self._attached = False
        self._raw_tps: list[str] = list(RAW_TRACEPOINTS)  # those this kernel has, after open
        self._missing: list[str] = []
        self._functions_mode = functions
        self.depth = FunctionDepth("none", note="function depth not attached yet")
        self._decoder = Decoder(time.time() - time.monotonic())

    # ---- life ---------------------------------------------------------------------------------
    def open(self) -> None:
        text = BPF_SOURCE.read_text()
        defines = as_defines(_with_spans(program_offsets("calls", text)))
        defines += [f"-DRINGBUF_PAGES={self._ringbuf_pages}", f"-DSELF_PID={os.getpid()}"]
        # Arguments later kernels added: read only where this one has them, since attaching a
        # program that reads past a raw tracepoint's last argument fails (6.1 lacks all three).
        drop_format = _drop_format()
        if drop_format is not None and drop_format.has_rx_sk:
            defines.append("-DHAS_RX_SK")
        if "err" in tracepoint_fields("tcp/tcp_retransmit_skb"):
            defines.append("-DHAS_RETRANSMIT_ERR")
        if "reason" in tracepoint_fields("tcp/tcp_send_reset"):
            defines.append("-DHAS_RESET_REASON")
        self._raw_tps = [tp for tp in RAW_TRACEPOINTS if has_raw_tracepoint(tp)]
        self._missing = [tp for tp in RAW_TRACEPOINTS if tp not in self._raw_tps]
        for tp in self._missing:
            text = drop_probe(text, "RAW_TRACEPOINT_PROBE", tp)
        bpf = compile_probe("calls", text.encode(), defines)
        # BCC attached every RAW_TRACEPOINT_PROBE while loading; they trace nothing until the
        # filter is written, and a suspended start takes them off before that.
        self._bpf = bpf
        self._attached = True
        try:
            # Before the filter: a function entered before its probe was there has no return.
            btf = load_btf()
            self.depth = attach_functions(bpf, self._functions_mode, btf)
            symbols = load_symbols()
            # Drop locations and reasons named as the Drops tab names them.
            self._decoder = Decoder(
                time.time() - time.monotonic(),
                symbols.describe,
                drop_format.reason_name if drop_format is not None else str,
                self._function_namer(symbols),
                load_reset_reasons(),
            )
            if self._suspended:
                self._set_attached(False)
            self._write_threads(*self._threads)
            ring = RingDrain("netwatch-calls-drain", bpf[b"events"], RECORD.size,
                             MAX_PENDING_RECORDS, DRAIN_INTERVAL_S,
                             max_pause=DRAIN_IDLE_INTERVAL_S)  # fmt: skip
        except Exception as exc:
            self._bpf = None
            self.depth.close()
            detach(bpf)
            raise SourceError(f"calls probe: cannot set up its maps: {exc}") from exc
        self._book.start()
        with self._lock:  # against a suspend or resume from the control thread meanwhile
            self._ring = ring
            if not self._attached:
                ring.hold()
        ring.start()
        self._update_health()

    def _function_namer(self, symbols: SymbolTable) -> FunctionOf:
        """A function's address (fentry: its start; kprobe: inside it) to its name and what
        it returns."""
        returns = self.depth.returns

        def function_of(ip: int) -> tuple[str, str, int]:
            symbol = symbols.lookup(ip)
            name = symbol.name if symbol is not None else f"0x{ip:x}"
            kind, size = returns.get(name, ("number", 8))
            return name, kind, size

        return function_of

    def _release(self) -> None:
        self.depth.close()
        self._attached = False

    # ---- which threads, and whether at all ----------------------------------------------------
    def suspend(self) -> None:
        self._suspended = True
        self._set_attached(False)
        self._update_health()

    def resume(self) -> None:
        self._suspended = False
        self._set_attached(True)
        self._update_health()

    def _set_attached(self, attached: bool) -> None:
        with self._lock:
            bpf = self._bpf
            if bpf is None or attached == self._attached:
                return
            with BCC_LOCK:
                for tp in self._raw_tps:
                    name = tp.encode()
                    if attached:
                        bpf.attach_raw_tracepoint(tp=name, fn_name=b"raw_tracepoint__" + name)
                    else:
                        bpf.detach_raw_tracepoint(tp=name)
                # Calls begun while detached would close with no open: start clean. And on
                # detaching: the function probes stay attached (re-attaching them takes
                # seconds), and return at once only while no call is in progress.
                self._forget_calls_in_progress()
            self._attached = attached
            if self._ring is not None:
                # Detached, the buffer stays empty: no reason to look at it 100 times a second.
                (self._ring.release if attached else self._ring.hold)()

    def _forget_calls_in_progress(self) -> None:
        self._bpf[b"inflight"].clear()
        self._bpf[b"active_calls"][ctypes.c_int(0)] = ctypes.c_int64(0)

    def set_threads(self, pids: Iterable[int], tids: Iterable[int], comms: Iterable[str]) -> None:
        """Trace only threads matching every non-empty set (empty sets: all threads)."""
        self._threads = (tuple(pids), tuple(tids), tuple(comms))
        with self._lock:
            if self._bpf is not None:
                self._write_threads(*self._threads)
                # A thread dropped from the sets mid-call would never clear its slot.
                self._forget_calls_in_progress()
        self._update_health()

    def _write_threads(
        self, pids: tuple[int, ...], tids: tuple[int, ...], comms: tuple[str, ...]
    ) -> None:
        if len(pids) > MAX_KERNEL_IDS or len(tids) > MAX_KERNEL_IDS:
            raise SourceError(f"calls probe: at most {MAX_KERNEL_IDS} pids and tids each")
        bpf = self._bpf
        table = bpf[b"filter_comm"]
        table.clear()
        for comm in comms:
            table[_CommKey(comm.encode()[:15])] = ctypes.c_uint8(1)
        chosen = bpf[b"filter"].Leaf()
        chosen.mode = (
            FILTER_READY
            | (FILTER_PID if pids else 0)
            | (FILTER_TID if tids else 0)
            | (FILTER_COMM if comms else 0)
        )
        chosen.n_pids, chosen.n_tids = len(pids), len(tids)
        for i, pid in enumerate(pids):
            chosen.pids[i] = pid
        for i, tid in enumerate(tids):
            chosen.tids[i] = tid
        # Written last, in one update: the comm set is complete before the kernel consults it.
        bpf[b"filter"][ctypes.c_int(0)] = chosen

    def _update_health(self) -> None:
        if self._bpf is None:
            return
        pids, tids, comms = self._threads
        who = []
        who += [f"pid {','.join(map(str, pids))}"] if pids else []
        who += [f"tid {','.join(map(str, tids))}"] if tids else []
        who += [f"comm {','.join(comms)}"] if comms else []
        scope = "threads of " + " and ".join(who) if who else "all threads"
        if self._suspended:
            self._health = Health("suspended", "detached while the Calls tab is not shown")
        else:
            self._health = Health("attached", f"{scope}; {self.coverage()}")

    def coverage(self) -> str:
        """How deep the calls are followed on this kernel: function depth, and which of the
        socket-layer events are missing."""
        lacking = f"; no {', '.join(self._missing)} here" if self._missing else ""
        return f"{self.depth.note}{lacking}"

    # ---- data ---------------------------------------------------------------------------------
    def read(self) -> CallsSample | None:
        if self._bpf is None:
            return None
        interval, raw, lost_total = self._drain()
        decoded = self._decoder.decode_many(raw, self._keep_last)
        events = [*decoded, *self._running()]
        lost = self._book.lost_since(lost_total + self._decoder.undecodable)
        context = self._places({e.pid for e in events})
        return CallsSample(time.time(), interval, tuple(events), lost, context)

    def _places(self, pids: set[int]) -> dict[int, ProcContext]:
        """Where the processes in a read run, from /proc, for those not looked up within
        PLACE_TTL_S (a PID reused by another process is looked up again after that). A thread
        is alive while its call is traced; one that exited within the read stays unknown."""
        now = time.monotonic()
        due = [p for p in pids if now - self._placed.get(p, -PLACE_TTL_S) >= PLACE_TTL_S]
        if len(self._placed) > MAX_PLACED:
            self._placed = {p: t for p, t in self._placed.items() if now - t < PLACE_TTL_S}
        for pid in due:
            self._placed[pid] = now
        # Read when first seen, while it runs: its start pairs the PID with this process (#24).
        return {pid: ProcContext(cgroup_of(pid), netns_of(pid), started_at(pid)) for pid in due}

    def _running(self) -> list[CallEvent]:
        """Calls in progress, from the per-thread slots: a call's record is only sent when it
        returns, and one blocked in accept() or recv() should show as running meanwhile."""
        # Once a second is enough to show what is blocked, and the slots of every thread ever
        # traced (up to 16,384) are read in batches rather than one system call each.
        now = time.monotonic()
        if now - self._last_scan < RUNNING_SCAN_EVERY_S:
            return []
        self._last_scan = now
        found = []
        with self._lock:
            if self._bpf is None or not self._attached:
                return []
            slots = self._bpf[b"inflight"]
            try:
                pairs = list(slots.items_lookup_batch())
            except Exception:  # BCC raises bare Exception where the kernel lacks batch ops
                pairs = list(slots.items())
            for _, slot in pairs:
                enter = self._decoder.announce(
                    ctypes.string_at(ctypes.addressof(slot), ctypes.sizeof(slot))
                )
                if enter is not None:
                    found.append(enter)
        return sorted(found, key=lambda e: e.ts)
