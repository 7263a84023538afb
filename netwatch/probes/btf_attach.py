"""Attaching BCC-compiled functions as BTF raw tracepoints (tp_btf), which BCC cannot do itself.

BCC compiles the C and creates the maps; its bytecode already carries the map descriptors. Here
each function is loaded as BPF_PROG_TYPE_TRACING with expected attach type BPF_TRACE_RAW_TP and
the BTF id of the tracepoint's `btf_trace_<name>` typedef, then attached with
BPF_RAW_TRACEPOINT_OPEN. The verifier then knows the arguments' types, so the C may load struct
fields directly instead of calling bpf_probe_read_kernel().
"""

from __future__ import annotations

import ctypes
import os
import struct
from dataclasses import dataclass
from typing import Any

from netwatch.probes import BCC_LOCK, LEAVING
from netwatch.probes.bpf_syscall import NoBpfSyscall, bpf
from netwatch.probes.btf import BTF, KIND_FUNC, KIND_TYPEDEF
from netwatch.probes.loader import compile_probe, detach
from netwatch.sources.base import SourceError

# Set (to anything), the probes with two builds take the raw one: how the tests keep the
# fallback for kernels that refuse tracing programs honest on kernels that allow them.
RAW_TRACEPOINTS_ENV = "NETWATCH_RAW_TRACEPOINTS"

_BPF_PROG_LOAD = 5
_BPF_RAW_TRACEPOINT_OPEN = 17
_BPF_PROG_TYPE_TRACING = 26
_BPF_TRACE_RAW_TP = 23
_BPF_TRACE_FENTRY = 24
_BPF_TRACE_FEXIT = 25
_PROG_LOAD_ATTR_SIZE = 144
_LOG_SIZE = 1 << 20


class BtfAttachError(Exception):
    """The kernel refused a tp_btf program; the caller falls back to classic raw tracepoints."""


@dataclass(slots=True)
class BtfLink:
    """One loaded and attached program: closing both descriptors detaches and frees it."""

    name: str
    prog_fd: int
    link_fd: int

    def close(self) -> None:
        for fd in (self.link_fd, self.prog_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    try:
        return bpf(cmd, attr)
    except NoBpfSyscall as exc:
        raise BtfAttachError(f"tp_btf loading not supported: {exc}") from exc


def attach_tp_btf(bpf: Any, func: str, tracepoint: str, btf: BTF) -> BtfLink:
    """Load `func` from a compiled BCC module as a tp_btf program on `tracepoint` and attach it."""
    target = btf.type_id(KIND_TYPEDEF, f"btf_trace_{tracepoint}")
    if target is None:
        raise BtfAttachError(f"no BTF for tracepoint {tracepoint}")
    return _load_and_attach(bpf, func, target, _BPF_TRACE_RAW_TP, tracepoint)


def attach_fentry(
    bpf: Any, func: str, kernel_function: str, btf: BTF, *, on_return: bool = False
) -> BtfLink:
    """Load `func` as an fentry program on `kernel_function` (fexit with `on_return`) and
    attach it. Its ctx holds the function's arguments as a tp_btf program's holds the
    tracepoint's, typed the same way, so one C function serves as either where the arguments
    agree. The same compiled function may be loaded on many kernel functions: each load is a
    program of its own (bpf_get_func_ip tells them apart)."""
    target = btf.type_id(KIND_FUNC, kernel_function)
    if target is None:
        raise BtfAttachError(f"no BTF for function {kernel_function}")
    kind = _BPF_TRACE_FEXIT if on_return else _BPF_TRACE_FENTRY
    return _load_and_attach(bpf, func, target, kind, kernel_function)


def _load_and_attach(bpf: Any, func: str, target: int, attach_type: int, label: str) -> BtfLink:
    """`label`: the tracepoint or kernel function, which names the program and its errors."""
    from bcc import lib  # probes only: the model and replay never need BCC

    if LEAVING.is_set():
        raise SourceError(f"{label}: not attached: netwatch is leaving")
    with BCC_LOCK:
        start = lib.bpf_function_start(bpf.module, func.encode())
        size = lib.bpf_function_size(bpf.module, func.encode())
        if not start or not size:
            raise BtfAttachError(f"{func} was not compiled")
        insns = ctypes.string_at(start, size)
    code = ctypes.create_string_buffer(insns, len(insns))
    license_ = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(_LOG_SIZE)
    attr = ctypes.create_string_buffer(_PROG_LOAD_ATTR_SIZE)
    name = f"nw_{label}".encode()[:15]
    struct.pack_into(
        "<IIQQIIQII16sII",
        attr,
        0,
        _BPF_PROG_TYPE_TRACING,
        len(insns) // 8,
        ctypes.addressof(code),
        ctypes.addressof(license_),
        0,  # no verifier log unless it fails: a full log costs time and can overflow
        0,
        0,
        0,
        0,
        name,
        0,
        attach_type,
    )
    struct.pack_into("<I", attr, 108, target)
    try:
        prog_fd = _bpf(_BPF_PROG_LOAD, attr)
    except OSError as exc:
        # Once more with the log on, for the verifier's last word on why.
        struct.pack_into("<IIQ", attr, 24, 1, _LOG_SIZE, ctypes.addressof(log))
        try:
            os.close(_bpf(_BPF_PROG_LOAD, attr))
        except OSError:
            pass
        lines = log.value.decode(errors="replace").strip().splitlines()
        why = [line for line in lines if not line.startswith("processed ")][-1:] or [""]
        raise BtfAttachError(f"{label}: {exc.strerror}: {why[0]}".rstrip(": ")) from exc
    link_attr = ctypes.create_string_buffer(16)
    struct.pack_into("<QI", link_attr, 0, 0, prog_fd)
    try:
        link_fd = _bpf(_BPF_RAW_TRACEPOINT_OPEN, link_attr)
    except OSError as exc:
        os.close(prog_fd)
        raise BtfAttachError(f"attach {label}: {exc.strerror}") from exc
    return BtfLink(name.decode(), prog_fd, link_fd)


def raw_forced() -> str | None:
    """Why the raw build is taken without trying BTF tracepoints, or None."""
    return f"{RAW_TRACEPOINTS_ENV} is set" if os.environ.get(RAW_TRACEPOINTS_ENV) else None


def open_tp_btf(
    probe: str,
    text: str,
    defines: list[str],
    tracepoints: list[str],
    btf: BTF,
    fentries: dict[str, str] | None = None,
) -> tuple[Any, list[BtfLink]]:
    """Compile the NW_BTF_CTX build of a program file (btf_ctx.bpf.h) and attach its
    `nw_tp__NAME` function to each tracepoint NAME, and to each kernel function `fentries` maps
    a NAME to; BtfAttachError, with nothing left attached, if the kernel refuses any."""
    try:
        bpf = compile_probe(probe, text.encode(), [*defines, "-DNW_BTF_CTX"])
    except SourceError as exc:  # e.g. a BCC too old for bpf_get_current_task_btf()
        raise BtfAttachError(str(exc)) from exc
    links: list[BtfLink] = []
    try:
        for name in tracepoints:
            links.append(attach_tp_btf(bpf, f"nw_tp__{name}", name, btf))
        for name, function in (fentries or {}).items():
            links.append(attach_fentry(bpf, f"nw_tp__{name}", function, btf))
    except (BtfAttachError, SourceError):  # refused, or netwatch is leaving
        for link in links:
            link.close()
        detach(bpf)
        raise
    return bpf, links
