"""Validation of the plain values of a credit record, shared by the services, the importer
and the push API (which report each failure against its column or item instead of stopping).

Every validator returns the normalised value or raises :class:`InvalidInput` whose
``field`` names the service argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

from credit.facts import period_end, period_start
from trading.errors import InvalidInput
from trading.rules.store import TRADING_CATEGORIES

ACT_MAX_LENGTH = 2000
DOCUMENT_MAX_LENGTH = 100
REASON_MAX_LENGTH = 500
ALL = ("全部", "所有", "all", "*")

_SEPARATORS = re.compile(r"[、,，;；|/\s]+")
_CATEGORY_BY_NAME = {name: code for code, name in TRADING_CATEGORIES.items()}
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00)?)?")


def split_items(text: str) -> list[str]:
    """The items of a cell such as ``工程建设、政府采购``."""
    return [item for item in _SEPARATORS.split(text or "") if item]


def _required_text(value: str, field: str, label: str, maximum: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{label}不能为空", code="text_required", field=field)
    if len(text) > maximum:
        raise InvalidInput(f"{label}最长{maximum}个字符，实为{len(text)}个", code="text_too_long", field=field)
    return text


def validate_act(value: str) -> str:
    return _required_text(value, "act", "失信行为", ACT_MAX_LENGTH)


def validate_decision_number(value: str) -> str:
    return _required_text(value, "decision_number", "决定文书号", DOCUMENT_MAX_LENGTH)


def validate_department_record_id(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > DOCUMENT_MAX_LENGTH:
        raise InvalidInput(f"部门记录编号最长{DOCUMENT_MAX_LENGTH}个字符", code="text_too_long", field="department_record_id")
    return text


def validate_reason(value: str, field: str = "reason") -> str:
    return _required_text(value, field, "原因", REASON_MAX_LENGTH)


def validate_document(value: str | None, field: str = "document_number") -> str | None:
    text = (value or "").strip()
    if len(text) > DOCUMENT_MAX_LENGTH:
        raise InvalidInput(f"文书号最长{DOCUMENT_MAX_LENGTH}个字符", code="text_too_long", field=field)
    return text or None


def validate_scope_categories(values: Iterable[str] | str | None) -> list[str]:
    """Category codes or names -> codes in the portal's order; nothing or 全部 means all (``[]``)."""
    items = split_items(values) if isinstance(values, str) else [v.strip() for v in values or () if v.strip()]
    if not items or any(item in ALL for item in items):
        return []
    codes = set()
    for item in items:
        code = item if item in TRADING_CATEGORIES else _CATEGORY_BY_NAME.get(item)
        if code is None:
            raise InvalidInput(f"未知的交易类别「{item}」：应为{'、'.join(TRADING_CATEGORIES.values())}之一，"
                               "或留空表示全部类别", code="unknown_category", field="categories", found=item)
        codes.add(code)
    return [code for code in TRADING_CATEGORIES if code in codes]


def validate_scope_regions(values: Iterable[str] | str | None) -> list[str]:
    """Region codes (GB/T 2260, six digits; a province or city code covers the places in it);
    nothing or 全部 means all (``[]``)."""
    items = split_items(values) if isinstance(values, str) else [v.strip() for v in values or () if v.strip()]
    if not items or any(item in ALL for item in items):
        return []
    for item in items:
        if not (len(item) == 6 and item.isascii() and item.isdigit()):
            raise InvalidInput(f"行政区划代码应为6位数字，实为「{item}」", code="invalid_region_code", field="region_codes", found=item)
    return sorted(set(items))


def parse_day(value: str | date | datetime | None, field: str, label: str, *, required: bool = True) -> date | None:
    """A day written ``2026-03-01`` (or ``2026/3/1``, ``2026年3月1日``)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{label}不能为空", code="date_required", field=field)
        return None
    match = _DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise InvalidInput(f"{label}「{text}」无效：应为日期，如 2026-03-01",
                           code="invalid_date", field=field, found=text) from None


def parse_day_or_moment(value: str | date | datetime | None, field: str, label: str, *,
                        required: bool = True) -> date | datetime | None:
    """A moment given as an aware ``datetime`` as it is; otherwise a day, as :func:`parse_day`."""
    if isinstance(value, datetime):
        return value
    return parse_day(value, field, label, required=required)


def validate_period(start: date | datetime, end: date | datetime | None) -> tuple[datetime, datetime | None]:
    """The half-open period in time: a start date from 00:00, an end date through its whole day."""
    for moment, field in ((start, "effective_from"), (end, "effective_to")):
        if isinstance(moment, datetime) and moment.tzinfo is None:
            raise InvalidInput("时间须带时区", code="naive_time", field=field)
    effective_from, effective_to = period_start(start), period_end(end)
    if effective_to is not None and effective_to <= effective_from:
        raise InvalidInput("截止日期不得早于生效日期", code="invalid_date_range", field="effective_to")
    return effective_from, effective_to
