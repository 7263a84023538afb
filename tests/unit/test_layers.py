"""The layering contract (pyproject.toml's [tool.importlinter]): the model and the decoders
import neither Textual nor BCC, screens never BCC, probes never Textual, so every screen test
runs without root and every probe test without a screen; and what the tabs share imports no
tab."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import ROOT


def test_every_layer_imports_only_what_it_may() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a dev dependency: ./setup.sh test installs it"
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "4 kept, 0 broken" in done.stdout
