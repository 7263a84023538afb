"""A loaded program's statistics as the kernel keeps them (struct bpf_prog_info, through
BPF_OBJ_GET_INFO_BY_FD): above all the runs it skipped.

The kernel never runs a program nested in itself on one CPU (a tracepoint hit again from an
interrupt while the program runs, say): it skips that run and counts it in the program's
`recursion_misses` (5.12+), nowhere else. A skipped run is an event the probe never saw (a
packet not counted, a connection's close not told), so each probe adds these to its lost
count. run_cnt and run_time_ns count only while kernel.bpf_stats_enabled is 1."""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from netwatch.probes.bpf_syscall import NoBpfSyscall, bpf

_BPF_OBJ_GET_INFO_BY_FD = 15
# struct bpf_prog_info (include/uapi/linux/bpf.h) up to recursion_misses, which 5.12 added.
_INFO_SIZE = 216
_STATS = struct.Struct("<3Q")  # run_time_ns, run_cnt, recursion_misses
_STATS_AT = 192
_ID_AT = 4


@dataclass(frozen=True, slots=True)
class ProgStats:
    prog_id: int
    run_time_ns: int
    run_cnt: int
    recursion_misses: int


def prog_stats(prog_fd: int) -> ProgStats | None:
    """The program's statistics; None where the kernel gives none (too old, or not ours)."""
    info = ctypes.create_string_buffer(_INFO_SIZE)
    attr = ctypes.create_string_buffer(16)
    struct.pack_into("<IIQ", attr, 0, prog_fd, _INFO_SIZE, ctypes.addressof(info))
    try:
        bpf(_BPF_OBJ_GET_INFO_BY_FD, attr)
    except (OSError, NoBpfSyscall):
        return None
    (filled,) = struct.unpack_from("<I", attr, 4)  # the kernel writes back how much it filled
    if filled < _INFO_SIZE:
        return None
    (prog_id,) = struct.unpack_from("<I", info, _ID_AT)
    return ProgStats(prog_id, *_STATS.unpack_from(info, _STATS_AT))


def skipped_runs(prog_fds: Iterable[int]) -> int:
    """Runs the kernel skipped, over these programs (0 for any it gives no statistics of)."""
    total = 0
    for fd in prog_fds:
        stats = prog_stats(fd)
        if stats is not None:
            total += stats.recursion_misses
    return total
