"""Calls events as a probe would deliver them, for the screen and model tests."""

from __future__ import annotations

from netwatch.tabs.calls.model import ENTER, EVENT, EXIT, CallEvent


def call(name: str, start: float, tid: int = 7, pid: int = 7, comm: str = "client",
         inside: tuple[str, ...] = ("sock_send_length",), ret: int = 0,
         **args: str) -> list[CallEvent]:  # fmt: skip
    evs = [CallEvent(start, pid, tid, comm, ENTER, name, tuple(args.items()))]
    evs += [
        CallEvent(start + (i + 1) * 1e-6, pid, tid, comm, EVENT, e, (("bytes", "5"),))
        for i, e in enumerate(inside)
    ]
    evs.append(CallEvent(start + 1e-4, pid, tid, comm, EXIT, name, (), ret, 100.0))
    return evs
