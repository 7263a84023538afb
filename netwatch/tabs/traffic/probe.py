"""Loads traffic.bpf.c, reads its cumulative maps each interval and turns them into samples."""

from __future__ import annotations

import ctypes
import time
from pathlib import Path
from typing import Any

from netwatch.host.exits import ExitWatch
from netwatch.host.procinfo import boot_to_wall
from netwatch.model.cdata import c_string
from netwatch.model.containers import ProcContext
from netwatch.probes import requirements
from netwatch.probes.btf import KIND_FUNC
from netwatch.probes.btf_attach import BtfAttachError, BtfLink, open_tp_btf, raw_forced
from netwatch.probes.cgroups import CgroupPaths
from netwatch.probes.loader import (
    compile_probe,
    drop_probe,
    kernel_btf,
    offset_defines,
    percpu_counter,
)
from netwatch.probes.skeleton import ProbeSkeleton
from netwatch.sources.base import Health
from netwatch.tabs.traffic.decode.connections import ConnectionDeltas, read_conns
from netwatch.tabs.traffic.decode.hot_rows import HotRowDeltas, HotSlot, SlotPlace
from netwatch.tabs.traffic.model import (
    Counters,
    TrafficKey,
    TrafficRow,
    TrafficSample,
    UnattributedTracker,
)

BPF_SOURCE = Path(__file__).with_name("traffic.bpf.c")
# Attached in this order. softirq_exit before softirq_entry: the other way round, a softirq
# under way between the two attachments sets its CPU's in-softirq flag and never clears it, and
# on an idle CPU (no softirq for seconds) the next process's first transmit there is taken for
# a softirq's, so a new socket's first packet went to [tx-no-owner].
TRACEPOINTS = (
    "irq/softirq_exit",
    "irq/softirq_entry",
    "net/net_dev_queue",
    "net/netif_receive_skb",
    "tcp/tcp_probe",
    "skb/skb_copy_datagram_iovec",
    "sock/inet_sock_set_state",
)
# Used where the kernel has them: sk_data_ready (6.5+) for UDP receive; sock_recv_length (6.3+)
# to learn a socket's reader, else skb_copy_datagram_iovec (above) does it.
OPTIONAL_TRACEPOINTS = ("sock/sk_data_ready", "sock/sock_recv_length")
# Where sock_recv_length is missing, UDP readers are learned by fentry on these (traffic.bpf.c).
UDP_READERS = ("udp_recvmsg", "udpv6_recvmsg")
MAX_ROWS = 16384
MAX_SOCKS = 65536
MAX_CONNS = 16384  # connections counted at once (idle ones are removed, as rows are)
MAX_PROCS = 16384  # processes whose cgroup and netns the kernel keeps (least recent go first)
# Rows each CPU counts in an array before the hash (traffic.bpf.c's hot_rows).
HOT_SLOTS = 4
# Rows idle this many intervals are removed from the kernel map to keep it small.
IDLE_INTERVALS_BEFORE_PRUNE = 30


def _counters(per_cpu: Any) -> Counters:
    """Sum a per-CPU map value's copies."""
    total = Counters()
    for v in per_cpu:
        total = total + Counters(
            int(v.xmit_pk), int(v.recv_pk), int(v.xmit_bytes), int(v.recv_bytes)
        )
    return total


def _without(text: str, programs: list[str]) -> str:
    for program in programs:
        text = drop_probe(text, "TRAFFIC_PROBE", program)
    return text


