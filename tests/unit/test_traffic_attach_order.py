"""The Traffic probe's in-softirq flag is set by softirq_entry and cleared by softirq_exit, per
CPU. Attached entry first, a softirq under way between the two attachments left its CPU's flag
set until that CPU's next softirq ended, seconds later on an idle CPU; a process's first
transmit there was taken for a softirq's, and a new socket's first packet went to
[tx-no-owner] (the 2999-of-3000 UDP count once seen in the 6.1 VM). Both builds attach exit
first: the tp_btf build in TRACEPOINTS' order, the raw build in the source's order (BCC
attaches RAW_TRACEPOINT_PROBEs as they are defined)."""

from __future__ import annotations

from netwatch.tabs.traffic.probe import BPF_SOURCE, TRACEPOINTS


def test_softirq_exit_is_attached_before_softirq_entry_in_both_builds() -> None:
    assert TRACEPOINTS.index("irq/softirq_exit") < TRACEPOINTS.index("irq/softirq_entry")
    assert TRACEPOINTS.index("irq/softirq_entry") < TRACEPOINTS.index("net/net_dev_queue")
    source = BPF_SOURCE.read_text()
    assert source.index("TRAFFIC_PROBE(softirq_exit)") < source.index(
        "TRAFFIC_PROBE(softirq_entry)"
    )
