"""Loads traffic.bpf.c, reads its cumulative maps each interval and turns them into samples."""

from __future__ import annotations

import ctypes
import platform
import threading
import time
from pathlib import Path
from typing import Any

from netwatch.model.traffic import (
    Counters,
    TrafficKey,
    TrafficRow,
    TrafficSample,
    UnattributedTracker,
)
from netwatch.probes import BCC_LOCK
from netwatch.probes.btf import BTF, BTFError
from netwatch.sources import Health, SourceError

BPF_SOURCE = Path(__file__).with_name("traffic.bpf.c")
TRACEPOINTS = (
    "net/net_dev_queue",
    "net/netif_receive_skb",
    "irq/softirq_entry",
    "irq/softirq_exit",
    "sock/sock_recv_length",
    "tcp/tcp_probe",
)
OPTIONAL_TRACEPOINTS = ("sock/sk_data_ready",)
MAX_ROWS = 16384
MAX_SOCKS = 65536
# Rows idle this many intervals are removed from the kernel map to keep it small.
IDLE_INTERVALS_BEFORE_PRUNE = 30

# (macro, struct path): each path is struct.member[.member...], offsets added along the way.
_OFFSETS = (
    ("SKB_SK_OFF", ("sk_buff", "sk")),
    ("SKB_HEAD_OFF", ("sk_buff", "head")),
    ("SKB_DATA_OFF", ("sk_buff", "data")),
    ("SKB_MAC_HEADER_OFF", ("sk_buff", "mac_header")),
    ("SKB_LEN_OFF", ("sk_buff", "len")),
    ("SKB_DEV_OFF", ("sk_buff", "dev")),
    ("NETDEV_NAME_OFF", ("net_device", "name")),
    ("SK_FAMILY_OFF", ("sock", "__sk_common", "sock_common", "skc_family")),
    ("SK_PROTOCOL_OFF", ("sock", "sk_protocol")),
)


def _offset(btf: BTF, path: tuple[str, ...]) -> int:
    """("sock", "__sk_common", "sock_common", "skc_family"): pairs of struct and member."""
    return sum(btf.member_offset(path[i], path[i + 1]) for i in range(0, len(path), 2))


def _text(raw: Any) -> str:
    return bytes(raw).split(b"\0", 1)[0].decode("utf-8", "replace")


def _counters(per_cpu: Any) -> Counters:
    """Sum a per-CPU map value's copies."""
    total = Counters()
    for v in per_cpu:
        total = total + Counters(
            int(v.xmit_pk), int(v.recv_pk), int(v.xmit_bytes), int(v.recv_bytes)
        )
    return total


class TrafficProbe:
    """The live Traffic source. `open` compiles and attaches (seconds); call it off the UI loop."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._bpf: Any = None
        self._lock = threading.Lock()
        self._health = Health("attaching", "compiling BPF")
        self._prev_rows: dict[TrafficKey, Counters] = {}
        self._idle: dict[TrafficKey, int] = {}
        self._unattributed = UnattributedTracker()
        self._prev_lost = 0
        self._last_read = 0.0
        self._notes: list[str] = []

    def open(self) -> None:
        from bcc import BPF  # imported here so the model and replay never need BCC

        try:
            btf = BTF.load()
            defines = [f"-D{name}={_offset(btf, path)}" for name, path in _OFFSETS]
        except BTFError as exc:
            raise SourceError(f"traffic probe: {exc}; netwatch needs kernel BTF") from exc
        defines += [f"-DMAX_ROWS={MAX_ROWS}", f"-DMAX_SOCKS={MAX_SOCKS}"]
        text = BPF_SOURCE.read_text()
        tracefs = Path("/sys/kernel/tracing/events")
        missing_optional = [tp for tp in OPTIONAL_TRACEPOINTS if not (tracefs / tp).is_dir()]
        if missing_optional:
            # Without sk_data_ready, UDP receive cannot be matched to a socket.
            text = _drop_probe(text, "sk_data_ready")
            self._notes.append("no sock:sk_data_ready: UDP receive shown as unattributed")
        try:
            with BCC_LOCK:
                bpf = BPF(text=text.encode(), cflags=defines)
        except Exception as exc:  # BCC raises bare Exception for compile and attach failures
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SourceError(f"traffic probe failed to load: {first}") from exc
        with self._lock:
            # The maps were created empty at attach: everything in them is this session's.
            self._bpf = bpf
            self._last_read = time.monotonic()
            state = "degraded" if self._notes else "attached"
            self._health = Health(state, "; ".join(self._notes) or "tracepoints")

    def read(self) -> TrafficSample | None:
        with self._lock:
            if self._bpf is None:
                return None
            now = time.monotonic()
            interval = now - self._last_read
            self._last_read = now
            unowned = self._read_unowned()
            rows = self._read_rows()
            lost_total = self._read_lost()
            deltas: list[TrafficRow] = []
            for key, total in rows.items():
                delta = total - self._prev_rows.get(key, Counters())
                if delta.empty:
                    self._idle[key] = self._idle.get(key, 0) + 1
                else:
                    self._idle[key] = 0
                    deltas.append(TrafficRow(key, delta))
            self._prev_rows = rows
            self._prune_idle()
            lost = lost_total - self._prev_lost
            self._prev_lost = lost_total
            all_rows = deltas + self._unattributed.update(unowned)
        return TrafficSample(time.time(), round(interval, 3), tuple(all_rows), lost)

    def close(self) -> None:
        with self._lock:
            if self._bpf is not None:
                with BCC_LOCK:
                    self._bpf.cleanup()
                self._bpf = None
            self._health = Health("detached")

    def health(self) -> Health:
        return self._health

    def _read_rows(self) -> dict[TrafficKey, Counters]:
        out: dict[TrafficKey, Counters] = {}
        for k, v in self._bpf[b"traffic"].items():
            key = TrafficKey(int(k.tgid), int(k.uid), _text(k.dev), _text(k.comm))
            out[key] = _counters(v)
        return out

    def _read_unowned(self) -> dict[str, Counters]:
        return {
            _text(k.dev): Counters(
                int(v.xmit_pk), int(v.recv_pk), int(v.xmit_bytes), int(v.recv_bytes)
            )
            for k, v in self._bpf[b"unowned"].items()
        }

    def _read_lost(self) -> int:
        return int(sum(self._bpf[b"lost"].getvalue(ctypes.c_int(0))))

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


def _drop_probe(text: str, name: str) -> str:
    """Remove one RAW_TRACEPOINT_PROBE block (brace-balanced) from the BPF source."""
    start = text.index(f"RAW_TRACEPOINT_PROBE({name})")
    depth = 0
    for i in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[:start] + text[i + 1 :]
    raise ValueError(f"unbalanced braces after {name}")


def kernel_release() -> str:
    return platform.release()
