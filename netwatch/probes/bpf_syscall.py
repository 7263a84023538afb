"""The bpf(2) system call, for what BCC does not do: loading and attaching BTF programs
(btf_attach.py) and reading a program's run statistics (prog_stats.py)."""

from __future__ import annotations

import ctypes
import os
import platform

_NR_BPF = {"x86_64": 321, "aarch64": 280, "ppc64le": 361, "s390x": 351}
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class NoBpfSyscall(Exception):
    """This machine's architecture is not one whose bpf(2) number netwatch knows."""


def bpf(cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    """bpf(cmd, attr, sizeof attr): its result (a descriptor, or 0); OSError on failure."""
    nr = _NR_BPF.get(platform.machine())
    if nr is None:
        raise NoBpfSyscall(f"bpf(2) not known on {platform.machine()}")
    fd = int(_libc.syscall(ctypes.c_long(nr), ctypes.c_int(cmd), attr, ctypes.c_uint(len(attr))))
    if fd < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return fd
