"""The portal benchmark keeps working: it runs end to end on a few hundred tenders (the
figures mean nothing at this size; the checks do: every page answered 200 and listed the
same announcements, in the same order, as the bare query)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_portal_benchmark_runs_and_each_page_lists_what_the_bare_query_returns():
    finished = subprocess.run([sys.executable, "bench/portal_list.py", "--tenders", "400", "--clients", "5",
                               "--requests", "30"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in finished.stderr, finished.stderr[-3000:]
    assert finished.returncode == 0, (finished.stdout[-3000:], finished.stderr[-3000:])
    output = finished.stdout
    assert "page vs bare rows: identical for every term and filter set" in output, output
    for scenario in ("search, 3+ characters", "filters, no term", "search, 2 characters"):
        assert f"| {scenario} | bare asyncpg, same SQL |" in output, output
    assert output.count("| | **GET /tenders** (`trading serve`) |") == 3, output
