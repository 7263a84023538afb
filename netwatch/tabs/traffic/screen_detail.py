"""Enter on a Traffic row: one process's command line, user, sockets and recent traffic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Sparkline

from netwatch.procinfo import ProcessGone, process_info
from netwatch.screens.plain import PlainStatic
from netwatch.tabs.traffic.formats import human_rate
from netwatch.tabs.traffic.model import HistoryPoint, TrafficKey


class ProcessDetail(Screen[None]):
    DEFAULT_CSS = """
    ProcessDetail { padding: 0 1; }
    ProcessDetail Sparkline { height: 3; margin: 0 0 1 0; }
    ProcessDetail .heading { text-style: bold; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, key: TrafficKey, history: Sequence[HistoryPoint], interval: float) -> None:
        super().__init__()
        self.key = key
        self.history = list(history)
        self.interval = interval or 1.0

    def compose(self) -> ComposeResult:
        k = self.key
        with VerticalScroll():
            yield PlainStatic(f"PID {k.pid}  {k.comm}  (UID {k.uid})", classes="heading")
            yield PlainStatic(self._process_text(), id="detail-process")
            span = len(self.history) * self.interval
            yield PlainStatic(f"Sent per interval, last {span:.0f} s", classes="heading")
            yield Sparkline([p.xmit_bytes for p in self.history] or [0], id="detail-tx")
            yield PlainStatic(f"Received per interval, last {span:.0f} s", classes="heading")
            yield Sparkline([p.recv_bytes for p in self.history] or [0], id="detail-rx")
            yield PlainStatic(self._totals_text(), id="detail-totals")
        yield Footer()

    def _process_text(self) -> list[str]:
        try:
            info = process_info(self.key.pid)
        except ProcessGone as exc:
            return [str(exc)]
        lines = [
            f"command: {info.cmdline}",
            f"user:    {info.user}",
            f"started: {info.started}",
            f"sockets: {len(info.sockets)}",
        ]
        for s in info.sockets[:50]:
            lines.append(f"  fd {s.fd:<4} {s.kind:<5} {s.local:<28} {s.remote:<28} {s.status}")
        if len(info.sockets) > 50:
            lines.append(f"  ... {len(info.sockets) - 50} more")
        return lines

    def _totals_text(self) -> str:
        tx = sum(p.xmit_bytes for p in self.history)
        rx = sum(p.recv_bytes for p in self.history)
        peak_tx = max((p.xmit_bytes for p in self.history), default=0) / self.interval
        peak_rx = max((p.recv_bytes for p in self.history), default=0) / self.interval
        return (
            f"over this window: sent {tx} B, received {rx} B; "
            f"peak {human_rate(round(peak_tx))}B/s out, {human_rate(round(peak_rx))}B/s in"
        )
