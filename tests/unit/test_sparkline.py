"""HISTORY's parts (#26): glyphs for a known series, the ASCII fallback, which terminals get
it, each row's recent rates kept sparsely, and the widths the column is shown at."""

from __future__ import annotations

import pytest

from netwatch.model.sparkline import (
    HISTORY_FROM,
    HISTORY_POINTS,
    MIN_HISTORY,
    RecentRates,
    spark,
    summed,
    utf8_terminal,
)
from netwatch.tabs.conns.screen.columns import layout as conns_layout
from netwatch.tabs.traffic.view_model import connection_layout, layout_for


def test_a_known_series_gives_known_glyphs_scaled_to_its_own_peak() -> None:
    assert spark([0, 1, 2, 3, 4, 5, 6, 7, 0]) == " ▂▃▄▅▆▇█ "
    assert spark([10, 10, 10]) == "███"
    assert spark([0.0, 0.0]) == "  "
    assert spark([1000, 1]) == "█▁"  # the smallest non-zero rate still shows
    assert spark([]) == ""


def test_each_level_in_order_and_its_ascii_twin() -> None:
    series = [float(v) for v in range(1, 8)] + [7.0]
    unicode = spark([0.0, *series])
    ascii_ = spark([0.0, *series], ascii_only=True)
    assert unicode == " ▂▃▄▅▆▇██"
    assert ascii_ == " :-=+*#@@"
    assert all(ord(c) < 128 for c in ascii_)


@pytest.mark.parametrize(
    ("env", "utf8"),
    [
        ({"LANG": "en_US.UTF-8"}, True),
        ({"LANG": "C.utf8"}, True),
        ({"LC_ALL": "C", "LANG": "en_US.UTF-8"}, False),  # LC_ALL wins
        ({"LC_CTYPE": "de_DE.ISO-8859-1", "LANG": "en_US.UTF-8"}, False),
        ({"LANG": "POSIX"}, False),
        ({}, False),
        ({"LC_ALL": "", "LANG": "sv_SE.UTF-8@euro"}, True),  # an empty one is not set
    ],
)
def test_which_terminals_get_blocks(env: dict[str, str], utf8: bool) -> None:
    assert utf8_terminal(env) is utf8


def test_recent_rates_are_sparse_aligned_and_forget_the_idle() -> None:
    rates: RecentRates[str] = RecentRates(points=5)
    rates.add({"a": 1.0})
    rates.add({"b": 2.0})
    rates.add({"a": 3.0, "b": 4.0})
    assert rates.series("a") == [0, 0, 1.0, 0, 3.0]
    assert rates.series("b", 2) == [2.0, 4.0] and rates.series("b", 3) == [0, 2.0, 4.0]
    assert rates.series("never") == [0.0] * 5
    for _ in range(7):
        rates.add({"b": 1.0})
    assert "a" not in rates._seen and len(rates) == 1  # idle 5 intervals: swept
    assert rates.series("a") == [0.0] * 5
    assert summed([[1, 2], [5]], 3) == [0, 1, 7]


def test_history_shows_from_180_columns_60_wide_where_it_fits() -> None:
    def history(width: int) -> int:
        return next((c.width for c in layout_for(width, 1, 2) if c.id == "history"), 0)

    assert history(HISTORY_FROM - 1) == 0
    assert MIN_HISTORY <= history(HISTORY_FROM) < HISTORY_POINTS
    assert history(240) == HISTORY_POINTS
    ids = [c.id for c in layout_for(240, 1, 2)]
    assert ids[-2:] == ["history", "comm"]  # COMMAND keeps the spare width, last
    conn = [c.id for c in connection_layout(240, 1, 2, need=60)]
    assert "history" in conn and conn[-1] == "comm"
    assert "history" not in [c.id for c in connection_layout(180, 1, 2, need=120)]


def test_the_connections_table_shows_history_once_every_other_column_fits() -> None:
    def history(width: int) -> int:
        return next((w for c, _, w in conns_layout(width, 21) if c == "history"), 0)

    assert history(HISTORY_FROM - 1) == 0
    assert history(260) == HISTORY_POINTS
    assert [c for c, _, _ in conns_layout(260, 21)][-1] == "history"


def test_iftops_averages_over_the_newest_intervals_that_span_them() -> None:
    from netwatch.model.averages import averages, axis, span_average

    amounts = [10.0] * 38 + [100.0, 100.0]
    assert averages(amounts, 1.0) == [100.0, (8 * 10 + 200) / 10, (38 * 10 + 200) / 40]
    assert span_average(amounts, 0.5, 2) == (10 + 10 + 100 + 100) / 2  # 4 half-second intervals
    assert span_average(amounts[:3], 1.0, 40) == 10.0  # fewer than asked: what there is
    assert span_average([], 1.0, 2) is None and span_average([1.0], 0, 2) is None
    assert axis(30, 60) == "-60s" + " " * 9 + "-30s" + " " * 10 + "now"
    assert len(axis(30, 60)) == 30 and axis(5, 60) == ""
