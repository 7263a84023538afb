from __future__ import annotations

import pytest

from netwatch.model.filter import FilterError
from netwatch.tabs.traffic.model import TrafficKey
from netwatch.tabs.traffic.view_model import parse_traffic_filter

KEYS = [
    TrafficKey(100, 0, "eth0", "curl"),
    TrafficKey(200, 1000, "eth1", "nginx"),
    TrafficKey(300, 0, "lo", "redis-server"),
    TrafficKey(-1, -1, "eth0", "[unattributed]", "rx-not-delivered"),
]
USERS = {0: "root", 1000: "www"}


def pids(text: str) -> list[int]:
    f = parse_traffic_filter(text)
    return [k.pid for k in KEYS if f.matches(k, lambda uid: USERS.get(uid, str(uid)))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pid:200", [200]),
        ("pid:100,300", [100, 300]),
        ("uid:0", [100, 300]),
        ("uid:www", [200]),
        ("comm:REDIS", [300]),
        ("dev:eth0", [100, -1]),
        ("dev:eth*", [100, 200, -1]),
        ("dev:eth* !comm:curl", [200, -1]),
        ("nginx", [200]),
        ("not-delivered", [-1]),
        ("dev:eth0 comm:curl", [100]),
        ("", [100, 200, 300, -1]),
    ],
)
def test_filter_terms(text: str, expected: list[int]) -> None:
    assert pids(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port:80", "unknown filter key 'port:'"),
        ("pid:abc", "pid must be a number, not 'abc'"),
        ("pid:", "'pid:' needs a value"),
        ("!", "'!' must be followed by a term"),
    ],
)
def test_bad_filters_say_why(text: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_traffic_filter(text)
