"""Checked conversions for a recording's fields: each one returns the value if it has its
type and a sane range (finite times, ids that fit the kernel's, addresses that parse), else
raises BadRecord naming the field. A recording is a file anyone can hand the operator, so the
codecs (the envelope's and each tab's) read every field through these.

Used as a module, `checks.port(lport, "local port")`: the short names read as what a field is.
"""

from __future__ import annotations

import ipaddress
import json
import math
from typing import Any

# Bounds for what a record may hold. Times: the Unix epoch to the year 2242 (2**33 s).
TS_MAX = float(2**33)
INTERVAL_MAX = 86_400.0
ID_MIN, ID_MAX = -1, 2**32 - 1  # -1: the "no process" of unattributed rows
NETNS_MAX = 2**32 - 1  # a network namespace's inode number: 32 bits in nsfs
CGROUP_PATH_MAX = 4096
U64_MAX = 2**64 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
TEXT_MAX = 4096  # a command name is 15 bytes; a Calls argument (an AF_UNIX path) far less
INT_DIGITS_MAX = 20  # enough for any 64-bit number; json would otherwise parse 10**5000
# Rows (or events) of one record that are replayed. A live interval holds far fewer (the probes'
# maps are smaller); a record with more is made to exhaust memory (a million-row record took
# the replay UI to 3.7 GB): the rest are counted in the sample's `cut`, and said, not kept.
MAX_ITEMS_PER_RECORD = 100_000


class BadRecord(ValueError):
    """A record that does not hold what its tab's format says; the message names the field."""


# ---- checked conversions ----------------------------------------------------------------------
def whole(value: Any, low: int, high: int, what: str) -> int:
    if type(value) is not int or not low <= value <= high:  # bool is an int: refused too
        raise BadRecord(f"{what} is not a whole number from {low} to {high}")
    return value


def finite(value: Any, low: float, high: float, what: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or not low <= value <= high:
        raise BadRecord(f"{what} is not a finite number from {low:g} to {high:g}")
    return float(value)


def text(value: Any, what: str, limit: int = TEXT_MAX) -> str:
    if type(value) is not str or len(value) > limit:
        raise BadRecord(f"{what} is not text of at most {limit} characters")
    return value


def address(value: Any, what: str) -> str:
    shown = text(value, what, 64)
    try:
        ipaddress.ip_address(shown)
    except ValueError:
        raise BadRecord(f"{what} is not an IP address") from None
    return shown


def fields(value: Any, size: int, what: str) -> list[Any]:
    if type(value) is not list or len(value) != size:
        raise BadRecord(f"{what} is not a list of {size} fields")
    return value


# The fields most records hold, each with the range the kernel gives it.
def ident(value: Any, what: str) -> int:
    """A PID, TID or UID."""
    return whole(value, 0, ID_MAX, what)


def port(value: Any, what: str) -> int:
    return whole(value, 0, 0xFFFF, what)


def count(value: Any, what: str) -> int:
    return whole(value, 0, U64_MAX, what)


def netns(value: Any) -> int:
    return whole(value, 0, NETNS_MAX, "netns")


def cgroup(value: Any) -> str:
    return text(value, "cgroup", CGROUP_PATH_MAX)


def time(value: Any, what: str) -> float:
    """Wall-clock seconds since the epoch."""
    return finite(value, 0, TS_MAX, what)


def _reject_constant(name: str) -> float:
    raise BadRecord(f"{name} is not a number a recording may hold")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > INT_DIGITS_MAX:
        raise BadRecord(f"a number of {len(digits)} digits")
    return int(digits)


def parse_json_line(line: bytes) -> Any:
    """One line as JSON, refusing NaN, Infinity and numbers too long to be a field."""
    try:
        return json.loads(line, parse_constant=_reject_constant, parse_int=_bounded_int)
    except RecursionError:
        raise BadRecord("nested too deeply") from None
    except UnicodeDecodeError:
        raise BadRecord("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadRecord(exc.msg) from None
