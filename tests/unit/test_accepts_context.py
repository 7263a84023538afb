"""Where an accept happened (#14): the filter keys, and the recording's two event lengths (old
files have ten fields)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from netwatch.recording.checks import BadRecord
from netwatch.tabs.accepts.codec import accept_in, accept_out
from netwatch.tabs.accepts.model import AcceptEvent
from netwatch.tabs.accepts.view_model import parse_accepts_filter

DOCKER = "/system.slice/docker-" + "3f" * 32 + ".scope"
IN_DOCKER = AcceptEvent(1.0, 10, 10, 0, "nginx", "ipv4", "10.0.0.1", 80, "10.0.0.2", 5000,
                        DOCKER, 4026532001)  # fmt: skip
ON_HOST = AcceptEvent(2.0, 11, 11, 0, "sshd", "ipv4", "10.0.0.1", 22, "10.0.0.3", 5001,
                      "/system.slice/ssh.service", 4026531833)  # fmt: skip
UNKNOWN = AcceptEvent(3.0, 12, 12, 0, "old", "ipv4", "10.0.0.1", 8080, "10.0.0.4", 5002)


@pytest.mark.parametrize(
    ("typed", "pids"),
    [
        ("container:3f3f3f3f3f3f", [10]),
        ("container:*", [10, 11]),
        ("!container:*", [12]),
        ("container:ssh.service", [11]),
        ("cgroup:/system.slice/docker*", [10]),
        ("netns:4026531833", [11]),
        ("3f3f3f", [10]),
    ],
)
def test_filter_keys_of_where_an_accept_happened(typed: str, pids: list[int]) -> None:
    f = parse_accepts_filter(typed)
    assert [e.pid for e in (IN_DOCKER, ON_HOST, UNKNOWN) if f.matches(e, str)] == pids


def test_recordings_carry_the_place_and_old_ten_field_accepts_still_read() -> None:
    assert accept_in(accept_out(IN_DOCKER)) == IN_DOCKER
    assert len(accept_out(IN_DOCKER)) == 13
    old = accept_out(UNKNOWN)[:10]
    assert accept_in(old) == UNKNOWN
    assert accept_in(accept_out(IN_DOCKER)[:12]) == IN_DOCKER  # before the start was kept
    started = replace(IN_DOCKER, started=1_700_000_000.5)
    assert accept_in(accept_out(started)) == started
    with pytest.raises(BadRecord, match="netns"):
        accept_in([*old, DOCKER, -1])
    with pytest.raises(BadRecord, match="an accept"):
        accept_in([*old, DOCKER])
