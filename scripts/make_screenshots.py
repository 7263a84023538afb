"""Render screenshots/*.svg from the committed recording (no root needed).
.venv/bin/python scripts/make_screenshots.py"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netwatch.app import NetwatchApp  # noqa: E402
from netwatch.recording import ReplayTrafficSource  # noqa: E402

DEMO = ROOT / "tests" / "data" / "traffic-demo.nwrec"


async def traffic() -> None:
    app = NetwatchApp(ReplayTrafficSource.from_file(DEMO, speed=100), replay=True)
    async with app.run_test(size=(110, 26)) as pilot:
        while app.health["traffic"].state != "ended":
            await pilot.pause(0.05)
        await pilot.press("c")  # totals over the whole recording
        await pilot.pause()
        app.save_screenshot(filename="traffic.svg", path=str(ROOT / "screenshots"))


if __name__ == "__main__":
    asyncio.run(traffic())
    print("wrote screenshots/traffic.svg")
