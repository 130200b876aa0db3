"""Intermediary agencies, their pool and agency draws (issue: sealed draws)."""
