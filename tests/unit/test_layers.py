"""The layering contract (pyproject.toml's [tool.importlinter]): the model and the decoders
import neither Textual nor BCC, screens never BCC, probes never Textual, so every screen test
runs without root and every probe test without a screen; and what the tabs share imports no
tab."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.helpers.paths import ROOT


def test_every_layer_imports_only_what_it_may() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a dev dependency: ./setup.sh test installs it"
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "6 kept, 0 broken" in done.stdout


def test_every_module_of_a_tab_falls_under_a_contract() -> None:
    # A part a contract does not name is a part no rule holds to its layer; and the contracts
    # name a tab's parts by pattern (netwatch.tabs.*.screen), so a new tab needs no new line.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = [
        m for c in config["tool"]["importlinter"]["contracts"] for m in c.get("source_modules", ())
    ]
    tab_patterns = [p for p in patterns if p.startswith("netwatch.tabs.")]
    assert tab_patterns and all(p.split(".")[2] == "*" for p in tab_patterns), tab_patterns

    def covered(module: str) -> bool:
        # A contract's source module covers its descendants too (a part that is a package).
        parts = module.split(".")
        return any(
            len(p.split(".")) <= len(parts)
            and all(a in ("*", b) for a, b in zip(p.split("."), parts, strict=False))
            for p in patterns
        )

    modules = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "netwatch" / "tabs").glob("*/**/*.py")
        if path.relative_to(ROOT).parts[3:] != ("__init__.py",)
    ]
    assert len(modules) > 40
    assert "netwatch.tabs.calls.probe.functions" in modules
    assert [m for m in modules if not covered(m)] == []
