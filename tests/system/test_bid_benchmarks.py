"""The bid benchmarks keep working: each runs end to end with a handful of bidders (the
figures mean nothing at this size; the checks after the run do)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(script: str, *args: str) -> str:
    finished = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
    assert "Traceback" not in finished.stderr, finished.stderr[-3000:]
    assert finished.returncode in (0, 1), finished.stderr[-3000:]  # 1: the speed target missed
    return finished.stdout


def test_the_deadline_rush_runs_and_no_receipted_bid_is_missing():
    output = run_benchmark("deadline_rush.py", "--bidders", "6", "--size", "8192")
    assert "| HTTP rush, accepted | 6 |" in output, output
    assert "Refused or failed requests: none" in output, output
    assert "receipted bids missing: 0 (wrong 0, bad receipt signature 0) — MET" in output, output
    assert "'stored_without_receipt': 0" in output and "'sequences_gapless': True" in output, output


def test_the_opening_benchmark_runs_and_opens_every_bid():
    output = run_benchmark("opening_benchmark.py", "--bidders", "6", "--size", "65536", "--concurrency", "2")
    assert "Check: 6 of 6 entries decrypted, 6 with the sealed price" in output, output
    assert "every bid opened with its price: yes" in output, output
    assert "| **once all halves are in** (batch opening + record) |" in output, output
    assert "| bare SecretBox.decrypt (1) |" in output, output
