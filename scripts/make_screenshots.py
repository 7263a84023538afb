"""Render screenshots/*.svg from the committed recordings (no root needed), each tab as its
screen.py's SCREENSHOT says.
.venv/bin/python scripts/make_screenshots.py"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netwatch.recording.file import open_recording  # noqa: E402
from netwatch.tabs import TABS, Tab, codecs, replay_file  # noqa: E402
from netwatch.ui.app import NetwatchApp  # noqa: E402


async def shoot(tab: Tab) -> None:
    recipe = tab.screenshot()
    demo = ROOT / "tests" / "data" / recipe.recording
    recording = open_recording(demo, codecs())
    held = [t.name for t in TABS if recording.count(t.name)]
    recording.close()
    app = NetwatchApp(
        {name: replay_file(name, demo, speed=100) for name in held},
        initial_tab=tab.name,
        replay=True,
    )
    async with app.run_test(size=recipe.size) as pilot:
        while any(h.state != "ended" for h in app.health.values()):
            await pilot.pause(0.05)
        await pilot.pause(1.2)  # the Calls tree redraws at most once a second
        await pilot.press(*recipe.keys)
        await pilot.pause()
        app.save_screenshot(filename=f"{tab.name}.svg", path=str(ROOT / "screenshots"))
    print(f"wrote screenshots/{tab.name}.svg")


if __name__ == "__main__":
    for tab in TABS:
        asyncio.run(shoot(tab))
