"""Periods the pinned rule set gives in days or working days, as the moment they end.

A period of n days (or n working days) from a moment ends at midnight (Asia/Shanghai)
after its last day; the starting day is not counted (民法典 第二百零一条), and a calendar-day
period whose last day is a statutory holiday ends after the holiday (第二百零三条), as in
:func:`bidding.tender.states.period_end`. Working days come from the center's calendar.

:func:`start_clock` sets a deadline from such a period. A period reaching a year whose
holiday notice is not loaded yet is reckoned on the provisional year and the deadline is
marked provisional; loading the official year recomputes it (:mod:`bidding.clock.calendar_change`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.deadlines import Deadline, set_deadline
from bidding.tender.projects import Project
from bidding.tender.states import PeriodEnd, end_of_day, local_date
from trading.rules.calendar import default_calendar
from trading.rules.store import RuleSetRecord


@dataclass(frozen=True)
class RulePeriod:
    """One period rule of the pinned set: its key, number, unit and legal source."""

    key: str
    value: int
    unit: str
    source: str | None

    @property
    def label(self) -> str:
        return f"{self.value} 个工作日" if self.unit == "working_days" else f"{self.value} 日"

    def end(self, start: datetime) -> PeriodEnd:
        return end_of_day(default_calendar().reckon_period(local_date(start), self.value, self.unit))

    def ends_at(self, start: datetime) -> datetime:
        return self.end(start).at


def rule_period(rule_set: RuleSetRecord, *keys: str) -> RulePeriod | None:
    """The first of ``keys`` the rule set has, as a period (None when it has none of them)."""
    for key in keys:
        entry = rule_set.entry(key)
        if entry is not None:
            return RulePeriod(key=key, value=entry["value"], unit=entry.get("unit", "days"), source=entry.get("source"))
    return None


def rule_flag(rule_set: RuleSetRecord, key: str) -> bool:
    entry = rule_set.entry(key)
    return bool(entry is not None and entry.get("value") is True)


def rule_source(rule_set: RuleSetRecord, key: str) -> str | None:
    entry = rule_set.entry(key)
    return entry.get("source") if entry is not None else None


async def start_clock(session: AsyncSession, *, project: Project, kind: str, subject: str, period: RulePeriod,
                      start: datetime, actor: str) -> Deadline:
    """Set the ``kind`` deadline ``period`` after ``start`` (provisional where the calendar is)."""
    end = period.end(start)
    return await set_deadline(session, project=project, kind=kind, subject=subject, due_at=end.at, rule=period.key,
                              actor=actor, provisional=end.provisional, starts_at=start, period=(period.value, period.unit))
