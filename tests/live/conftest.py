"""Fixtures the live tests share: a veth link between two namespaces, and the Traffic probe in
both of its builds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from netwatch.tabs.traffic.probe import TrafficProbe
from tests.netns import Link, veth_pair


@pytest.fixture
def link() -> Iterator[Link]:
    with veth_pair() as pair:
        yield pair


@pytest.fixture(params=["btf", "raw"])
def probe(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TrafficProbe]:
    """Both builds of traffic.bpf.c: BTF tracepoints (what our kernels run) and the classic raw
    tracepoints netwatch falls back to where tracing programs are refused."""
    if request.param == "raw":
        monkeypatch.setenv("NETWATCH_RAW_TRACEPOINTS", "1")
    p = TrafficProbe(interval=1.0)
    p.open()
    try:
        if request.param == "btf":
            # The mode ends the status detail, after what this kernel lacks (6.1: two notes).
            assert p.attach_mode == p.health().detail.split("; ")[-1] == "BTF tracepoints"
        else:
            assert (
                p.attach_mode
                == p.health().detail
                == ("raw tracepoints (NETWATCH_RAW_TRACEPOINTS is set)")
            )
        yield p
    finally:
        p.close()
