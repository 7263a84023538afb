from __future__ import annotations

from netwatch.tabs.traffic.model import (
    Counters,
    TrafficKey,
    TrafficState,
    UnattributedTracker,
)
from netwatch.tabs.traffic.view_model import ViewSpec, build_view, sort_rows
from tests.helpers.traffic import sample

A = TrafficKey(100, 0, "eth0", "curl")
B = TrafficKey(200, 1000, "eth0", "nginx")
C = TrafficKey(300, 0, "lo", "redis")


def test_counters_add_subtract_clamp() -> None:
    a, b = Counters(1, 2, 300, 400), Counters(2, 1, 100, 500)
    assert a + b == Counters(3, 3, 400, 900)
    assert (a - b).clamped() == Counters(0, 1, 200, 0)
    assert a.total_pk == 3


def test_unattributed_rows_split_by_direction_and_show_growth_only() -> None:
    tracker = UnattributedTracker()
    out = tracker.update({"eth0": Counters(2, 4, 100, 400)})
    assert [(r.key.reason, r.counts) for r in out] == [
        ("tx-no-owner", Counters(xmit_pk=2, xmit_bytes=100)),
        ("rx-not-delivered", Counters(recv_pk=4, recv_bytes=400)),
    ]
    assert all(r.key.pid == -1 and not r.key.attributed for r in out)
    assert tracker.update({"eth0": Counters(2, 4, 100, 400)}) == []  # nothing new


def test_unattributed_dip_when_a_process_claims_traffic_is_absorbed_not_shown() -> None:
    tracker = UnattributedTracker()
    tracker.update({"eth0": Counters(0, 10, 0, 1000)})
    # 3 parked packets were claimed by a process: the running total dips below what was shown.
    assert tracker.update({"eth0": Counters(0, 7, 0, 700)}) == []
    # 2 truly unowned packets arrive later: nothing shows until the total passes the shown mark.
    assert tracker.update({"eth0": Counters(0, 9, 0, 900)}) == []
    out = tracker.update({"eth0": Counters(0, 12, 0, 1200)})
    assert [r.counts for r in out] == [Counters(recv_pk=2, recv_bytes=200)]


def test_state_keeps_interval_totals_and_history() -> None:
    state = TrafficState(history_len=2)
    state.apply(sample(1.0, (A, Counters(1, 0, 100, 0)), (B, Counters(0, 2, 0, 50))))
    state.apply(sample(3.0, (A, Counters(3, 0, 300, 0))))
    state.apply(sample(5.0, (A, Counters(5, 0, 500, 0))))
    assert [r.key for r in state.rows(cumulative=False)] == [A]
    totals = {r.key: r.counts for r in state.rows(cumulative=True)}
    assert totals[A] == Counters(9, 0, 900, 0) and totals[B] == Counters(0, 2, 0, 50)
    assert [p.xmit_bytes for p in state.history[100]] == [300, 500]  # bounded to 2


def test_default_view_is_total_bytes_descending_and_the_seed_order_is_kept() -> None:
    state = TrafficState()
    state.apply(
        sample(
            1.0, (A, Counters(1, 1, 10, 10)), (B, Counters(5, 0, 1, 0)), (C, Counters(0, 3, 0, 3))
        )
    )
    # The TUI's default (#13): TOT_KB, a column on screen, most first.
    view = build_view(state, ViewSpec(), lambda uid: "root" if uid == 0 else "www")
    assert ViewSpec().sort == "total_kb" and ViewSpec().descending
    assert [r.key.pid for r in view] == [100, 300, 200]
    # nettop.stp's order, total packets (the batch command's), is still there.
    seed = build_view(state, ViewSpec(sort="total_pk"), lambda uid: "root")
    assert [r.key.pid for r in seed] == [200, 300, 100]
    # Rates are per second of the sample's interval (2 s here).
    assert seed[0].rate.xmit_pk == 2 or seed[0].rate.xmit_pk == 3  # 5/2 rounds to even
    assert seed[2].rate.xmit_bytes == 5


def test_sort_any_column_both_ways_with_stable_ties() -> None:
    state = TrafficState()
    state.apply(
        sample(
            1.0, (A, Counters(1, 0, 10, 0)), (B, Counters(1, 0, 10, 0)), (C, Counters(0, 0, 0, 99))
        )
    )
    view = build_view(state, ViewSpec(), str)
    assert [r.key.pid for r in sort_rows(view, "comm", False)] == [100, 200, 300]
    assert [r.key.pid for r in sort_rows(view, "recv_kb", True)] == [300, 100, 200]
    assert [r.key.pid for r in sort_rows(view, "dev", False)] == [100, 200, 300]
    assert [r.key.pid for r in sort_rows(view, "pid", True)] == [300, 200, 100]


def test_cumulative_view_uses_totals() -> None:
    state = TrafficState()
    state.apply(sample(1.0, (A, Counters(1, 0, 10, 0))))
    state.apply(sample(2.0, (B, Counters(1, 0, 10, 0))))
    assert [r.key.pid for r in build_view(state, ViewSpec(cumulative=True), str)] == [100, 200]
    assert [r.key.pid for r in build_view(state, ViewSpec(cumulative=False), str)] == [200]
