"""Column factories shared by the tables of every package (timestamps, money), and what
queries and importers read off columns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, Column, ColumnElement, DateTime, String, any_, bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY


def created_at_column() -> Column:
    """``timestamptz`` set by the database clock on insert."""
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


def timestamp_column(nullable: bool = True) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


def money_column(nullable: bool = False) -> Column:
    """Money is integer fen in a BIGINT, never a float."""
    return Column(BigInteger, nullable=nullable)


def text_length(column: Any) -> int:
    """The length of a ``String(n)`` column (``Model.__table__.c.name``): what an importer
    must refuse beyond, row by row, before the database refuses the whole statement."""
    return column.type.length


def any_of(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column = ANY(:values)``: one array parameter however many values, where ``IN``
    takes one each and asyncpg refuses a statement of more than 32,767."""
    item = String() if isinstance(column.type, String) else column.type  # varchar(n) would cut longer values
    return column == any_(bindparam(None, list(values), type_=ARRAY(item)))
