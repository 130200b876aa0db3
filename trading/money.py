"""Money shown to people: integer fen as yuan with two decimals and thousands separators.

Exact (integer arithmetic, never a float); callers add the unit (元, ¥) where the text wants it.
"""

from __future__ import annotations

import re
import unicodedata

from trading.errors import InvalidInput

# Whole yuan (thousands separators only in their places) and at most two decimals.
_YUAN = re.compile(r"(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<cents>[0-9]{1,2}))?")
# Larger than any public deal (a trillion yuan): a slip of the finger is caught.
MAX_FEN = 100_000_000_000_000


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def fen_of_yuan(text: str, *, field: str, label: str = "金额") -> int:
    """Yuan as typed by a person ("1,234.5", "１２３元") → integer fen, exactly (integer
    arithmetic on the digits, never a float).

    Refused with a Chinese message naming ``label`` (``field`` for the form): anything but
    digits with at most two decimals, thousands separators in their places and a trailing
    元, or more than ``MAX_FEN``.
    """
    cleaned = unicodedata.normalize("NFKC", text or "").strip().replace("，", ",").removesuffix("元").strip()
    if not cleaned:
        raise InvalidInput(f"请填写{label}", code="amount_required", field=field)
    match = _YUAN.fullmatch(cleaned)
    if match is None:
        raise InvalidInput(f"{label}应为以元为单位的数字，最多两位小数，例如 1234.56", code="invalid_yuan_amount", field=field)
    fen = int(match["whole"].replace(",", "")) * 100 + int((match["cents"] or "").ljust(2, "0"))
    if fen > MAX_FEN:
        raise InvalidInput(f"{label}超出范围，请核对单位（元）", code="amount_out_of_range", field=field)
    return fen
