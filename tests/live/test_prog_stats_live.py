"""probes/prog_stats.py against the running kernel: the statistics it reads are bpftool's, and a
run the kernel skipped (a program that would have nested in itself) is counted, as every
probe's lost count now adds them."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.probes.btf import BTF, KIND_TYPEDEF
from netwatch.probes.btf_attach import BtfLink, attach_tp_btf
from netwatch.probes.loader import compile_probe, detach
from netwatch.probes.prog_stats import ProgStats, prog_stats, skipped_runs

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("live_bpf")]

STATS_SWITCH = Path("/proc/sys/kernel/bpf_stats_enabled")
# Each of ping's packets on loopback (98 bytes) makes the first program print a line. Printing
# fires the bpf_trace_printk tracepoint, which runs the second program; its own line fires that
# tracepoint again, inside its run: the kernel skips that nested run and counts it.
PROGRAMS = b"""
int nw_tp__net_dev_queue(u64 *ctx) {
    const u8 *skb = (const u8 *)ctx[0];
    if (*(const u32 *)(skb + SKB_LEN_OFF) == 98)
        bpf_trace_printk("netwatch test: ping\\n");
    return 0;
}
int nw_tp__bpf_trace_printk(u64 *ctx) {
    bpf_trace_printk("netwatch test: nested\\n");
    return 0;
}
"""


def bpftool_stats(prog_id: int) -> dict[str, int]:
    out = subprocess.run(["bpftool", "-j", "prog", "show", "id", str(prog_id)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.fixture
def stats_enabled() -> Iterator[None]:
    was = STATS_SWITCH.read_text()
    STATS_SWITCH.write_text("1\n")
    try:
        yield
    finally:
        STATS_SWITCH.write_text(was)


@pytest.mark.usefixtures("stats_enabled")
def test_runs_and_skipped_runs_are_the_kernels_own() -> None:
    btf = BTF.load()
    if btf.type_id(KIND_TYPEDEF, "btf_trace_bpf_trace_printk") is None:
        pytest.skip("this kernel has no bpf_trace_printk tracepoint")
    bpf = compile_probe("test", PROGRAMS, [f"-DSKB_LEN_OFF={btf.member_offset('sk_buff', 'len')}"])
    links: list[BtfLink] = []
    try:
        links.append(attach_tp_btf(bpf, "nw_tp__bpf_trace_printk", "bpf_trace_printk", btf))
        links.append(attach_tp_btf(bpf, "nw_tp__net_dev_queue", "net_dev_queue", btf))
        nested, trigger = links
        subprocess.run(["ping", "-c", "3", "-i", "0.2", "-q", "127.0.0.1"],
                       check=True, capture_output=True, timeout=10)  # fmt: skip
        time.sleep(0.1)
        before = prog_stats(nested.prog_fd)
        shown = bpftool_stats(before.prog_id if before else 0)
        after = prog_stats(nested.prog_fd)
        assert isinstance(before, ProgStats) and isinstance(after, ProgStats)
        assert before.prog_id == after.prog_id == shown["id"]
        assert before.run_cnt <= shown["run_cnt"] <= after.run_cnt
        assert before.run_time_ns <= shown["run_time_ns"] <= after.run_time_ns
        # Three requests and three replies, each printed once and each print's nested run
        # skipped (other 98-byte packets on lo are unlikely, and would only add to both).
        assert after.run_cnt >= 6
        assert after.recursion_misses == shown.get("recursion_misses", 0) >= 6
        assert skipped_runs([nested.prog_fd, trigger.prog_fd]) == after.recursion_misses
        assert skipped_runs([trigger.prog_fd]) == 0  # it never ran inside itself
    finally:
        for link in links:
            link.close()
        detach(bpf)


def test_a_descriptor_that_is_no_program_has_no_statistics() -> None:
    with open("/dev/null") as not_a_program:
        fd = not_a_program.fileno()
        assert prog_stats(fd) is None
    assert skipped_runs([fd]) == 0  # closed now: no statistics, and no error
