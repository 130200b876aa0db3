"""The suite's own layout: tests/ mirrors the packages, shared builders live in tests/common/
and shared fixtures in conftest.py files, so no test module imports another (a test module
imported by another runs its fixtures and checks twice and ties the two together)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# The checks of the whole project stay at the top; every other test module is in the folder
# of the package it tests (tests/bidding/opening/ for bidding/opening/, ...) or in tests/system/.
TOP_LEVEL = {"test_layering.py", "test_migrations.py", "test_test_layout.py"}


def imported_names(path: Path) -> Iterator[str]:
    """Every module or name an import statement of ``path`` names, dotted."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def test_no_test_module_imports_another():
    offending = [f"{path.relative_to(TESTS)} imports {name}"
                 for path in sorted(TESTS.rglob("*.py")) for name in imported_names(path)
                 if any(part.startswith("test_") for part in name.split("."))]
    assert offending == [], "shared helpers belong in tests/common/ or a conftest.py:\n" + "\n".join(offending)


def test_test_modules_live_in_the_folder_of_their_package():
    assert {path.name for path in TESTS.glob("test_*.py")} <= TOP_LEVEL
    assert list((TESTS / "common").glob("test_*.py")) == [], "tests/common/ holds builders, not tests"
    packages = [path.parent for path in TESTS.rglob("test_*.py") if path.parent != TESTS]
    assert all((folder / "__init__.py").exists() for folder in packages), "each test folder is a package"
