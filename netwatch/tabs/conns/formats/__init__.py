"""The Connections tab's text lines: `conns --batch` without --json, and the text snapshot.
Untrusted text (a command name) is escaped by whoever prints the line."""

from __future__ import annotations

from netwatch.tabs.conns.model import ConnRow
from netwatch.tabs.conns.view_model import endpoint, ms_text

HEADER = "%-7s %-15s %-4s %-23s %-23s %-11s %7s %5s %9s %9s %-7s %s" % (
    "PID", "COMM", "SIDE", "LOCAL", "REMOTE", "STATE", "RTT_MS", "RETR", "TX_B", "RX_B",
    "LIMIT", "END",
)  # fmt: skip
# --ended: one line per connection as it ends, as BCC's tcplife prints them.
ENDED_HEADER = "%-7s %-15s %-4s %-23s %-23s %9s %9s %9s %8s %s" % (
    "PID", "COMM", "SIDE", "LOCAL", "REMOTE", "TX_B", "RX_B", "LIFE_MS", "RETRANS", "END",
)  # fmt: skip


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)


def text_line(row: ConnRow, interval: float) -> str:
    return "%-7s %-15s %-4s %-23s %-23s %-11s %7s %5s %9s %9s %-7s %s" % (
        row.pid or "-", row.comm or "?", row.side or "-",
        endpoint(row.laddr, row.lport), endpoint(row.raddr, row.rport), row.state,
        ms_text(row.srtt_ms), _n(row.retrans), _n(row.xmit_bytes), _n(row.recv_bytes),
        row.limit(interval) or "-", row.end or "-",
    )  # fmt: skip


def ended_line(row: ConnRow) -> str:
    life = None
    if row.since is not None and row.ended_at is not None:
        life = (row.ended_at - row.since) * 1000
    return "%-7s %-15s %-4s %-23s %-23s %9s %9s %9s %8s %s" % (
        row.pid or "-", row.comm or "?", row.side or "-",
        endpoint(row.laddr, row.lport), endpoint(row.raddr, row.rport),
        _n(row.xmit_total), _n(row.recv_total), ms_text(life), _n(row.retrans_total),
        row.end or "-",
    )  # fmt: skip
