"""Every tab's filter: whatever is typed is either refused at parse time with FilterError, or
matches rows without raising (issue #10: filters validated, then crashed when matched)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netwatch.model.filter import FilterError
from netwatch.tabs.accepts.model import AcceptEvent
from netwatch.tabs.accepts.view_model import parse_accepts_filter
from netwatch.tabs.calls.model import ENTER, EXIT, CallEvent, CallNode, ThreadCalls
from netwatch.tabs.calls.view_model import parse_calls_filter
from netwatch.tabs.drops.model import DropKey, DropRow
from netwatch.tabs.drops.view_model import parse_drops_filter
from netwatch.tabs.traffic.model import TrafficKey
from netwatch.tabs.traffic.view_model import parse_traffic_filter

TRAFFIC_KEY = TrafficKey(4242, 1000, "eth0", "curl")
ACCEPT = AcceptEvent(1.0, 4242, 4242, 1000, "nginx", "ipv4", "10.0.0.1", 80, "10.0.0.2", 5000)
THREAD = ThreadCalls(4242, 4243, "curl")
CALL = CallNode(
    1,
    CallEvent(1.0, 4242, 4243, "curl", ENTER, "connect", (("fd", "3"),)),
    CallEvent(1.1, 4242, 4243, "curl", EXIT, "connect", (), 0, 3.0),
)
DROP = DropRow(DropKey(1, "NO_SOCKET", 0x800), "tcp_v4_rcv+0x1", 1, "eth0", 80, netns=1)


def user_of(uid: int) -> str:
    return {1000: "www"}.get(uid, str(uid))


def apply_every_filter(text: str) -> None:
    """Parse `text` as each tab's filter; a filter that parses must match without raising."""
    for parse, use in (
        (parse_traffic_filter, lambda f: f.matches(TRAFFIC_KEY, user_of)),
        (parse_accepts_filter, lambda f: f.matches(ACCEPT, user_of)),
        (
            parse_calls_filter,
            lambda f: (f.matches_thread(THREAD), f.matches_call(THREAD, CALL), f.kernel_threads()),
        ),
        (parse_drops_filter, lambda f: f.matches_row(DROP)),
    ):
        try:
            parsed = parse(text)
        except FilterError as exc:
            assert "\n" not in str(exc)
            continue
        use(parsed)


# The inputs issue #10 found crashing, and their neighbours.
@pytest.mark.parametrize(
    "text",
    [
        "pid:--5",
        "pid:²",
        "uid:²",
        "tid:²",
        "port:--1",
        "port:²",
        "pid:" + "9" * 100_000,
        "uid:" + "9" * 100_000,
        "port:65536",
        "pid:4294967296",
        "pid:-1",
        "uid:٣",
        "[/",
        "comm:[/x]",
    ],
    ids=lambda text: repr(text[:24]),
)
def test_inputs_that_crashed_are_refused_or_work(text: str) -> None:
    apply_every_filter(text)


def test_numbers_out_of_range_are_refused_with_their_reason() -> None:
    with pytest.raises(FilterError, match="at most 65535"):
        parse_accepts_filter("port:65536")
    with pytest.raises(FilterError, match="must be a number"):
        parse_traffic_filter("pid:²")
    with pytest.raises(FilterError, match="must be a number"):
        parse_traffic_filter("uid:²")
    assert parse_traffic_filter("uid:www").matches(TRAFFIC_KEY, user_of)
    assert parse_traffic_filter("pid:04242").matches(TRAFFIC_KEY, user_of)


_KEYS = ["pid", "tid", "uid", "port", "comm", "dev", "src", "family", "call", "reason", "func"]
_term = st.one_of(
    st.text(max_size=12),
    st.builds(lambda k, v: f"{k}:{v}", st.sampled_from(_KEYS), st.text(max_size=12)),
    st.builds(lambda k, v: f"!{k}:{v}", st.sampled_from(_KEYS), st.text(max_size=12)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_term, max_size=4).map(" ".join))
def test_any_filter_text_is_refused_or_matches_without_raising(text: str) -> None:
    apply_every_filter(text)
