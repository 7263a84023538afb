"""One unit style (#13): amounts in B, KiB, MiB, GiB; rates in the same per second, or in
bit/s (1000-based, as links are quoted) when asked."""

from __future__ import annotations

from netwatch.model.units import rate_text, size_text
from netwatch.tabs.traffic.model import HistoryPoint
from netwatch.tabs.traffic.screen.detail import per_interval


def test_sizes_and_rates_always_carry_their_unit() -> None:
    assert size_text(512) == "512 B"
    assert size_text(80_096_792) == "76.4 MiB"
    assert size_text(3 * 2**30) == "3.0 GiB"
    assert rate_text(38.2 * 2**20) == "38.2 MiB/s"
    assert rate_text(40e6, bits=True) == "320.0 Mbit/s"
    assert rate_text(100, bits=True) == "800 bit/s"


def test_the_window_counts_idle_intervals_by_the_clock() -> None:
    # Traffic at t=10, 11 and 15: six intervals of 1 s, not the three that had traffic.
    points = [HistoryPoint(10.0, 100, 0), HistoryPoint(11.0, 100, 0), HistoryPoint(15.0, 300, 0)]
    dense = per_interval(points, 15.0, 1.0, 600)
    assert len(dense) == 6 and [p.xmit_bytes for p in dense] == [100, 100, 0, 0, 0, 300]
    assert len(per_interval(points, 15.0, 1.0, 3)) == 3  # bounded by what is kept
