"""Accepts: one ring buffer record (accepts.bpf.c) to an AcceptEvent."""

from __future__ import annotations

import ctypes
from collections.abc import Callable

from netwatch.model.addresses import address
from netwatch.model.cdata import c_string
from netwatch.tabs.accepts.model import AcceptEvent

CGROUP_NAME_LEN = 96  # accepts.bpf.c's
# A cgroup's id and its own name (from the kernel) to its path (probes/cgroups.py).
CgroupPathOf = Callable[[int, str], str]


class AcceptRecord(ctypes.Structure):
    """accepts.bpf.c's struct accept_event_t, as the ring buffer holds it."""

    _fields_ = (
        ("ts_ns", ctypes.c_uint64),
        ("pid", ctypes.c_uint32),
        ("tid", ctypes.c_uint32),
        ("uid", ctypes.c_uint32),
        ("fd", ctypes.c_int32),
        ("comm", ctypes.c_char * 16),
        ("family", ctypes.c_uint16),
        ("lport", ctypes.c_uint16),
        ("rport", ctypes.c_uint16),
        ("pad", ctypes.c_uint16),
        ("laddr", ctypes.c_uint8 * 16),
        ("raddr", ctypes.c_uint8 * 16),
        ("cgroup_id", ctypes.c_uint64),
        ("netns", ctypes.c_uint32),
        ("pad2", ctypes.c_uint32),
        ("cgroup_name", ctypes.c_char * CGROUP_NAME_LEN),
        ("start_ns", ctypes.c_uint64),
    )


def _no_paths(cgroup_id: int, name: str) -> str:
    return ""


def decode(
    ev: AcceptRecord,
    wall_offset: float,
    cgroup_path_of: CgroupPathOf = _no_paths,
    boot_offset: float = 0.0,
) -> AcceptEvent:
    """`wall_offset` turns the kernel's monotonic clock into wall time, `boot_offset` its boot
    clock (a process's start)."""
    laddr, _ = address(bytes(ev.laddr), int(ev.family))
    raddr, family = address(bytes(ev.raddr), int(ev.family))
    return AcceptEvent(
        ts=ev.ts_ns / 1e9 + wall_offset,
        pid=int(ev.pid),
        tid=int(ev.tid),
        uid=int(ev.uid),
        comm=c_string(ev.comm),
        family=family,
        laddr=laddr,
        lport=int(ev.lport),
        raddr=raddr,
        rport=int(ev.rport),
        cgroup=cgroup_path_of(int(ev.cgroup_id), c_string(bytes(ev.cgroup_name))),
        netns=int(ev.netns),
        started=round(boot_offset + ev.start_ns / 1e9, 3) if ev.start_ns else 0.0,
    )


RECORD_SIZE = ctypes.sizeof(AcceptRecord)
