"""Per-key deltas from the Traffic probe's per-CPU hot slots (tabs/traffic/decode/hot_rows.py)."""

from __future__ import annotations

from netwatch.tabs.traffic.decode.hot_rows import HotRowDeltas, HotSlot
from netwatch.tabs.traffic.model import Counters, TrafficKey

A = TrafficKey(10, 0, "eth0", "sender")
B = TrafficKey(20, 0, "eth0", "receiver")
EMPTY = HotSlot(0, TrafficKey(0, 0, "", ""), Counters())


def test_a_generation_is_differenced_and_a_new_one_counts_from_zero() -> None:
    hot = HotRowDeltas()
    assert hot.update({(0, 0): HotSlot(1, A, Counters(5, 0, 500, 0))}) == {
        A: Counters(5, 0, 500, 0)
    }
    assert hot.update({(0, 0): HotSlot(1, A, Counters(8, 0, 800, 0))}) == {
        A: Counters(3, 0, 300, 0)
    }
    # The slot passed to B: its counters restarted, and A's were all read before it could.
    assert hot.update({(0, 0): HotSlot(2, B, Counters(0, 4, 0, 40))}) == {B: Counters(0, 4, 0, 40)}


def test_one_key_in_slots_of_several_cpus_is_summed_and_idle_slots_say_nothing() -> None:
    hot = HotRowDeltas()
    first = {
        (0, 0): HotSlot(1, A, Counters(1, 0, 10, 0)),
        (1, 3): HotSlot(1, A, Counters(2, 0, 20, 0)),
        (1, 0): EMPTY,
    }
    assert hot.update(first) == {A: Counters(3, 0, 30, 0)}
    assert hot.update(first) == {}
    assert hot.last == first


def test_ack_is_the_generation_and_the_packets_read() -> None:
    assert HotSlot(3, A, Counters(2, 5, 100, 700)).ack == (3, 7)
