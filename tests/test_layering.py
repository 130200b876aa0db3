"""The import direction of DESIGN.md holds, with no exemptions: web | cli -> adapters -> bidding ->
pools -> credit -> trading; inside web/, web.api | web.pages -> web.core (the API and the pages
never import each other); and only web/, cli/ and adapters/ import httpx (pyproject.toml's
import-linter contracts)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_imports_point_one_way():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a test dependency and must be installed"
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
