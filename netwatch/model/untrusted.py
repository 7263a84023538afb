"""The one place where text a local user controls becomes safe to show.

Process names (`prctl(PR_SET_NAME)`), command lines, device names made in a user's own network
namespace, filter text and whole recordings can hold any character. Written raw to a terminal,
ESC and C1 bytes clear the operator's screen or retitle it, a newline forges a row, and bidi
overrides reorder what is read. So every text output (terminal UI, batch text, snapshots, CSV,
SVG) shows such text through `printable`, which makes every character that is not plainly
visible into a visible escape. JSON keeps the exact string: its encoder escapes on its own.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Control (C0, DEL, C1), format (bidi overrides, zero-width joiners, BOM), surrogate (a lone
# surrogateescape byte), and line/paragraph separators: none of them should reach a terminal.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\"}

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@")


def _escape_char(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    if unicodedata.category(ch) not in _HIDDEN_CATEGORIES:
        return ch
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


@lru_cache(maxsize=8192)
def _escape(text: str) -> str:
    return "".join(_escape_char(ch) for ch in text)


def printable(text: str) -> str:
    """`text` with every control, format and separator character shown as a visible escape
    (`\\x1b`, `\\n`, `\\u202e`), and a backslash doubled so an escape cannot be forged."""
    # Most names are plain: skip the per-character walk for them (this runs for every cell).
    if text.isprintable() and "\\" not in text:
        return text
    return _escape(text)


def name_text(text: str) -> str:
    """A process's name, printable, with a leading "[" written as `\\x5b`. netwatch's own names
    for what no process owns (`[tx-no-owner]`, `[rx-not-delivered]`, the exporter's `[other]`)
    are bracketed; so a process named like one is shown, counted and exported as itself, never
    as that row or series. (`printable` doubles a literal backslash: the escape is unforgeable.)"""
    shown = printable(text)
    return "\\x5b" + shown[1:] if shown.startswith("[") else shown


def has_hidden(text: str) -> bool:
    """Whether `text` holds a character `printable` would escape (a backslash aside): text that
    is already escaped has none, so a last check can escape what was missed, and only that."""
    return not text.isprintable() and any(
        unicodedata.category(ch) in _HIDDEN_CATEGORIES for ch in text
    )


def csv_cell(text: str) -> str:
    """A printable CSV cell that a spreadsheet will not run as a formula."""
    shown = printable(text)
    return "'" + shown if shown.startswith(_FORMULA_STARTS) else shown
