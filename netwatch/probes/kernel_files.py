"""The running kernel's own tables, read from its files: skb:kfree_skb's format (which drop
reasons, numbered how, and which arguments this kernel's tracepoint has), tcp:tcp_send_reset's
reasons, and /proc/kallsyms (addresses to function names). The model parses the text; reading
the kernel happens here."""

from __future__ import annotations

import threading
from pathlib import Path

from netwatch.model.dropreasons import KfreeSkbFormat, parse_format, symbolic_names
from netwatch.model.symbols import SymbolTable

KFREE_SKB_FORMAT = Path("/sys/kernel/tracing/events/skb/kfree_skb/format")
TCP_SEND_RESET_FORMAT = Path("/sys/kernel/tracing/events/tcp/tcp_send_reset/format")
KALLSYMS = Path("/proc/kallsyms")


def load_drop_format(path: Path = KFREE_SKB_FORMAT) -> KfreeSkbFormat:
    """This kernel's kfree_skb format; OSError where tracefs or the tracepoint is missing."""
    return parse_format(path.read_text())


def load_reset_reasons(path: Path = TCP_SEND_RESET_FORMAT) -> dict[int, str]:
    """Why the kernel sent a reset (tcp:tcp_send_reset's reason, 6.10+), by number; empty where
    the tracepoint or its reason is missing."""
    try:
        return symbolic_names(path.read_text(), "reason")
    except OSError:
        return {}


_symbols: dict[Path, SymbolTable] = {}
_symbols_lock = threading.Lock()


def load_symbols(path: Path = KALLSYMS) -> SymbolTable:
    """This kernel's text symbols; an empty table where kallsyms cannot be read. Read once per
    process: Drops and Calls both name locations, and a table is ~30 MiB."""
    with _symbols_lock:
        table = _symbols.get(path)
        if table is None:
            try:
                table = SymbolTable(path.read_text())
            except OSError:
                table = SymbolTable("")
            _symbols[path] = table
        return table
