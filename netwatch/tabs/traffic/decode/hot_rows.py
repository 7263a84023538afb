"""Per-key traffic from the probe's per-CPU hot slots (traffic.bpf.c's hot_rows).

Each (CPU, slot) holds one key's cumulative counters for one generation. A slot only takes a new
key (its generation moves on, its counters restart from zero) after user space has acknowledged
reading everything the old generation counted, so the difference from the previous read of the
same generation, or the whole count of a new one, is exactly that key's traffic since then.
"""

from __future__ import annotations

from dataclasses import dataclass

from netwatch.tabs.traffic.model import Counters, TrafficKey

# (cpu, slot index)
SlotPlace = tuple[int, int]


@dataclass(frozen=True, slots=True)
class HotSlot:
    gen: int  # 0: the slot was never used
    key: TrafficKey
    counts: Counters

    @property
    def ack(self) -> tuple[int, int]:
        """What to write back to hot_ack: this generation, and the packets read of it."""
        return self.gen, self.counts.total_pk


class HotRowDeltas:
    """Successive reads of all hot slots in, traffic per key since the previous read out."""

    def __init__(self) -> None:
        self._prev: dict[SlotPlace, HotSlot] = {}

    def update(self, slots: dict[SlotPlace, HotSlot]) -> dict[TrafficKey, Counters]:
        out: dict[TrafficKey, Counters] = {}
        for place, slot in slots.items():
            if slot.gen == 0:
                continue
            prev = self._prev.get(place)
            since = prev.counts if prev is not None and prev.gen == slot.gen else Counters()
            delta = slot.counts - since
            if delta.total_pk:
                out[slot.key] = out.get(slot.key, Counters()) + delta
        self._prev = slots
        return out

    @property
    def last(self) -> dict[SlotPlace, HotSlot]:
        return dict(self._prev)
