"""The BCC idioms the probes share, against the running kernel: `lost.increment()` on a per-CPU
array (how every probe counts what it could not keep) adds exactly what it is given, and a
compile takes no header from the working directory."""

from __future__ import annotations

import os
from pathlib import Path

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


# What a local user could leave where root runs netwatch: BCC puts the working directory first
# on the compiler's include path, ahead of the kernel's headers and netwatch's own.
HOSTILE_HEADERS = {
    "uapi/linux/ptrace.h": "#error a kernel header taken from the working directory\n",
    "btf_ctx.bpf.h": "#error netwatch's header taken from the working directory\n",
}
INCLUDES_BOTH = b'#include <uapi/linux/ptrace.h>\n#include "btf_ctx.bpf.h"\n' + COUNTER


def test_a_compile_never_takes_headers_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, text in HOSTILE_HEADERS.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    bpf = compile_probe("test", INCLUDES_BOTH, [f"-DSELF_PID={os.getpid()}"])
    try:
        assert Path.cwd() == tmp_path  # back where it was
        os.getppid()
        assert percpu_counter(bpf, b"lost") == 1
    finally:
        detach(bpf)
