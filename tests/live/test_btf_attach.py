"""probes/btf_attach.py against the running kernel: load, count, refuse with a reason, detach."""

from __future__ import annotations

import subprocess
import time

import pytest

from netwatch.probes.btf import BTF
from netwatch.probes.btf_attach import BtfAttachError, attach_tp_btf
from netwatch.probes.loader import compile_probe, detach
from tests.live.bpf_progs import loaded_program_ids, wait_released

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("live_bpf")]

# Counts ping's ICMP packets on loopback by reading skb->len with a plain load, which only a
# BTF tracepoint may do.
COUNTER = b"""
BPF_ARRAY(seen, u64, 2);
int nw_tp__net_dev_queue(u64 *ctx) {
    const u8 *skb = (const u8 *)ctx[0];
    u32 len = *(const u32 *)(skb + SKB_LEN_OFF);
    int packets = 0, bytes = 1;
    if (len == 98) { /* ping's default: 84-byte IP packet + 14-byte Ethernet header on lo */
        u64 *v = seen.lookup(&packets);
        if (v) __sync_fetch_and_add(v, 1);
        v = seen.lookup(&bytes);
        if (v) __sync_fetch_and_add(v, len);
    }
    return 0;
}
"""


def test_a_btf_tracepoint_program_reads_fields_directly_and_detaches_on_close() -> None:
    btf = BTF.load()
    bpf = compile_probe("test", COUNTER, [f"-DSKB_LEN_OFF={btf.member_offset('sk_buff', 'len')}"])
    baseline = loaded_program_ids(("nw_net_dev_queue",))
    link = attach_tp_btf(bpf, "nw_tp__net_dev_queue", "net_dev_queue", btf)
    try:
        assert loaded_program_ids(("nw_net_dev_queue",)) - baseline
        subprocess.run(
            ["ping", "-c", "3", "-i", "0.2", "-q", "127.0.0.1"],
            check=True,
            capture_output=True,
            timeout=10,
        )
        time.sleep(0.1)
        # Three requests and three replies cross lo (other 98-byte packets are unlikely here).
        assert bpf[b"seen"][0].value >= 6
        assert bpf[b"seen"][1].value == 98 * bpf[b"seen"][0].value
    finally:
        link.close()
        detach(bpf)
    assert not wait_released(baseline)


def test_a_refused_program_says_what_the_verifier_said() -> None:
    bad = b"int nw_tp__net_dev_queue(u64 *ctx) { u64 *p = (u64 *)ctx[0]; return *(p + 100000); }"
    bpf = compile_probe("test", bad, [])
    try:
        with pytest.raises(BtfAttachError, match=r"net_dev_queue: Permission denied: .*access"):
            attach_tp_btf(bpf, "nw_tp__net_dev_queue", "net_dev_queue", BTF.load())
    finally:
        detach(bpf)


def test_a_tracepoint_this_kernel_lacks_is_a_clear_error() -> None:
    bpf = compile_probe("test", b"int nw_tp__nope(u64 *ctx) { return 0; }", [])
    try:
        with pytest.raises(BtfAttachError, match="no BTF for tracepoint no_such_tracepoint"):
            attach_tp_btf(bpf, "nw_tp__nope", "no_such_tracepoint", BTF.load())
    finally:
        detach(bpf)
