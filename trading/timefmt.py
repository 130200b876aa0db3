"""Times are stored in UTC and shown in the center's zone (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CENTER_ZONE = ZoneInfo("Asia/Shanghai")


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone(CENTER_ZONE).strftime(fmt)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC ending in Z, always with microseconds (``2026-12-07T08:30:00.000000Z``):
    the one spelling the signed records use (sealed-draw, sealed-bid, audit chain), so quick
    steps still order and a timestamptz round-trips to the same text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def chinese_date(day: date, weekday: bool = True) -> str:
    """``2027年1月12日（星期二）``: a date as people read it."""
    text = f"{day.year}年{day.month}月{day.day}日"
    return f"{text}（{WEEKDAYS[day.weekday()]}）" if weekday else text
