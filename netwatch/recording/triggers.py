"""A flight recorder's triggers: `--trigger EXPR`, EXPR `NAME>N/s` or `NAME:DETAIL>N/s`, a rate
over one interval of one tab's sample.

The names are the tabs' own (each tab's triggers.py offers MEASURES, handed in here by the
registry): this layer knows no tab. A measure counts what one sample holds (drops, bytes,
accepts...), with DETAIL narrowing it where the tab allows (a drop reason); the rate is that
count over the sample's interval."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# (sample, detail or "") -> how many in that sample's interval. A detail the measure does not
# take (its Measure.detail is "") is refused when parsed.
Count = Callable[[Any, str], float]


@dataclass(frozen=True, slots=True)
class Measure:
    count: Count
    what: str  # for the help: "packets the kernel dropped"
    detail: str = ""  # what a DETAIL names, "" if it takes none
    tab: str = ""  # whose samples it counts (the registry sets it: netwatch.tabs.triggers)


@dataclass(frozen=True, slots=True)
class Trigger:
    name: str
    detail: str
    per_second: float
    measure: Measure

    @property
    def text(self) -> str:
        detail = f":{self.detail}" if self.detail else ""
        return f"{self.name}{detail}>{self.per_second:g}/s"

    def rate(self, tab: str, sample: Any) -> float | None:
        """The sample's rate if it is this trigger's tab's, else None."""
        if tab != self.measure.tab or sample.interval <= 0:
            return None
        interval: float = sample.interval
        return self.measure.count(sample, self.detail) / interval


class TriggerError(ValueError):
    """What is wrong with an --trigger expression, in one line."""


_EXPR = re.compile(
    r"(?P<name>[a-z]+)(?::(?P<detail>[A-Za-z0-9_.-]{1,64}))?>(?P<n>[0-9]+(?:\.[0-9]+)?)"
    r"(?P<unit>[kKMG]?)/s"
)
_UNITS = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}


def parse_trigger(text: str, measures: Mapping[str, Measure]) -> Trigger:
    expr = text.strip().replace(" ", "")
    found = _EXPR.fullmatch(expr)
    known = ", ".join(sorted(measures))
    if found is None:
        raise TriggerError(
            f"bad trigger {text[:80]!r}: expected NAME>N/s or NAME:DETAIL>N/s (NAME one of "
            f"{known}), e.g. drops:NETFILTER_DROP>100/s"
        )
    name, detail = found["name"], found["detail"] or ""
    measure = measures.get(name)
    if measure is None:
        raise TriggerError(f"unknown trigger {name!r}: one of {known}")
    if detail and not measure.detail:
        raise TriggerError(f"trigger {name!r} takes no ':{detail}' (it counts {measure.what})")
    return Trigger(name, detail, float(found["n"]) * _UNITS[found["unit"]], measure)


def help_text(measures: Mapping[str, Measure]) -> str:
    return "; ".join(
        f"{name}{':' + m.detail if m.detail else ''} ({m.what})" for name, m in measures.items()
    )
