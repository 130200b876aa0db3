"""The import direction of DESIGN.md holds, with no exemptions: web | cli -> adapters -> bidding ->
pools -> credit -> trading; inside web/, web.api | web.pages -> web.core (the API and the pages
never import each other); only web/, cli/ and adapters/ import httpx; inside bidding/ its rooms
point one way (pyproject.toml's import-linter contracts), and no function-level import hides a
cycle there."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_imports_point_one_way():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a test dependency and must be installed"
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_contract_has_exemptions_and_bidding_rooms_are_layered():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    assert all("ignore_imports" not in contract for contract in contracts)
    inside = [contract for contract in contracts if contract.get("containers") == ["bidding"]]
    assert len(inside) == 1 and inside[0]["layers"][0] == "jobs | methods" and inside[0]["layers"][-1] == "tender"


def test_bidding_imports_only_at_module_level():
    """A function-level import is how a cycle hides from the contracts: bidding/ has none."""
    late = []
    for path in sorted((ROOT / "bidding").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                late += [f"{path.relative_to(ROOT)}:{inner.lineno}" for inner in ast.walk(node)
                         if isinstance(inner, (ast.Import, ast.ImportFrom))]
    assert late == []
