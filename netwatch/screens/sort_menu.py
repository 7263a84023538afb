"""F6, as in htop: the tab's sort keys in a list, the current one highlighted; Enter sorts by
the one chosen, Escape (or F6 again) leaves the sort as it was."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from netwatch.screens.plain import PlainStatic


class SortMenu(ModalScreen[str | None]):
    DEFAULT_CSS = """
    SortMenu { align: left top; }
    SortMenu > Vertical { width: 30; height: auto; max-height: 100%; margin: 3 0 0 1;
                          border: round $accent; background: $surface; }
    SortMenu OptionList { height: auto; max-height: 20; border: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f6,q", "dismiss(None)", "Cancel"),
    ]

    def __init__(self, choices: list[tuple[str, str]], current: str) -> None:
        """`choices`: (key, label) in the order `>` steps through them."""
        super().__init__()
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield PlainStatic("Sort by (Enter; Esc keeps)")
            yield OptionList(*(Option(Text(label), id=key) for key, label in self.choices))

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        keys = [key for key, _ in self.choices]
        options.highlighted = keys.index(self.current) if self.current in keys else 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)
