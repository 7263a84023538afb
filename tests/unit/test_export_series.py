"""The exporter's bounded tables (issue #15): at most --max-series label sets per metric, the
least active folded into [other], totals exact, every exposed counter monotonic."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netwatch.export.series import OTHER, FoldedTable, TableView


def totals(view: TableView) -> list[float]:
    out = [0.0] * (len(view.rows[0][1]) if view.rows else len(view.other or ()))
    for _, values in view.rows:
        out = [a + b for a, b in zip(out, values, strict=True)]
    if view.other is not None:
        out = [a + b for a, b in zip(out, view.other, strict=True)]
    return out


def test_under_the_bound_every_label_set_is_its_own_series() -> None:
    t = FoldedTable(("comm",), 2, max_series=3)
    for name in ("a", "b", "c"):
        t.add((name,), (1, 10), 11)
    t.end_interval(1)
    view = t.view()
    assert dict(view.rows) == {("a",): (1, 10), ("b",): (1, 10), ("c",): (1, 10)}
    assert view.other is None and view.folded == 0


def test_past_the_bound_the_least_active_fold_and_the_sum_stays_exact() -> None:
    t = FoldedTable(("comm",), 1, max_series=3)
    t.add(("busy",), (1000,), 1000)
    t.add(("idle",), (1,), 1)
    t.end_interval(1)
    t.add(("new-busy",), (500,), 500)
    t.add(("new-tiny",), (2,), 2)
    t.end_interval(1)
    view = t.view()
    assert len(view.rows) + 1 == 3  # the bound counts the fold
    assert {k for k, _ in view.rows} == {("busy",), ("new-busy",)}
    assert view.other == (3.0,)  # idle's 1 and new-tiny's 2
    assert view.folded == 2
    assert totals(view) == [1503.0]


def test_a_burst_long_ago_does_not_protect_a_label_set_for_ever() -> None:
    t = FoldedTable(("comm",), 1, max_series=2)
    t.add(("old",), (10_000,), 10_000)
    t.add(("quiet",), (1,), 1)
    t.end_interval(1)
    for _ in range(40):  # 40 minutes: 20 half-lives
        t.end_interval(60)
    t.add(("now",), (50,), 50)
    t.end_interval(1)
    assert [k for k, _ in t.view().rows] == [("now",)]
    assert t.view().other == (10_001.0,)


def test_a_stream_of_tiny_newcomers_does_not_push_out_an_established_series() -> None:
    t = FoldedTable(("comm",), 1, max_series=3)
    t.add(("server",), (100,), 100)
    t.add(("db",), (80,), 80)
    t.end_interval(1)
    for i in range(100):
        t.add(("server",), (100,), 100)
        t.add(("db",), (80,), 80)
        t.add((f"job-{i}",), (1,), 1)
        t.end_interval(1)
        # The first newcomer fits in the last free place; from the second on there is none.
        expected = {("server",), ("db",)} | ({("job-0",)} if i == 0 else set())
        assert {k for k, _ in t.view().rows} == expected
    assert t.view().other == (100.0,)


def test_with_a_bound_of_one_everything_is_the_fold() -> None:
    t = FoldedTable(("a", "b"), 1, max_series=1)
    t.add(("x", "y"), (5,), 5)
    t.end_interval(1)
    t.add(("x", "y"), (5,), 5)
    t.add(("z", "y"), (5,), 5)
    t.end_interval(1)
    # The first interval fit in the one place; the second needed the fold.
    assert t.view().rows == () and t.view().other == (15.0,)
    assert OTHER == "[other]"


def test_a_dip_never_lowers_a_counter_and_is_paid_from_what_comes_next() -> None:
    t = FoldedTable(("comm",), 2, max_series=10)
    t.add(("sink",), (1000, 5), 1005)
    t.end_interval(1)
    t.add(("sink",), (-276, 0), -276)  # counted traffic taken back out
    t.end_interval(1)
    assert dict(t.view().rows)[("sink",)] == (1000.0, 5.0)  # held, not lowered
    t.add(("sink",), (200, 1), 201)
    t.end_interval(1)
    assert dict(t.view().rows)[("sink",)] == (1000.0, 6.0)  # 200 of the 276 owed paid
    t.add(("sink",), (100, 0), 100)
    t.end_interval(1)
    assert dict(t.view().rows)[("sink",)] == (1024.0, 6.0)  # the true total again


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        FoldedTable(("a",), 1, max_series=0)


@settings(max_examples=60, deadline=None)
@given(
    bound=st.integers(1, 12),
    steps=st.lists(
        st.lists(st.tuples(st.integers(0, 30), st.integers(-300, 1000)), max_size=15),
        max_size=25,
    ),
)
def test_any_sequence_keeps_the_bound_exact_totals_and_monotonic_series(
    bound: int, steps: list[list[tuple[int, int]]]
) -> None:
    t = FoldedTable(("comm",), 1, max_series=bound)
    shown: dict[tuple[str, ...], float] = {}  # the previous view's series
    other_seen = 0.0
    total = 0
    dipped = False
    for step in steps:
        for n, amount in step:
            t.add((f"p{n}",), (amount,), amount)
            total += amount
            dipped = dipped or amount < 0
        t.end_interval(random.choice((0.5, 1, 5)))
        view = t.view()
        assert len(view.rows) + (view.other is not None) <= bound
        other = (view.other or (0.0,))[0]
        exposed = sum(v for _, (v,) in view.rows) + other
        # Exact, but for dips not yet made up (a counter never goes down to show them).
        assert exposed >= total
        if not dipped:
            assert exposed == total
        now = {key: value for key, (value,) in view.rows}
        for key, value in now.items():
            # A series shown in the previous view too never went down (a folded one that
            # comes back later is a new series, from 0, which Prometheus reads as a reset).
            assert value >= shown.get(key, 0.0)
        assert other >= other_seen
        shown, other_seen = now, other
