"""Money shown to people: integer fen as yuan with two decimals and thousands separators.

Exact (integer arithmetic, never a float); callers add the unit (元, ¥) where the text wants it.
"""

from __future__ import annotations


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"
