"""A bounded memo for the hot decoders and writers: a value made once per distinct key (an
address's text, a name's JSON), the memo emptied when full, since a churning host's distinct
keys must not grow it without bound."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def remembered(memo: dict[K, V], key: K, make: Callable[[K], V], limit: int) -> V:
    """memo[key], made by make(key) the first time it is asked for."""
    found = memo.get(key)
    if found is None:
        if len(memo) >= limit:
            memo.clear()
        found = memo[key] = make(key)
    return found
