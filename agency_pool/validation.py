"""Validation of the plain values an agency record holds, shared by the services and
the importer (which reports each failure against its column instead of stopping).

Every validator returns the normalised value or raises :class:`InvalidInput` whose
``field`` names the service argument.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable

from trading.codes import AGENCY_CODE
from trading.errors import InvalidInput
from trading.rules.store import TRADING_CATEGORIES

NAME_MAX_LENGTH = 200
REASON_MAX_LENGTH = 500

_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20}
_CATEGORY_SEPARATORS = re.compile(r"[、,，;；|/\s]+")
_CATEGORY_BY_NAME = {name: code for code, name in TRADING_CATEGORIES.items()}


def normalise_agency_code(value: str) -> str:
    """A public agency code such as ``AG-001`` or ``AG-青山招标``.

    NFC-normalised, full-width ASCII made half-width, upper-case, so that two codes
    that look the same are the same string (and the same bytes in a draw pool).
    """
    return AGENCY_CODE.check(unicodedata.normalize("NFC", (value or "").translate(_HALF_WIDTH)).strip().upper())


def validate_agency_name(value: str) -> str:
    name = (value or "").strip()
    if not name:
        raise InvalidInput("机构名称不能为空", code="name_required", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"机构名称最长{NAME_MAX_LENGTH}个字符，实为{len(name)}个", code="name_too_long", field="name")
    return name


def split_categories(text: str) -> list[str]:
    """The items of a spreadsheet cell such as ``工程建设、政府采购``."""
    return [item for item in _CATEGORY_SEPARATORS.split(text or "") if item]


def validate_categories(values: Iterable[str]) -> list[str]:
    """Category codes (or their Chinese names) -> codes, deduplicated, in the portal's order."""
    if isinstance(values, str):
        values = split_categories(values)
    codes = set()
    for value in values:
        item = (value or "").strip()
        code = item if item in TRADING_CATEGORIES else _CATEGORY_BY_NAME.get(item)
        if code is None:
            raise InvalidInput(f"未知的交易类别「{item}」：应为{'、'.join(TRADING_CATEGORIES.values())}之一", code="unknown_category",
                               field="categories", found=item)
        codes.add(code)
    if not codes:
        raise InvalidInput("服务类别不能为空：至少填写一个交易类别", code="category_required", field="categories")
    return [code for code in TRADING_CATEGORIES if code in codes]


def validate_category(value: str) -> str:
    """One trading category code (as a query asks for it)."""
    if value not in TRADING_CATEGORIES:
        raise InvalidInput(f"未知的交易类别「{value}」：应为{'、'.join(TRADING_CATEGORIES)}之一", code="unknown_category",
                           field="category", found=value)
    return value


def validate_city(value: str, known: Container[str]) -> str:
    """A region code (GB/T 2260, six digits) that ``known`` holds."""
    code = (value or "").strip()
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise InvalidInput(f"行政区划代码应为6位数字，实为「{code}」", code="invalid_region_code", field="city", found=code)
    if code not in known:
        raise InvalidInput(f"未知的行政区划代码「{code}」", code="unknown_region", field="city", found=code)
    return code


def validate_reason(value: str, field: str = "reason") -> str:
    reason = (value or "").strip()
    if not reason:
        raise InvalidInput("必须填写原因", code="reason_required", field=field)
    if len(reason) > REASON_MAX_LENGTH:
        raise InvalidInput(f"原因最长{REASON_MAX_LENGTH}个字符，实为{len(reason)}个", code="reason_too_long", field=field)
    return reason
