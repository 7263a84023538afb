"""Where packets were dropped (#14): the network namespace of the drop's device (or socket),
sampled with the device, counted per namespace in a row, filtered by `netns:`, and carried in
recordings (old 7-field rows still read)."""

from __future__ import annotations

import pytest

from netwatch.recording.checks import BadRecord
from netwatch.tabs.drops.codec import drop_row_in, drop_row_out
from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample, DropsState
from netwatch.tabs.drops.view_model import parse_drops_filter

NF = DropKey(0xFFFF0001, "NETFILTER_DROP", 0x0800)
SOCK = DropKey(0xFFFF0002, "NO_SOCKET", 0x0800)


def test_each_row_counts_its_drops_per_network_namespace() -> None:
    state = DropsState()
    state.apply(DropsSample(1.0, 1.0, (
        DropRow(NF, "nf_hook_slow+0x9a", 5, "veth0", 0, netns=4026532001),
        DropRow(SOCK, "__udp4_lib_rcv+0x4bc", 3, "lo", 0, netns=4026531833),
    )))  # fmt: skip
    state.apply(DropsSample(2.0, 1.0, (DropRow(NF, "nf_hook_slow+0x9a", 2, "veth1", 0,
                                               netns=4026532002),)))  # fmt: skip
    (nf,) = [g for g in state.rows("location") if g.symbol.startswith("nf_hook")]
    assert nf.namespaces == {4026532001: 5, 4026532002: 2}
    assert [g.name for g in state.rows("reason")
            if parse_drops_filter("netns:4026532002").matches(g)] == ["NETFILTER_DROP"]  # fmt: skip
    assert [g.name for g in state.rows("reason")
            if parse_drops_filter("!netns:4026532002").matches(g)] == ["NO_SOCKET"]  # fmt: skip


def test_recordings_carry_the_namespace_and_old_rows_still_read() -> None:
    row = DropRow(NF, "nf_hook_slow+0x9a", 5, "veth0", 80, netns=4026532001)
    assert len(drop_row_out(row)) == 8 and drop_row_in(drop_row_out(row)) == row
    old = drop_row_out(row)[:7]
    assert drop_row_in(old).netns == 0
    with pytest.raises(BadRecord, match="netns"):
        drop_row_in([*old, "x"])


def test_drops_batch_json_names_the_namespace() -> None:
    import io
    import json

    from netwatch.cli.batch import Output
    from netwatch.tabs.drops.batch import printer

    out = io.StringIO()
    sample = DropsSample(1.0, 1.0, (
        DropRow(NF, "nf_hook_slow+0x9a", 5, "veth0", 0, netns=4026532001),
        DropRow(SOCK, "__udp4_lib_rcv+0x4bc", 3),
    ))  # fmt: skip
    printer(Output(json=True), out)(sample)
    assert [json.loads(line)["netns"] for line in out.getvalue().splitlines()] == [4026532001, None]
