"""What every probe does the same way: BTF offsets as -D macros, compiling under the BCC lock
with a one-line error, reading a per-CPU counter, decoding C strings, detaching."""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Iterator
from typing import Any

from netwatch.probes import BCC_LOCK, LEAVING
from netwatch.probes.btf import BTF, BTFError
from netwatch.probes.offsets import SHARED_BPF_DIR, OffsetSpec, offsets_named
from netwatch.sources.base import SourceError


def offsets(probe: str, specs: OffsetSpec, btf: BTF | None = None) -> dict[str, int]:
    """Each macro's byte offset in the running kernel, from its BTF (parsed here if not given)."""
    btf = btf or kernel_btf(probe)
    try:
        return {macro: _offset(btf, path) for macro, path in specs}
    except BTFError as exc:
        raise _needs_btf(probe, exc) from exc


def kernel_btf(probe: str) -> BTF:
    """The running kernel's BTF, or a one-line SourceError saying netwatch needs it."""
    try:
        return BTF.load()
    except BTFError as exc:
        raise _needs_btf(probe, exc) from exc


def _needs_btf(probe: str, exc: BTFError) -> SourceError:
    return SourceError(f"{probe} probe: {exc}; netwatch needs kernel BTF")


def program_offsets(probe: str, text: str, btf: BTF | None = None) -> dict[str, int]:
    """The offsets a program's source names (offsets.KERNEL_OFFSETS), for this kernel."""
    return offsets(probe, offsets_named(text), btf)


def offset_defines(probe: str, text: str, btf: BTF | None = None) -> list[str]:
    return as_defines(program_offsets(probe, text, btf))


def as_defines(values: dict[str, int]) -> list[str]:
    return [f"-D{macro}={value}" for macro, value in values.items()]


def _offset(btf: BTF, path: tuple[str, ...]) -> int:
    return sum(btf.member_offset(path[i], path[i + 1]) for i in range(0, len(path), 2))


LOCK_POLL_S = 0.02  # how often a detach waiting for BCC's lock looks whether it need not wait
# Set while BCC compiles: LLVM cannot be interrupted, so leaving then cannot wait for it.
_compiling = threading.Event()


def stop_compiling() -> None:
    """No compile starts after this; one under way runs on (see `compiling`)."""
    LEAVING.set()


def compiling() -> bool:
    return _compiling.is_set()


def compile_probe(probe: str, text: bytes, cflags: list[str]) -> Any:
    """BCC compiles and attaches here; one at a time, since its compiler is not thread-safe."""
    from bcc import BPF  # the model and replay never need BCC

    try:
        with BCC_LOCK:
            if LEAVING.is_set():
                raise SourceError(f"{probe} probe: not compiled: netwatch is leaving")
            _compiling.set()
            try:
                with _in_our_headers_dir():
                    bpf = BPF(text=text, cflags=[*cflags, f"-I{SHARED_BPF_DIR}"])
            finally:
                _compiling.clear()
            release_freed_memory()
            return bpf
    except SourceError:
        raise
    except Exception as exc:  # BCC raises bare Exception for compile and attach failures
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"{probe} probe failed to load: {first}") from exc


@contextlib.contextmanager
def _in_our_headers_dir() -> Iterator[None]:
    """Compile with netwatch's own BPF headers' directory as the working directory, then go
    back. BCC puts the working directory first on the compiler's include path (`-I cwd`, ahead of
    the kernel's headers): root running netwatch from /tmp or a user's home would compile into
    its kernel programs any `uapi/linux/ptrace.h` or `btf_ctx.bpf.h` a local user left there.
    The whole process moves while BCC compiles (BCC itself moves it into the kernel's build tree
    meanwhile), so paths the user gave are made absolute at start-up (cli.args)."""
    try:
        back: int | None = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:  # unreadable: netwatch stays where it compiled
        back = None
    os.chdir(SHARED_BPF_DIR)
    try:
        yield
    finally:
        if back is not None:
            try:
                os.fchdir(back)
            finally:
                os.close(back)


def detach(bpf: Any) -> None:
    _close_tracepoints(bpf)
    # Once netwatch is leaving, a compile still under way holds the lock for a second or more
    # (LLVM cannot be stopped): detaching then need not wait, since the process is ending and
    # the kernel releases what this object attached when its descriptors close. Waiting
    # stretched a Ctrl-C during `record`'s compiles from 0.1 s to 0.8 s.
    while not BCC_LOCK.acquire(timeout=LOCK_POLL_S):
        if LEAVING.is_set() and compiling():
            return
    try:
        bpf.cleanup()
    finally:
        BCC_LOCK.release()


def _close_tracepoints(bpf: Any) -> None:
    """Close the probe's perf-event tracepoints side by side, and outside BCC's lock. The kernel
    waits out a grace period as each closes, under a mutex of its own: 76 ms apiece on our VM,
    so Accepts' four took 0.3 s, and held the lock that every other probe's detach needs. A
    tracepoint left attached here is detached by BCC's cleanup."""
    names = list(getattr(bpf, "tracepoint_fds", {}))
    if not names:
        return
    closers = [
        threading.Thread(target=_detach_quietly, args=(bpf, name), name="netwatch-detach")
        for name in names
    ]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join()


def _detach_quietly(bpf: Any, name: bytes) -> None:
    with contextlib.suppress(Exception):  # BCC raises bare Exception; cleanup tries again
        bpf.detach_tracepoint(name)


def percpu_counter(bpf: Any, name: bytes, index: int = 0) -> int:
    """The sum over CPUs of slot `index` of a BPF_PERCPU_ARRAY of u64."""
    return int(sum(bpf[name].getvalue(ctypes.c_int(index))))


def drop_probe(text: str, macro: str, name: str) -> str:
    """Remove one `MACRO(name) { ... }` block (brace-balanced) from the BPF source: BCC attaches
    every probe it compiles, and a tracepoint this kernel lacks would fail the whole load."""
    start = text.index(f"{macro}({name})")
    depth = 0
    for i in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[:start] + text[i + 1 :]
    raise ValueError(f"unbalanced braces after {name}")


def release_freed_memory() -> None:
    """Hands back to the kernel what the compiler freed. Each probe compiles in its own thread,
    so in its own malloc arena, and glibc keeps an arena's freed pages for reuse: without this,
    four compiles leave some 250 MiB resident that nothing will use again."""
    try:
        libc = ctypes.CDLL(None)
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim this way
        pass
