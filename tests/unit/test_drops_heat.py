"""The Drops heatmap on a narrow screen (#13): each cell sums several intervals, from a few round
steps, so 80 columns still show the last minutes; cells stay put as time moves on."""

from __future__ import annotations

from netwatch.tabs.drops.view_model import HORIZON, ONE_PER_CELL_MIN, bucket_for, bucketed, legend


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
