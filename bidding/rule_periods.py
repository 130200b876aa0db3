"""Periods the pinned rule set gives in days or working days, as the moment they end.

A period of n days (or n working days) from a moment ends at midnight (Asia/Shanghai)
after its last day; the starting day is not counted (民法典 第二百零一条), as in
:func:`bidding.states.period_ends_at`. Working days come from the center's calendar.

:func:`start_clock` sets a deadline from such a period; when the period reaches a year the
working-day calendar has no data for yet, the step goes on without the deadline and the
audit log says which year is missing (a legal deadline is never guessed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bidding.deadlines import Deadline, set_deadline
from bidding.projects import Project
from bidding.states import local_date, period_ends_at
from trading.audit import record_event
from trading.errors import ConfigurationError
from trading.rules.calendar import default_calendar
from trading.rules.store import RuleSetRecord
from trading.timefmt import CENTER_ZONE


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

    def ends_at(self, start: datetime) -> datetime:
        if self.unit == "working_days":
            last_day = default_calendar().add_working_days(local_date(start), self.value)
            return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=CENTER_ZONE)
        return period_ends_at(start, self.value)


def rule_entry(rule_set: RuleSetRecord, key: str) -> Mapping[str, Any] | None:
    return rule_set.content.get("rules", {}).get(key)


def rule_period(rule_set: RuleSetRecord, *keys: str) -> RulePeriod | None:
    """The first of ``keys`` the rule set has, as a period (None when it has none of them)."""
    for key in keys:
        entry = rule_entry(rule_set, key)
        if entry is not None:
            return RulePeriod(key=key, value=entry["value"], unit=entry.get("unit", "days"), source=entry.get("source"))
    return None


def rule_flag(rule_set: RuleSetRecord, key: str) -> bool:
    entry = rule_entry(rule_set, key)
    return bool(entry is not None and entry.get("value") is True)


def rule_source(rule_set: RuleSetRecord, key: str) -> str | None:
    entry = rule_entry(rule_set, key)
    return entry.get("source") if entry is not None else None


async def start_clock(session: AsyncSession, *, project: Project, kind: str, subject: str, period: RulePeriod,
                      start: datetime, actor: str) -> Deadline | None:
    """Set the ``kind`` deadline ``period`` after ``start``; None when the calendar cannot say when."""
    try:
        due_at = period.ends_at(start)
    except ConfigurationError as missing:
        if missing.code != "calendar_year_missing":
            raise
        await record_event(session, actor=actor, action="deadline.not_set", subject=subject,
                           data={"project": project.code, "kind": kind, "rule": period.key,
                                 "start": start.isoformat(), "reason": missing.message,
                                 "year": missing.details.get("year")})
        return None
    return await set_deadline(session, project=project, kind=kind, subject=subject, due_at=due_at, rule=period.key,
                              actor=actor)
