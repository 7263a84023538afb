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

Everywhere
  1 2 3 4     Traffic, Calls, Accepts, Drops tab
  Tab  S-Tab  next / previous tab (the keys below always reach the tab shown)
  /           filter (terms AND together, a,b lists alternatives, !term negates;
              Enter applies, Escape cancels, an empty filter clears)
  p  Space    pause the display (collection goes on)
  F6          sort: choose from the tab's sort keys (Enter; Escape keeps the sort)
  > <         sort by the next / previous of those keys
  s           snapshot the view to files (.txt in the script's format, .json, .svg, ...)
  ?           this help (Escape closes)
  q  Ctrl-C   quit (probes are detached)

Replay (netwatch replay FILE)
  Space  p    pause / play the recording (every tab)
  .  ,        step one interval forward / back
  [ ]  { }    seek 10 s / a minute back and forward
  ( )         slower / faster (1/8x to 64x); the bar above the status line shows where

Traffic tab
  sort keys   the columns shown (default TOT_KB: sent and received, most first)
  click       a column's header sorts by it, a second click reverses (▼ ▲ mark it)
  cursor      stays on its process when the order changes (the list scrolls to it)
  r           reverse the sort
  /           pid:N  uid:N|name  comm:TEXT  dev:NAME or dev:PREFIX*  free text
              container:NAME  cgroup:PATH  netns:INODE (NAME* and PATH* match prefixes)
  c           toggle per-interval counts / totals since start
  g           a row per process, per program (PROCS: how many), per user, per container,
              or per connection (COMMAND: its command, protocol, local and remote end)
  Enter       the selected process: container, cgroup, netns, sockets, its traffic live
              (b: bits/s), its connections; Escape returns
  TX/s and RX/s are bytes per second over the last interval (K, M, G = 1024-based).
  XMIT_KB and RECV_KB are whole KiB, as nettop.stp printed them; TOT_KB is both.
  From 139 columns CONTAINER shows (the runtime's 12-digit id, else the systemd unit).
  Narrower than 123 columns UID goes, then (116) the rates, then (98) USER and packets.
  Unattributed rows (PID "-") hold device traffic no process can be charged with,
  with the reason in COMMAND. See docs/attribution.md.

Calls tab (traced only while this tab is shown)
  Enter       open / close the thread or call under the cursor (kept as calls arrive)
  + -         open all / fold every call to one line
  v           tree, or summary per thread: count, total and longest time, errors
  sort keys   threads by recent activity, call count or total time; r reverses
  f  End      follow the newest call (moving the cursor browses and stops following)
  /           pid:N  tid:N  comm:NAME (exact)  call:NAME or call:PREFIX*  free text
              container:NAME  cgroup:PATH  netns:INODE (the thread's process)
              pid, tid and comm are also applied in the kernel: others cost nothing
  * lines are socket-layer events inside the call; dim ones concern another socket
  (a softirq that ran on the CPU during the call).

Accepts tab
  f  End      follow the newest (moving up into the scroll-back stops following)
  sort keys   the summary by count or by port/address (the log stays in time order)
  /           port:N  src:ADDR or CIDR  comm:NAME  pid:N  uid:N|name  family:4|6|mapped
              container:NAME  cgroup:PATH  netns:INODE
  NEW marks a source address seen for the first time this session.

Drops tab
  g           group rows by location, function or reason
  (narrow screens sum several intervals to a heatmap cell; the legend says how many)
  l           log / linear colour scale (the legend under the heatmap says which)
  sort keys   total, last interval or name; r reverses
  /           reason:NAME  func:NAME  proto:ipv4|ipv6|arp  dev:NAME  netns:INODE  free text
  Enter       details of the selected row
"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 96; max-width: 100%; height: auto; max-height: 100%;
                                  border: round $accent; padding: 0 1; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "app.pop_screen", "Close")
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HELP_TEXT)
