"""Enter on a Connections row: the connection over its life, the kernel's tcp_info, how it
opened and how it ended."""

from __future__ import annotations

import time
from collections.abc import Iterable

from textual.widget import Widget

from netwatch.model.averages import SPANS_S, averages
from netwatch.model.units import rate_text
from netwatch.screens.detail import DetailScreen
from netwatch.screens.plain import PlainStatic
from netwatch.tabs.conns.model import LIMITS, ConnRow, History, limit_shares
from netwatch.tabs.conns.view_model import age_text, endpoint, ms_text, sparkline

WHEN = "%Y-%m-%d %H:%M:%S"


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime(WHEN, time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def _value(value: object, unit: str = "") -> str:
    return "-" if value is None else f"{value}{unit}"


def detail_lines(row: ConnRow, history: History | None, interval: float, user: str) -> list[str]:
    """The detail's text (also what tests read)."""
    lines = [
        f"{endpoint(row.laddr, row.lport)} -> {endpoint(row.raddr, row.rport)}  "
        f"({row.family}, {row.side or 'side unknown'})",
        f"process {row.comm or '?'} pid {row.pid or '-'} user {user or '-'}"
        f"  container {row.container or '-'}  netns {row.netns or '-'}",
        f"opened {_when(row.since)}"
        + (f", connect {ms_text(row.connect_ms)} ms" if row.connect_ms is not None else ""),
        f"state {row.state}"
        + (f", ended {_when(row.ended_at)}: {row.end}" if row.end is not None else "")
        + (
            f" after {age_text((row.ended_at or 0) - row.since)}"
            if row.end is not None and row.since is not None
            else ""
        ),
        "",
        f"rtt {ms_text(row.srtt_ms)} ms  rttvar {ms_text(row.rttvar_ms)} ms  "
        f"min rtt {ms_text(row.min_rtt_ms)} ms",
        f"retransmitted {_value(row.retrans)} segments last interval, "
        f"{_value(row.retrans_total)} in all; resets sent {row.resets_sent}, "
        f"received {row.resets_received}",
        f"bytes sent {_value(row.xmit_total)}, received {_value(row.recv_total)} in all; "
        f"last interval {_value(row.xmit_bytes)} out, {_value(row.recv_bytes)} in",
        f"tcp_info: cwnd {_value(row.cwnd)}  ssthresh {_value(row.ssthresh)}  "
        f"mss {_value(row.mss)}  pacing {_rate(row.pacing_rate)}  "
        f"delivery {_rate(row.delivery_rate)}",
    ]
    shares = limit_shares(row, interval)
    if shares:
        lines.append(
            "last interval: "
            + ", ".join(f"{cause} {100 * shares[cause]:.0f}%" for cause in LIMITS)
            + f"  (busy {ms_text(row.busy_ms)} ms, rwnd-limited "
            f"{ms_text(row.rwnd_limited_ms)} ms, "
            f"sndbuf-limited {ms_text(row.sndbuf_limited_ms)} ms)"
        )
    else:
        lines.append("limited by: unknown for this interval")
    if history is not None:
        lines += [
            "",
            f"over its life here ({len(history.srtt_ms)} intervals, oldest left):",
            f"  rtt      {sparkline(history.srtt_ms, unit=lambda v: ms_text(v) + ' ms')}",
            f"  retrans  {sparkline(history.retrans, unit=lambda v: f'{v:.0f} segments')}",
            f"  rate     {sparkline(history.rate, unit=rate_text)}",
            "",
            "averages " + "".join(f"{seconds:>12} s" for seconds in SPANS_S),
        ]
        for name, series in (("sent", history.xmit), ("received", history.recv)):
            amounts = [(v or 0.0) * interval for v in series]
            spans = averages(amounts, interval)
            lines.append(f"{name:9}" + "".join(
                f"{'-' if v is None else rate_text(v):>14}" for v in spans
            ))  # fmt: skip
    return lines


def _rate(bytes_per_s: int | None) -> str:
    if bytes_per_s is None:
        return "-"
    return f"{bytes_per_s * 8 / 1e6:.1f}Mb/s"


class ConnDetail(DetailScreen):
    def __init__(self, row: ConnRow, history: History | None, interval: float, user: str) -> None:
        super().__init__()
        self.lines = detail_lines(row, history, interval, user)

    def details(self) -> Iterable[Widget]:
        yield PlainStatic(self.lines, id="conn-detail")
