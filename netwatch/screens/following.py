"""A tab whose rows arrive over time (Accepts' log, Calls' tree): the cursor stays on the
newest until the user moves away to read, and End or `f` brings it back, as `less +F` does."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType

from netwatch.screens.tabview import StateT, TabView


class FollowingView(TabView[StateT]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("f,end", "follow", "Follow")]
    # Keys that move the cursor away from the newest row. Decided on the key: the table's
    # highlight messages arrive after the view's own cursor moves and cannot tell them apart.
    leave_keys: ClassVar[tuple[str, ...]] = ("up", "pageup", "home", "ctrl+home")

    def __init__(self, *, live: bool = True, id: str | None = None) -> None:
        super().__init__(live=live, id=id)
        self.follow = True

    def follow_cursor(self) -> None:
        """Put the cursor on the newest row, if following."""
        raise NotImplementedError

    def follow_text(self) -> str:
        return "following newest" if self.follow else "browsing (End follows)"

    def stop_following(self) -> None:
        if self.follow:
            self.follow = False
            self.update_banner()

    def on_key(self, event: events.Key) -> None:
        # Textual calls TabView's on_key too (its escape closes the filter box).
        if event.key in self.leave_keys:
            self.stop_following()

    def action_follow(self) -> None:
        self.follow = True
        self.follow_cursor()
        self.update_banner()
