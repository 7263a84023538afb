"""The `/` filter language shared by every tab: `key:value` terms and free text, ANDed.

A term's value may list alternatives with commas (`pid:10,20`); a leading `!` negates a term.
Each tab names its keys and matches its terms in its own view_model.py; the place keys
(`container:`, `cgroup:`, `netns:`) are parsed and matched here for every tab that knows where a
process runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from netwatch.model.containers import ProcContext


class FilterError(ValueError):
    """A filter the user typed cannot be understood; the message says why."""


UserLookup = Callable[[int], str]

# Where a process runs (#14), on every tab that knows it; parsed and matched alike there.
PLACE_KEYS = ("container", "cgroup", "netns")
PLACE_HINT = "container:NAME[*] cgroup:PATH[*] netns:N"  # for the tabs' filter boxes

# The largest value each numeric key can take: a pid, tid or uid is a 32-bit number in the
# kernel, a port 16 bits. Checked here, so a term that parsed can always be compared.
ID_MAX = 2**32 - 1
PORT_MAX = 65535


@dataclass(frozen=True, slots=True)
class Term:
    key: str  # one of the tab's keys, or "" for free text
    values: tuple[str, ...]
    negate: bool = False


def is_number(value: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '²' and '٣', which int() then refuses."""
    return value.isascii() and value.isdigit()


def _check_number(key: str, value: str, highest: int) -> None:
    if not is_number(value):
        raise FilterError(f"{key} must be a number, not '{value}'")
    if len(value) > len(str(highest)) or int(value) > highest:
        raise FilterError(f"{key} must be at most {highest}, not '{value[:20]}'")


def parse_terms(
    text: str,
    keys: tuple[str, ...],
    numeric: Mapping[str, int] | None = None,
    exact: tuple[str, ...] = (),
    number_or_name: Mapping[str, int] | None = None,
) -> tuple[Term, ...]:
    """Split a filter into terms; values are lower-cased except for the `exact` keys.
    `numeric` keys take whole numbers up to the given maximum; `number_or_name` keys take such
    a number, or a name (a user's) that holds no digit of another script."""
    numeric = numeric or {}
    number_or_name = number_or_name or {}
    terms: list[Term] = []
    for word in text.split():
        negate = word.startswith("!")
        if negate:
            word = word[1:]
        if not word:
            raise FilterError("'!' must be followed by a term")
        key, sep, value = word.partition(":")
        if not sep:
            terms.append(Term("", (word.lower(),), negate))
            continue
        key = key.lower()
        if key not in keys:
            known = ", ".join(k + ":" for k in keys)
            raise FilterError(f"unknown filter key '{key}:' (use {known})")
        values = tuple(v for v in value.split(",") if v)
        if not values:
            raise FilterError(f"'{key}:' needs a value")
        if key in numeric:
            for v in values:
                _check_number(key, v, numeric[key])
            values = tuple(str(int(v)) for v in values)  # "05" and "5" are one pid
        elif key in number_or_name:
            for v in values:
                if v.isdigit():  # digits of any script: only ASCII ones make a number
                    _check_number(key, v, number_or_name[key])
        if key not in exact:
            values = tuple(v.lower() for v in values)
        terms.append(Term(key, values, negate))
    return tuple(terms)


def name_matches(pattern: str, name: str) -> bool:
    """Exactly, or as a prefix where the pattern ends in `*`; an empty name never matches (so
    `container:*` is the processes in one, `!container:*` those outside any)."""
    if not name:
        return False
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


def place_matches(term: Term, place: ProcContext) -> bool:
    """A `container:`, `cgroup:` or `netns:` term against where a process runs."""
    if term.key == "container":
        return any(name_matches(v, place.container) for v in term.values)
    if term.key == "cgroup":
        return any(name_matches(v, place.cgroup) for v in term.values)
    return any(int(v) == place.netns for v in term.values)
