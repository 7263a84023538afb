"""The Drops tab's items in a recording: each one a JSON list
[location, reason, protocol, symbol, count, dev, port, netns]
under "rows", read back with every field checked. Rows of the first seven (recorded before the
namespace was) read too."""

from __future__ import annotations

from typing import Any

from netwatch.recording import checks
from netwatch.recording.codec import Codec
from netwatch.recording.replay import replay_source
from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample


def drop_row_out(r: DropRow) -> list[Any]:
    return [r.key.location, r.key.reason, r.key.protocol, r.symbol, r.count, r.dev, r.port,
            r.netns]  # fmt: skip


def drop_row_in(item: Any) -> DropRow:
    if type(item) is list and len(item) == 7:  # recorded before the namespace was
        item = [*item, 0]
    loc, reason, proto, symbol, count, dev, port, netns = checks.fields(item, 8, "a drops row")
    return DropRow(
        DropKey(
            checks.whole(loc, 0, checks.U64_MAX, "location"),
            checks.text(reason, "reason"),
            checks.whole(proto, 0, 0xFFFF, "protocol"),
        ),
        checks.text(symbol, "symbol"),
        checks.count(count, "count"),
        checks.text(dev, "dev"),
        checks.port(port, "port"),
        netns=checks.netns(netns),
    )


CODEC = Codec("rows", drop_row_out, drop_row_in, DropsSample, replay_source)
