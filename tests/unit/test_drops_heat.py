"""The Drops heatmap on a narrow screen (#13): each cell sums several intervals, from a few round
steps, so 80 columns still show the last minutes; cells stay put as time moves on."""

from __future__ import annotations

import pytest

from netwatch.tabs.drops import view_model
from netwatch.tabs.drops.view_model import (
    GLYPHS,
    HORIZON,
    LEVELS,
    ONE_PER_CELL_MIN,
    bucket_for,
    bucketed,
    legend,
    level,
)


def test_one_interval_per_cell_where_there_is_room() -> None:
    assert bucket_for(ONE_PER_CELL_MIN, 10_000) == 1
    assert bucket_for(120, 600) == 1


def test_a_narrow_heatmap_reaches_back_the_horizon_in_round_steps() -> None:
    assert bucket_for(12, 10) == 1  # all there is yet fits
    assert bucket_for(12, 30) == 5
    assert bucket_for(12, 10_000) == 25
    assert 12 * bucket_for(12, 10_000) >= HORIZON
    assert bucket_for(40, 10_000) == 10


def test_cells_sum_their_intervals_and_keep_still_as_time_moves() -> None:
    history = list(range(1, 11))  # intervals 1..10, newest last
    assert bucketed(history, 10, 3, 4) == [1 + 2 + 3 + 4, 5 + 6 + 7 + 8, 9 + 10]
    later = bucketed([*history, 11], 11, 3, 4)
    assert later == [1 + 2 + 3 + 4, 5 + 6 + 7 + 8, 9 + 10 + 11]  # only the newest cell grew
    assert bucketed([*history, 11, 12, 13], 13, 3, 4) == [5 + 6 + 7 + 8, 9 + 10 + 11 + 12, 13]
    assert bucketed([5, 6], 2, 4, 1) == [0, 0, 5, 6]  # one per cell: padded on the left
    assert bucketed([], 0, 3, 5) == [0, 0, 0]


def test_the_legend_says_how_long_a_cell_is() -> None:
    assert legend(100, True).startswith("log scale, drops per interval")
    assert legend(100, True, 20, 1.0).startswith("1 cell = 20 x 1 s, log, drops per cell")


def _legend_count_by_count(peak: int, log_scale: bool) -> str:
    """The legend as it was first written: every count from 1 to the peak, one by one."""
    parts, low = [], 1
    for lv in range(1, LEVELS + 1):
        high = low
        while high < peak and level(high + 1, peak, log_scale) == lv:
            high += 1
        if level(low, peak, log_scale) == lv:
            parts.append(f"{GLYPHS[lv]} {low}" + (f"-{high}" if high > low else ""))
            low = high + 1
        if low > peak:
            break
    return "  ".join(parts)


@pytest.mark.parametrize("log_scale", [True, False])
def test_the_legend_is_the_same_as_counting_one_by_one(log_scale: bool) -> None:
    for peak in [*range(1, 300), 1000, 4097, 65_535]:
        assert legend(peak, log_scale).split(": ", 1)[1] == _legend_count_by_count(
            peak, log_scale
        ), peak


def test_a_peak_of_a_hundred_million_costs_a_few_hundred_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = 0
    real = view_model.level

    def counted(count: int, peak: int, log_scale: bool) -> int:
        nonlocal calls
        calls += 1
        return real(count, peak, log_scale)

    monkeypatch.setattr(view_model, "level", counted)
    for log_scale in (True, False):
        shown = legend(10**8, log_scale)
        assert shown.endswith(f"-{10**8}")
    assert calls < 1000, calls
