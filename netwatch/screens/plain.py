"""Widgets and cells that show text as it is: never parsed as markup, never able to drive the
terminal. Every string the screens show goes through here or through the tables' own cells
(screens/table.py), which apply the same `printable`."""

from __future__ import annotations

from typing import Any

from rich.console import JustifyMethod
from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.notifications import SeverityLevel
from textual.widgets import Static

from netwatch.model.untrusted import has_hidden, printable


def shown(text: str, style: str | Style = "", justify: JustifyMethod | None = None) -> Text:
    """A Text that displays `text` literally, with invisible characters escaped."""
    return Text(printable(text), style=style, justify=justify)


def safe_text(value: Text) -> Text:
    """`value` itself when nothing in it needs escaping (as after `shown`), else a copy with
    its text escaped (its spans cannot survive a change of length; style and justify do)."""
    if not has_hidden(value.plain):
        return value
    return Text(printable(value.plain), style=value.style, justify=value.justify)


Lines = str | Text | list[str]


class PlainStatic(Static):
    """A Static whose content is plain text: `[/x]` is shown, not parsed, and ESC is escaped.

    A str is one line (a newline in it is escaped: it came from a name, not from us); several
    lines are given as a list, each escaped on its own."""

    def __init__(self, content: Lines = "", *, fixed_height: bool = False, **kwargs: Any) -> None:
        """`fixed_height`: its CSS fixes its height, so new text never changes the layout."""
        plain = self._plain(content)
        super().__init__(plain, **kwargs)
        self._shown_content: object = plain
        self.fixed_height = fixed_height

    @staticmethod
    def _plain(content: Lines) -> Text:
        if isinstance(content, Text):
            return safe_text(content)
        if isinstance(content, list):
            return Text("\n".join(printable(line) for line in content))
        return shown(content)

    def update(self, content: object = "", *, layout: bool = True) -> None:
        if isinstance(content, str | Text | list):
            content = self._plain(content)
        # Status lines are set once per sample per tab; an unchanged one must not cost a
        # repaint, and a changed one of fixed height no layout pass (a reflow of the screen).
        if content == self._shown_content:
            return
        self._shown_content = content
        super().update(content, layout=layout and not self.fixed_height)  # type: ignore[arg-type]


def notify_plain(
    app: App[Any],
    message: str,
    *,
    severity: SeverityLevel = "information",
    timeout: float | None = None,
) -> None:
    """A toast whose message (a filter, a path, an error) is shown, never parsed as markup."""
    app.notify(printable(message), severity=severity, timeout=timeout, markup=False)
