"""Loads drops.bpf.c, reads its per-CPU counts each interval, symbolizes and names them."""

from __future__ import annotations

import ctypes
import time
from pathlib import Path
from typing import Any

from netwatch.model.dropreasons import KfreeSkbFormat
from netwatch.model.symbols import SymbolTable
from netwatch.probes.kernel_files import load_drop_format, load_symbols
from netwatch.probes.loader import (
    compile_probe,
    offset_defines,
    percpu_counter,
)
from netwatch.probes.skeleton import ProbeSkeleton
from netwatch.sources.base import Health, SourceError
from netwatch.tabs.drops.decode import DropCounts, RowId, merge_drop_counts
from netwatch.tabs.drops.model import DropRow, DropsSample

BPF_SOURCE = Path(__file__).with_name("drops.bpf.c")
TRACEPOINTS = ("skb/kfree_skb",)
MAX_LOCATIONS = 8192
HOT_SLOTS = 4  # keys per CPU counted in an array rather than the hash (drops.bpf.c)
MODULES = Path("/proc/modules")


class DropsProbe(ProbeSkeleton):
    """The live Drops source. `open` compiles and attaches (seconds); call it off the UI loop."""

    def __init__(self, interval: float) -> None:
        super().__init__(interval)
        self._format: KfreeSkbFormat | None = None
        self._symbols = SymbolTable("")
        self._modules_seen = ""
        self._prev: dict[RowId, int] = {}

    def open(self) -> None:
        try:
            fmt = load_drop_format()
        except OSError as exc:
            raise SourceError(
                f"drops probe: cannot read skb:kfree_skb format: {exc.strerror}"
            ) from exc
        defines = [f"-DMAX_LOCATIONS={MAX_LOCATIONS}", f"-DHOT_SLOTS={HOT_SLOTS}"]
        defines += [
            f"-D{flag}"
            for flag, present in (
                ("HAS_REASON", fmt.has_reason),
                ("HAS_RX_SK", fmt.has_rx_sk),
            )
            if present
        ]
        text = BPF_SOURCE.read_text()
        defines += offset_defines("drops", text)
        self._refresh_symbols()  # before attaching: it takes a moment, and drops start counting
        bpf = compile_probe("drops", text.encode(), defines)
        notes = []
        if not fmt.has_reason:
            notes.append("kernel gives no drop reasons")
        if len(self._symbols) == 0:
            notes.append("no kernel symbols readable (kptr_restrict?): raw addresses")
        with self._lock:
            self._bpf = bpf
            self._format = fmt
            # The map was created empty at attach: everything in it is this session's.
            self._book.start()
            self._health = Health(
                "degraded" if notes else "attached", "; ".join(notes) or "skb:kfree_skb"
            )

    def read(self) -> DropsSample | None:
        with self._lock:
            if self._bpf is None or self._format is None:
                return None
            self._refresh_symbols()
            interval = self._book.interval()
            current = self._read()
            rows = []
            for row_id, (count, first_ns, last_ns, dev, port, netns) in current.items():
                delta = count - self._prev.get(row_id, 0)
                key = row_id[0]
                if delta > 0:
                    rows.append(
                        DropRow(
                            key,
                            self._symbols.describe(key.location),
                            delta,
                            dev,
                            port,
                            first_ns,
                            last_ns,
                            netns,
                        )
                    )
            self._prev = {k: v[0] for k, v in current.items()}
            lost_total = percpu_counter(self._bpf, b"lost") + self._skipped_runs()
            lost = self._book.lost_since(lost_total)
        return DropsSample(time.time(), interval, tuple(rows), lost)

    def _read(self) -> dict[RowId, DropCounts]:
        assert self._format is not None
        return merge_drop_counts(self._counted(), self._format.reason_name)

    def _counted(self) -> list[tuple[Any, list[Any]]]:
        """(key, its value on each CPU) from the hash, and from every CPU's hot slots: a key
        may sit in a slot on one CPU and in the hash on another."""
        pairs: list[tuple[Any, list[Any]]] = [(k, list(v)) for k, v in self._bpf[b"drops"].items()]
        for i in range(HOT_SLOTS):
            for h in self._bpf[b"hot"][ctypes.c_int(i)]:
                if h.val.count:
                    pairs.append((h.key, [h.val]))
        return pairs

    def _refresh_symbols(self) -> None:
        """Load kallsyms once, and again whenever the module list changes."""
        try:
            modules = MODULES.read_text()
        except OSError:
            modules = ""
        if len(self._symbols) and modules == self._modules_seen:
            return
        self._modules_seen = modules
        self._symbols = load_symbols()
