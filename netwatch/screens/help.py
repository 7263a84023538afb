"""`?`: every key, in one place."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT = """\
netwatch keys

  1 2 3 4     Traffic, Calls, Accepts, Accepts tab
  f  End      follow the newest (moving up into the scroll-back stops following)
  >           sort the summary by count or by port/address
  /           filter: port:N  src:ADDR or CIDR  comm:NAME  pid:N  uid:N|name  family:4|6|mapped
  p  s        pause (nothing is lost), snapshot (.txt in the seed's format, .json, .csv, .svg)
  NEW marks a source address seen for the first time this session.

Drops tab
  q  Ctrl-C   quit (probes are detached)
  ?           this help (Escape closes)

Traffic tab
  > <         sort by the next / previous column (default: total packets, most first)
  r           reverse the sort
  /           filter: pid:N  uid:N|name  comm:TEXT  dev:NAME or dev:PREFIX*  free text
              terms AND together, a,b lists alternatives, !term negates;
              Enter applies, Escape cancels, an empty filter clears
  c           toggle per-interval counts / totals since start
  p  Space    pause the display (counting goes on)
  s           snapshot the view to .txt, .json and .svg files
  Enter       details of the selected process; Escape returns

TX/s and RX/s are bytes per second over the last interval (K, M, G = 1024-based).
XMIT_KB and RECV_KB are whole KiB, as nettop.stp printed them.

Drops tab
  g           group rows by location, function or reason
  l           log / linear colour scale (the legend under the heatmap says which)
  > r         sort by total, last interval or name; reverse
  /           filter: reason:NAME  func:NAME  proto:ipv4|ipv6|arp  dev:NAME  free text
  p  s  Enter pause (counting goes on), snapshot, details of the selected row

Unattributed rows (PID "-") hold device traffic no process can be charged with,
with the reason in COMMAND. See README, "How attribution works".
"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 100%; height: auto; max-height: 100%;
                                  border: round $accent; padding: 0 1; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "app.pop_screen", "Close")
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HELP_TEXT)
