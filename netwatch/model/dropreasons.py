"""Drop reason numbers to names, parsed from the text of a kernel's skb:kfree_skb format file (read
by probes/kernel_files.py).

The numbering changes between kernel versions (and Debian's 6.1 headers disagree with 6.18), so
names come from the tracepoint's own `__print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, ...)`.
Kernels older than 5.17 have no reason field at all: locations are still counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PAIR = re.compile(r"\{\s*(\d+)\s*,\s*\"([A-Za-z0-9_]+)\"\s*\}")
# Frees that are not drops, should a kernel route them through kfree_skb.
NOT_DROPS = frozenset({"NOT_DROPPED_YET", "CONSUMED"})


@dataclass(frozen=True, slots=True)
class KfreeSkbFormat:
    has_reason: bool
    has_rx_sk: bool
    has_protocol: bool
    reasons: dict[int, str]

    def reason_name(self, number: int) -> str:
        if not self.has_reason:
            return "-"
        return self.reasons.get(number, f"REASON_{number}")


def symbolic_names(text: str, field: str) -> dict[int, str]:
    """A tracepoint format's `__print_symbolic(REC->FIELD, { 2, "NAME" }, ...)` as a table;
    empty where the format has none. Each kernel numbers its enums its own way: read them here,
    never from headers."""
    marker = text.find(f"__print_symbolic(REC->{field},")
    if marker < 0:
        return {}
    end = text.find(")", marker)  # the pairs hold no parenthesis
    return {int(n): name for n, name in _PAIR.findall(text[marker : end if end > 0 else None])}


def parse_format(text: str) -> KfreeSkbFormat:
    fields = set(re.findall(r"field:[^;]*?\b(\w+)(?:\[\d*\])?;", text))
    reasons = symbolic_names(text, "reason")
    return KfreeSkbFormat("reason" in fields, "rx_sk" in fields, "protocol" in fields, reasons)
