"""Render screenshots/*.svg from the committed recordings (no root needed).
.venv/bin/python scripts/make_screenshots.py"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netwatch.app import NetwatchApp  # noqa: E402
from netwatch.recording import (  # noqa: E402
    ReplayAcceptsSource,
    ReplayCallsSource,
    ReplayDropsSource,
    ReplayTrafficSource,
)

DEMO = ROOT / "tests" / "data" / "traffic-demo.nwrec"
CALLS_DEMO = ROOT / "tests" / "data" / "calls-demo.nwrec"


async def shoot(tab: str, keys: list[str], size: tuple[int, int]) -> None:
    demo = CALLS_DEMO if tab == "calls" else DEMO
    app = NetwatchApp(
        ReplayTrafficSource.from_file(demo, speed=100),
        ReplayDropsSource.from_file(DEMO, speed=100) if tab != "calls" else None,
        ReplayAcceptsSource.from_file(DEMO, speed=100) if tab != "calls" else None,
        ReplayCallsSource.from_file(CALLS_DEMO, speed=100) if tab == "calls" else None,
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
    asyncio.run(shoot("traffic", ["c"], (110, 26)))  # totals over the whole recording
    asyncio.run(shoot("drops", [], (110, 22)))
    asyncio.run(shoot("accepts", [], (140, 26)))
    asyncio.run(shoot("calls", ["home"], (140, 34)))  # the first thread, from its first call
