"""The offsets a probe's program gets are those its source names, from one table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netwatch.probes.btf import BTF
from netwatch.probes.offsets import KERNEL_OFFSETS, SHARED_BPF_DIR, offsets_named
from netwatch.tabs import TABS
from tests.helpers.paths import bpf_source

TABS_DIR = Path(__file__).resolve().parents[2] / "netwatch" / "tabs"
# Derived by the Calls probe from table entries (calls/probe.py _with_spans), not read from BTF.
DERIVED = {"REGS_SPAN_OFF"}


def _program(tab: str) -> str:
    return bpf_source(tab)


@pytest.mark.parametrize("tab", [t.name for t in TABS])
def test_every_offset_a_program_names_is_defined_for_it(tab: str) -> None:
    text = _program(tab)
    named = set(re.findall(r"\b[A-Z][A-Z0-9_]*_OFF\b", text))
    given = dict(offsets_named(text))
    assert named - DERIVED <= set(given), named - DERIVED - set(given)
    assert all(given[name] == KERNEL_OFFSETS[name] for name in given)


def test_a_shared_header_brings_the_offsets_it_reads() -> None:
    header = (SHARED_BPF_DIR / "sock_endpoints.bpf.h").read_text()
    assert "SKC_V6_DADDR_OFF" in header
    program = '#include "sock_endpoints.bpf.h"\nint f(void) { return SKC_FAMILY_OFF; }\n'
    names = {name for name, _ in offsets_named(program)}
    assert names >= {"SKC_FAMILY_OFF", "SKC_V6_DADDR_OFF", "SKC_DPORT_OFF"}
    # Only what is named: nothing of the packet's or the task's.
    assert not any(n.startswith(("SKB_", "TASK_")) for n in names)


def test_names_outside_the_table_are_left_to_the_probe() -> None:
    assert offsets_named("x = REGS_SPAN_OFF + NOT_A_KERNEL_OFF; y = SKB_LEN_OFF;") == (
        ("SKB_LEN_OFF", ("sk_buff", "len")),
    )


def test_the_running_kernel_has_every_offset_in_the_table() -> None:
    btf = BTF.load()
    for name, path in KERNEL_OFFSETS.items():
        total = sum(btf.member_offset(path[i], path[i + 1]) for i in range(0, len(path), 2))
        assert 0 <= total < 16384, name
