"""The tabs, in the order of the tab bar. Adding a tab: its folder `netwatch/tabs/NAME/` with the
parts netwatch/tabs/tab.py lists, then one line here."""

from __future__ import annotations

from netwatch.tabs.tab import Tab, ViewOptions

TABS: tuple[Tab, ...] = (
    Tab("traffic", "Traffic", key="1", command="top"),
    Tab("calls", "Calls", key="2", command="calls", on_request=True),
    Tab("accepts", "Accepts", key="3", command="accepts"),
    Tab("drops", "Drops", key="4", command="drops"),
)
TAB_NAMES = tuple(t.name for t in TABS)
BY_NAME = {t.name: t for t in TABS}

__all__ = ["BY_NAME", "TABS", "TAB_NAMES", "Tab", "ViewOptions"]
