"""The Drops tab's items in a recording: each one a JSON list
[location, reason, protocol, symbol, count, dev, port]
under "rows", read back with every field checked."""

from __future__ import annotations

from typing import Any

from netwatch.record_codec import U64_MAX, Codec, fields, text, whole
from netwatch.replay import replay_source
from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample


def drop_row_out(r: DropRow) -> list[Any]:
    return [r.key.location, r.key.reason, r.key.protocol, r.symbol, r.count, r.dev, r.port]


def drop_row_in(item: Any) -> DropRow:
    loc, reason, proto, symbol, count, dev, port = fields(item, 7, "a drops row")
    return DropRow(
        DropKey(
            whole(loc, 0, U64_MAX, "location"),
            text(reason, "reason"),
            whole(proto, 0, 0xFFFF, "protocol"),
        ),
        text(symbol, "symbol"),
        whole(count, 0, U64_MAX, "count"),
        text(dev, "dev"),
        whole(port, 0, 0xFFFF, "port"),
    )


CODEC = Codec("rows", drop_row_out, drop_row_in, DropsSample, replay_source)
