"""Column factories shared by the tables of every package (timestamps, money)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, func


def created_at_column() -> Column:
    """``timestamptz`` set by the database clock on insert."""
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


def timestamp_column(nullable: bool = True) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


def money_column(nullable: bool = False) -> Column:
    """Money is integer fen in a BIGINT, never a float."""
    return Column(BigInteger, nullable=nullable)
