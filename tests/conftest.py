"""Shared fixtures: live tests skip without root/BPF, and fail under NETWATCH_REQUIRE_BPF=1."""

from __future__ import annotations

import os

import pytest

from netwatch.probes.requirements import check_live_requirements


def require_live_bpf() -> None:
    # Root, BCC, headers, tracefs: what every probe needs. A tracepoint a test needs and the
    # kernel lacks is that test's failure, not a reason to skip it.
    problems = check_live_requirements(())
    if not problems:
        return
    reason = f"live BPF unavailable: {problems[0].message}"
    if os.environ.get("NETWATCH_REQUIRE_BPF") == "1":
        pytest.fail(f"NETWATCH_REQUIRE_BPF=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def live_bpf() -> None:
    require_live_bpf()
