"""Render screenshots/*.svg from the committed recordings (no root needed).
.venv/bin/python scripts/make_screenshots.py"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netwatch.recording.replay import replay_file  # noqa: E402
from netwatch.ui.app import NetwatchApp  # noqa: E402

DEMO = ROOT / "tests" / "data" / "traffic-demo.nwrec"
CALLS_DEMO = ROOT / "tests" / "data" / "calls-demo.nwrec"


async def shoot(tab: str, keys: list[str], size: tuple[int, int]) -> None:
    demo = CALLS_DEMO if tab == "calls" else DEMO
    # The Calls screenshot plays the Calls recording; the others the traffic demo's tabs.
    tabs = ("traffic", "calls") if tab == "calls" else ("traffic", "drops", "accepts")
    app = NetwatchApp(
        {name: replay_file(name, demo, speed=100) for name in tabs},
        initial_tab=tab,
        replay=True,
    )
    async with app.run_test(size=size) as pilot:
        while any(h.state != "ended" for h in app.health.values()):
            await pilot.pause(0.05)
        await pilot.pause(1.2)  # the Calls tree redraws at most once a second
        await pilot.press(*keys)
        await pilot.pause()
        app.save_screenshot(filename=f"{tab}.svg", path=str(ROOT / "screenshots"))
    print(f"wrote screenshots/{tab}.svg")


if __name__ == "__main__":
    asyncio.run(shoot("traffic", ["c"], (120, 26)))  # totals over the whole recording
    asyncio.run(shoot("drops", [], (110, 22)))
    asyncio.run(shoot("accepts", [], (140, 26)))
    asyncio.run(shoot("calls", ["home"], (140, 34)))  # the first thread, from its first call
