"""`?`: every key, in one place."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# What every tab shares; each tab adds its own section (its screen.py's HELP), and the keys that
# switch tabs come from the registry, so this names no tab.
GENERAL = """\
netwatch keys

Everywhere
{tab_keys}
  Tab  S-Tab  next / previous tab (the keys below always reach the tab shown)
  /           filter (terms AND together, a,b lists alternatives, !term negates;
              Enter applies, Escape cancels, an empty filter clears)
  p  Space    pause the display (collection goes on)
  F6          sort: choose from the tab's sort keys (Enter; Escape keeps the sort)
  > <         sort by the next / previous of those keys
  s           snapshot the view to files (.txt in the script's format, .json, .svg, ...)
  W           save the last 5 minutes of every tab as a recording (netwatch replay it)
  ?           this help (Escape closes)
  q  Ctrl-C   quit (probes are detached)

Replay (netwatch replay FILE)
  Space  p    pause / play the recording (every tab)
  .  ,        step one interval forward / back
  [ ]  { }    seek 10 s / a minute back and forward
  ( )         slower / faster (1/8x to 64x); the bar above the status line shows where
"""


def help_text(tabs: list[tuple[str, str, str]], shown: str = "") -> str:
    """The help screen's text for the tabs given as (key, title, their HELP), in order; the
    tab titled `shown` (the one on screen) first, above the keys every tab shares, since its
    keys are the ones the reader is looking for."""
    keys = " ".join(key for key, _, _ in tabs)
    titles = ", ".join(title for _, title, _ in tabs)
    text = GENERAL.replace("{tab_keys}", f"  {keys:<12}{titles} tab")
    first = [section for _, title, section in tabs if title == shown]
    rest = [section for _, title, section in tabs if title != shown]
    return "\n".join([*first, text, *rest])


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 96; max-width: 100%; height: auto; max-height: 100%;
                                  border: round $accent; padding: 0 1; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "app.pop_screen", "Close")
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._text)
