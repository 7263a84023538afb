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
    assert filtered(state, "netns:4026532002") == {"NETFILTER_DROP": 2}
    assert filtered(state, "!netns:4026532002") == {"NETFILTER_DROP": 5, "NO_SOCKET": 3}


def filtered(state: DropsState, text: str, grouping: str = "reason") -> dict[str, int]:
    """Each group's total with the filter set: only the drops it matches count."""
    state.set_filter(parse_drops_filter(text).matches_row)
    return {g.name: g.total for g in state.rows(grouping) if g.total}


def test_a_namespace_filter_counts_only_that_namespaces_drops_everywhere() -> None:
    # #24: a row showed 1,092 drops when 33 were in the chosen namespace; its heatmap too.
    state = DropsState(columns=4)
    for t in range(1, 7):
        state.apply(DropsSample(float(t), 1.0, (
            DropRow(NF, "nf_hook_slow+0x9a", 100 + t, "veth0", 53, netns=4026532001),
            DropRow(NF, "nf_hook_slow+0x9a", t, "veth1", 80, netns=4026532002),
        )))  # fmt: skip
    assert filtered(state, "netns:4026532002", "location") == {f"0x{NF.location:x}": 21}
    (g,) = [g for g in state.rows("location") if g.total]
    assert (g.last, list(g.history)) == (6, [3, 4, 5, 6])  # the heatmap's last 4 intervals
    assert g.namespaces == {4026532002: 21} and g.devices == {"veth1": 21}
    assert g.ports == {(4026532002, 80): 21}  # the detail's ports: that namespace's only
    # A new sample counts under the filter as it comes; clearing it counts everything again.
    state.apply(DropsSample(7.0, 1.0, (DropRow(NF, "nf_hook_slow+0x9a", 9, "veth1", 0,
                                               netns=4026532002),)))  # fmt: skip
    assert g.total == 30 and g.last == 9
    state.set_filter(None)
    (everything,) = state.rows("location")
    assert everything.total == 30 + sum(100 + t for t in range(1, 7))
    assert list(everything.history) == [108, 110, 112, 9]


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
