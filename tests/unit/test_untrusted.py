"""Untrusted text is shown with every invisible or terminal-controlling character escaped."""

from __future__ import annotations

import csv
import io
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from netwatch.model.untrusted import csv_cell, has_hidden, printable

# The names issue #10 probed with, and what an operator must see instead of their effect.
HOSTILE = {
    "\x1b[2J\x1b[H": "\\x1b[2J\\x1b[H",
    "\x1b]0;pwn\x07": "\\x1b]0;pwn\\x07",
    "\x1b[31mRED": "\\x1b[31mRED",
    "\x9b2J": "\\x9b2J",  # C1 CSI, as "\xc2\x9b" decodes
    "a\nb\tc\rd": "a\\nb\\tc\\rd",
    "evil\u202etxt.exe": "evil\\u202etxt.exe",  # right-to-left override
    "zero\u200bwidth": "zero\\u200bwidth",
    "del\x7f": "del\\x7f",
    "nul\x00": "nul\\x00",
    "line\u2028sep": "line\\u2028sep",
    "lone\udcff": "lone\\udcff",  # a surrogateescape'd byte
}


def test_hostile_names_are_shown_escaped() -> None:
    for raw, shown in HOSTILE.items():
        assert printable(raw) == shown


def test_plain_names_are_unchanged() -> None:
    for name in ("curl", "systemd-resolve", "[rx-not-delivered]", "kworker/u8:2", "café", "名前"):
        assert printable(name) == name


def test_a_literal_backslash_cannot_forge_an_escape() -> None:
    assert printable("\\x1b") == "\\\\x1b"
    assert printable("\\x1b") != printable("\x1b")


@given(st.text())
def test_nothing_invisible_survives(text: str) -> None:
    shown = printable(text)
    assert all(unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Zl", "Zp"} for ch in shown)
    shown.encode("utf-8")  # raises on a lone surrogate left to break an encoder


@given(st.text(), st.text())
def test_escaping_is_injective(a: str, b: str) -> None:
    if a != b:
        assert printable(a) != printable(b)


def test_csv_cells_never_start_a_formula() -> None:
    for raw in ("=1+cmd|A1", "+1", "-1+1", "@SUM(A1)"):
        assert csv_cell(raw) == "'" + raw
    assert csv_cell("curl") == "curl"
    assert csv_cell("=\x1b[2J") == "'=\\x1b[2J"


@given(st.text())
def test_csv_rows_read_back_as_one_row(text: str) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerow([csv_cell(text), "x"])
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert len(rows) == 1 and rows[0][1] == "x"
    assert not rows[0][0].startswith(("=", "+", "-", "@"))


@given(st.text())
def test_escaped_text_has_nothing_hidden_so_a_last_check_leaves_it_alone(text: str) -> None:
    assert not has_hidden(printable(text))
    assert has_hidden(text) == any(
        unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for ch in text
    )


def test_every_batch_text_format_shows_hostile_names_escaped() -> None:
    from netwatch.tabs.accepts.model import AcceptEvent
    from netwatch.tabs.calls.formats import ThreadIndent
    from netwatch.tabs.calls.model import ENTER, EXIT, CallEvent
    from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample, dropwatch_lines
    from netwatch.tabs.traffic.formats import nettop_line
    from netwatch.tabs.traffic.model import Counters, TrafficKey, TrafficRow

    for name, escaped in HOSTILE.items():
        lines = [
            nettop_line(TrafficRow(TrafficKey(1, 0, "lo", name), Counters(1, 1, 1, 1))),
            AcceptEvent(1.0, 1, 1, 0, name, "ipv4", "1.1.1.1", 80, "2.2.2.2", 9).seed_line(),
            ThreadIndent().line(CallEvent(1.0, 1, 1, name, ENTER, "connect", (("path", name),))),
            ThreadIndent().line(CallEvent(1.0, 1, 1, name, EXIT, "connect", (), 0, 5.0)),
            *dropwatch_lines(DropsSample(1.0, 1.0, (DropRow(DropKey(1, name, 6), name, 1),))),
        ]
        for line in lines:
            assert escaped in line
            assert not has_hidden(line), line
