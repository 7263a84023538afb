"""What a tab exports: its tables of label sets and the Prometheus metric families each table
is shown as. Each tab's metrics.py describes its own; nothing here knows Prometheus's client."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from netwatch.export.series import Labels

# Latency buckets for socket calls, seconds: from a non-blocking send (a microsecond or two) to
# a blocking accept or recv that waits for a peer (seconds).
CALL_BUCKETS = (1e-6, 4e-6, 16e-6, 64e-6, 256e-6, 1e-3, 4e-3, 16e-3, 64e-3, 0.25, 1.0, 4.0)


@dataclass(frozen=True, slots=True)
class Family:
    """One metric: a counter is one column of its table; a histogram is its table's columns
    from `column` on: the count, the sum, then one per bucket and +Inf (not cumulative)."""

    name: str
    help: str
    column: int
    buckets: tuple[float, ...] = ()  # a histogram's upper bounds; empty for a counter

    @property
    def histogram(self) -> bool:
        return bool(self.buckets)


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    labels: tuple[str, ...]
    width: int
    families: tuple[Family, ...]


@dataclass(frozen=True, slots=True)
class ExportOptions:
    pid_label: bool = False  # per-PID series: opt-in, they are what blows up cardinality


# A tab's metrics call this for each row or event: (table, label values, values, activity).
Add = Callable[[str, Labels, Sequence[float], float], None]


class TabMetrics(Protocol):
    """A tab's part that turns its samples into counts (netwatch/tabs/NAME/metrics.py)."""

    def tables(self) -> tuple[TableSpec, ...]: ...

    def count(self, sample: Any, add: Add) -> None: ...


class OneCounter:
    """A tab exported as one counter: each row or event of a sample adds `amount(item)` under
    the label values `labels(item)`."""

    def __init__(
        self,
        table: str,
        name: str,
        help: str,
        label_names: tuple[str, ...],
        labels: Callable[[Any], Labels],
        amount: Callable[[Any], int] = lambda item: 1,
    ) -> None:
        self._spec = TableSpec(table, label_names, 1, (Family(name, help, 0),))
        self._labels = labels
        self._amount = amount

    def tables(self) -> tuple[TableSpec, ...]:
        return (self._spec,)

    def count(self, sample: Any, add: Add) -> None:
        for item in sample.items:
            n = self._amount(item)
            add(self._spec.name, self._labels(item), (n,), n)


def histogram_columns(value: float, buckets: Sequence[float]) -> list[float]:
    """One observation as a histogram's columns: count 1, the value as the sum, and a 1 in the
    first bucket that holds it (+Inf last)."""
    columns = [1.0, value] + [0.0] * (len(buckets) + 1)
    index = next((i for i, bound in enumerate(buckets) if value <= bound), len(buckets))
    columns[2 + index] = 1.0
    return columns
