"""A row's recent rates as one line of block glyphs (a HISTORY column), scaled to the row's own
peak: the shape tells when it was busy, the detail gives the numbers. An idle interval is a
blank, so a burst among quiet seconds stands out. Terminals without UTF-8 get ASCII."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Hashable, Iterable, Sequence
from typing import Generic, TypeVar

# Where tables show a HISTORY column: from HISTORY_FROM columns, HISTORY_POINTS intervals wide
# where that fits beside the rest, else narrower down to MIN_HISTORY (the newest intervals).
HISTORY_FROM = 180
HISTORY_POINTS = 60
MIN_HISTORY = 20
BLOCKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"  # ▁▂▃▄▅▆▇█
ASCII_LEVELS = ".:-=+*#@"  # the same eight levels, lowest first

K = TypeVar("K", bound=Hashable)


def utf8_terminal(environ: dict[str, str] | None = None) -> bool:
    """Whether the locale the terminal was given is UTF-8 (the first of LC_ALL, LC_CTYPE and
    LANG that is set, as the C library reads them): "C", "POSIX" and other charsets are not.
    Python's own encoding cannot tell: it makes the C locale UTF-8 (PEP 538)."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(name)
        if value:
            charset = value.split(".", 1)[1].split("@")[0] if "." in value else ""
            return charset.replace("-", "").lower() == "utf8"
    return False


def spark(values: Sequence[float], ascii_only: bool = False) -> str:
    """One glyph per value, the largest the full block; 0 (idle) a space."""
    peak = max(values, default=0.0)
    glyphs = ASCII_LEVELS if ascii_only else BLOCKS
    top = len(glyphs) - 1
    if peak <= 0:
        return " " * len(values)
    return "".join(" " if v <= 0 else glyphs[min(top, int(v / peak * top + 0.5))] for v in values)


def summed(series: Iterable[Sequence[float]], length: int) -> list[float]:
    """Several rows' series as one (a grouped row's), aligned on their newest value."""
    total = [0.0] * length
    for values in series:
        for i, v in enumerate(values[-length:], start=length - min(length, len(values))):
            total[i] += v
    return total


class RecentRates(Generic[K]):
    """Each key's rate over the last `points` intervals, kept sparsely: an interval a key was
    not seen in costs nothing, and a key idle for `points` intervals is forgotten (swept once
    every `points` intervals), so the keys kept are those seen lately."""

    def __init__(self, points: int = 60) -> None:
        self.points = points
        self.now = 0  # the intervals seen
        self._seen: dict[K, deque[tuple[int, float]]] = {}

    def add(self, rates: dict[K, float]) -> None:
        """One interval: each key's rate in it (keys not given were idle)."""
        self.now += 1
        for key, rate in rates.items():
            kept = self._seen.get(key)
            if kept is None:
                kept = self._seen[key] = deque(maxlen=self.points)
            kept.append((self.now, rate))
        if self.now % self.points == 0:
            oldest = self.now - self.points
            for key in [k for k, kept in self._seen.items() if kept[-1][0] <= oldest]:
                del self._seen[key]

    def series(self, key: K, length: int | None = None) -> list[float]:
        """The key's last `length` (default all kept) intervals, oldest first, 0 where idle."""
        length = self.points if length is None else min(length, self.points)
        out = [0.0] * length
        first = self.now - length + 1
        for at, rate in self._seen.get(key, ()):
            if at >= first:
                out[at - first] = rate
        return out

    def keys(self) -> list[K]:
        return list(self._seen)

    def __len__(self) -> int:
        return len(self._seen)
