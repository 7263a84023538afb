"""`conns --batch --json` writes its lines without json.dumps (a churning host prints 60,000 a
second): each must parse to exactly the values json.dumps of the row's fields gives, key for
key and in order, whatever the row holds: nulls, hostile names, odd floats."""

from __future__ import annotations

import json
import math
import random
from dataclasses import fields
from functools import partial

from netwatch.tabs.conns.formats.json_lines import json_line, json_lines
from netwatch.tabs.conns.model import ENDS, FIELD_NAMES, STATES, ConnRow
from tests.helpers.conns import row

HOSTILE = ["", "curl", 'a"b', "back\\slash", "tab\there", "new\nline", "\x1b[31mred", "é名",
           "comma,colon:", "\u2028", "x" * 40, "\x00nul", "\ud800"]  # fmt: skip
FLOATS = [0.0, -0.0, 1e-7, 0.0005, 0.0015, 2.675, 0.1 + 0.2, 123456.789012345, 1e21, 1e300,
          2.5e-5, 1796631260.5077265, float("inf"), float("-inf"), float("nan")]  # fmt: skip


def same(a: object, b: object) -> bool:
    """Equal as parsed JSON, NaN equal to NaN and -0.0 told from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b


def check(line: str, r: ConnRow, user: str, ts: float, interval: float) -> None:
    want = json.loads(json.dumps(r.fields(user, ts, interval)))
    got = json.loads(line)
    assert list(got) == list(want) == list(FIELD_NAMES)
    bad = {k: (got[k], want[k]) for k in want if not same(got[k], want[k])}
    assert not bad, (line, bad)


def user_of(users: dict[int, str], r: ConnRow) -> str:
    return users[r.cid]


def random_row(rng: random.Random, cid: int) -> ConnRow:
    def maybe(value: object) -> object:
        return None if rng.random() < 0.3 else value

    def some_float() -> float:
        return rng.choice(FLOATS) if rng.random() < 0.4 else rng.uniform(0, 1e6)

    kw: dict[str, object] = {}
    for f in fields(ConnRow):
        kind = str(f.type)
        if f.name in ("comm", "cgroup", "laddr", "raddr", "family", "side", "state"):
            kw[f.name] = rng.choice([*HOSTILE, *STATES, "/kubepods/pod1/" + rng.choice(HOSTILE)])
        elif f.name == "end":
            kw[f.name] = maybe(rng.choice(ENDS))
        elif f.name == "connect_first":
            kw[f.name] = rng.random() < 0.5
        elif "float" in kind:
            kw[f.name] = maybe(some_float()) if "None" in kind else some_float()
        elif "None" in kind:
            kw[f.name] = maybe(rng.randrange(0, 2**64))
        else:
            kw[f.name] = rng.choice([0, 1, 65535, 2**32 - 1, rng.randrange(0, 2**64)])
    kw["cid"] = cid
    return ConnRow(**kw)  # type: ignore[arg-type]


def test_a_plain_row_gives_every_field_in_order() -> None:
    r = row(since=1796631260.5077265, busy_ms=0.5)
    check(json_line(r, "root", 1796631261.0000004, 1.0), r, "root", 1796631261.0000004, 1.0)


def test_an_ended_refused_connect_with_its_unknowns_as_null() -> None:
    r = row(pid=0, comm="", uid=None, state="CLOSE", end="refused", srtt_ms=None,
            rttvar_ms=None, min_rtt_ms=None, connect_ms=None, side="", ended_at=5.5)  # fmt: skip
    line = json_line(r, "", 2.0, 0.5)
    check(line, r, "", 2.0, 0.5)
    got = json.loads(line)
    assert got["pid"] is None and got["comm"] is None and got["side"] is None
    assert got["end"] == "refused"


def test_three_thousand_random_rows_with_hostile_text_and_odd_floats_parse_the_same() -> None:
    rng = random.Random(25)
    for batch in range(30):
        rows = [random_row(rng, batch * 100 + i) for i in range(100)]
        users = {r.cid: rng.choice(HOSTILE) for r in rows}
        ts = rng.choice([*FLOATS[:12], rng.uniform(0, 2e9)])
        interval = rng.choice([1.0, 0.25, 2, 10.0])
        lines = json_lines(rows, partial(user_of, users), ts, interval)
        for line, r in zip(lines, rows, strict=True):
            check(line, r, users[r.cid], ts, interval)
            assert line.isascii() and "\n" not in line  # one line, whatever the names hold
