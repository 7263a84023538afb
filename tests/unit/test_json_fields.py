"""docs/tabs.md lists every field of every batch command's JSON (#24): each list here is the
docs', read from the file, against the objects the commands print."""

from __future__ import annotations

import io
import json
import re

from netwatch.cli.batch import Output
from netwatch.model.containers import ProcContext
from netwatch.tabs.accepts.batch import printer as accepts_printer
from netwatch.tabs.accepts.model import AcceptEvent, AcceptsSample
from netwatch.tabs.calls.batch import printer as calls_printer
from netwatch.tabs.calls.model import ENTER, EXIT, OUTCOME, CallEvent, CallsSample
from netwatch.tabs.conns.batch import printer as conns_printer
from netwatch.tabs.conns.model import ConnsSample
from netwatch.tabs.drops.batch import printer as drops_printer
from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample
from netwatch.tabs.traffic import model as tm
from netwatch.tabs.traffic.batch import printer as top_printer
from tests.helpers.conns import row as conn_row
from tests.helpers.paths import ROOT

PID = 4242


def documented() -> dict[str, set[str]]:
    text = (ROOT / "docs" / "tabs.md").read_text()
    found = {}
    for m in re.finditer(r"<!-- json: ([\w-]+) -->\n(.*?)(?:\n\n|\Z)", text, re.S):
        # The fields are the backquoted names after the colon that ends the description.
        listed = m.group(2).split(":", 1)[1]
        found[m.group(1)] = set(re.findall(r"`([a-z_]+)`", listed))
    return found


def printed(emit: object, sample: object) -> set[str]:
    out = io.StringIO()
    emit(out)(sample)  # type: ignore[operator]
    return {key for line in out.getvalue().splitlines() for key in json.loads(line)}


def test_every_batch_commands_json_fields_are_the_documented_ones() -> None:
    docs = documented()
    assert set(docs) == {"top", "top-connection", "drops", "accepts", "calls", "conns"}
    how = Output(json=True)
    mine = tm.TrafficKey(PID, 0, "eth0", "curl")
    lost = tm.TrafficKey(-1, -1, "eth0", "", "rx-not-delivered")
    conn = tm.ConnRow(tm.ConnKey(PID, "tcp", "10.0.0.1", 40000, "10.0.0.2", 80), "curl",
                   tm.Counters(1, 1, 100, 100), "ESTABLISHED", 1000.0)  # fmt: skip
    rows = (tm.TrafficRow(mine, tm.Counters(1, 1, 1, 1)),
            tm.TrafficRow(lost, tm.Counters(0, 1, 0, 60)))  # fmt: skip
    context = {PID: ProcContext("/docker-x.scope", 4026531840, 999.0)}
    traffic = tm.TrafficSample(1001.0, 1.0, rows, 0, context, (conn,))
    per_row = printed(lambda out: top_printer(how, out), traffic)
    grouped = printed(lambda out: top_printer(how, out, by="user"), traffic)
    assert per_row | grouped == docs["top"]
    assert (
        printed(lambda out: top_printer(how, out, by="connection"), traffic)
        == docs["top-connection"]
    )
    drop = DropRow(DropKey(0xFFFF0001, "NO_SOCKET", 0x800), "f+0x1", 3, "eth0", 53, netns=1)
    assert (
        printed(lambda out: drops_printer(how, out), DropsSample(1.0, 1.0, (drop,)))
        == docs["drops"]
    )
    accept = AcceptEvent(1.0, PID, PID, 0, "nginx", "ipv4", "10.0.0.2", 80, "10.0.0.1", 40000)
    assert (
        printed(lambda out: accepts_printer(how, out), AcceptsSample(1.0, 1.0, (accept,)))
        == (docs["accepts"])
    )
    events = (
        CallEvent(1.0, PID, PID, "curl", ENTER, "connect", (("fd", "3"),)),
        CallEvent(1.001, PID, PID, "curl", EXIT, "connect", (), -115, 1000.0),
        CallEvent(1.002, PID, PID, "curl", OUTCOME, "connect", (("outcome", "established"),),
                  0, 2000.0),
    )  # fmt: skip
    assert (
        printed(lambda out: calls_printer(how, out), CallsSample(1.0, 1.0, events)) == docs["calls"]
    )
    conns = ConnsSample(1.0, 1.0, (conn_row(), conn_row(cid=2, end="refused", srtt_ms=None)))
    assert printed(lambda out: conns_printer(how, False, out), conns) == docs["conns"]


def test_numbers_are_numbers_and_unattributed_rows_are_named_as_the_ui_names_them() -> None:
    out = io.StringIO()
    enter = CallEvent(1.0, PID, PID, "curl", ENTER, "sendto", (("fd", "3"), ("flags", "0x40")))
    calls_printer(Output(json=True), out)(CallsSample(1.0, 1.0, (enter,)))
    assert json.loads(out.getvalue())["args"] == {"fd": 3, "flags": "0x40"}
    out = io.StringIO()
    lost = tm.TrafficKey(-1, -1, "eth0", "", "rx-not-delivered")
    top_printer(Output(json=True), out)(
        tm.TrafficSample(1.0, 1.0, (tm.TrafficRow(lost, tm.Counters(0, 1, 0, 60)),))
    )
    assert json.loads(out.getvalue())["comm"] == "[rx-not-delivered]"


def test_conns_json_says_unknown_as_null_and_the_documented_keys_in_order() -> None:
    out = io.StringIO()
    pre_existing = conn_row(xmit_bytes=None, recv_bytes=None, retrans=None, since=None, pid=0)
    conns_printer(Output(json=True), False, out)(ConnsSample(5.0, 1.0, (pre_existing,)))
    obj = json.loads(out.getvalue())
    assert obj["xmit_bytes"] is None and obj["retrans"] is None and obj["since"] is None
    assert obj["pid"] is None and obj["end"] is None
    issue_order = ["ts", "interval", "pid", "comm", "user", "container", "netns", "family",
                   "laddr", "lport", "raddr", "rport", "side", "state", "since", "xmit_bytes",
                   "recv_bytes", "srtt_ms", "rttvar_ms", "min_rtt_ms", "retrans",
                   "retrans_total", "resets_sent", "resets_received", "connect_ms", "busy_ms",
                   "rwnd_limited_ms", "sndbuf_limited_ms", "end"]  # fmt: skip
    assert list(obj)[: len(issue_order)] == issue_order