class TrafficProbe(ProbeSkeleton):
    """The live Traffic source. `open` compiles and attaches (seconds); call it off the UI loop."""

    def __init__(self, interval: float) -> None:
        super().__init__(interval)
        self._prev_rows: dict[TrafficKey, Counters] = {}
        self._idle: dict[TrafficKey, int] = {}
        self._unattributed = UnattributedTracker()
        self._hot = HotRowDeltas()
        self._notes: list[str] = []
        self.attach_mode = ""
        self._cgroups = CgroupPaths()
        # bpf_ktime_get_ns is CLOCK_MONOTONIC; a connection's start is shown in wall time.
        self._connections = ConnectionDeltas(
            IDLE_INTERVALS_BEFORE_PRUNE, time.time() - time.monotonic()
        )
        self._conn_lost_seen = 0
        self._contexts: dict[int, ProcContext] = {}
        self._boot_to_wall = boot_to_wall()
        self._exits = ExitWatch()

    def open(self) -> None:
        btf = kernel_btf("traffic")  # parsed once: for the offsets and the tp_btf targets
        text = BPF_SOURCE.read_text()
        defines = offset_defines("traffic", text, btf)
        defines += [
            f"-DMAX_ROWS={MAX_ROWS}",
            f"-DMAX_SOCKS={MAX_SOCKS}",
            f"-DHOT_SLOTS={HOT_SLOTS}",
            f"-DMAX_PROCS={MAX_PROCS}",
            f"-DMAX_CONNS={MAX_CONNS}",
        ]
        names = [tp.split("/")[1] for tp in TRACEPOINTS + OPTIONAL_TRACEPOINTS]
        missing_optional = requirements.missing_tracepoints(OPTIONAL_TRACEPOINTS)
        # One program learns who reads a socket: the 6.3+ tracepoint where it exists (it fires
        # once per recvmsg, the copy once per skb).
        reader = "skb_copy_datagram_iovec"
        if "sock/sock_recv_length" in missing_optional:
            reader = "sock_recv_length"
            self._notes.append("no sock:sock_recv_length: readers learned per copied skb")
        text = drop_probe(text, "TRAFFIC_PROBE", reader)
        names.remove(reader)
        # Programs attached by fentry instead of a missing tracepoint: program -> function.
        stand_ins: dict[str, str] = {}
        if reader == "sock_recv_length":
            stand_ins.update({f: f for f in UDP_READERS if btf.type_id(KIND_FUNC, f) is not None})
        fentry_only = list(UDP_READERS)
        if "sock/sk_data_ready" in missing_optional:
            names.remove("sk_data_ready")
            # Without sk_data_ready, UDP receive cannot be matched to a socket, unless fentry
            # on the function that tracepoint sits in (sock_def_readable) can stand in.
            stand_ins["sk_data_ready"] = "sock_def_readable"
            fentry_only.append("sk_data_ready")
        plain = _without(text, fentry_only)
        # Builds to try, best first: (label, source, programs attached by fentry).
        builds: list[tuple[str, str, dict[str, str]]] = []
        if stand_ins:
            unused = [p for p in fentry_only if p not in stand_ins]
            builds.append(("fentry", _without(text, unused), stand_ins))
        builds.append(("tp_btf", plain, {}))
        refusals: list[str] = []
        bpf: Any = None
        links: list[BtfLink] = []
        used = ""
        forced = raw_forced()
        if forced:
            refusals.append(forced)
        else:
            for label, source, by_fentry in builds:
                try:
                    bpf, links = open_tp_btf("traffic", source, defines, names, btf, by_fentry)
                    used = label
                    break
                except BtfAttachError as exc:
                    refusals.append(str(exc))
        if bpf is not None:
            mode = "BTF tracepoints"
        else:
            # Older kernels or a refused tracing program type: same counting, slower reads.
            bpf, links = compile_probe("traffic", plain.encode(), defines), []
            mode = f"raw tracepoints ({refusals[-1]})"
        if "sock/sk_data_ready" in missing_optional:
            self._notes.insert(
                0,
                "no sock:sk_data_ready: UDP receive by fentry on sock_def_readable"
                if used == "fentry"
                else "no sock:sk_data_ready: UDP receive shown as unattributed",
            )
        with self._lock:
            # The maps were created empty at attach: everything in them is this session's.
            self._bpf, self._links, self.attach_mode = bpf, links, mode
            self._book.start()
            state = "degraded" if self._notes else "attached"
            # Why BTF tracepoints were refused matters to whoever wonders about the overhead.
            shown = mode if len(mode) <= 80 else mode[:79] + "…"
            self._health = Health(state, "; ".join([*self._notes, shown]))

    def read(self) -> TrafficSample | None:
        with self._lock:
            if self._bpf is None:
                return None
            interval = self._book.interval()
            unowned = self._read_unowned()
            rows = self._read_rows()
            per_key = self._hot.update(self._read_hot())
            lost_total = self._read_lost()
            for key, total in rows.items():
                delta = total - self._prev_rows.get(key, Counters())
                if delta.empty:
                    self._idle[key] = self._idle.get(key, 0) + 1
                else:
                    self._idle[key] = 0
                    per_key[key] = per_key.get(key, Counters()) + delta
            self._prev_rows = rows
            self._prune_idle()
            lost = self._book.lost_since(lost_total)
            deltas = [TrafficRow(key, delta) for key, delta in per_key.items()]
            all_rows = deltas + self._unattributed.update(unowned)
            context = self._read_contexts({key.pid for key in per_key})
            comms = {key.pid: key.comm for key in per_key}
            connections = self._connections.update(read_conns(self._bpf[b"conns"]), comms)
            self._connections.prune(self._bpf[b"conns"])
            conn_lost_total = percpu_counter(self._bpf, b"conn_lost")
            conn_lost = conn_lost_total - self._conn_lost_seen
            self._conn_lost_seen = conn_lost_total
        now = time.time()
        active = [(pid, context[pid].started if pid in context else 0.0) for pid in comms]
        exited = self._exits.read((a for a in active if a[0] > 0), now)
        return TrafficSample(
            now, interval, tuple(all_rows), lost, context, tuple(connections), conn_lost,
            exited=tuple(exited),
        )  # fmt: skip

    def _read_contexts(self, pids: set[int]) -> dict[int, ProcContext]:
        """Where this interval's processes run, as the kernel saw them; the last known for a
        process the kernel has let go of since."""
        table = self._bpf[b"proc_ctx"]
        out: dict[int, ProcContext] = {}
        for pid in pids:
            try:
                v = table[ctypes.c_uint(pid)]
            except KeyError:
                known = self._contexts.get(pid)
                if known is not None:
                    out[pid] = known
                continue
            path = self._cgroups.path_or_name(int(v.cgroup_id), c_string(v.cgroup_name))
            started = self._boot_to_wall + int(v.start_ns) / 1e9 if v.start_ns else 0.0
            context = ProcContext(path, int(v.netns), round(started, 3))
            out[pid] = self._contexts[pid] = context
        if len(self._contexts) > MAX_PROCS * 2:
            self._contexts = dict(out)
        return out

    def _read_rows(self) -> dict[TrafficKey, Counters]:
        out: dict[TrafficKey, Counters] = {}
        for k, v in self._bpf[b"traffic"].items():
            key = TrafficKey(int(k.tgid), int(k.uid), c_string(k.dev), c_string(k.comm))
            out[key] = _counters(v)
        return out

    @property
    def hot_slots(self) -> dict[SlotPlace, HotSlot]:
        """The hot slots as last read (for tests and debugging)."""
        return self._hot.last

    def _read_hot(self) -> dict[SlotPlace, HotSlot]:
        """Every CPU's hot slots; then tell the kernel what was read, which frees idle slots."""
        rows, acks = self._bpf[b"hot_rows"], self._bpf[b"hot_ack"]
        out: dict[SlotPlace, HotSlot] = {}
        for index in range(HOT_SLOTS):
            seen = acks.Leaf()
            for cpu, v in enumerate(rows.getvalue(ctypes.c_int(index))):
                key = TrafficKey(
                    int(v.key.tgid), int(v.key.uid), c_string(v.key.dev), c_string(v.key.comm)
                )
                slot = HotSlot(int(v.gen), key, _counters([v.c]))
                out[(cpu, index)] = slot
                seen[cpu].gen, seen[cpu].pk = slot.ack
            acks[ctypes.c_int(index)] = seen
        return out

    def _read_unowned(self) -> dict[str, Counters]:
        return {
            c_string(k.dev): Counters(
                int(v.xmit_pk), int(v.recv_pk), int(v.xmit_bytes), int(v.recv_bytes)
            )
            for k, v in self._bpf[b"unowned"].items()
        }

    def _read_lost(self) -> int:
        return percpu_counter(self._bpf, b"lost") + self._skipped_runs()

    def _prune_idle(self) -> None:
        stale = [k for k, n in self._idle.items() if n >= IDLE_INTERVALS_BEFORE_PRUNE]
        if not stale:
            return
        table = self._bpf[b"traffic"]
        for key in stale:
            leaf = table.Key()
            leaf.tgid, leaf.uid = key.pid, key.uid
            leaf.dev = key.dev.encode()
            leaf.comm = key.comm.encode()
            try:
                del table[leaf]
            except KeyError:
                pass
            self._prev_rows.pop(key, None)
            del self._idle[key]
