"""Times are stored in UTC and shown in the center's zone (Asia/Shanghai)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

CENTER_ZONE = ZoneInfo("Asia/Shanghai")


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone(CENTER_ZONE).strftime(fmt)
