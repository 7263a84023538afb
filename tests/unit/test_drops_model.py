from __future__ import annotations

from pathlib import Path

import pytest

from netwatch.model.dropreasons import parse_format
from netwatch.model.filter import FilterError
from netwatch.model.symbols import SymbolTable
from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample, DropsState, dropwatch_lines
from netwatch.tabs.drops.view_model import level, parse_drops_filter, sort_groups

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"

KALLSYMS = """\
ffffffff81000000 T _stext
ffffffff8024c5cd T unlock_new_inode
ffffffff8024c5da t unix_stream_sendmsg
ffffffff8024c920 t unix_stream_recvmsg
ffffffff8024cea1 t udp_v4_lookup_longway
ffffffff80400000 D some_data_not_text
ffffffff8044b360 t arp_rcv
ffffffff8044b487 t parp_redo
ffffffffc0a01000 t nft_do_chain_inet\t[nf_tables]
ffffffffc0a01200 t nft_other\t[nf_tables]
"""


def test_symbols_exact_nearest_below_module_and_out_of_range() -> None:
    table = SymbolTable(KALLSYMS)
    # The seed's own example: dropwatch.stp's 0xffffffff8024cd0f is in unix_stream_recvmsg.
    assert table.describe(0xFFFFFFFF8024CD0F) == "unix_stream_recvmsg+0x3ef"
    assert table.describe(0xFFFFFFFF8044B472) == "arp_rcv+0x112"
    assert table.describe(0xFFFFFFFF8044B360) == "arp_rcv+0x0"  # exact
    assert table.describe(0xFFFFFFFFC0A01010) == "nft_do_chain_inet+0x10 [nf_tables]"
    assert table.describe(0x1000) == "0x1000"  # below every symbol
    assert table.describe(0xFFFFFFFFFFF00000) == "0xfffffffffff00000"  # past the last one
    assert table.lookup(0xFFFFFFFF80400010) is not None  # data symbols are not candidates
    assert table.lookup(0xFFFFFFFF80400010).name == "udp_v4_lookup_longway"  # type: ignore[union-attr]


def test_hidden_addresses_give_an_empty_table() -> None:
    table = SymbolTable("0000000000000000 T _stext\n0000000000000000 t arp_rcv\n")
    assert len(table) == 0 and table.describe(0xFFFFFFFF8044B472) == "0xffffffff8044b472"


def test_reason_table_from_a_6_18_format_file() -> None:
    fmt = parse_format((FORMATS / "kfree_skb-6.18.format").read_text())
    assert fmt.has_reason and fmt.has_rx_sk and fmt.has_protocol
    assert fmt.reason_name(2) == "NOT_SPECIFIED" and fmt.reason_name(3) == "NO_SOCKET"
    assert "NETFILTER_DROP" in fmt.reasons.values() and len(fmt.reasons) > 100
    assert fmt.reason_name(99999) == "REASON_99999"


def test_an_older_kernel_without_reasons_still_counts_locations() -> None:
    fmt = parse_format((FORMATS / "kfree_skb-5.10.format").read_text())
    assert not fmt.has_reason and not fmt.has_rx_sk and fmt.has_protocol
    assert fmt.reasons == {} and fmt.reason_name(3) == "-"


def row(loc: int, reason: str, n: int, proto: int = 0x0800) -> DropRow:
    return DropRow(DropKey(loc, reason, proto), f"f{loc}+0x1", n)


def test_state_history_pads_new_rows_and_scrolls() -> None:
    state = DropsState(columns=4)
    state.apply(DropsSample(1.0, 1.0, (row(1, "A", 5),)))
    state.apply(DropsSample(2.0, 1.0, (row(2, "B", 7),)))
    state.apply(DropsSample(3.0, 1.0, ()))
    by_loc = {g.name: g for g in state.rows("location")}
    assert list(by_loc["0x1"].history) == [5, 0, 0]
    assert list(by_loc["0x2"].history) == [0, 7, 0]  # padded for the interval before it existed
    for t in range(4, 8):
        state.apply(DropsSample(float(t), 1.0, (row(1, "A", t),)))
    assert list(by_loc["0x1"].history) == [4, 5, 6, 7]  # bounded to 4 columns
    assert by_loc["0x1"].total == 5 + 4 + 5 + 6 + 7 and by_loc["0x1"].last == 7


def test_dropwatch_lines_merge_protocols_most_first() -> None:
    sample = DropsSample(
        1.0, 5.0, (row(0xA, "NO_SOCKET", 2), row(0xB, "X", 51), row(0xA, "NO_SOCKET", 3, 0x86DD))
    )
    assert dropwatch_lines(sample) == [
        "51 packets dropped at location 0xb f11+0x1 X",
        "5 packets dropped at location 0xa f10+0x1 NO_SOCKET",
    ]


def test_levels_scale_and_filters() -> None:
    assert level(0, 100, True) == 0 and level(100, 100, True) == 4 and level(1, 100, False) == 1
    assert level(50, 100, False) == 2
    state = DropsState()
    state.apply(
        DropsSample(1.0, 1.0, (row(1, "NO_SOCKET", 5), row(2, "NETFILTER_DROP", 9, 0x86DD)))
    )
    groups = state.rows("location")
    assert [g.name for g in sort_groups(groups, "total", True)] == ["0x2", "0x1"]
    for text, kept in (("reason:netfilter", ["0x2"]), ("proto:ipv4", ["0x1"])):
        state.set_filter(parse_drops_filter(text).matches_row)
        assert [g.name for g in state.rows("location") if g.total] == kept
    with pytest.raises(FilterError, match="unknown filter key 'pid:'"):
        parse_drops_filter("pid:1")
