"""Kernel addresses to `function+0xoff [module]`, from /proc/kallsyms text (read by
probes/kernel_files.py).

The seed mapped dropwatch's addresses by hand with System.map; this does it from the running
kernel's own table (root sees real addresses when kptr_restrict allows).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

_TEXT_TYPES = frozenset("tTwW")


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    offset: int
    module: str

    def __str__(self) -> str:
        mod = f" [{self.module}]" if self.module else ""
        return f"{self.name}+0x{self.offset:x}{mod}"


class SymbolTable:
    """Text symbols sorted by address; lookups take the nearest symbol at or below."""

    def __init__(self, text: str) -> None:
        entries: list[tuple[int, str, str]] = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 3 or parts[1] not in _TEXT_TYPES:
                continue
            try:
                addr = int(parts[0], 16)
            except ValueError:
                continue
            if addr == 0:
                continue  # kptr_restrict hides addresses: nothing to resolve against
            module = parts[3].strip("[]") if len(parts) > 3 else ""
            entries.append((addr, parts[2], module))
        entries.sort()
        self._addrs = [e[0] for e in entries]
        self._entries = entries
        # An address past the last symbol of the kernel image or a module is outside any symbol:
        # bound each symbol by the next one, and the last one by a generous 1 MiB.
        self._limit = (entries[-1][0] + (1 << 20)) if entries else 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, address: int) -> Symbol | None:
        i = bisect.bisect_right(self._addrs, address) - 1
        if i < 0 or address >= self._limit:
            return None
        addr, name, module = self._entries[i]
        return Symbol(name, address - addr, module)

    def describe(self, address: int) -> str:
        """`function+0xoff [module]`, or the raw address when no symbol covers it."""
        sym = self.lookup(address)
        return str(sym) if sym else f"0x{address:x}"
