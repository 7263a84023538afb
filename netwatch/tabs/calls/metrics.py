"""The Calls tab as Prometheus metrics: socket calls per command, call and result, and how
long they took. Exported only when asked for: tracing every socket call costs the most."""

from __future__ import annotations

import errno

from netwatch.export.spec import CALL_BUCKETS, Add, ExportOptions, Family, TableSpec
from netwatch.export.spec import histogram_columns as observed
from netwatch.model.untrusted import name_text, printable
from netwatch.tabs.calls.model import EXIT, FOLDED, CallsSample

RETURNED = frozenset({EXIT, FOLDED})  # a folded event is a whole call, returned

TABLE = "calls"


def result_of(ret: int) -> str:
    """The result label: ok, or the error's name (EAGAIN), a bounded set unlike return values."""
    if ret >= 0 or ret < -4095:  # past -MAX_ERRNO a negative return is not an error
        return "ok"
    return errno.errorcode.get(-ret, f"E{-ret}")


class CallsMetrics:
    def tables(self) -> tuple[TableSpec, ...]:
        calls = Family(
            "netwatch_socket_calls_total",
            "Socket system calls that returned, per command, call and result (ok or the errno)",
            0,
        )
        duration = Family(
            "netwatch_socket_call_duration_seconds",
            "Time from a socket call's entry to its return",
            0,
            CALL_BUCKETS,
        )
        width = 2 + len(CALL_BUCKETS) + 1
        return (TableSpec(TABLE, ("comm", "call", "result"), width, (calls, duration)),)

    def count(self, sample: CallsSample, add: Add) -> None:
        for e in sample.events:
            if e.kind not in RETURNED:
                continue
            labels = (name_text(e.comm), printable(e.name), result_of(e.ret))
            add(TABLE, labels, observed(e.dur_us / 1e6, CALL_BUCKETS), 1)


def metrics(options: ExportOptions) -> CallsMetrics:
    return CallsMetrics()
