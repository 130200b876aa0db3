"""Checks of an expert's own fields (pure functions, no database).

Each check normalises its input and returns it, or raises
:class:`~trading.errors.InvalidInput` with a Simplified Chinese message and the field's
name; the registration service and the bulk importer share them, so a form and a
spreadsheet refuse the same values with the same words.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from trading.errors import InvalidInput
from trading.timefmt import chinese_date


class ExpertStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"
    UNDER_REVIEW = "under_review"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    ExpertStatus.ACTIVE: "在库",
    ExpertStatus.SUSPENDED: "暂停",
    ExpertStatus.RETIRED: "退出",
    ExpertStatus.UNDER_REVIEW: "审定中",
}

# Professional titles (专业技术职称) by grade. Senior titles (高级职称) are what the
# Tendering Law art. 37 asks of experts; the rule set says whether a draw insists on it.
TITLES = ("正高级", "副高级", "中级", "初级")
SENIOR_TITLES = ("正高级", "副高级")

# Province-level prefixes of GB/T 2260 administrative division codes.
PROVINCE_PREFIXES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82",
})

MAX_YEARS_IN_FIELD = 70
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}")
_NAME = re.compile(r"[\u3400-\u9fff·•A-Za-z ]+")


def check_name(value: str) -> str:
    name = (value or "").strip().replace("•", "·")
    if not name:
        raise InvalidInput("姓名不能为空", code="name_required", field="name")
    if len(name) > 30:
        raise InvalidInput(f"姓名过长：最多30个字符，实为{len(name)}个", code="name_too_long", field="name")
    if not _NAME.fullmatch(name):
        raise InvalidInput("姓名只能包含汉字、字母、间隔号「·」和空格", code="invalid_name", field="name")
    return name


def check_title(value: str) -> str:
    title = (value or "").strip()
    if title not in TITLES:
        raise InvalidInput(f"职称「{title}」无效：应为{'、'.join(TITLES)}之一", code="unknown_title", field="title")
    return title


def check_years(value: int | str) -> int:
    if isinstance(value, bool):
        raise InvalidInput("从业年限应为整数", code="invalid_years", field="years_in_field")
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            raise InvalidInput(f"从业年限「{text}」无效：应为不小于0的整数", code="invalid_years", field="years_in_field")
        value = int(text)
    if not isinstance(value, int) or value < 0:
        raise InvalidInput("从业年限应为不小于0的整数", code="invalid_years", field="years_in_field")
    if value > MAX_YEARS_IN_FIELD:
        raise InvalidInput(f"从业年限{value}年不合理：最多{MAX_YEARS_IN_FIELD}年", code="invalid_years", field="years_in_field")
    return value


def check_city_code(value: str) -> str:
    code = (value or "").strip()
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise InvalidInput(f"所在城市「{code}」无效：应为6位行政区划代码，如 370800", code="invalid_city_code", field="city_code")
    if code[:2] not in PROVINCE_PREFIXES:
        raise InvalidInput(f"所在城市「{code}」无效：前两位不是省级行政区划代码", code="invalid_city_code", field="city_code")
    return code


def check_phone(value: str) -> str:
    """A mobile number (11 digits) or a landline with area code (0537-2345678)."""
    phone = re.sub(r"[\s()（）]", "", (value or "").strip())
    if phone.startswith("+86"):
        phone = phone[3:]
    if _MOBILE.fullmatch(phone) or _LANDLINE.fullmatch(phone):
        return phone
    # Never echo the number itself: messages may be logged.
    raise InvalidInput("联系电话格式错误：应为11位手机号或带区号的固定电话（如 0537-2345678）", code="invalid_phone", field="phone")


# A next review falls due about a year ahead (a few years where a center appoints for a
# term); a date decades away is a typing error, not a plan.
REVIEW_YEARS_BACK, REVIEW_YEARS_AHEAD = 10, 5


def check_review_date(value: str | date, today: date) -> date:
    if isinstance(value, date):
        day, text = value, value.isoformat()
    else:
        text = (value or "").strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"下次审定日期「{text}」无效：应为 YYYY-MM-DD 格式的日期",
                               code="invalid_review_date", field="next_review_due") from None
    earliest, latest = years_from(today, -REVIEW_YEARS_BACK), years_from(today, REVIEW_YEARS_AHEAD)
    if not earliest <= day <= latest:
        raise InvalidInput(f"下次审定日期「{text}」不合理：应在{chinese_date(earliest, weekday=False)}至"
                           f"{chinese_date(latest, weekday=False)}之间",
                           code="invalid_review_date", field="next_review_due")
    return day


def years_from(day: date, years: int) -> date:
    """The same day ``years`` later (or earlier); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def check_status(value: str) -> ExpertStatus:
    try:
        return ExpertStatus(value)
    except ValueError:
        allowed = "、".join(f"{status.value}（{status.label}）" for status in ExpertStatus)
        raise InvalidInput(f"未知的专家状态「{value}」：应为{allowed}之一", code="unknown_expert_status", field="status") from None


def check_reason(value: str, field: str = "reason") -> str:
    reason = (value or "").strip()
    if not reason:
        raise InvalidInput("必须填写原因", code="reason_required", field=field)
    if len(reason) > 500:
        raise InvalidInput("原因过长：最多500个字符", code="reason_too_long", field=field)
    return reason
