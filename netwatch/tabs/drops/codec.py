"""The Drops tab's items in a recording: each one a JSON list
[location, reason, protocol, symbol, count, dev, port, netns]
under "rows", read back with every field checked. Rows of the first seven (recorded before the
namespace was) read too."""

from __future__ import annotations

from typing import Any

from netwatch.recording.codec import NETNS_MAX, U64_MAX, Codec, fields, text, whole
from netwatch.recording.replay import replay_source
from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample


def drop_row_out(r: DropRow) -> list[Any]:
    return [r.key.location, r.key.reason, r.key.protocol, r.symbol, r.count, r.dev, r.port,
            r.netns]  # fmt: skip


def drop_row_in(item: Any) -> DropRow:
    if type(item) is list and len(item) == 7:  # recorded before the namespace was
        item = [*item, 0]
    loc, reason, proto, symbol, count, dev, port, netns = fields(item, 8, "a drops row")
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
        netns=whole(netns, 0, NETNS_MAX, "netns"),
    )


CODEC = Codec("rows", drop_row_out, drop_row_in, DropsSample, replay_source)
