"""Enter on a Traffic row: one process's command line, user and sockets, and its traffic live:
this interval, the window kept (by the clock, idle intervals included) and since start."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Sparkline

from netwatch.host.netns import NetnsNames, shown
from netwatch.host.procinfo import ProcessGone, process_info, same_process
from netwatch.model.averages import SPANS_S, averages, axis
from netwatch.model.containers import NO_CONTEXT
from netwatch.model.units import rate_text, size_text
from netwatch.screens.detail import DetailScreen
from netwatch.screens.plain import PlainStatic
from netwatch.tabs.traffic.model import Counters, HistoryPoint, TrafficKey, TrafficState

REFRESH_S = 1.0  # the screen reads the tab's state this often; samples arrive on their own


def per_interval(
    points: list[HistoryPoint], now: float, interval: float, most: int
) -> list[HistoryPoint]:
    """One point per interval from the first point to `now` (at most the last `most`), zeros
    where the process had no traffic (the history keeps only intervals with some)."""
    if not points or interval <= 0:
        return []
    count = min(most, max(1, round((now - points[0].ts) / interval) + 1))
    dense = [HistoryPoint(now - (count - 1 - i) * interval, 0, 0) for i in range(count)]
    for p in points:
        i = count - 1 - round((now - p.ts) / interval)
        if 0 <= i < count:
            dense[i] = p
    return dense


CONNECTIONS_SHOWN = 30


def _age_text(seconds: float) -> str:
    """How long ago netwatch first counted a connection: 42s, 7m12s, 3h05m."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class ProcessDetail(DetailScreen):
    DEFAULT_CSS = """
    ProcessDetail Sparkline { height: 3; }
    ProcessDetail .axis { color: $text-muted; margin: 0 0 1 0; }
    ProcessDetail .heading { text-style: bold; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("b", "bits", "Bits/bytes")]  # as iftop's

    def __init__(self, key: TrafficKey, state: TrafficState, live: bool = True) -> None:
        super().__init__()
        self.live = live  # False: a replay, which never reads this machine's /proc
        self.key = key
        self.state = state
        self.bits = False

    def details(self) -> Iterable[Widget]:
        k = self.key
        yield PlainStatic(f"PID {k.pid}  {k.comm}  (UID {k.uid})", classes="heading")
        yield PlainStatic(self._process_text(), id="detail-process")
        yield PlainStatic("", id="detail-rates")
        yield PlainStatic("", classes="heading", id="detail-tx-heading")
        yield Sparkline([0], id="detail-tx")
        yield PlainStatic("", classes="axis", id="detail-tx-axis")
        yield PlainStatic("", classes="heading", id="detail-rx-heading")
        yield Sparkline([0], id="detail-rx")
        yield PlainStatic("", classes="axis", id="detail-rx-axis")
        yield PlainStatic("Connections", classes="heading")
        yield PlainStatic("", id="detail-connections")

    def on_mount(self) -> None:
        self.refresh_traffic()
        self.set_interval(REFRESH_S, self.refresh_traffic)

    def action_bits(self) -> None:
        self.bits = not self.bits
        self.refresh_traffic()

    def refresh_traffic(self) -> None:
        last = self.state.last
        interval = last.interval if last and last.interval > 0 else 1.0
        now = last.ts if last else 0.0
        kept = list(self.state.history.get(self.key.pid, ()))
        points = per_interval(kept, now, interval, self.state.history_len)
        window = len(points) * interval
        self.query_one("#detail-rates", PlainStatic).update(self._rates_text(points, interval))
        for way, amounts in (("tx", [p.xmit_bytes for p in points]),
                             ("rx", [p.recv_bytes for p in points])):  # fmt: skip
            peak = max(amounts, default=0) / interval
            what = "Sent" if way == "tx" else "Received"
            self.query_one(f"#detail-{way}-heading", PlainStatic).update(
                f"{what} per second, last {window:.0f} s: 0 to {rate_text(peak, self.bits)}"
            )
            plot = self.query_one(f"#detail-{way}", Sparkline)
            plot.data = amounts or [0]
            width = plot.size.width or self.size.width
            self.query_one(f"#detail-{way}-axis", PlainStatic).update(axis(width, window))
        self.query_one("#detail-connections", PlainStatic).update(self._connections_text())

    def _connections_text(self) -> list[str]:
        """The process's connections, most bytes in the last interval first (then since
        start): what each sent and received, counted as its rows are, so they add up."""
        conns = self.state.connections_of(self.key.pid)
        if not conns:
            return ["none counted (traffic with no socket, or before netwatch started)"]
        lines = [f"{'':6}{'local':30}{'remote':30}{'state':13}{'age':>8}{'sent now':>12}"
                 f"{'received now':>14}{'sent':>12}{'received':>12}"]  # fmt: skip
        newest = self.state.last.ts if self.state.last else 0.0
        for conn, now, total in conns[:CONNECTIONS_SHOWN]:
            local, remote = conn.key.text().split(" ")[1:]
            age = _age_text(newest - conn.since) if conn.since else "-"
            lines.append(
                f"{conn.key.proto:6}{local:30}{remote:30}{conn.state or '-':13}{age:>8}"
                f"{size_text(now.xmit_bytes):>12}{size_text(now.recv_bytes):>14}"
                f"{size_text(total.xmit_bytes):>12}{size_text(total.recv_bytes):>12}"
            )
        if len(conns) > CONNECTIONS_SHOWN:
            lines.append(f"... {len(conns) - CONNECTIONS_SHOWN} more, less busy")
        return lines

    def _rates_text(self, points: list[HistoryPoint], interval: float) -> list[str]:
        """Current and cumulative side by side, in one unit style: rates in B/s (KiB, MiB...)
        or bit/s, amounts in B."""
        since_start = sum(
            (c for k, c in self.state.totals.items() if k.pid == self.key.pid), Counters()
        )
        window = len(points) * interval
        rows = [("sent", [p.xmit_bytes for p in points], since_start.xmit_bytes),
                ("received", [p.recv_bytes for p in points], since_start.recv_bytes)]  # fmt: skip
        head = f"{'':10}{'now (' + f'{interval:g}' + ' s)':>16}{f'average ({window:.0f} s)':>20}"
        lines = [head + f"{'peak':>16}{'in the window':>16}{'since start':>14}"]
        for name, series, total in rows:
            now = series[-1] / interval if series else 0.0
            average = sum(series) / window if window else 0.0
            peak = max(series, default=0) / interval
            lines.append(
                f"{name:10}{rate_text(now, self.bits):>16}{rate_text(average, self.bits):>20}"
                f"{rate_text(peak, self.bits):>16}{size_text(sum(series)):>16}"
                f"{size_text(total):>14}"
            )
        # iftop's: the last 2, 10 and 40 seconds, each way.
        lines.append(f"{'averages':10}" + "".join(f"{f'{s} s':>16}" for s in SPANS_S))
        for name, series, _ in rows:
            spans = averages(series, interval)
            lines.append(f"{name:10}" + "".join(
                f"{'-' if v is None else rate_text(v, self.bits):>16}" for v in spans
            ))  # fmt: skip
        lines.append("b: bits/s or bytes/s; the window is the last intervals kept, idle ones too")
        return lines

    def _process_text(self) -> list[str]:
        lines = self._where_text()
        exited = self.state.exited_at(self.key.pid)
        if exited is not None:
            lines.insert(0, f"exited: by {_when(exited)} (found gone then; its totals stay)")
        return lines

    def _where_text(self) -> list[str]:
        pid = self.key.pid
        seen = self.state.context_of(pid)
        # Where it ran, as the kernel saw it while its traffic was counted.
        recorded = [
            f"container: {seen.container or '-'}   netns: {seen.netns or '-'}",
            f"cgroup:  {seen.cgroup or '-'}",
        ]
        if seen.started:
            recorded.append(f"started: {_when(seen.started)} (as the kernel saw it)")
        if not self.live:
            return ["a recorded process: not looked up on this machine", *recorded]
        if not same_process(pid, seen.started):
            # PIDs wrap within minutes: whatever runs as this PID now is another process.
            return [f"process {pid} has exited; its PID now names another process", *recorded]
        try:
            info = process_info(pid)
        except ProcessGone as exc:
            return [str(exc), *recorded] if seen != NO_CONTEXT else [str(exc)]
        lines = []
        if not seen.started:  # no start to check it by (the kernel's context not seen yet)
            lines.append("(its start is unknown: a later process may have taken this PID)")
        lines += [
            f"command: {info.cmdline}",
            f"user:    {info.user}",
            f"started: {info.started}",
            f"container: {info.container or '-'}   netns: {_netns_shown(info.netns)}",
            f"cgroup:  {info.cgroup or '-'}",
            f"sockets: {len(info.sockets)}",
        ]
        for s in info.sockets[:50]:
            lines.append(f"  fd {s.fd:<4} {s.kind:<5} {s.local:<28} {s.remote:<28} {s.status}")
        if len(info.sockets) > 50:
            lines.append(f"  ... {len(info.sockets) - 50} more")
        return lines


def _when(wall: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall))


def _netns_shown(inode: int) -> str:
    """`web-b (4026532239)`: its `ip netns` name, "host", or its first process's container or
    command, beside the inode (a walk of /proc: the detail does it once, when it opens)."""
    return shown(inode, NetnsNames().name(inode))
