"""Function depth for the Calls probe: attaches calls.bpf.c's function programs to the
net/socket.c functions this kernel has, by fentry/fexit where the kernel allows it and by
kprobes/kretprobes where it does not, and says which it chose and why.

Chosen per kernel at start-up: fentry first (exact function and return value, no limit on
calls in progress), then kprobes. Our 6.18 refuses fentry (EPERM) and has no kprobes: there
the Calls tab shows system calls and socket tracepoints only, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netwatch.probes import BCC_LOCK
from netwatch.probes.btf import BTF, KIND_FUNC, BTFError
from netwatch.probes.btf_attach import BtfAttachError, BtfLink, attach_fentry
from netwatch.probes.requirements import TRACEFS, kprobes_available
from netwatch.tabs.calls.probe.socket_functions import CORE, SOCKET_C, attachable

# Calls in progress per function that a kretprobe can follow at once (the kernel's default is
# twice the CPUs): threads blocked in accept() or recv() each hold one until they return.
KRETPROBE_MAXACTIVE = 256

# name -> (what it returns, its size in bytes), as BTF.returns says; its keys are the
# functions attached.
Returns = dict[str, tuple[str, int]]


@dataclass(slots=True)
class FunctionDepth:
    """What was attached: the mechanism ("fentry", "kprobes" or "none"), one line for the
    banner, and what each attached function returns."""

    mechanism: str
    note: str = ""
    returns: Returns = field(default_factory=dict)
    links: list[BtfLink] = field(default_factory=list)

    def close(self) -> None:
        for link in self.links:
            link.close()
        self.links = []


def attach_functions(bpf: Any, mode: str, btf: BTF | None) -> FunctionDepth:
    """Attach the function programs of a compiled calls.bpf.c by `mode` (one of MODES)."""
    if mode == "off":
        return FunctionDepth("none", note="function depth off (--functions off)")
    refusals: list[str] = []
    if mode in ("auto", "fentry"):
        depth = _by_fentry(bpf, btf, refusals)
        if depth is not None or mode == "fentry":
            return depth or _none(refusals)
    if not kprobes_available():
        refusals.append("no kprobes")
        return _none(refusals)
    return _by_kprobes(bpf, btf, refusals)


def _none(refusals: list[str]) -> FunctionDepth:
    why = "; ".join(refusals) or "not available"
    return FunctionDepth("none", note=f"no function depth ({why})")


def _by_fentry(bpf: Any, btf: BTF | None, refusals: list[str]) -> FunctionDepth | None:
    if btf is None:
        refusals.append("fentry: no kernel BTF")
        return None
    traceable = _ftrace_functions()
    candidates = [f for f in attachable(traceable or SOCKET_C) if btf.type_id(KIND_FUNC, f)]
    links: list[BtfLink] = []
    attached: list[str] = []
    for name in _core_first(candidates):
        try:
            enter = attach_fentry(bpf, "fn_enter", name, btf)
        except BtfAttachError as exc:
            if not attached:  # the first one refused: fentry is not usable here at all
                refusals.append(f"fentry refused: {exc}")
                return None
            continue  # this function only (e.g. not traceable)
        try:
            links += [enter, attach_fentry(bpf, "fn_exit", name, btf, on_return=True)]
        except BtfAttachError as exc:
            enter.close()
            if not attached:
                refusals.append(f"fexit refused: {exc}")
                return None
            continue
        attached.append(name)
    if not attached:
        refusals.append("fentry: none of net/socket.c's functions has BTF here")
        return None
    return _chosen("fentry", attached, btf, links)


def _by_kprobes(bpf: Any, btf: BTF | None, refusals: list[str]) -> FunctionDepth:
    kernel = _kernel_functions()
    attached: list[str] = []
    failed: list[str] = []
    with BCC_LOCK:
        for name in _core_first(attachable(kernel)):
            try:
                bpf.attach_kprobe(event=name.encode(), fn_name=b"kp_enter")
            except Exception:  # BCC raises bare Exception; a blacklisted function, say
                failed.append(name)
                continue
            try:
                bpf.attach_kretprobe(
                    event=name.encode(), fn_name=b"kp_exit", maxactive=KRETPROBE_MAXACTIVE
                )
            except Exception:
                bpf.detach_kprobe(event=name.encode(), fn_name=b"kp_enter")
                failed.append(name)
                continue
            attached.append(name)
    if not attached:
        refusals.append(f"kprobes refused on all {len(failed)} functions")
        return _none(refusals)
    return _chosen("kprobes", attached, btf, [], refusals)


def _chosen(
    mechanism: str,
    attached: list[str],
    btf: BTF | None,
    links: list[BtfLink],
    refusals: list[str] | None = None,
) -> FunctionDepth:
    missing_core = [f for f in CORE if f not in attached]
    note = f"function depth by {mechanism} on {len(attached)} net/socket.c functions"
    if missing_core:
        note += f" (not here: {', '.join(missing_core)})"
    if refusals:
        note += f"; {'; '.join(refusals)}"
    returns = {name: btf.returns(name) if btf else ("number", 8) for name in attached}
    return FunctionDepth(mechanism, note, returns, links)


def _core_first(names: tuple[str, ...] | list[str]) -> list[str]:
    """The functions the tab must show first: whether the mechanism works is learned on them."""
    return [f for f in names if f in CORE] + [f for f in names if f not in CORE]


def _ftrace_functions() -> set[str]:
    """Functions fentry and ftrace-based kprobes can attach to (the rest would be refused)."""
    try:
        with open(TRACEFS / "available_filter_functions") as f:
            return {line.split(None, 1)[0] for line in f if line.strip()}
    except OSError:
        return set()


def _kernel_functions() -> set[str]:
    names = _ftrace_functions()
    if names:
        return names
    try:
        with open("/proc/kallsyms") as f:
            return {p[2] for p in map(str.split, f) if len(p) > 2 and p[1] in "tT"}
    except OSError:
        return set()


def load_btf() -> BTF | None:
    try:
        return BTF.load()
    except BTFError:
        return None
