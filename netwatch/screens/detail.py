"""What Enter on a row opens: that row's details on a screen of their own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer


class DetailScreen(Screen[None]):
    """The details scroll (they can outgrow a small terminal over SSH); Esc or q goes back to
    the tab, as it does from the help and the sort menu."""

    DEFAULT_CSS = "DetailScreen { padding: 0 1; }"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield from self.details()
        yield Footer()

    def details(self) -> Iterable[Widget]:
        raise NotImplementedError
