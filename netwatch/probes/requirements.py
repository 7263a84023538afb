"""What a live probe needs from the machine, checked before anything is drawn.

Each failed check is one line that says what is missing and how to fix it.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

TRACEFS = Path("/sys/kernel/tracing")
SETUP_HINT = "run ./setup.sh (as root) from the netwatch checkout"


@dataclass(frozen=True, slots=True)
class Problem:
    message: str


def modules_dir() -> Path:
    return Path("/lib/modules") / platform.release()


def check_live_requirements(tracepoints: tuple[str, ...]) -> list[Problem]:
    """Cheap checks, in the order a user would fix them; stops at the first that blocks the rest."""
    if os.geteuid() != 0:
        return [
            Problem(
                "netwatch needs root to load BPF programs: run it with sudo, or "
                "use 'netwatch replay FILE' to view a recording without root"
            )
        ]
    if importlib.util.find_spec("bcc") is None:
        return [
            Problem(
                "BCC's Python module is missing (Debian package python3-bpfcc; the PyPI "
                f"package named 'bcc' is unrelated): {SETUP_HINT}"
            )
        ]
    build = modules_dir() / "build"
    if not (build / "include").is_dir() and not (build / "Makefile").exists():
        return [
            Problem(
                f"kernel headers missing: {build} does not lead to a headers tree "
                f"(Debian: linux-headers-amd64): {SETUP_HINT}"
            )
        ]
    if not (TRACEFS / "events").is_dir():
        return [Problem(f"tracefs is not mounted at {TRACEFS}: mount -t tracefs nodev {TRACEFS}")]
    missing = missing_tracepoints(tracepoints)
    if missing:
        return [
            Problem(
                f"this kernel lacks the tracepoint(s) {', '.join(missing)}; "
                "netwatch cannot attach without them"
            )
        ]
    return []


def missing_tracepoints(tracepoints: tuple[str, ...]) -> list[str]:
    """Those of `tracepoints` (category/event) this kernel does not have."""
    return [tp for tp in tracepoints if not (TRACEFS / "events" / tp).is_dir()]


def has_raw_tracepoint(event: str) -> bool:
    """Whether an event of that name exists in any category (raw tracepoints are named by
    event alone)."""
    return any((TRACEFS / "events").glob(f"*/{event}"))


def tracepoint_fields(tracepoint: str) -> set[str]:
    """The field names of a tracepoint (category/event) on this kernel, from its format file:
    what a raw tracepoint program may rely on, since arguments come and go between kernels."""
    try:
        text = (TRACEFS / "events" / tracepoint / "format").read_text()
    except OSError:
        return set()
    return set(re.findall(r"field:[^;]*?\b(\w+)(?:\[\d*\])?;", text))


def kprobes_available() -> bool:
    return (TRACEFS / "kprobe_events").exists()


def degraded_features() -> list[str]:
    """Probe types this kernel refuses; reported in the status line, never fatal."""
    notes = []
    if not kprobes_available():
        notes.append("no kprobes (tracepoints only)")
    if not Path("/sys/kernel/btf/vmlinux").exists():
        notes.append("no BTF")
    return notes


def lacking(title: str, tracepoints: tuple[str, ...]) -> str | None:
    """Why this kernel cannot run the tab `title` (the tracepoints it lacks), or None."""
    missing = missing_tracepoints(tracepoints)
    if not missing:
        return None
    return f"this kernel lacks the tracepoint(s) {', '.join(missing)} that the {title} tab needs"
