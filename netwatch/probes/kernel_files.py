"""The running kernel's own tables, read from its files: skb:kfree_skb's format (which drop
reasons, numbered how, and which arguments this kernel's tracepoint has) and /proc/kallsyms
(addresses to function names). The model parses the text; reading the kernel happens here."""

from __future__ import annotations

import threading
from pathlib import Path

from netwatch.model.dropreasons import KfreeSkbFormat, parse_format
from netwatch.model.symbols import SymbolTable

KFREE_SKB_FORMAT = Path("/sys/kernel/tracing/events/skb/kfree_skb/format")
KALLSYMS = Path("/proc/kallsyms")


def load_drop_format(path: Path = KFREE_SKB_FORMAT) -> KfreeSkbFormat:
    """This kernel's kfree_skb format; OSError where tracefs or the tracepoint is missing."""
    return parse_format(path.read_text())


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
