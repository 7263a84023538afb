"""`g` on the Traffic tab (#13): rows per program or per user sum the process rows under them,
count their processes, and leave unattributed traffic in rows of its own."""

from __future__ import annotations

from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficState
from netwatch.tabs.traffic.view_model import GROUPED_PID, MIXED, ViewSpec, build_view
from tests.helpers.traffic import sample

CURL_1 = TrafficKey(101, 1000, "eth0", "curl")
CURL_2 = TrafficKey(102, 1000, "eth0", "curl")
CURL_3 = TrafficKey(103, 0, "wlan0", "curl")
NGINX = TrafficKey(200, 33, "eth0", "nginx")
UNOWNED = TrafficKey(-1, -1, "eth0", "", "rx-not-delivered")


def state() -> TrafficState:
    s = TrafficState()
    s.apply(sample(
        10.0,
        (CURL_1, Counters(1, 2, 100, 200)),
        (CURL_2, Counters(3, 4, 300, 400)),
        (CURL_3, Counters(5, 6, 500, 600)),
        (NGINX, Counters(7, 8, 700, 800)),
        (UNOWNED, Counters(0, 9, 0, 900)),
        interval=1.0,
    ))  # fmt: skip
    return s


def users(uid: int) -> str:
    return {0: "root", 33: "www-data", 1000: "ana"}.get(uid, str(uid))


def test_per_program_sums_its_processes_and_counts_them() -> None:
    rows = {
        r.key.comm or r.key.reason: r for r in build_view(state(), ViewSpec(group="program"), users)
    }
    assert set(rows) == {"curl", "nginx", "rx-not-delivered"}
    curl = rows["curl"]
    assert curl.key.pid == GROUPED_PID and curl.processes == 3
    assert curl.shown == Counters(9, 12, 900, 1200)
    assert curl.key.dev == MIXED and curl.user == MIXED  # two devices, two users
    nginx = rows["nginx"]
    assert nginx.processes == 1 and nginx.key.dev == "eth0" and nginx.user == "www-data"
    assert rows["rx-not-delivered"].key == UNOWNED  # unattributed: a row of its own, as is


def test_per_user_sums_every_program_of_that_user() -> None:
    view = build_view(state(), ViewSpec(group="user", sort="pid"), users)
    by_user = {r.user: r for r in view if r.key.attributed}
    assert by_user["ana"].processes == 2 and by_user["ana"].shown == Counters(4, 6, 400, 600)
    assert by_user["root"].key.comm == "curl" and by_user["www-data"].key.comm == "nginx"
    assert [r.processes for r in view if r.key.attributed] == [2, 1, 1]  # PROCS, most first


def test_a_user_with_several_programs_says_how_many() -> None:
    s = state()
    s.apply(
        sample(11.0, (TrafficKey(300, 1000, "eth0", "ssh"), Counters(1, 1, 1, 1)), interval=1.0)
    )
    view = build_view(s, ViewSpec(group="user", cumulative=True), users)
    ana = next(r for r in view if r.user == "ana")
    assert ana.key.comm == "(2 programs)" and ana.processes == 3
