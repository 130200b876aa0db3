"""Evaluation experts, their pool and expert draws (issue: sealed draws)."""
