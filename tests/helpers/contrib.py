"""What contrib/ holds, read for the tests: the dashboard's queries."""

from __future__ import annotations

import json
from pathlib import Path

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
DASHBOARD = CONTRIB / "grafana" / "netwatch-dashboard.json"


def dashboard_exprs() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]
