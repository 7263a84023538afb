"""Where things are: the repository, its two demo recordings, and the installed command."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
DEMO = DATA / "traffic-demo.nwrec"
CALLS_DEMO = DATA / "calls-demo.nwrec"
NETWATCH = str(Path(sys.executable).parent / "netwatch")
GEN = str(ROOT / "tests" / "traffic_gen.py")


def bpf_source(tab: str) -> str:
    """A tab's BPF C, beside the probe that loads it (the tab's folder, or its probe/ package)."""
    (found,) = (ROOT / "netwatch" / "tabs" / tab).glob(f"**/{tab}.bpf.c")
    return found.read_text()
