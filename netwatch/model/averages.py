"""iftop's three averages: a rate over the last 2, 10 and 40 seconds, from per-interval
amounts. Short bursts show in the first, trends in the last."""

from __future__ import annotations

import math
from collections.abc import Sequence

SPANS_S = (2, 10, 40)


def span_average(amounts: Sequence[float], interval: float, seconds: float) -> float | None:
    """The rate (amount per second) over the last `seconds`: the newest intervals that span
    them (at least one), over the time they cover; None with no interval yet. Idle intervals
    count as 0: the series must hold them (one value per interval)."""
    if not amounts or interval <= 0:
        return None
    n = min(len(amounts), max(1, math.ceil(seconds / interval - 1e-9)))
    return sum(amounts[-n:]) / (n * interval)


def averages(
    amounts: Sequence[float], interval: float, spans: Sequence[float] = SPANS_S
) -> list[float | None]:
    return [span_average(amounts, interval, s) for s in spans]


def axis(width: int, seconds: float) -> str:
    """A time axis `width` cells wide under a plot of the last `seconds`: its left end, its
    middle and now."""
    if width < 12 or seconds <= 0:
        return ""
    left, middle, right = f"-{seconds:.0f}s", f"-{seconds / 2:.0f}s", "now"
    gap = width - len(left) - len(middle) - len(right)
    first = (width - len(middle)) // 2 - len(left)
    if gap < 2 or first < 1:
        return f"{left}{' ' * max(1, width - len(left) - len(right))}{right}"[:width]
    return f"{left}{' ' * first}{middle}{' ' * (gap - first)}{right}"
