"""The BCC idioms the probes share, against the running kernel: `lost.increment()` on a per-CPU
array (how every probe counts what it could not keep) adds exactly what it is given."""

from __future__ import annotations

import os

import pytest

from netwatch.probes.loader import compile_probe, detach, percpu_counter

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("live_bpf")]

# Only this test's own calls count: getppid() is rare, but any process may make it.
COUNTER = b"""
BPF_PERCPU_ARRAY(lost, u64, 1);
BPF_PERCPU_ARRAY(lost_by, u64, 1);
TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
    if ((bpf_get_current_pid_tgid() >> 32) != SELF_PID)
        return 0;
    u32 zero = 0;
    lost.increment(zero);
    lost_by.increment(zero, 5);
    return 0;
}
"""


def test_increment_on_a_per_cpu_array_counts_every_call_exactly() -> None:
    bpf = compile_probe("test", COUNTER, [f"-DSELF_PID={os.getpid()}"])
    try:
        for _ in range(7):
            os.getppid()
        assert percpu_counter(bpf, b"lost") == 7
        assert percpu_counter(bpf, b"lost_by") == 35
    finally:
        detach(bpf)
